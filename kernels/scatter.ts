// Launcher for the decode step's capture (see scatter.wgsl.ts).

import type { Runtime, Tensor } from './runtime.js';
import { assertDisjoint, assertDtype } from './elementwise.js';
import { groupsStrided, widthFor } from './elementwise.wgsl.js';
import { scatterPositionWGSL } from './scatter.wgsl.js';

/**
 * Copies src [B, W] (one row per sequence) into rows b·T + pos of dst [B·T, W]; dst's other rows are
 * untouched. W is src's last dimension (1 for per-row statistics of shape [B]).
 */
export function scatterPosition(rt: Runtime, src: Tensor, dst: Tensor, d: { B: number; T: number; pos: number }): void {
  const { B, T, pos } = d;
  const W = src.size / B;
  if (!(Number.isInteger(W) && W >= 1)) throw new Error(`scatterPosition: src (${src.label}) has ${src.size} elements, not ${B} rows`);
  if (dst.size !== B * T * W) throw new Error(`scatterPosition: dst (${dst.label}) has ${dst.size} elements, expected B·T·W = ${B}·${T}·${W}`);
  if (!(Number.isInteger(pos) && pos >= 0 && pos < T)) throw new Error(`scatterPosition: position ${pos} is outside 0..${T - 1}`);
  assertDtype('scatterPosition', 'src', src, 'f32');
  assertDtype('scatterPosition', 'dst', dst, 'f32');
  assertDisjoint('scatterPosition', { src, dst });
  const v = widthFor(W);
  const Wv = W / v;
  rt.dispatch(rt.kernel({ name: 'scatter_position', code: scatterPositionWGSL(v) }), {
    params: [B * Wv, Wv, T, pos],
    tensors: [src, dst],
    groups: groupsStrided(B * Wv),
  });
}
