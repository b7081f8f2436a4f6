// Launcher for fork-only's attention backward over the selected rows (see rowattn.wgsl.ts): one
// dispatch instead of attentionBackward's three, no dS scratch, no work at unselected positions.

import { SAVE_MODE, savedShape, type AttnDims, type RowSet, type SaveMode } from './attention.js';
import { assertDisjoint } from './elementwise.js';
import { groups1d } from './elementwise.wgsl.js';
import { rowAttentionBackwardWGSL } from './rowattn.wgsl.js';
import type { Runtime, Tensor } from './runtime.js';

/**
 * Pairs (r, i) of selected rows in one sequence with i at or after r: the dk/dv work. The host does not see a GPU-built list, so this is the expectation for k rows spread
 * evenly, given their causal pairs p = Σ (t_r + 1): each row pairs with itself and with each of
 * its t_r earlier positions with probability (k − 1)/(N − 1). Exact for k = 1 and k = N.
 */
export function selectedPairs(k: number, N: number, pairs: number): number {
  return N > 1 ? k + ((k - 1) / (N - 1)) * (pairs - k) : k;
}

/** Useful FLOPs (recomputed q·k, dO·v and D_i not counted, as in attentionBackward): D_r per
 * selected row, dO·v and dq per causal pair, dk and dv per selected pair. */
export function rowAttentionFlops(C: number, N: number, count: number, pairs: number): number {
  return C * (2 * count + 4 * pairs + 4 * selectedPairs(count, N, pairs));
}

/**
 * Fork-only attention backward: from the query rows of `rows` only (distinct ids), writes dq, dk,
 * dv at those rows of dqkv [B,T,3C] and nothing else: dq exact, dk/dv from the selected queries
 * (dk/dv elsewhere are what fork-only drops). dout is read at the listed rows only. Inputs as
 * attentionBackward's.
 */
export function rowAttentionBackward(
  rt: Runtime,
  a: AttnDims & { qkv: Tensor; out: Tensor; dout: Tensor; dqkv: Tensor; saved: Tensor; rows: RowSet; mode?: SaveMode },
): void {
  const { B, T, H, hd, rows } = a, C = H * hd, N = B * T, mode = a.mode ?? SAVE_MODE;
  for (const [name, t, size] of [['qkv', a.qkv, N * 3 * C], ['out', a.out, N * C], ['dout', a.dout, N * C], ['dqkv', a.dqkv, N * 3 * C], ['saved', a.saved, savedShape(a, mode).reduce((x, y) => x * y, 1)]] as const) {
    if (t.size !== size || t.dtype !== 'f32') throw new Error(`rowAttentionBackward: ${name} (${t.label}) is ${t.dtype} [${t.shape}], expected f32 with ${size} elements`);
  }
  if (rows.B !== B || rows.T !== T) throw new Error(`rowAttentionBackward: rows were built for B=${rows.B}, T=${rows.T}, not B=${B}, T=${T}`);
  const list = rows.list.view(0, [rows.count]);
  const mask = rowMask(rows);
  assertDisjoint('rowAttentionBackward', { list, mask, qkv: a.qkv, out: a.out, dout: a.dout, saved: a.saved, dqkv: a.dqkv });
  const k = rt.kernel({ name: 'row_attn_bwd', code: rowAttentionBackwardWGSL(hd, mode) });
  rt.dispatch(k, {
    params: [H, T, rows.count, N],
    fparams: [1 / Math.sqrt(hd)],
    tensors: [list, mask, a.qkv, a.out, a.dout, a.saved, a.dqkv],
    groups: groups1d(rows.count * H),
    flops: rowAttentionFlops(C, N, rows.count, rows.pairs),
  });
}

/** The RowSet's u32 [B·T] listed-row mask (1 = listed): the front of its row index (attention.ts;
 * older RowSets carried it as `mask`). */
export function rowMask(rows: RowSet): Tensor {
  const r = rows as RowSet & { index?: Tensor; mask?: Tensor };
  const t = r.index ?? r.mask;
  if (!t) throw new Error('rowAttentionBackward: this RowSet has no row mask');
  return t.view(0, [rows.B * rows.T]);
}
