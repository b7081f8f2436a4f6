// Launcher for the fork-only attention backward (see forkattn.wgsl.ts): one dispatch instead of
// attentionBackward's three, and no key/value work at unselected positions.

import { SAVE_MODE, savedShape, type AttnDims, type RowSet, type SaveMode } from './attention.js';
import { assertDisjoint } from './elementwise.js';
import { groups1d } from './elementwise.wgsl.js';
import { forkAttentionBackwardWGSL } from './forkattn.wgsl.js';
import type { Runtime, Tensor } from './runtime.js';

/**
 * Pairs (r, i) of selected rows in one sequence with i at or after r: the dk/dv work. The host does
 * not see a GPU-built list, so this is the expectation for k rows spread evenly, given their causal
 * pairs p = Σ (t_r + 1): each row pairs with itself and with each of its t_r earlier positions with
 * probability (k − 1)/(N − 1). Exact for k = 1 and k = N.
 */
export function selectedPairs(k: number, N: number, pairs: number): number {
  return N > 1 ? k + ((k - 1) / (N - 1)) * (pairs - k) : k;
}

/**
 * Writes dq, dk, dv at the listed rows of dqkv [B,T,3C] only (other rows untouched): dq exact, dk/dv
 * from the selected queries alone (what fork-only keeps). Inputs as attentionBackward's.
 */
export function forkAttentionBackward(
  rt: Runtime,
  a: AttnDims & { qkv: Tensor; out: Tensor; dout: Tensor; dqkv: Tensor; saved: Tensor; rows: RowSet; mode?: SaveMode },
): void {
  const { B, T, H, hd, rows } = a, C = H * hd, N = B * T, mode = a.mode ?? SAVE_MODE;
  for (const [name, t, size] of [['qkv', a.qkv, N * 3 * C], ['out', a.out, N * C], ['dout', a.dout, N * C], ['dqkv', a.dqkv, N * 3 * C], ['saved', a.saved, savedShape(a, mode).reduce((x, y) => x * y, 1)]] as const) {
    if (t.size !== size || t.dtype !== 'f32') throw new Error(`forkAttentionBackward: ${name} (${t.label}) is ${t.dtype} [${t.shape}], expected f32 with ${size} elements`);
  }
  if (rows.B !== B || rows.T !== T) throw new Error(`forkAttentionBackward: rows were built for B=${rows.B}, T=${rows.T}, not B=${B}, T=${T}`);
  const list = rows.list.view(0, [rows.count]);
  const mask = rowMask(rows);
  assertDisjoint('forkAttentionBackward', { list, mask, qkv: a.qkv, out: a.out, dout: a.dout, saved: a.saved, dqkv: a.dqkv });
  const k = rt.kernel({ name: 'fork_attn_bwd', code: forkAttentionBackwardWGSL(hd, mode) });
  rt.dispatch(k, {
    params: [H, T, rows.count, N],
    fparams: [1 / Math.sqrt(hd)],
    tensors: [list, mask, a.qkv, a.out, a.dout, a.saved, a.dqkv],
    groups: groups1d(rows.count * H),
    // D_r; dO·v and dq per causal pair; dk and dv per selected pair (recomputed q·k, dO·v and D_i
    // are not useful work, as in attentionBackward's count)
    flops: C * (2 * rows.count + 4 * rows.pairs + 4 * selectedPairs(rows.count, N, rows.pairs)),
  });
}

/** The RowSet's u32 [B·T] listed-row mask (1 = listed): the front of its row index (attention.ts;
 * older RowSets carried it as `mask`). */
export function rowMask(rows: RowSet): Tensor {
  const r = rows as RowSet & { index?: Tensor; mask?: Tensor };
  const t = r.index ?? r.mask;
  if (!t) throw new Error('forkAttentionBackward: this RowSet has no row mask');
  return t.view(0, [rows.B * rows.T]);
}
