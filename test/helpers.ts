// Shared test utilities: seeded random data and tolerance checks that report the worst element.
import * as assert from 'uvu/assert';
import { mulberry32 } from '../verify/common.js';

/** Seeded, reproducible uniform [0, 1) stream (the project's one PRNG). */
export const rng = mulberry32;

/** Uniform values in [-scale, scale), as float32 (util/random.ts: the benchmarks use it too). */
export { randArray } from '../util/random.js';

export function randInts(n: number, max: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * max);
  return out;
}

/** float32 unit roundoff */
export const U32 = 2 ** -24;

/**
 * Asserts |actual[i] - expected[i]| <= bound[i] (or a scalar bound) for every i, and reports the
 * worst offender with its index. Use bounds derived from the reduction length and the magnitudes
 * involved (e.g. dotBound), not arbitrary epsilons.
 */
export function assertWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: ArrayLike<number> | number,
  what: string,
): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  let worst = -1, worstRatio = 0;
  for (let i = 0; i < expected.length; i++) {
    const b = typeof bound === 'number' ? bound : bound[i];
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= b)) {
      const ratio = Number.isNaN(d) ? Infinity : d / b;
      if (worst < 0 || ratio > worstRatio) { worst = i; worstRatio = ratio; }
    }
  }
  if (worst >= 0) {
    const b = typeof bound === 'number' ? bound : bound[worst];
    assert.unreachable(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ± ${b} (off by ${worstRatio.toFixed(2)}× the bound)`);
  }
}

/**
 * Forward error bound of a float32 dot product of length k accumulated in any order:
 * |fl(Σ a·b) − Σ a·b| ≤ γ_k Σ|a·b|, γ_k = k·u/(1 − k·u) (Higham, Accuracy and Stability, §3.1),
 * plus the rounding of inputs that were themselves float32 results (extra = their count of roundings).
 */
export function dotBound(k: number, absSum: number, extra = 1): number {
  const n = k + extra;
  const gamma = (n * U32) / (1 - n * U32);
  return gamma * absSum + 1e-30;
}
