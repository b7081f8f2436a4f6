// LayerNorm launchers (GPT-2's, eps 1e-5, biased variance).

import type { Runtime, Tensor } from './runtime.js';
import { assertDisjoint, assertDtype, assertSize } from './elementwise.js';
import { groups1d, widthFor } from './elementwise.wgsl.js';
import { LN_EPS, cachedWidth, layernormDxWGSL, layernormParamGradSpec, layernormWGSL } from './layernorm.wgsl.js';
import { columnReduce } from './reduce.js';

export { LN_EPS };

// Useful FLOPs per element (recomputed terms not counted twice): forward sum (1), centred square
// and add (3), normalise, scale, shift (4); dx: g and x̂ (3), the two row sums (3), the combination
// (4); dγ/dβ: x̂ (2), product and two adds (3).
const FWD_FLOPS = 8;
const DX_FLOPS = 10;
const DPARAM_FLOPS = 5;

function rowsOf(kernel: string, x: Tensor, gamma: Tensor): { N: number; C: number } {
  const C = gamma.size;
  if (C === 0 || x.size % C !== 0) throw new Error(`${kernel}: x (${x.label}) [${x.shape}] is not rows of γ's ${C} columns`);
  return { N: x.size / C, C };
}

/**
 * out = (x − mean)·rstd·γ + β over each row of x ([..., C], C = γ.size). With `stats`, saves
 * mean[N] and rstd[N] = 1/√(var + 1e-5) for the backward. All tensors must be disjoint.
 */
export function layernorm(rt: Runtime, x: Tensor, gamma: Tensor, beta: Tensor, out: Tensor, stats?: { mean: Tensor; rstd: Tensor }): void {
  const { N, C } = rowsOf('layernorm', x, gamma);
  assertSize('layernorm', 'beta', beta, C);
  assertSize('layernorm', 'out', out, N * C);
  if (stats) {
    assertSize('layernorm', 'mean', stats.mean, N);
    assertSize('layernorm', 'rstd', stats.rstd, N);
  }
  for (const [w, t] of Object.entries({ x, gamma, beta, out, ...stats })) assertDtype('layernorm', w, t, 'f32');
  assertDisjoint('layernorm', { x, gamma, beta, out, mean: stats?.mean, rstd: stats?.rstd });
  const v = widthFor(C);
  const k = rt.kernel({ name: 'layernorm', code: layernormWGSL(v, !!stats, cachedWidth(C / v)) });
  rt.dispatch(k, {
    params: [N, C / v],
    fparams: [C, LN_EPS],
    tensors: [x, gamma, beta, out, ...(stats ? [stats.mean, stats.rstd] : [])],
    groups: groups1d(N),
    flops: N * C * FWD_FLOPS,
  });
}

export interface LayernormBackwardArgs {
  dout: Tensor;
  x: Tensor;
  mean: Tensor;
  rstd: Tensor;
  gamma: Tensor;
  dx: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
  /**
   * u32 row ids: only these rows are processed (dx of other rows untouched; dγ/dβ summed over the
   * listed rows only, a repeat counting once per listing). Entries ≥ N are skipped; empty = no work.
   * With `accumulate`, rows must be distinct: two invocations adding into one dx row would race.
   */
  rows?: Tensor;
  /** dx += … instead of dx = … (the residual stream's gradient already holds the skip path). */
  accumulate?: boolean;
}

/**
 * LayerNorm backward from the saved mean/rstd: dx (= or +=), and dγ += Σ dout·x̂, dβ += Σ dout
 * (always accumulated; deterministic fixed-order sums). All tensors must be disjoint.
 */
export function layernormBackward(rt: Runtime, a: LayernormBackwardArgs): void {
  const { N, C } = rowsOf('layernormBackward', a.x, a.gamma);
  const { dout, x, mean, rstd, gamma, dx, dgamma, dbeta, rows } = a;
  for (const [w, t, n] of [['dout', dout, N * C], ['mean', mean, N], ['rstd', rstd, N], ['dx', dx, N * C], ['dgamma', dgamma, C], ['dbeta', dbeta, C]] as const) {
    assertSize('layernormBackward', w, t, n);
    assertDtype('layernormBackward', w, t, 'f32');
  }
  if (rows) assertDtype('layernormBackward', 'rows', rows, 'u32');
  assertDisjoint('layernormBackward', { dout, x, mean, rstd, gamma, dx, dgamma, dbeta, rows });
  const v = widthFor(C);
  const K = rows ? rows.size : N;
  const accumulate = a.accumulate ?? false;
  const lists = rows ? [rows] : [];

  const k = rt.kernel({ name: 'layernorm_dx', code: layernormDxWGSL(v, !!rows, accumulate, cachedWidth(C / v)) });
  rt.dispatch(k, {
    params: [N, C / v, K],
    fparams: [C],
    tensors: [dout, x, mean, rstd, gamma, ...lists, dx],
    groups: groups1d(K),
    flops: K * C * (DX_FLOPS + (accumulate ? 1 : 0)),
    label: `layernorm_dx${accumulate ? '+=' : ''}`,
  });
  columnReduce(rt, layernormParamGradSpec(v, !!rows), {
    inputs: [dout, x, mean, rstd],
    rows,
    outs: [dgamma, dbeta],
    K,
    O: 1,
    C,
    u32: [N],
    accumulate: true,
    flops: K * C * DPARAM_FLOPS,
  });
}
