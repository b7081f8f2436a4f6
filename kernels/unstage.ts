// Launcher for a captured rollout's hand-over (see unstage.wgsl.ts).

import type { Runtime, Tensor } from './runtime.js';
import { alignUp } from './runtime.js';
import { assertDisjoint, assertDtype } from './elementwise.js';
import { groups1d, widthFor } from './elementwise.wgsl.js';
import { UNSTAGE_PAIRS, unstageWGSL } from './unstage.wgsl.js';

/** Elements between consecutive steps' [B, W] slabs in a staging buffer: B·W rounded up so every
 * slab starts at a view-aligned offset. */
export function stageStride(rt: Runtime, B: number, W: number): number {
  return alignUp(B * W, rt.viewAlign);
}

export interface UnstageDims {
  B: number;
  /** positions per row of dst [B·T, W] */
  T: number;
  /** positions [from, from + count) are copied (default all T) */
  from?: number;
  count?: number;
}

/** One tensor to move: where src holds (b, t) is element b·strideB + t·strideT. Default: time-major
 * staging slabs, strideB = W, strideT = stageStride(rt, B, W). */
export interface UnstagePair {
  src: Tensor;
  dst: Tensor;
  strideB?: number;
  strideT?: number;
}

/** Copies positions [from, from + count) of every sequence from src's layout into rows b·T + t of
 * dst [B·T, W]; dst's other rows are untouched. */
export function unstage(rt: Runtime, src: Tensor, dst: Tensor, d: UnstageDims & { strideB?: number; strideT?: number }): void {
  unstageMany(rt, [{ src, dst, strideB: d.strideB, strideT: d.strideT }], d);
}

/** unstage for several tensors (same B, T and positions), UNSTAGE_PAIRS per dispatch. */
export function unstageMany(rt: Runtime, pairs: readonly UnstagePair[], d: UnstageDims): void {
  const { B, T } = d;
  const from = d.from ?? 0, count = d.count ?? T - from;
  if (!(Number.isInteger(from) && Number.isInteger(count) && from >= 0 && count >= 0 && from + count <= T)) throw new Error(`unstage: positions [${from}, ${from + count}) are outside 0..${T}`);
  const resolved = pairs.map(({ src, dst, strideB, strideT }) => {
    const W = dst.size / (B * T);
    if (!(Number.isInteger(W) && W >= 1)) throw new Error(`unstage: dst (${dst.label}) has ${dst.size} elements, not B·T = ${B}·${T} rows`);
    const Sb = strideB ?? W, St = strideT ?? stageStride(rt, B, W);
    const last = (B - 1) * Sb + (from + count - 1) * St + W;
    if (count > 0 && B > 0 && src.size < last) throw new Error(`unstage: src (${src.label}) has ${src.size} elements, the layout reaches ${last}`);
    assertDtype('unstage', 'src', src, 'f32');
    assertDtype('unstage', 'dst', dst, 'f32');
    // vec4 only when every row start stays vec4-aligned on both sides
    const v: 1 | 4 = widthFor(W) === 4 && Sb % 4 === 0 && St % 4 === 0 ? 4 : 1;
    return { src, dst, W, Sb, St, v };
  });
  const all: Record<string, Tensor> = {};
  resolved.forEach((p, k) => { all[`src${k}`] = p.src; all[`dst${k}`] = p.dst; });
  assertDisjoint('unstage', all);
  if (count === 0 || B === 0) return;
  for (let i = 0; i < resolved.length; i += UNSTAGE_PAIRS) {
    const group = resolved.slice(i, i + UNSTAGE_PAIRS);
    rt.dispatch(rt.kernel({ name: 'unstage', code: unstageWGSL(group.map((p) => p.v)) }), {
      params: [B * count, count, from, T, ...group.flatMap((p) => [p.W / p.v, p.Sb / p.v, p.St / p.v])],
      tensors: group.flatMap((p) => [p.src, p.dst]),
      groups: groups1d(B * count),
    });
  }
}
