// The biggest buffers a run will allocate, checked against the adapter's limits before anything is
// trained or written: a configuration too big for the adapter fails at once, naming the buffer,
// its size and the limit, instead of minutes into the run.
import { savedShape } from '../kernels/attention.js';
import { paramLayout, type GPTConfig } from '../model/config.js';
import type { TaskConfig } from '../verify/index.js';
import { sftPositions } from './data.js';
import { GREEDY_BATCH, PASS_K_BATCH, rolloutLength } from './evaluate.js';

export interface PlannedBuffer {
  what: string;
  shape: number[];
}

/** The largest activations of a forward + backward over B sequences of T positions (model/gpt.ts). */
export function trainingBuffers(cfg: GPTConfig, B: number, T: number, phase: string): PlannedBuffer[] {
  const N = B * T, C = cfg.dModel, H = cfg.nHead;
  return [
    { what: `${phase} logits`, shape: [N, cfg.vocabSize] },
    { what: `${phase} MLP activations`, shape: [N, 4 * C] },
    { what: `${phase} qkv`, shape: [N, 3 * C] },
    { what: `${phase} attention state`, shape: savedShape({ B, T, H, hd: C / H }) },
  ];
}

/** The largest buffers of batched generation: B sequences of up to Tmax positions (model/generate.ts). */
export function decodeBuffers(cfg: GPTConfig, B: number, Tmax: number, phase: string): PlannedBuffer[] {
  const C = cfg.dModel, H = cfg.nHead;
  return [
    { what: `${phase} KV cache`, shape: [B, H, Tmax, C / H] },
    { what: `${phase} logits`, shape: [B, cfg.vocabSize] },
    { what: `${phase} MLP activations`, shape: [B, 4 * C] },
  ];
}

export interface RunSizes {
  task: TaskConfig;
  sft?: { batchSize: number; evalProblems: number };
  rl?: { numPrompts: number; numGenerations: number; evalProblems: number };
  /** pass@k: samples per problem × problems */
  passK?: { samples: number; problems: number };
}

/** Every phase's biggest buffers for a run (batch sizes as train/sft.ts, rl.ts and evaluate.ts use them). */
export function runBuffers(cfg: GPTConfig, r: RunSizes): PlannedBuffer[] {
  const decodeLength = rolloutLength(cfg, r.task);
  const plan: PlannedBuffer[] = [{ what: 'parameters', shape: [paramLayout(cfg).size] }];
  if (r.sft) {
    plan.push(...trainingBuffers(cfg, r.sft.batchSize, sftPositions(r.task), 'SFT'));
    plan.push(...decodeBuffers(cfg, Math.min(GREEDY_BATCH, r.sft.evalProblems), decodeLength, 'held-out evaluation'));
  }
  if (r.rl) {
    const B = r.rl.numPrompts * r.rl.numGenerations;
    plan.push(...decodeBuffers(cfg, B, decodeLength, 'RL rollout'));
    plan.push(...trainingBuffers(cfg, B, decodeLength - 1, 'RL'));
    plan.push(...decodeBuffers(cfg, Math.min(GREEDY_BATCH, r.rl.evalProblems), decodeLength, 'held-out evaluation'));
  }
  if (r.passK) plan.push(...decodeBuffers(cfg, Math.min(PASS_K_BATCH, r.passK.samples * r.passK.problems), decodeLength, 'pass@k'));
  return plan;
}

const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

/** Throws one line naming the first buffer over the adapter's per-buffer limit, its size and the limit. */
export function checkBufferLimits(limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }, plan: readonly PlannedBuffer[]): void {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  for (const b of plan) {
    const bytes = 4 * b.shape.reduce((a, x) => a * x, 1);
    if (bytes > limit) {
      throw new Error(`the ${b.what} [${b.shape.join(', ')}] would need ${size(bytes)} (${bytes} bytes), over this adapter's limit of ${size(limit)} (${limit} bytes) per buffer; use a smaller batch or model`);
    }
  }
}
