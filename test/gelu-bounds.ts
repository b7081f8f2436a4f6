// Error bounds of the GPU GELU (elementwise.wgsl.ts's geluWGSL) against the float64 reference,
// shared by the elementwise test and the fused matmul epilogue's test.
import { geluArg, geluGradRef, geluRef } from '../kernels/elementwise.ref.js';
import { dotBound, U32 } from './helpers.js';

// γ_k·x, the bound of k float32 roundings on x (Higham's γ_k).
const gammaTimes = (k: number, x: number) => dotBound(0, x, k);

// The exponent is clamped to ±80, so past it the kernel's answer is off by about |x|·e^−80 (the
// error is exactly that near x = −30, hence 1% for e^80's own float32 and exp rounding).
const CLAMP = 80;
const clampSlack = (x: number) => (Math.abs(2 * geluArg(x)) > CLAMP ? 1.01 * Math.exp(-CLAMP) : 0);

/**
 * Relative error of the kernel's e = exp(−2u): WGSL allows exp 3 + 2|a| ulp for argument a, and a
 * itself carries the relative error of u's 5 roundings (x·x·x, ·0.044715, +x, ·√(2/π)), which exp
 * turns into |a|·γ5 relative.
 */
function expErr(x: number): number {
  const a = Math.min(Math.abs(2 * geluArg(x)), CLAMP);
  return (3 + 2 * a) * U32 + gammaTimes(5, a);
}

/** x / (1 + e): e's error, damped by e/(1+e), then two roundings. 1% margin for second order terms. */
export function geluBound(x: number): number {
  return 1.01 * Math.abs(geluRef(x)) * (expErr(x) + 2 * U32) + Math.abs(x) * clampSlack(x);
}

/**
 * dy·s·(1 + P), P = 2x·(e·s)·u′: s = 1/(1+e) carries E + 2u; e·s 2E + 3u; u′ = √(2/π)(1 + 3c·x²)
 * 5 roundings; P two more products. 1 + P then rounds once and inherits |P|·rel(P); ·s and ·dy
 * round once each.
 */
export function geluGradBound(x: number, dy: number): number {
  const E = expErr(x);
  const u = geluArg(x);
  const s = 1 / (1 + Math.exp(-2 * u));
  const du = Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
  const P = 2 * x * (1 / (1 + Math.exp(2 * u))) * du; // e·s = 1 − s = σ(−2u)
  const relS = E + 2 * U32, relP = 2 * E + 3 * U32 + gammaTimes(5, 1) + 2 * U32;
  const core = Math.abs(dy * s) * (Math.abs(1 + P) * (relS + 3 * U32) + Math.abs(P) * relP);
  return 1.01 * core + Math.abs(dy) * (1 + 2 * Math.abs(x) * du) * clampSlack(x);
}

/** sup |gelu′(x)| (≈ 1.129 near x = 1.5), from a fine grid with a margin: how far an input error
 * Δ can move gelu's output (mean value theorem). */
export const GELU_SLOPE = (() => {
  let m = 0;
  for (let x = -12; x <= 12; x += 1e-3) m = Math.max(m, Math.abs(geluGradRef(x)));
  return 1.001 * m;
})();
