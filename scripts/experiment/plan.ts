// The grid's settings, its jobs (the SFT base's evaluation, then one job per arm and seed) and what
// they cost. The defaults are read from train/defaults.ts at run time, so the grid follows the
// default task wherever it goes; --quick shrinks everything (its own tiny SFT base included).
import { createHash } from 'node:crypto';
import type { GPTConfig } from '../../model/config.js';
import { DEFAULT_RL, DEFAULT_SFT, DEFAULT_SFT_MODEL } from '../../train/defaults.js';
import type { RlOptions } from '../../train/rl.js';
import type { SftOptions } from '../../train/sft.js';
import { sftCacheKey } from '../../train/warmstart.js';
import { arms, type Arm, type ArmId } from './arms.js';

export interface GridOptions {
  quick: boolean;
  out: string;
  cacheRoot: string;
  model: GPTConfig;
  sft: SftOptions;
  /** the RL options every arm starts from (the default config) */
  rl: RlOptions;
  arms: ArmId[];
  /** RL seeds per arm: DEFAULT_RL.seed, +1, … */
  seeds: number;
  steps: number;
  /** held-out pass@1 every this many RL steps (and at step 0 and the end) */
  evalEvery: number;
  rho: number;
  /** held-out problems for every sampled evaluation (curve, final, pass@k, decoding) */
  problems: number;
  /** samples per problem: during training, at the end, for the full pass@k */
  curveSamples: number;
  finalSamples: number;
  passKSamples: number;
  /** the first this many seeds of each arm (and the SFT base) get the full pass@k */
  passKSeeds: number;
  greedyProblems: number;
  /** the decoding study runs on this arm's first seed, after training (null: no study) */
  decodingArm: ArmId | null;
  decodingSamples: number;
  forkTemperatures: number[];
  otherTemperatures: number[];
  /** sequences per decode batch */
  batch: number;
  bootstrapReps: number;
  /** refuse to start when the planned time exceeds this */
  maxMinutes: number;
}

/** The full grid: the bars (≥ 3 seeds, pass@k to 256 from 256 samples on 200 problems). */
export function fullGrid(): GridOptions {
  const steps = DEFAULT_RL.maxSteps;
  return {
    quick: false, out: 'report', cacheRoot: '.cache/sft',
    model: DEFAULT_SFT_MODEL, sft: DEFAULT_SFT, rl: DEFAULT_RL,
    arms: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], seeds: 3, steps, evalEvery: Math.max(1, Math.round(steps / 10)), rho: 0.2,
    problems: 200, curveSamples: 4, finalSamples: 16, passKSamples: 256, passKSeeds: 1,
    greedyProblems: DEFAULT_RL.evalProblems,
    decodingArm: 'c', decodingSamples: 16, forkTemperatures: [0.5, 1, 1.5, 2], otherTemperatures: [0.5, 1],
    batch: 2048, bootstrapReps: 1000, maxMinutes: 60,
  };
}

/** The whole pipeline in miniature: a tiny SFT base (its own cache key), few prompts, steps and samples. */
export function quickGrid(): GridOptions {
  const g = fullGrid();
  return {
    ...g, quick: true, out: 'runs/experiment-quick',
    sft: { ...DEFAULT_SFT, steps: 60, warmupSteps: 10, evalEvery: 0, evalProblems: 64 },
    rl: { ...DEFAULT_RL, numPrompts: 8, numGenerations: 8, warmupSteps: 1 },
    seeds: 2, steps: 3, evalEvery: 2, problems: 16, curveSamples: 2, finalSamples: 4, passKSamples: 16,
    greedyProblems: 32, decodingSamples: 4, batch: 256, bootstrapReps: 100, maxMinutes: 3,
  };
}

export type Job =
  | { kind: 'base'; name: 'base' }
  | { kind: 'arm'; name: string; arm: Arm; seed: number; passK: boolean; decoding: boolean };

export const seedsOf = (g: GridOptions) => Array.from({ length: g.seeds }, (_, i) => g.rl.seed + i);

/** Jobs in run order: the base, then seed by seed through the arms, so an interrupted grid has whole seeds. */
export function jobs(g: GridOptions): Job[] {
  const armList = arms(g.rho).filter((a) => g.arms.includes(a.id));
  const out: Job[] = [{ kind: 'base', name: 'base' }];
  seedsOf(g).forEach((seed, i) => {
    for (const arm of armList) {
      out.push({ kind: 'arm', name: `${arm.id}-s${seed}`, arm, seed, passK: i < g.passKSeeds, decoding: i === 0 && arm.id === g.decodingArm });
    }
  });
  return out;
}

/** The RL options of an arm job: the defaults, the arm's overrides, the grid's steps and the seed.
 * Held-out evaluation is the experiment's own (same problems for every arm), not the trainer's. */
export function jobRlOptions(g: GridOptions, job: Extract<Job, { kind: 'arm' }>): RlOptions {
  return { ...g.rl, ...job.arm.rl, maxSteps: g.steps, seed: job.seed, evalEvery: 0, evalProblems: 1 };
}

/** Sampled evaluations of a job, in samples (for the cost plan and the progress bar). */
export function evalSamples(g: GridOptions, job: Job): { curve: number; final: number; greedy: number; decoding: number } {
  if (job.kind === 'base') return { curve: 0, final: g.problems * g.passKSamples, greedy: g.greedyProblems, decoding: 0 };
  const curvePoints = Math.floor((g.steps - 1) / g.evalEvery);
  return {
    curve: curvePoints * g.problems * g.curveSamples,
    final: g.problems * (job.passK ? g.passKSamples : g.finalSamples),
    greedy: g.greedyProblems,
    decoding: job.decoding ? g.forkTemperatures.length * g.otherTemperatures.length * g.problems * g.decodingSamples : 0,
  };
}

/**
 * A job's identity: everything its results depend on. A finished job file whose key differs was
 * made by a different grid, so a rerun refuses to mix the two.
 */
export function jobKey(g: GridOptions, job: Job): string {
  const common = { sft: sftCacheKey(g.model, g.sft), problems: g.problems, greedyProblems: g.greedyProblems, temperature: g.rl.temperature };
  const own = job.kind === 'base'
    ? { passKSamples: g.passKSamples }
    : {
      rl: jobRlOptions(g, job), evalEvery: g.evalEvery, curveSamples: g.curveSamples,
      finalSamples: job.passK ? g.passKSamples : g.finalSamples,
      decoding: job.decoding ? { samples: g.decodingSamples, fork: g.forkTemperatures, other: g.otherTemperatures } : null,
    };
  return createHash('sha256').update(JSON.stringify({ ...common, ...own })).digest('hex').slice(0, 16);
}

/** Measured speeds the plan is made from: seconds per RL step by arm, decoded sequences per second. */
export interface Calibration { stepSeconds: Partial<Record<ArmId, number>>; samplesPerSecond: number }

/** Planned seconds for a job from the calibration. */
export function plannedSeconds(g: GridOptions, job: Job, c: Calibration): number {
  const s = evalSamples(g, job);
  const evals = (s.curve + s.final + s.greedy + s.decoding) / c.samplesPerSecond;
  return job.kind === 'base' ? evals : g.steps * (c.stepSeconds[job.arm.id] ?? 0) + evals;
}
