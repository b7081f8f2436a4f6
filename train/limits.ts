// The biggest buffers a run will allocate, checked against the adapter's limits before anything is
// trained or written: a configuration too big for the adapter fails at once, naming the buffer,
// its size and the limit, instead of minutes into the run.
import { savedShape } from '../kernels/attention.js';
import { alignUp } from '../kernels/runtime.js';
import type { BLOCK_ROWS } from '../model/block.js';
import { paramLayout, type GPTConfig } from '../model/config.js';
import type { TaskConfig } from '../verify/index.js';
import { sftPositions } from './data.js';
import { GREEDY_BATCH, PASS_K_BATCH, rolloutLength } from './evaluate.js';

export interface PlannedBuffer {
  what: string;
  shape: number[];
  /** what else drops this buffer, after "use a smaller batch or model" (default: nothing else) */
  fix?: string;
}

/** Bytes of a planned f32/u32 buffer: 4 per element. */
export function plannedBytes(b: PlannedBuffer): number {
  return 4 * b.shape.reduce((a, x) => a * x, 1);
}

/** The coarsest storage-offset alignment WebGPU lets an adapter require (256 bytes), in elements:
 * staging planned with it bounds the staging of any adapter from above. */
export const MAX_VIEW_ALIGN = 64;

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

/** Row width of each block activation a capture stages (model/generate.ts rowWidth). */
const STAGED_BLOCK_WIDTH: Record<(typeof BLOCK_ROWS)[number], (C: number) => number> = {
  ln1: (C) => C, ln1Mean: () => 1, ln1Rstd: () => 1, qkv: (C) => 3 * C, atty: (C) => C, res1: (C) => C,
  ln2: (C) => C, ln2Mean: () => 1, ln2Rstd: () => 1, fch: (C) => 4 * C, fchGelu: (C) => 4 * C, res2: (C) => C,
};

/**
 * The staging a capturing decoder keeps while it lives (model/generate.ts stagingFor, the rollout
 * reuse of train/rl.ts): one more copy of the training forward's activations for B sequences of T
 * positions, time-major. Every buffer it allocates: for x0, each block's activations, lnf, its mean
 * and rstd, and the logits, T slabs of [B, W], each rounded up to the storage-offset alignment
 * (kernels/unstage.ts stageStride; viewAlign in elements, Runtime.viewAlign). The capture target is
 * the model's own activation buffers (trainingBuffers), so it adds nothing else.
 */
export function captureStagingBuffers(cfg: GPTConfig, B: number, T: number, viewAlign: number, phase: string): PlannedBuffer[] {
  const C = cfg.dModel;
  const fix = 'or run without rollout reuse (--reuse_rollout false)';
  const slabs = (W: number, what: string): PlannedBuffer => ({ what: `${phase} capture staging of the ${what}`, shape: [T * alignUp(B * W, viewAlign)], fix });
  const blocks = Array.from({ length: cfg.nLayer }, (_, l) =>
    (Object.keys(STAGED_BLOCK_WIDTH) as (typeof BLOCK_ROWS)[number][]).map((k) => slabs(STAGED_BLOCK_WIDTH[k](C), `h.${l}.${k}`)));
  return [
    slabs(C, 'x0'), ...blocks.flat(),
    slabs(C, 'lnf'), slabs(1, 'lnf mean'), slabs(1, 'lnf rstd'), slabs(cfg.vocabSize, 'logits'),
  ];
}

export interface RunSizes {
  task: TaskConfig;
  sft?: { batchSize: number; evalProblems: number };
  /** reuseRollout as RlOptions: on unless false, and then the rollout decoder keeps a capture's staging */
  rl?: { numPrompts: number; numGenerations: number; evalProblems: number; reuseRollout?: boolean };
  /** pass@k: samples per problem × problems */
  passK?: { samples: number; problems: number };
  /** the adapter's storage-offset alignment in elements (Runtime.viewAlign); default MAX_VIEW_ALIGN */
  viewAlign?: number;
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
    if (r.rl.reuseRollout !== false) plan.push(...captureStagingBuffers(cfg, B, decodeLength - 1, r.viewAlign ?? MAX_VIEW_ALIGN, 'RL rollout'));
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
    const bytes = plannedBytes(b);
    if (bytes > limit) {
      throw new Error(`the ${b.what} [${b.shape.join(', ')}] would need ${size(bytes)} (${bytes} bytes), over this adapter's limit of ${size(limit)} (${limit} bytes) per buffer; use a smaller batch or model${b.fix ? `, ${b.fix}` : ''}`);
    }
  }
}
