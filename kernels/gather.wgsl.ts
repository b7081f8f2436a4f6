// WGSL for row-restricted elementwise ops: the sparse backward keeps full-size [N, ·] activation
// gradients but only the rows of a u32 list hold meaningful values, so these kernels touch those
// rows only (never reading the others, which may hold stale data from an earlier step).

import { entryStrided, geluWGSL, header, lanesWGSL } from './elementwise.wgsl.js';

/**
 * d[r, :] = d[r, :]·gelu′(x[r, :]) for r = rows[0..k): GELU backward in place over listed rows.
 * Flat index i < k·W covers (list slot i / W, column group i % W); W = row width / v.
 */
export function geluBackwardRowsWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['n', 'W'] }, [{ name: 'rows', elem: 'u32' }, { name: 'x', elem: 'T' }, { name: 'd', elem: 'T' }])}
${geluWGSL}
${entryStrided('P.n', `
  let e = rows[i / P.W] * P.W + i % P.W;
  d[e] = d[e] * gelu_grad(x[e]);`)}`;
}
