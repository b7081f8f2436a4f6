// The run pipeline: SFT warm start → base evaluation → RL → evaluations, in one place. Platform-
// neutral: train/run.ts (Node: files, cache, progress bars), the page's session (web/session.ts) and
// the experiment's jobs (scripts/experiment/jobs.ts) drive it through hooks and write what it emits.
//
// It owns what every driver used to repeat: RL starts from a fresh AdamW, each step's record carries
// the analytic dense backward FLOPs of its batch, the phase totals add up the same way, the base and
// final evaluations use the held-out set and the seeds of the seed plan (train/seeds.ts).
import type { AdamWState } from '../kernels/optim.js';
import type { Runtime } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { predictBackwardFlops, predictStepFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { passAtKCurve } from './evaluate.js';
import type { Resume, StepCheckpoint } from './loop.js';
import { passKs } from './metrics.js';
import { RlTrainer, type RewardFn, type RlOptions } from './rl.js';
import {
  PHASES, type HeldOutEvalRecord, type MetricsRecord, type PhaseOrDiagnostic, type RlEvalMetrics, type RlProgress,
  type RlStepMetrics, type RlStepRecord, type RunSummary, type SampledPass1, type SftEvalRecord, type SftStepRecord, type Stage,
} from './schema.js';
import { seedPlan } from './seeds.js';
import type { SftHooks, SftOptions } from './sft.js';

/** The pass@k curve the report plots (k = 1, 2, 4, … 64): pass@k needs ≥ 64 samples per problem. */
export const PASS_KS = passKs(64);

/** Held-out pass@k: samples per problem, problems (the first of the held-out set), temperature. */
export interface PassKOptions {
  samples: number; problems: number; temperature: number;
  /** samples per problem of the sampled pass@1 at each RL evaluation (0 or absent: none) */
  curveSamples?: number;
}

/** A fresh model for SFT: GPT-2 initialisation from the seed plan. */
export function freshModel(rt: Runtime, cfg: GPTConfig, sft: SftOptions): GPT {
  return new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), seedPlan(sft.seed).init));
}

// ---------------------------------------------------------------- RL accounting

/** Per-phase FLOPs and GPU ms summed over RL steps (the order of addition is fixed: bit-stable). */
export class RlAccounts {
  readonly flops = {} as Record<PhaseOrDiagnostic, number>;
  readonly ms = {} as Record<PhaseOrDiagnostic, number>;
  /** analytic dense backward FLOPs of the same batches: what the sparse backward is measured against */
  denseBackwardFlops = 0;
  /** analytic FLOPs of the same steps run as plain dense steps (RlStepRecord.denseStepFlops); NaN once
   * a step without it was added (a run resumed from a checkpoint written before it existed) */
  denseStepFlops = 0;
  /** whether any step was added (here or before a resume): summary.json lists no phases before */
  private any = false;

  constructor() {
    for (const p of [...PHASES, 'diagnostic'] as const) this.flops[p] = this.ms[p] = 0;
  }

  /** Continues totals saved by toTotals() (a resumed run). */
  static from(totals: Record<string, { flops: number; ms: number }>, denseBackwardFlops: number, denseStepFlops?: number | null): RlAccounts {
    const a = new RlAccounts();
    for (const p of PHASES) if (totals[p]) { a.flops[p] = totals[p].flops; a.ms[p] = totals[p].ms; a.any = true; }
    a.denseBackwardFlops = denseBackwardFlops;
    a.denseStepFlops = a.any ? (denseStepFlops ?? NaN) : 0; // null: NaN as JSON wrote it
    return a;
  }

  add(m: RlStepMetrics, dense: { backward: number; step: number }, diagnostic?: { flops: number; ms: number }): void {
    for (const p of PHASES) { this.flops[p] += m.flops[p]; this.ms[p] += m.ms[p]; }
    this.flops.diagnostic += diagnostic?.flops ?? 0;
    this.ms.diagnostic += diagnostic?.ms ?? 0;
    this.denseBackwardFlops += dense.backward;
    this.denseStepFlops += dense.step;
    this.any = true;
  }

  /** Training cost so far (the four phases; the diagnostic backward is not training). */
  training(): { flops: number; backwardFlops: number; gpuMs: number } {
    return { flops: PHASES.reduce((s, p) => s + this.flops[p], 0), backwardFlops: this.flops.backward, gpuMs: PHASES.reduce((s, p) => s + this.ms[p], 0) };
  }

  /** Per phase {flops, ms} (summary.json's `phases`; empty before the first step). */
  toTotals(): Record<string, { flops: number; ms: number }> {
    return this.any ? Object.fromEntries(PHASES.map((p) => [p, { flops: this.flops[p], ms: this.ms[p] }])) : {};
  }

  /** 1 − measured backward FLOPs / dense backward FLOPs (0 before any step). */
  backwardFlopsSaved(): number {
    return this.denseBackwardFlops > 0 ? 1 - this.flops.backward / this.denseBackwardFlops : 0;
  }

  /** 1 − measured whole-step training FLOPs / plain dense steps' (0 before any step; NaN if unknown). */
  stepFlopsSaved(): number {
    return this.denseStepFlops > 0 ? 1 - this.training().flops / this.denseStepFlops : this.any ? NaN : 0;
  }
}

// ---------------------------------------------------------------- the RL stage

export interface RlStageHooks {
  onStep?(r: RlStepRecord): void | Promise<void>;
  onEval?(r: RlEvalMetrics): void | Promise<void>;
  shouldStop?(): boolean;
  onCheckpoint?(c: StepCheckpoint): void | Promise<void>;
}

/** RL on one model: the trainer, its accounts, the base and final evaluations. */
export class RlStage {
  readonly trainer: RlTrainer;
  accounts = new RlAccounts();

  /** `freshOptimizer`: RL starts with zero AdamW moments (a base trained in this process then
   * matches one loaded from a checkpoint or the cache); false continues the moments (the page's
   * settings change mid-run). */
  constructor(readonly model: GPT, readonly o: RlOptions, init: { freshOptimizer: boolean; reward?: RewardFn }) {
    if (init.freshOptimizer) model.opt.reset();
    this.trainer = new RlTrainer(model, o, init.reward);
  }

  /** Continues an interrupted stage: the optimizer state, the trainer's position and the accounts. */
  restore(opt: AdamWState, at: Resume, accounts: RlAccounts): void {
    this.model.opt.loadState(opt);
    this.trainer.restore(at);
    this.accounts = accounts;
  }

  /** The metrics.jsonl record of the step just taken, added to the accounts. Call right after the
   * step: the diagnostic phase's cost is read from the runtime's per-step statistics. */
  record(m: RlStepMetrics): RlStepRecord {
    const B = this.o.numPrompts * this.o.numGenerations;
    const T = this.trainer.positions;
    const dense = predictBackwardFlops(this.model.cfg, B, T, m.selected, 'dense');
    // The plain dense step on the same batch: this step's own rollout and optimizer (their cost does
    // not depend on the update's mode), one training forward over every row (reuse off: the entropy and
    // the PG loss over every response token, as at ρ = 1) and the dense backward above.
    const forward = predictStepFlops(this.model.cfg, { B, L: T + 1, k: m.responseTokens, mode: 'dense' }).forward;
    const denseStep = m.flops.rollout + forward + dense + m.flops.optimizer;
    this.accounts.add(m, { backward: dense, step: denseStep }, this.model.rt.phaseStats().diagnostic);
    return { ...m, denseBackwardFlops: dense, denseStepFlops: denseStep };
  }

  /** One step (for drivers that evaluate on their own schedule, like the experiment). */
  async step(): Promise<RlStepRecord> {
    return this.record(await this.trainer.trainStep());
  }

  /** Steps to the end through train/rl.ts's loop (its evaluations included). */
  train(hooks: RlStageHooks, run: { nonFinitePatience?: number } = {}): Promise<{ steps: number; finalAccuracy: number }> {
    return this.trainer.train({ ...hooks, onStep: (m) => hooks.onStep?.(this.record(m)) }, run);
  }

  /** Sampled pass@k on the first `p.problems` held-out problems, at the seed plan's evaluation seed. */
  passAtK(p: PassKOptions): Promise<{ k: number; passAtK: number }[]> {
    return passAtKCurve(this.model, this.o.task, this.trainer.heldout.slice(0, p.problems), p.samples, PASS_KS, { temperature: p.temperature, seed: seedPlan(this.o.seed).evaluation.final });
  }

  /**
   * Sampled pass@1 after `step` steps, from `p.curveSamples` samples on the pass@k problems. Its
   * sampling seed is the seed plan's evaluation.curve(step): no training stream is drawn from.
   */
  async sampledPass1(step: number, p: PassKOptions): Promise<SampledPass1> {
    const samples = p.curveSamples ?? 0;
    const [one] = await passAtKCurve(this.model, this.o.task, this.trainer.heldout.slice(0, p.problems), samples, [1], { temperature: p.temperature, seed: seedPlan(this.o.seed).evaluation.curve(step) });
    return { pass1: one.passAtK, samples, problems: this.heldoutFor(p), temperature: p.temperature };
  }

  /** The SFT base's held-out record: greedy accuracy, and pass@k unless `passK` is null (the page). */
  async baseEvaluation(passK: PassKOptions | null): Promise<HeldOutEvalRecord> {
    const greedyAccuracy = await this.trainer.evaluate();
    if (!passK) return { stage: 'sft-base-eval', step: 0, greedyAccuracy, passAtK: [], samples: 0, problems: this.trainer.heldout.length };
    const passAtK = await this.passAtK(passK);
    return { stage: 'sft-base-eval', step: 0, greedyAccuracy, passAtK, samples: passK.samples, problems: this.heldoutFor(passK) };
  }

  /** The final held-out record after `steps` steps with their greedy accuracy. */
  async finalEvaluation(steps: number, greedyAccuracy: number, passK: PassKOptions): Promise<HeldOutEvalRecord> {
    const passAtK = await this.passAtK(passK);
    return { stage: 'eval', step: steps, greedyAccuracy, passAtK, samples: passK.samples, problems: this.heldoutFor(passK) };
  }

  private heldoutFor(p: PassKOptions): number {
    return Math.min(p.problems, this.trainer.heldout.length);
  }

  destroy(): void {
    this.trainer.destroy();
  }
}

// ---------------------------------------------------------------- the whole run

export interface PipelineOptions {
  stage: 'sft' | 'all';
  rl: RlOptions;
  passK: PassKOptions;
  nonFinitePatience: number;
}

export interface PipelineHooks {
  /** The warm start: SFT trained with these hooks (they emit its records; call `training` with the
   * model before its first step), or a model loaded whole. */
  warmStart(sft: SftHooks, training: (model: GPT) => void): Promise<GPT>;
  /** Every record, in metrics.jsonl's order. */
  record(r: MetricsRecord): void | Promise<void>;
  /** Checked between steps: true stops after the current one (a checkpoint is taken). */
  shouldStop?(stage: Stage): boolean;
  /** After each training step's record (progress, warnings, fault injection). */
  afterStep?(stage: Stage, r: SftStepRecord | RlStepRecord): void | Promise<void>;
  /** After each held-out evaluation's record. */
  afterEval?(stage: Stage, r: SftEvalRecord | RlEvalMetrics | HeldOutEvalRecord): void | Promise<void>;
  /** After each step's records: where a checkpoint resumes exactly. `progress` is what RL carries across a resume. */
  onCheckpoint?(stage: Stage, model: GPT, c: StepCheckpoint, progress: RlProgress | null): void | Promise<void>;
  /** The RL stage begins (its trainer exists; nothing evaluated yet). */
  onRlSetup?(rl: RlStage): void | Promise<void>;
  /** RL is set up (base evaluated or restored), before its first step. */
  onRlStart?(rl: RlStage, progress: RlProgress, resumed: boolean): void | Promise<void>;
  /** RL's last step is done, before the final pass@k (e.g. save the trained model). */
  onRlEnd?(rl: RlStage, r: { steps: number; finalAccuracy: number }): void | Promise<void>;
}

/** An RL stage interrupted by a checkpoint: the optimizer, the position, what the stage carries. */
export interface RlResume { opt: AdamWState; at: Resume; progress: RlProgress }

/**
 * The whole run: warm start, then (stage 'all' and not stopped) the base evaluation, RL, the final
 * pass@k. Returns the model (the caller destroys it) and the RL summary (empty when RL did not run).
 */
export async function runPipeline(o: PipelineOptions, hooks: PipelineHooks, resume: { rl?: RlResume } = {}): Promise<{ model: GPT; summary: Partial<RunSummary> }> {
  const stop = (s: Stage) => hooks.shouldStop?.(s) ?? false;
  let model: GPT | null = null;
  const sftHooks: SftHooks = {
    shouldStop: () => stop('sft'),
    onStep: async (m) => {
      const r: SftStepRecord = { stage: 'sft', ...m };
      await hooks.record(r);
      await hooks.afterStep?.('sft', r);
    },
    onEval: async (m) => {
      const r: SftEvalRecord = { stage: 'sft', ...m };
      await hooks.record(r);
      await hooks.afterEval?.('sft', r);
    },
    onCheckpoint: (c) => hooks.onCheckpoint?.('sft', model!, c, null),
  };
  model = await hooks.warmStart(sftHooks, (m) => (model = m));
  if (o.stage !== 'all' || stop('sft')) return { model, summary: {} };
  return { model, summary: await rlStage(model, o, hooks, resume.rl) };
}

async function rlStage(model: GPT, o: PipelineOptions, hooks: PipelineHooks, resume: RlResume | undefined): Promise<Partial<RunSummary>> {
  const stop = (s: Stage) => hooks.shouldStop?.(s) ?? false;
  const rl = new RlStage(model, o.rl, { freshOptimizer: true });
  let progress: RlProgress;
  try {
    await hooks.onRlSetup?.(rl);
    if (resume) {
      progress = resume.progress;
      rl.restore(resume.opt, resume.at, RlAccounts.from(progress.totals, progress.denseBackwardFlops, progress.denseStepFlops));
    } else {
      const base = await rl.baseEvaluation(o.passK);
      await hooks.record(base);
      await hooks.afterEval?.('rl', base);
      progress = { baseGreedyAccuracy: base.greedyAccuracy, basePassAtK: base.passAtK, totals: {}, denseBackwardFlops: 0, denseStepFlops: 0, seconds: 0 };
      // step 0: a crash during the first steps need not repeat the base evaluation
      await hooks.onCheckpoint?.('rl', model, { step: 0, data: rl.trainer.position.data, last: false, skipped: false }, progress);
    }
    await hooks.onRlStart?.(rl, progress, !!resume);
    const t0 = performance.now(), before = progress.seconds;
    const sync = () => {
      progress.totals = rl.accounts.toTotals();
      progress.denseBackwardFlops = rl.accounts.denseBackwardFlops;
      progress.denseStepFlops = rl.accounts.denseStepFlops;
      progress.seconds = before + (performance.now() - t0) / 1000;
    };
    const r = await rl.train({
      shouldStop: () => stop('rl'),
      onStep: async (rec) => {
        await hooks.record(rec);
        await hooks.afterStep?.('rl', rec);
      },
      onEval: async (e) => {
        const r: RlEvalMetrics = (o.passK.curveSamples ?? 0) > 0 ? { ...e, sampled: await rl.sampledPass1(e.step, o.passK) } : e;
        await hooks.record(r);
        await hooks.afterEval?.('rl', r);
      },
      onCheckpoint: (c) => {
        sync();
        return hooks.onCheckpoint?.('rl', model, c, progress);
      },
    }, { nonFinitePatience: o.nonFinitePatience });
    sync();
    await hooks.onRlEnd?.(rl, r);
    let finalPassAtK = progress.basePassAtK;
    if (!stop('rl')) {
      const fin = await rl.finalEvaluation(r.steps, r.finalAccuracy, o.passK);
      finalPassAtK = fin.passAtK;
      await hooks.record(fin);
      await hooks.afterEval?.('rl', fin);
    }
    return {
      baseGreedyAccuracy: progress.baseGreedyAccuracy, finalGreedyAccuracy: r.finalAccuracy,
      basePassAtK: progress.basePassAtK, finalPassAtK,
      rlSteps: r.steps, rlSeconds: progress.seconds, phases: progress.totals,
      backwardFlopsSaved: rl.accounts.backwardFlopsSaved(),
      stepFlopsSaved: rl.accounts.stepFlopsSaved(),
    };
  } finally {
    rl.destroy();
  }
}
