// float64 reference of the optimizer kernels (see optim.wgsl.ts): the same semantics, exact
// hyperparameters, no rounding anywhere but float64's.
import type { AdamWHyper } from './optim.js';

/** ‖g‖₂, or +inf when any element is not finite (the kernel's contract). */
export function gradNormRef(grads: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) {
    if (!Number.isFinite(grads[i])) return Infinity;
    s += grads[i] * grads[i];
  }
  return Math.sqrt(s);
}

export function clipScaleRef(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
}

/**
 * One AdamW step in place on float64 state. `decay[i]` truthy: element i gets weight decay.
 * Returns what the step did; a non-finite norm leaves everything untouched (skipped).
 */
export function adamwRef(
  s: { params: Float64Array; m: Float64Array; v: Float64Array },
  grads: ArrayLike<number>,
  decay: ArrayLike<number | boolean>,
  h: AdamWHyper & { lr: number; step: number },
): { norm: number; clip: number; skipped: boolean } {
  const norm = gradNormRef(grads);
  if (!Number.isFinite(norm)) return { norm, clip: 1, skipped: true };
  const clip = clipScaleRef(norm, h.maxNorm);
  const bc1 = 1 - h.beta1 ** h.step, bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < s.params.length; i++) {
    const g = grads[i] * clip;
    s.m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * g;
    s.v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * g * g;
    const wd = decay[i] ? h.weightDecay : 0;
    s.params[i] -= h.lr * (s.m[i] / bc1 / (Math.sqrt(s.v[i] / bc2) + h.eps) + wd * s.params[i]);
  }
  return { norm, clip, skipped: false };
}
