// Token + position embedding. Forward is a gather; backward is a scatter-add done as deterministic
// column reductions (see reduce.wgsl.ts) instead of float atomics:
//   dwte[v, c] += Σ_k [tokens[r_k] = v]·dout[r_k, c] — invocation (c, chunk of rows, tile of
//     DWTE_TILE token ids) walks its rows in order, adding each into a private accumulator picked
//     by the row's token. Cost O(⌈V/DWTE_TILE⌉·K·C) for K rows: one pass with this project's
//     vocabulary (~20); a GPT-2-sized one (50257) would want a deterministic sort by token instead.
//   dwpe[t, c] += Σ_b w[b·T + t]·dout[b·T + t, c] — invocation (t, c) walks the B rows of its
//     position, O(B·T·C). w is 1 without a rows list; with one, w is each position's multiplicity
//     in the list, counted first with u32 atomics (integer addition is order-independent, so still
//     deterministic). Scanning the list per position instead would cost O(T·K·C).

import { entry1d, entryStrided, header, lanesWGSL } from './elementwise.wgsl.js';
import type { ColumnReduceSpec } from './reduce.wgsl.js';

/**
 * out[b, t] = wte[tokens[b, t]] + wpe[pos0 + t]. A token id ≥ V writes a NaN row (P.nan holds
 * NaN's bits): a bad id then shows up in the loss instead of silently reading some other row.
 */
export function embeddingWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['N', 'W', 'T', 'V', 'pos0', 'nan'] }, [
    { name: 'tokens', elem: 'u32' }, { name: 'wte', elem: 'T' }, { name: 'wpe', elem: 'T' }, { name: 'out', elem: 'T' },
  ])}
${entryStrided('P.N * P.W', `
  let r = i / P.W;
  let q = i % P.W;
  let tok = tokens[r];
  let pos = P.pos0 + r % P.T;
  if (tok >= P.V) { out[i] = T(bitcast<f32>(P.nan)); continue; }
  out[i] = wte[tok * P.W + q] + wpe[pos * P.W + q];`)}`;
}

/** w[rows[k]] += 1 for each listed row below N (w zeroed beforehand). */
export const countRowsWGSL = `
${header({ u32: ['K', 'N'] }, [{ name: 'rows', elem: 'u32' }, { name: 'w', elem: 'atomic<u32>' }])}
${entry1d('P.K', `
  let r = rows[i];
  if (r < P.N) { atomicAdd(&w[r], 1u); }`)}`;

/** Token ids per dwte invocation: private accumulators of 32 vec4s stay cheap on CPUs and GPUs. */
export const DWTE_TILE = 32;

/** dwte: output slot o is the token id. */
export function dwteSpec(v: 1 | 4, hasRows: boolean, V: number): ColumnReduceSpec {
  return {
    name: 'embedding_dwte',
    v,
    inputs: [{ name: 'dout', elem: 'T' }, { name: 'tokens', elem: 'u32' }],
    u32: ['N'],
    nOut: 1,
    hasRows,
    tile: Math.min(V, DWTE_TILE),
    // slot wraps to a huge u32 for tokens below o0, so one compare keeps both ends of the tile.
    body: `    let r = ${hasRows ? 'row_of(k)' : 'k'};
    if (r < P.N) {
      let slot = tokens[r] - o0;
      if (slot < TILE) { acc[slot] += dout[r * P.W + q]; }
    }`,
  };
}

/** dwpe: output slot o0 is the position, k runs over the batch; `weighted` reads multiplicities. */
export function dwpeSpec(v: 1 | 4, weighted: boolean): ColumnReduceSpec {
  return {
    name: 'embedding_dwpe',
    v,
    inputs: [{ name: 'dout', elem: 'T' }, ...(weighted ? [{ name: 'w', elem: 'u32' }] : [])],
    u32: ['T'],
    nOut: 1,
    hasRows: false,
    body: weighted
      ? `    let r = k * P.T + o0;
    let n = w[r];
    if (n != 0u) { acc[0] += f32(n) * dout[r * P.W + q]; }`
      : `    acc[0] += dout[(k * P.T + o0) * P.W + q];`,
  };
}
