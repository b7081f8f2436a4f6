// Embedding launchers: token + position lookup and its deterministic scatter-add backward.

import type { Runtime, Tensor } from './runtime.js';
import { assertDisjoint, assertDtype, assertSize } from './elementwise.js';
import { groups1d, groupsStrided, widthFor } from './elementwise.wgsl.js';
import { countRowsWGSL, dwpeSpec, dwteSpec, embeddingWGSL } from './embedding.wgsl.js';
import { columnReduce } from './reduce.js';

const NAN_BITS = 0x7fc00000;

function dims(kernel: string, tokens: Tensor, wte: Tensor, wpe: Tensor) {
  if (tokens.shape.length !== 2) throw new Error(`${kernel}: tokens (${tokens.label}) must be [B, T], got [${tokens.shape}]`);
  assertDtype(kernel, 'tokens', tokens, 'u32');
  const [B, T] = tokens.shape;
  if (wte.shape.length !== 2 || wpe.shape.length !== 2 || wte.shape[1] !== wpe.shape[1]) {
    throw new Error(`${kernel}: wte [${wte.shape}] and wpe [${wpe.shape}] must be [V, C] and [T_max, C]`);
  }
  const [V, C] = wte.shape;
  return { B, T, N: B * T, V, C, maxT: wpe.shape[0] };
}

/**
 * out[b, t, :] = wte[tokens[b, t], :] + wpe[pos0 + t, :]. tokens: u32 [B, T]; wte [V, C];
 * wpe [T_max, C] with pos0 + T ≤ T_max (pos0 > 0 embeds a continuation, e.g. one decode step);
 * out: B·T·C elements. A token id ≥ V gives a NaN row. All tensors must be disjoint.
 */
export function embedding(rt: Runtime, tokens: Tensor, wte: Tensor, wpe: Tensor, out: Tensor, pos0 = 0): void {
  const { N, T, V, C, maxT } = dims('embedding', tokens, wte, wpe);
  if (pos0 + T > maxT) throw new Error(`embedding: positions ${pos0}..${pos0 + T - 1} exceed wpe's ${maxT} rows`);
  assertSize('embedding', 'out', out, N * C);
  for (const [w, t] of [['wte', wte], ['wpe', wpe], ['out', out]] as const) assertDtype('embedding', w, t, 'f32');
  assertDisjoint('embedding', { tokens, wte, wpe, out });
  const v = widthFor(C);
  const k = rt.kernel({ name: 'embedding', code: embeddingWGSL(v) });
  rt.dispatch(k, {
    params: [N, C / v, T, V, pos0, NAN_BITS],
    tensors: [tokens, wte, wpe, out],
    groups: groupsStrided((N * C) / v),
    flops: N * C,
  });
}

// Per-runtime u32 scratch for the rows list's multiplicities (ordered like any other dispatch).
const counts = new WeakMap<Runtime, Tensor>();

function multiplicities(rt: Runtime, rows: Tensor, N: number): Tensor {
  let t = counts.get(rt);
  if (!t || t.size < N) counts.set(rt, (t = rt.empty([Math.max(N, 2 * (t?.size ?? 0), 4096)], 'u32', 'embedding row counts')));
  const w = t.view(0, [N]);
  rt.zero(w);
  const k = rt.kernel({ name: 'embedding_count_rows', code: countRowsWGSL });
  rt.dispatch(k, { params: [rows.size, N], tensors: [rows, w], groups: groups1d(rows.size) });
  return w;
}

export interface EmbeddingBackwardArgs {
  tokens: Tensor;
  /** [B, T, C] (or B·T·C elements) upstream gradient. */
  dout: Tensor;
  dwte: Tensor;
  dwpe: Tensor;
  /**
   * u32 flat positions b·T + t: only these contribute (a repeat once per listing, entries ≥ B·T
   * skipped, empty = no work). dout at other positions is never read.
   */
  rows?: Tensor;
}

/**
 * dwte[v] += Σ_{i: tokens[i] = v} dout[i], dwpe[t] += Σ_b dout[b, t] (positions 0..T−1), as
 * deterministic fixed-order sums (see embedding.wgsl.ts for the cost). A token id ≥ V adds to no
 * dwte row (its position still adds to dwpe). All tensors must be disjoint; dwte and dwpe may be
 * disjoint views of one gradient buffer.
 */
export function embeddingBackward(rt: Runtime, a: EmbeddingBackwardArgs): void {
  const { tokens, dout, dwte, dwpe, rows } = a;
  const { B, T, N, V, C } = dims('embeddingBackward', tokens, dwte, dwpe);
  assertSize('embeddingBackward', 'dout', dout, N * C);
  for (const [w, t] of [['dout', dout], ['dwte', dwte], ['dwpe', dwpe]] as const) assertDtype('embeddingBackward', w, t, 'f32');
  if (rows) assertDtype('embeddingBackward', 'rows', rows, 'u32');
  assertDisjoint('embeddingBackward', { tokens, dout, dwte, dwpe, rows });
  if (rows?.size === 0) return;
  const v = widthFor(C);
  const K = rows ? rows.size : N;
  columnReduce(rt, dwteSpec(v, !!rows, V), {
    inputs: [dout, tokens], rows, outs: [dwte], K, O: V, C, u32: [N], accumulate: true, flops: K * C,
  });
  const w = rows ? [multiplicities(rt, rows, N)] : [];
  columnReduce(rt, dwpeSpec(v, !!rows), {
    inputs: [dout, ...w], outs: [dwpe], K: B, O: T, C, u32: [T], accumulate: true, flops: K * C,
  });
}
