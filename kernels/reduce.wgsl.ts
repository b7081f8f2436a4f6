// Deterministic column reductions: out[o, c] (+)= Σ_k term(o, k, c) over list positions k, without
// float atomics. LayerNorm's dγ/dβ and the embedding scatter-adds are this shape, so they share one
// two-stage kernel pair (bias gradients come out of the TN matmul instead: its colSum option):
//   stage 1: invocation (q, j, tile) sums positions k in chunk j = [j·L, (j+1)·L) in order, for
//            column group q and output slots o0 = tile·TILE … o0 + TILE − 1, into a partial, or,
//            when there is a single chunk, straight into out;
//   stage 2: invocation (q, o) adds the J partials in chunk order into out.
// Chunking depends only on the shapes, so a given problem always sums in the same order and
// repeats bit for bit. One invocation per column group needs no barriers (slow on lavapipe), and
// chunking keeps enough invocations busy when there are few columns and many rows. A tile of
// several output slots lets one pass over the rows feed many outputs (the embedding's per-token
// sums), with accumulators in a private array indexed at run time.

import { entry1d, header, lanesWGSL, rowOf, type Binding } from './elementwise.wgsl.js';

export interface ColumnReduceSpec {
  name: string;
  /** Vector width of a column group. */
  v: 1 | 4;
  /** Input arrays, bound before the optional `rows` list and the outputs. */
  inputs: Binding[];
  /** Extra u32 params the body reads, after the builder's own (W, O, K, L, J). */
  u32?: string[];
  /** Quantities summed at once (e.g. 2 for dγ and dβ): acc[0..nOut), each to its own output. */
  nOut: number;
  /** Whether a u32 `rows` list is bound (the body calls `row_of(k)`). */
  hasRows: boolean;
  /** Output slots per invocation (TILE); default 1. */
  tile?: number;
  /**
   * WGSL statements adding position k's terms, for column group q, into acc[t·TILE + s] (quantity
   * t, output slot o0 + s).
   */
  body: string;
}

const COMMON_U32 = ['W', 'O', 'K', 'L', 'J'];

/** Stage 1. With `direct`, the outputs are bound (and added to when `accumulate`); else a partial. */
export function columnReduceWGSL(s: ColumnReduceSpec, direct: boolean, accumulate: boolean): string {
  const outs: Binding[] = direct
    ? Array.from({ length: s.nOut }, (_, t) => ({ name: `out${t}`, elem: 'T' }))
    : [{ name: 'partial', elem: 'T' }];
  const bindings = [...s.inputs, ...(s.hasRows ? [{ name: 'rows', elem: 'u32' }] : []), ...outs];
  const tile = s.tile ?? 1;
  const store = Array.from({ length: s.nOut }, (_, t) => {
    const a = `acc[${t}u * TILE + s]`;
    return direct
      ? `    out${t}[o * P.W + q] = ${accumulate ? `out${t}[o * P.W + q] + ` : ''}${a};`
      : `    partial[((${t}u * P.O + o) * P.J + j) * P.W + q] = ${a};`;
  }).join('\n');
  return `${lanesWGSL(s.v)}
${header({ u32: [...COMMON_U32, ...(s.u32 ?? [])] }, bindings)}
${s.hasRows ? rowOf(true) : ''}
const TILE: u32 = ${tile}u;
${entry1d('P.W * P.J * ((P.O + TILE - 1u) / TILE)', `
  let q = i % P.W;
  let j = (i / P.W) % P.J;
  let o0 = (i / (P.W * P.J)) * TILE;
  var acc: array<T, ${s.nOut * tile}>;
  for (var k = j * P.L; k < min(P.K, (j + 1u) * P.L); k++) {
${s.body}
  }
  for (var s = 0u; s < TILE; s++) {
    let o = o0 + s;
    if (o >= P.O) { break; }
${store}
  }`)}`;
}

/** Stage 2: out_t[o, q] (+)= Σ_j partial[t, o, j, q], j ascending. */
export function columnReduceFinishWGSL(v: 1 | 4, nOut: number, accumulate: boolean): string {
  const outs = Array.from({ length: nOut }, (_, t) => ({ name: `out${t}`, elem: 'T' }));
  const sums = outs.map((_, t) => `
  var s${t} = T(0.0);
  for (var j = 0u; j < P.J; j++) { s${t} += partial[((${t}u * P.O + o) * P.J + j) * P.W + q]; }
  out${t}[i] = ${accumulate ? `out${t}[i] + ` : ''}s${t};`).join('');
  return `${lanesWGSL(v)}
${header({ u32: ['W', 'O', 'J'] }, [{ name: 'partial', elem: 'T' }, ...outs])}
${entry1d('P.W * P.O', `
  let q = i % P.W;
  let o = i / P.W;${sums}`)}`;
}
