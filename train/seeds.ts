// The seed plan: every random stream of a run, derived from the run's one seed in one place. These
// numbers decide what a run reproduces and keep training and held-out data apart (with verify's
// split rule), so no other module adds offsets to a seed.
//
// The offsets are historical (every recorded run used them) and arbitrary; only their being fixed
// and distinct matters. Changing one changes every number a run records.

/** Seeds of sampled held-out evaluations (a batch of n sequences at seed s uses s, s + batch, …). */
export interface EvaluationSeeds {
  /** pass@k at the end of a run (and of the SFT base) */
  final: number;
  /** the held-out pass@1 curve at an RL step */
  curve(step: number): number;
  /** the dual-temperature decoding study */
  decoding: number;
  /** bootstrap resampling of the entropy statistics */
  bootstrap: number;
}

export interface SeedPlan {
  seed: number;
  /** a fresh model's weights (model/config.ts initParams) */
  init: number;
  /** SFT's training-problem stream (verify's train split) */
  sftData: number;
  /** which SFT demonstrations the noisy teacher corrupts (train/data.ts noisyTeacher) */
  labelNoise: number;
  /** the held-out problems of every evaluation: verify's held-out split keeps them out of training */
  heldout: number;
  /** RL's training-problem stream: apart from SFT's, so RL does not replay SFT's problems in order */
  rlData: number;
  /** an RL step's rollout sampling; round > 0: DAPO's dynamic-sampling rounds of that step */
  rollout(step: number, round?: number): number;
  /** sampled held-out evaluations of this run */
  evaluation: EvaluationSeeds;
}

function evaluationSeeds(base: number): EvaluationSeeds {
  return { final: base, curve: (step) => base + 1000 * step, decoding: base + 31, bootstrap: base + 4 };
}

export function seedPlan(seed: number): SeedPlan {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed ${seed} must be a non-negative integer`);
  return {
    seed,
    init: seed,
    sftData: seed,
    labelNoise: seed,
    heldout: seed + 1,
    rlData: seed + 1000,
    rollout: (step, round = 0) => seed * 1_000_003 + step * 7919 + round,
    evaluation: evaluationSeeds(seed + 7),
  };
}

/**
 * The experiment evaluates every arm and seed with the same sampling seeds (common random numbers:
 * arm-to-arm differences are then not sampling noise of the evaluation): those of seed 0's plan.
 */
export const COMMON_EVALUATION_SEEDS: EvaluationSeeds = seedPlan(0).evaluation;
