// Supervised fine-tuning on generated solutions with the answer-only loss mask. Platform-neutral:
// Node's run.ts and the browser page drive it through hooks.
import { crossEntropy } from '../kernels/loss.js';
import type { Tensor } from '../kernels/runtime.js';
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
  try {
    for (let step = done + 1; step <= o.steps; step++) {
      if (hooks.shouldStop?.()) break;
      const t0 = performance.now();
      const batch = sftBatch(Array.from({ length: B }, () => noisyTeacher(next(), o.labelNoise ?? 0, seeds.labelNoise)), T);
      rt.write(model.tokensFor(B, T), batch.tokens);
      rt.write(targets, batch.targets);
      rt.write(weights, batch.weights);
      const lr = learningRate(step, o.steps, o.learningRate, o.warmupSteps);
      const r = await sftStepWithNorm(model, B, T, targets, weights, losses, 1 / batch.count, lr, step);
      lastLoss = r.loss;
      const gradNorm = r.gradNorm;
      const skipped = NonFiniteGuard.skipped(gradNorm);
      done = step;
      await hooks.onStep?.({ step, loss: lastLoss, lr, tokens: batch.count, ms: performance.now() - t0, gradNorm, skipped });
      if (o.evalEvery > 0 && step % o.evalEvery === 0 && step < o.steps) {
        acc = await greedyAccuracy(model, o.task, heldout);
        await hooks.onEval?.({ step, heldoutAccuracy: acc, problems: heldout.length });
      }
      guard.record(step, skipped);
      const last = step === o.steps || !!hooks.shouldStop?.();
      await hooks.onCheckpoint?.({ step, data: next.state, last, skipped });
      if (last) break;
    }
    acc = await greedyAccuracy(model, o.task, heldout);
    await hooks.onEval?.({ step: done, heldoutAccuracy: acc, problems: heldout.length });
  } finally {
    for (const t of [targets, weights, losses]) t.buffer.destroy();
  }
  return { steps: done, finalAccuracy: acc, lastLoss };
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
