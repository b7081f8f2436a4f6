// Launchers for the optimizer: global gradient norm (two dispatches) and the AdamW step (one), plus
// the decay bitmask they need and a small AdamW class that owns the optimizer state.
// A training step records gradNorm then adamw and never reads anything back: clipping and the
// non-finite skip are decided on the GPU from the norm tensor.
import type { Runtime, Tensor } from './runtime.js';
import { adamwWGSL, lossGuardWGSL, MAX_PARTIAL_GROUPS, normFinishWGSL, normPartialWGSL, WG } from './optim.wgsl.js';

export interface DecaySegment {
  offset: number;
  size: number;
  decay: boolean;
}

/** Bit b is set when elements [b·2^shift, (b+1)·2^shift) get weight decay. */
export interface DecayMask {
  bits: Uint32Array;
  shift: number;
}

/**
 * Packs per-tensor decay flags (a ParamLayout's params fit `DecaySegment`) into a bitmask with the
 * largest power-of-two block, up to `maxBlock`, in which no block mixes decayed and undecayed
 * elements. Elements outside every segment (padding) take either value: they are zero and stay zero.
 * A layout aligned to 64 gets 64-element blocks (n/2048 words); any layout works, at worst with
 * block 1.
 */
export function decayMask(n: number, segments: readonly DecaySegment[], maxBlock = 64): DecayMask {
  for (const s of segments) {
    if (s.offset < 0 || s.offset + s.size > n) throw new Error(`decayMask: segment [${s.offset}, ${s.offset + s.size}) lies outside the ${n} elements`);
  }
  let shift = Math.floor(Math.log2(Math.max(1, maxBlock)));
  for (; shift > 0; shift--) if (consistent(segments, shift)) break;
  const blocks = Math.ceil(n / 2 ** shift);
  const bits = new Uint32Array(Math.max(1, Math.ceil(blocks / 32)));
  for (const s of segments) {
    if (!s.decay || s.size === 0) continue;
    for (let b = s.offset >> shift; b <= (s.offset + s.size - 1) >> shift; b++) bits[b >> 5] |= 1 << (b & 31);
  }
  return { bits, shift };
}

function consistent(segments: readonly DecaySegment[], shift: number): boolean {
  const seen = new Map<number, boolean>();
  for (const s of segments) {
    if (s.size === 0) continue;
    for (let b = s.offset >> shift; b <= (s.offset + s.size - 1) >> shift; b++) {
      const prev = seen.get(b);
      if (prev !== undefined && prev !== s.decay) return false;
      seen.set(b, s.decay);
    }
  }
  return true;
}

function laneWidth(n: number): 1 | 4 {
  return n % 4 === 0 ? 4 : 1;
}

/** Stage-1 workgroups: ≥ 16 lanes per invocation so the partial sums stay few, capped for stage 2. */
function partialGroups(n: number): number {
  const lanes = n / laneWidth(n);
  return Math.min(MAX_PARTIAL_GROUPS, Math.max(1, Math.ceil(lanes / (WG * 16))));
}

/** Length of the u32 scratch tensor `gradNorm` needs for n gradient elements. */
export function normScratchSize(n: number): number {
  return partialGroups(n) * WG;
}

/**
 * norm[0] = ‖grads‖₂ over the whole tensor, or +inf if any gradient is NaN/±inf or the sum of
 * squares overflows f32 (norm ≳ 1.8e19). Deterministic: the summation order depends only on the
 * length. `partials` is u32 scratch of at least normScratchSize(n); `norm` is a 1-element f32 tensor.
 */
export function gradNorm(rt: Runtime, a: { grads: Tensor; partials: Tensor; norm: Tensor }): void {
  const n = a.grads.size;
  if (a.grads.dtype !== 'f32') throw new Error(`gradNorm: grads ${a.grads.label} are ${a.grads.dtype}, not f32`);
  if (a.norm.size !== 1 || a.norm.dtype !== 'f32') throw new Error(`gradNorm: norm ${a.norm.label} must be one f32, got [${a.norm.shape}] ${a.norm.dtype}`);
  const groups = partialGroups(n), count = groups * WG;
  if (a.partials.size < count) throw new Error(`gradNorm: scratch ${a.partials.label} has ${a.partials.size} elements; ${n} gradients need normScratchSize = ${count}`);
  const w = laneWidth(n);
  const partials = a.partials.size === count ? a.partials : a.partials.view(0, [count]);
  rt.dispatch(rt.kernel({ name: `grad_norm_partial_v${w}`, code: normPartialWGSL(w) }), {
    params: [n / w],
    tensors: [a.grads, partials],
    groups: [groups],
    flops: 2 * n,
    label: 'grad_norm_partial',
  });
  rt.dispatch(rt.kernel({ name: 'grad_norm_finish', code: normFinishWGSL }), {
    params: [count],
    tensors: [partials, a.norm],
    groups: [1],
    flops: count,
    label: 'grad_norm_finish',
  });
}

/** Values whose finiteness guards a step: x[0], x[stride], … (e.g. per-row losses, or column 0 of [k, 4] stats). */
export interface LossGuard {
  x: Tensor;
  stride: number;
}

/**
 * Sets norm[0] to +inf when any guarded value is NaN/±inf, so the following adamw skips the step
 * (params and moments keep their bits, `skipped` counts it) just as for non-finite gradients.
 */
export function lossGuard(rt: Runtime, a: LossGuard & { norm: Tensor }): void {
  if (a.x.dtype !== 'f32') throw new Error(`lossGuard: ${a.x.label} is ${a.x.dtype}, not f32`);
  if (!(Number.isInteger(a.stride) && a.stride >= 1)) throw new Error(`lossGuard: stride is ${a.stride}; it must be a positive integer`);
  const n = Math.ceil(a.x.size / a.stride);
  rt.dispatch(rt.kernel({ name: 'loss_guard', code: lossGuardWGSL }), {
    params: [n, a.stride],
    tensors: [a.x, a.norm],
    groups: [1],
    label: 'loss_guard',
  });
}

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled: p ← p − lr·wd·p on decayed elements (PyTorch AdamW's convention). */
  weightDecay: number;
  /** Gradients are scaled by min(1, maxNorm/(norm + 1e-6)); 0 turns clipping off. */
  maxNorm: number;
}

/** nanoGPT/llm.c GPT-2 defaults. */
export const ADAMW_DEFAULTS: AdamWHyper = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm: 1.0 };

export interface AdamWTensors {
  params: Tensor;
  grads: Tensor;
  m: Tensor;
  v: Tensor;
  /** u32 words of a DecayMask, with its shift. */
  decay: Tensor;
  shift: number;
  /** The 1-element f32 norm gradNorm wrote for these grads. */
  norm: Tensor;
  /** A u32 counter, incremented once per skipped (non-finite) step. */
  skipped: Tensor;
}

/**
 * One AdamW step (1-based `step`, for the bias corrections) over the flat buffers, in place.
 * When the norm is not finite the step changes nothing but `skipped`; params, m and v keep their
 * bits. The bias corrections are computed here in float64: WGSL's pow is only as accurate as its
 * exp2/log2, and a constant per step belongs on the host anyway.
 */
export function adamw(rt: Runtime, a: AdamWTensors, h: AdamWHyper & { lr: number; step: number }): void {
  const n = a.params.size;
  for (const [k, t] of [['grads', a.grads], ['m', a.m], ['v', a.v]] as const) {
    if (t.size !== n || t.dtype !== 'f32') throw new Error(`adamw: ${k} ${t.label} is [${t.shape}] ${t.dtype}; params ${a.params.label} have ${n} f32 elements`);
  }
  const words = Math.ceil(Math.ceil(n / 2 ** a.shift) / 32);
  if (a.decay.dtype !== 'u32' || a.decay.size < words) throw new Error(`adamw: decay mask ${a.decay.label} needs ${words} u32 words for ${n} elements at shift ${a.shift}`);
  if (a.norm.size !== 1 || a.skipped.size !== 1 || a.skipped.dtype !== 'u32') throw new Error('adamw: norm must be one f32 and skipped one u32');
  if (!(Number.isInteger(h.step) && h.step >= 1)) throw new Error(`adamw: step is ${h.step}; steps count from 1`);
  if (!(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1)) throw new Error(`adamw: betas ${h.beta1}, ${h.beta2} must lie in [0, 1)`);
  const w = a.shift >= 2 ? laneWidth(n) : 1;
  const ibc1 = 1 / (1 - h.beta1 ** h.step), ibc2 = 1 / (1 - h.beta2 ** h.step);
  const [gx, gy] = grid(n / w);
  rt.dispatch(rt.kernel({ name: `adamw_v${w}`, code: adamwWGSL(w) }), {
    params: [n / w, a.shift],
    // 1 − β passed separately: rounding β to f32 first would cost 1 − β up to β/(1−β) ulps.
    fparams: [h.lr, h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.eps, h.weightDecay, h.maxNorm, ibc1, ibc2],
    tensors: [a.params, a.grads, a.m, a.v, a.decay, a.norm, a.skipped],
    groups: [gx, gy],
    flops: 14 * n,
    label: 'adamw',
  });
}

function grid(lanes: number): [number, number] {
  const wgs = Math.ceil(lanes / WG);
  const x = Math.min(wgs, 65535);
  return [x, x === 0 ? 1 : Math.ceil(wgs / x)];
}

export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  /** steps skipped so far for non-finite gradients or loss */
  skipped: number;
}

/** Owns the optimizer state for one flat parameter buffer of n elements. */
export class AdamW {
  readonly m: Tensor;
  readonly v: Tensor;
  readonly norm: Tensor;
  readonly skipped: Tensor;
  readonly decay: Tensor;
  readonly shift: number;
  private readonly partials: Tensor;
  readonly hyper: AdamWHyper;

  constructor(private rt: Runtime, readonly n: number, segments: readonly DecaySegment[], hyper: Partial<AdamWHyper> = {}) {
    this.hyper = { ...ADAMW_DEFAULTS, ...hyper };
    this.m = rt.empty([n], 'f32', 'adam m'); // WebGPU buffers start zeroed
    this.v = rt.empty([n], 'f32', 'adam v');
    this.norm = rt.empty([1], 'f32', 'grad norm');
    this.skipped = rt.empty([1], 'u32', 'skipped steps');
    this.partials = rt.empty([normScratchSize(n)], 'u32', 'grad norm partials');
    const mask = decayMask(n, segments);
    this.decay = rt.upload(mask.bits, [mask.bits.length], 'u32', 'decay mask');
    this.shift = mask.shift;
  }

  /**
   * Records the norm, then the clipped update — skipped when the norm, or any value `guard`
   * names (the loss), is not finite. `step` counts from 1.
   */
  step(params: Tensor, grads: Tensor, lr: number, step: number, guard?: LossGuard): void {
    gradNorm(this.rt, { grads, partials: this.partials, norm: this.norm });
    if (guard) lossGuard(this.rt, { ...guard, norm: this.norm });
    adamw(this.rt, { params, grads, m: this.m, v: this.v, decay: this.decay, shift: this.shift, norm: this.norm, skipped: this.skipped }, { ...this.hyper, lr, step });
  }

  /** The moments and the skipped-step count, for checkpoints (reads back). */
  async readState(): Promise<AdamWState> {
    return { m: await this.rt.readF32(this.m), v: await this.rt.readF32(this.v), skipped: await this.readSkipped() };
  }

  /** Restores what readState returned (e.g. from a checkpoint), so the next step continues exactly. */
  loadState(s: AdamWState): void {
    if (s.m.length !== this.n || s.v.length !== this.n) throw new Error(`AdamW.loadState: moments have ${s.m.length} and ${s.v.length} elements, the optimizer holds ${this.n}`);
    if (!(Number.isInteger(s.skipped) && s.skipped >= 0 && s.skipped <= 0xffffffff)) throw new Error(`AdamW.loadState: skipped is ${s.skipped}; it must be a u32`);
    this.rt.write(this.m, s.m);
    this.rt.write(this.v, s.v);
    this.rt.write(this.skipped, [s.skipped]);
  }

  /** A fresh optimizer: zero moments, nothing skipped (e.g. when a new training stage begins). */
  reset(): void {
    for (const t of [this.m, this.v, this.skipped]) this.rt.zero(t);
  }

  /** The pre-clip gradient norm of the last step (+inf if it was skipped). Reads back: the training loops log it and
   * count skipped steps from it (train/loop.ts). */
  async readNorm(): Promise<number> {
    return (await this.rt.readF32(this.norm))[0];
  }

  async readSkipped(): Promise<number> {
    return (await this.rt.read(this.skipped))[0];
  }

  /** Frees every GPU buffer the optimizer owns (moments, norm, skip count, decay mask, norm scratch). */
  destroy(): void {
    for (const t of [this.m, this.v, this.norm, this.skipped, this.decay, this.partials]) t.buffer.destroy();
  }
}
