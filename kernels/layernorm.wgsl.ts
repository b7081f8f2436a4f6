// LayerNorm over the last dimension, one invocation per row: rows are short (C = model width), so
// looping over a row in one invocation needs no barriers (slow on lavapipe) and no atomics. Rows
// are read with vec4 loads when C is a multiple of 4. When a row is at most ROW_CACHE_MAX lanes
// (vec4s or floats), the kernel is compiled for that width and keeps the row in a private array:
// each storage element is loaded once instead of once per pass (on lavapipe every storage load is
// a per-lane gather: measured 0.71× the forward's time at 1664 × 64), with the same arithmetic in
// the same order, so the results are bit-identical to the streaming form used for wider rows.

import { entry1d, header, lanesWGSL, rowOf } from './elementwise.wgsl.js';
import type { ColumnReduceSpec } from './reduce.wgsl.js';

/** Widest row (in T lanes) kept in a private array: 64 vec4 = C 256 (1 KiB per invocation). */
export const ROW_CACHE_MAX = 64;

/** The compile-time row width when the row is cached, else 0 (the width stays a runtime parameter). */
export function cachedWidth(W: number): number {
  return W > 0 && W <= ROW_CACHE_MAX ? W : 0;
}

export const LN_EPS = 1e-5;

/** out = (x − mean)·rstd·γ + β per row, two-pass variance (no E[x²] − mean² cancellation). */
export function layernormWGSL(v: 1 | 4, saveStats: boolean, cached = 0): string {
  const W = cached ? `${cached}u` : 'P.W';
  const xq = cached ? 'xs[q]' : 'x[base + q]';
  const stats = saveStats ? [{ name: 'mean_out', elem: 'f32' }, { name: 'rstd_out', elem: 'f32' }] : [];
  return `${lanesWGSL(v)}
${header({ u32: ['N', 'W'], f32: ['C', 'eps'] }, [
    { name: 'x', elem: 'T' }, { name: 'gamma', elem: 'T' }, { name: 'beta', elem: 'T' }, { name: 'out', elem: 'T' }, ...stats,
  ])}
${entry1d('P.N', `
  let base = i * P.W;${cached ? `
  var xs: array<T, ${cached}>;` : ''}
  var s = T(0.0);
  for (var q = 0u; q < ${W}; q++) { ${cached ? 'xs[q] = x[base + q]; ' : ''}s += ${xq}; }
  let mean = hsum(s) / P.C;
  var ss = T(0.0);
  for (var q = 0u; q < ${W}; q++) { let d = ${xq} - mean; ss += d * d; }
  let rstd = inverseSqrt(hsum(ss) / P.C + P.eps);
  for (var q = 0u; q < ${W}; q++) { out[base + q] = (${xq} - mean) * rstd * gamma[q] + beta[q]; }
${saveStats ? '  mean_out[i] = mean;\n  rstd_out[i] = rstd;' : ''}`)}`;
}

/**
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dout·γ, x̂ = (x − mean)·rstd, for the listed rows
 * (or all); the two means are the paths through the row's mean and variance.
 */
export function layernormDxWGSL(v: 1 | 4, hasRows: boolean, accumulate: boolean, cached = 0): string {
  const W = cached ? `${cached}u` : 'P.W';
  return `${lanesWGSL(v)}
${header({ u32: ['N', 'W', 'K'], f32: ['C'] }, [
    { name: 'dout', elem: 'T' }, { name: 'x', elem: 'T' }, { name: 'mean', elem: 'f32' }, { name: 'rstd', elem: 'f32' },
    { name: 'gamma', elem: 'T' }, ...(hasRows ? [{ name: 'rows', elem: 'u32' }] : []), { name: 'dx', elem: 'T' },
  ])}
${rowOf(hasRows)}
${entry1d('P.K', `
  let r = row_of(i);
  if (r >= P.N) { return; }
  let base = r * P.W;
  let m = mean[r];
  let s = rstd[r];
  var sg = T(0.0);
  var sgx = T(0.0);${cached ? `
  var gs: array<T, ${cached}>;
  var xhs: array<T, ${cached}>;` : ''}
  for (var q = 0u; q < ${W}; q++) {
    let g = dout[base + q] * gamma[q];
    let xh = (x[base + q] - m) * s;${cached ? `
    gs[q] = g;
    xhs[q] = xh;` : ''}
    sg += g;
    sgx += g * xh;
  }
  let mg = hsum(sg) / P.C;
  let mgx = hsum(sgx) / P.C;
  for (var q = 0u; q < ${W}; q++) {
    let g = ${cached ? 'gs[q]' : 'dout[base + q] * gamma[q]'};
    let xh = ${cached ? 'xhs[q]' : '(x[base + q] - m) * s'};
    dx[base + q] = ${accumulate ? 'dx[base + q] + ' : ''}s * (g - mg - xh * mgx);
  }`)}`;
}

/** dγ += Σ dout·x̂, dβ += Σ dout over the listed rows (or all), as one column reduction. */
export function layernormParamGradSpec(v: 1 | 4, hasRows: boolean): ColumnReduceSpec {
  return {
    name: 'layernorm_dgamma_dbeta',
    v,
    inputs: [{ name: 'dout', elem: 'T' }, { name: 'x', elem: 'T' }, { name: 'mean', elem: 'f32' }, { name: 'rstd', elem: 'f32' }],
    u32: ['N'],
    nOut: 2,
    hasRows,
    body: `    let r = ${hasRows ? 'row_of(k)' : 'k'};
    if (r < P.N) {
      let d = dout[r * P.W + q];
      acc[0] += d * ((x[r * P.W + q] - mean[r]) * rstd[r]);
      acc[1] += d;
    }`,
  };
}
