// Launchers for row-restricted elementwise ops (see gather.wgsl.ts).

import type { Runtime, Tensor } from './runtime.js';
import { assertDisjoint, assertDtype, assertSize, GELU_GRAD_FLOPS } from './elementwise.js';
import { groupsStrided, widthFor } from './elementwise.wgsl.js';
import { geluBackwardRowsWGSL } from './gather.wgsl.js';

/**
 * In place over the listed rows of d [N, F]: d[r] = d[r]·gelu′(x[r]) for each r in `rows` (u32 [k],
 * ids in [0, N), distinct: a repeat would apply the factor twice). Other rows of d are not read or
 * written. x is the GELU input [N, F].
 */
export function geluBackwardRows(rt: Runtime, a: { x: Tensor; d: Tensor; rows: Tensor }): void {
  const { x, d, rows } = a;
  const F = last(d), N = d.size / Math.max(F, 1), k = rows.size;
  assertSize('geluBackwardRows', 'x', x, d.size);
  assertDtype('geluBackwardRows', 'x', x, 'f32');
  assertDtype('geluBackwardRows', 'd', d, 'f32');
  assertDtype('geluBackwardRows', 'rows', rows, 'u32');
  assertDisjoint('geluBackwardRows', { x, d, rows });
  if (k === 0 || F === 0 || N === 0) return;
  const v = widthFor(F), W = F / v;
  rt.dispatch(rt.kernel({ name: 'gelu_backward_rows', code: geluBackwardRowsWGSL(v) }), {
    params: [k * W, W],
    tensors: [rows, x, d],
    groups: groupsStrided(k * W),
    flops: k * F * GELU_GRAD_FLOPS,
  });
}

const last = (t: Tensor) => (t.shape.length ? t.shape[t.shape.length - 1] : 1);
