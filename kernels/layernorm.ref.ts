// Float64 LayerNorm reference. The backward takes mean/rstd as given (the float32 values the
// kernel reads), so a test measures the backward kernel's own error, not the forward's.

import { LN_EPS } from './layernorm.wgsl.js';
import { columnSumRef, type SumRef } from './reduce.ref.js';

export function layernormRef(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, N: number, C: number) {
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
    const s = 1 / Math.sqrt(v / C + LN_EPS);
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c] - m) * s * gamma[c] + beta[c];
    mean[r] = m;
    rstd[r] = s;
  }
  return { out, mean, rstd };
}

export interface LayernormGradRef {
  /** dx of every row (as if listed); rows outside the list are the caller's to ignore. */
  dx: Float64Array;
  /** Per row: mean(g) and mean(g·x̂), g = dout·γ, and Σ|g|, Σ|g·x̂| (error-bound scales). */
  mg: Float64Array;
  mgx: Float64Array;
  absG: Float64Array;
  absGX: Float64Array;
  dgamma: SumRef;
  dbeta: SumRef;
}

export function layernormBackwardRef(
  dout: ArrayLike<number>, x: ArrayLike<number>, mean: ArrayLike<number>, rstd: ArrayLike<number>, gamma: ArrayLike<number>,
  N: number, C: number, rows?: ArrayLike<number>,
): LayernormGradRef {
  const xhat = (r: number, c: number) => (x[r * C + c] - mean[r]) * rstd[r];
  const dx = new Float64Array(N * C), mg = new Float64Array(N), mgx = new Float64Array(N);
  const absG = new Float64Array(N), absGX = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < C; c++) {
      const g = dout[r * C + c] * gamma[c];
      mg[r] += g / C;
      mgx[r] += (g * xhat(r, c)) / C;
      absG[r] += Math.abs(g);
      absGX[r] += Math.abs(g * xhat(r, c));
    }
    for (let c = 0; c < C; c++) dx[r * C + c] = rstd[r] * (dout[r * C + c] * gamma[c] - mg[r] - xhat(r, c) * mgx[r]);
  }
  return {
    dx, mg, mgx, absG, absGX,
    dgamma: columnSumRef(N, C, (r, c) => dout[r * C + c] * xhat(r, c), rows),
    dbeta: columnSumRef(N, C, (r, c) => dout[r * C + c], rows),
  };
}
