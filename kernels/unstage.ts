// Launcher for a captured rollout's hand-over (see unstage.wgsl.ts).

import type { Runtime, Tensor } from './runtime.js';
import { alignUp } from './runtime.js';
import { assertDisjoint, assertDtype } from './elementwise.js';
import { groupsStrided, widthFor } from './elementwise.wgsl.js';
import { unstageWGSL } from './unstage.wgsl.js';

/** Elements between consecutive steps' [B, W] slabs in a staging buffer: B·W rounded up so every
 * slab starts at a view-aligned offset. */
export function stageStride(rt: Runtime, B: number, W: number): number {
  return alignUp(B * W, rt.viewAlign);
}

/**
 * Copies T time-major slabs of src (slab t = [B, W] at element t·stride) into dst [B·T, W]
 * (row b·T + t = slab t's row b). stride defaults to stageStride(rt, B, W).
 */
export function unstage(rt: Runtime, src: Tensor, dst: Tensor, d: { B: number; T: number; stride?: number }): void {
  const { B, T } = d;
  const W = dst.size / (B * T);
  if (!(Number.isInteger(W) && W >= 1)) throw new Error(`unstage: dst (${dst.label}) has ${dst.size} elements, not B·T = ${B}·${T} rows`);
  const S = d.stride ?? stageStride(rt, B, W);
  if (S < B * W) throw new Error(`unstage: slab stride ${S} is shorter than a [${B}, ${W}] slab`);
  if (src.size < (T - 1) * S + B * W) throw new Error(`unstage: src (${src.label}) has ${src.size} elements, ${T} slabs of stride ${S} need ${(T - 1) * S + B * W}`);
  assertDtype('unstage', 'src', src, 'f32');
  assertDtype('unstage', 'dst', dst, 'f32');
  assertDisjoint('unstage', { src, dst });
  // vec4 only when every slab and row stays vec4-aligned
  const v = widthFor(W) === 4 && S % 4 === 0 ? 4 : 1;
  rt.dispatch(rt.kernel({ name: 'unstage', code: unstageWGSL(v) }), {
    params: [(B * T * W) / v, W / v, T, S / v],
    tensors: [src, dst],
    groups: groupsStrided((B * T * W) / v),
  });
}
