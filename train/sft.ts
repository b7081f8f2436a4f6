// Supervised fine-tuning on generated solutions with the answer-only loss mask. Platform-neutral:
// Node's run.ts and the browser page drive it through hooks.
import { crossEntropy } from '../kernels/loss.js';
import type { Tensor, TypedArray } from '../kernels/runtime.js';
import type { GPT } from '../model/gpt.js';
import { generate, sampler, type TaskConfig } from '../verify/index.js';
import { noisyTeacher, sftBatch, sftPositions } from './data.js';
import { greedyAccuracy } from './evaluate.js';
import { NonFiniteGuard, type Resume, type StepCheckpoint } from './loop.js';
import { learningRate } from './schedule.js';
import { seedPlan } from './seeds.js';

export interface SftOptions {
  task: TaskConfig;
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  seed: number;
  /** Greedy held-out accuracy every this many steps (0: only at the end) on evalProblems problems. */
  evalEvery: number;
  evalProblems: number;
  /** Share of demonstrations with one wrong character (a noisy teacher, see noisyTeacher); 0 = clean. */
  labelNoise?: number;
}

export interface SftStepMetrics {
  step: number; loss: number; lr: number; tokens: number; ms: number;
  /** pre-clip gradient norm; +inf when the step was skipped (non-finite loss or gradients) */
  gradNorm: number;
  skipped: boolean;
}
export interface SftEvalMetrics { step: number; heldoutAccuracy: number; problems: number }

export interface SftHooks {
  onStep?(m: SftStepMetrics): void | Promise<void>;
  onEval?(m: SftEvalMetrics): void | Promise<void>;
  /** Checked between steps: return true to stop early (e.g. Ctrl-C). */
  shouldStop?(): boolean;
  /** After each step's metrics and evaluation: the point where a saved checkpoint resumes exactly. */
  onCheckpoint?(c: StepCheckpoint): void | Promise<void>;
  /**
   * Opts in to one step in flight: step n + 1 is recorded and submitted before step n's results
   * reach onStep, so the GPU does not sit idle while the host reads them back, logs them and builds
   * the next batch. The kernels and their order are unchanged, so the results are bit-identical.
   * Return true for the steps after which the caller needs the model as that step left it (a
   * checkpoint is due, or a planned stop); evaluation steps, the last step, and any step while a
   * skipped one is pending (train/loop.ts NonFiniteGuard.clear) always wait. With this hook, onStep
   * must neither read nor change the model (the next step may be running), and a stop that
   * shouldStop starts returning during onStep(n) takes effect after step n + 1. Without it, every
   * step waits for the one before.
   */
  syncAfter?(step: number): boolean;
}

export interface SftRun {
  resume?: Resume;
  /** consecutive non-finite steps that stop training (train/loop.ts) */
  nonFinitePatience?: number;
}

/**
 * SFT from step 1, or from `run.resume` (the model's weights and optimizer state restored by the
 * caller): the same batches, learning rates and evaluations as an uninterrupted run, bit for bit.
 * Throws NonFiniteError after `run.nonFinitePatience` skipped steps in a row.
 */
export async function trainSft(model: GPT, o: SftOptions, hooks: SftHooks = {}, run: SftRun = {}): Promise<{ steps: number; finalAccuracy: number; lastLoss: number }> {
  const { rt } = model;
  const T = sftPositions(o.task);
  const B = o.batchSize;
  const seeds = seedPlan(o.seed);
  const next = sampler(o.task, { seed: seeds.sftData, split: 'train' });
  if (run.resume) next.state = run.resume.data;
  const guard = new NonFiniteGuard('sft', run.nonFinitePatience);
  // A held-out seed stream disjoint from training by construction (verify's split rule).
  const heldout = generate(o.task, { seed: seeds.heldout, split: 'heldout', count: o.evalProblems, unique: true });
  const targets = rt.empty([B * T], 'u32', 'sft targets');
  const weights = rt.empty([B * T], 'f32', 'sft weights');
  const losses = rt.empty([B * T], 'f32', 'sft losses');
  let lastLoss = NaN, done = run.resume?.step ?? 0, acc = NaN;
  const evalDue = (step: number) => o.evalEvery > 0 && step % o.evalEvery === 0 && step < o.steps;

  /** Draws step `step`'s batch, records the step and submits it with the copies its readback needs
   * (readMany records them when called): nothing recorded later changes what it reads. */
  const submit = (step: number): Submitted => {
    const t0 = performance.now();
    const batch = sftBatch(Array.from({ length: B }, () => noisyTeacher(next(), o.labelNoise ?? 0, seeds.labelNoise)), T);
    rt.write(model.tokensFor(B, T), batch.tokens);
    rt.write(targets, batch.targets);
    rt.write(weights, batch.weights);
    const lr = learningRate(step, o.steps, o.learningRate, o.warmupSteps);
    recordSftStep(model, B, T, targets, weights, losses, 1 / batch.count, lr, step);
    const result = rt.readMany([losses, model.opt.norm]);
    result.catch(() => undefined); // an error is thrown where it is awaited; this one may be abandoned
    return { step, lr, tokens: batch.count, data: next.state, t0, result };
  };

  /** Reads a submitted step back and runs its hooks; `mayBeLast`: nothing was submitted after it. */
  const finish = async (s: Submitted, mayBeLast: boolean): Promise<boolean> => {
    const [l, norm] = await s.result;
    lastLoss = sumLosses(l as Float32Array);
    const gradNorm = (norm as Float32Array)[0];
    const skipped = NonFiniteGuard.skipped(gradNorm);
    done = s.step;
    await hooks.onStep?.({ step: s.step, loss: lastLoss, lr: s.lr, tokens: s.tokens, ms: performance.now() - s.t0, gradNorm, skipped });
    if (evalDue(s.step)) {
      acc = await greedyAccuracy(model, o.task, heldout);
      await hooks.onEval?.({ step: s.step, heldoutAccuracy: acc, problems: heldout.length });
    }
    guard.record(s.step, skipped);
    const last = mayBeLast && (s.step === o.steps || !!hooks.shouldStop?.());
    await hooks.onCheckpoint?.({ step: s.step, data: s.data, last, skipped });
    return last;
  };

  /** Whether the step after `s` may be submitted before `s`'s results are handled (SftHooks.syncAfter). */
  const mayOverlap = (s: Submitted) =>
    !!hooks.syncAfter && guard.clear && s.step < o.steps && !evalDue(s.step) && !hooks.syncAfter(s.step);

  let inFlight: Submitted | null = null; // submitted and allowed to overlap the next step
  try {
    for (let step = done + 1; step <= o.steps; step++) {
      if (hooks.shouldStop?.()) break;
      const cur = submit(step);
      if (inFlight) await finish(inFlight, false);
      inFlight = null;
      if (mayOverlap(cur)) {
        inFlight = cur;
        continue;
      }
      if (await finish(cur, true)) break;
    }
    // stopped with a step in flight: it is the last one (its checkpoint, if any, is the stop's)
    if (inFlight) await finish(inFlight, true);
    acc = await greedyAccuracy(model, o.task, heldout);
    await hooks.onEval?.({ step: done, heldoutAccuracy: acc, problems: heldout.length });
  } finally {
    for (const t of [targets, weights, losses]) t.buffer.destroy();
  }
  return { steps: done, finalAccuracy: acc, lastLoss };
}

/** A step recorded and submitted; its results are read when `result` settles. */
interface Submitted {
  step: number;
  lr: number;
  tokens: number;
  /** the training stream's position after this step's batch (what its checkpoint resumes from) */
  data: number;
  t0: number;
  result: Promise<TypedArray[]>;
}

/** One step: forward, masked cross-entropy, backward, AdamW (skipped if the loss or gradients are
 * not finite); returns the loss (one readback). */
export async function sftStep(model: GPT, B: number, T: number, targets: Tensor, weights: Tensor, losses: Tensor, scale: number, lr: number, step: number): Promise<number> {
  recordSftStep(model, B, T, targets, weights, losses, scale, lr, step);
  return sumLosses(await model.rt.readF32(losses));
}

/** sftStep, also returning the step's pre-clip gradient norm (what opt.readNorm() would read) from
 * the same readback: one GPU round trip per step instead of two. */
export async function sftStepWithNorm(model: GPT, B: number, T: number, targets: Tensor, weights: Tensor, losses: Tensor, scale: number, lr: number, step: number): Promise<{ loss: number; gradNorm: number }> {
  recordSftStep(model, B, T, targets, weights, losses, scale, lr, step);
  const [l, norm] = await model.rt.readMany([losses, model.opt.norm]);
  return { loss: sumLosses(l as Float32Array), gradNorm: (norm as Float32Array)[0] };
}

function recordSftStep(model: GPT, B: number, T: number, targets: Tensor, weights: Tensor, losses: Tensor, scale: number, lr: number, step: number): void {
  const { rt } = model;
  rt.phase = 'forward';
  const logits = model.forward(B, T);
  const dlogits = model.dlogitsBuffer();
  crossEntropy(rt, { logits, targets, weights, losses, dlogits, scale });
  rt.phase = 'backward';
  model.zeroGrad();
  model.backward(dlogits);
  rt.phase = 'optimizer';
  model.step(lr, step, { x: losses, stride: 1 });
  rt.phase = 'default';
}

function sumLosses(l: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < l.length; i++) sum += l[i];
  return sum;
}
