// Softmax launchers over the last dimension.

import type { Runtime, Tensor } from './runtime.js';
import { assertDisjoint, assertDtype, assertSize } from './elementwise.js';
import { groups1d, widthFor } from './elementwise.wgsl.js';
import { softmaxBackwardWGSL, softmaxWGSL } from './softmax.wgsl.js';

// Useful FLOPs per element: scale, max, subtract, exp, sum, normalise (the recomputed exp is not
// counted); backward: dot product (2), subtract, multiply, scale.
const FWD_FLOPS = 6;
const BWD_FLOPS = 5;

function shape(kernel: string, x: Tensor, C: number): number {
  if (!(C >= 1) || x.size % C !== 0) throw new Error(`${kernel}: ${x.label} [${x.shape}] is not rows of ${C} columns`);
  return x.size / C;
}

/**
 * y = softmax(scale·x) over the last dimension of x ([..., C]); y has x's size and must not overlap
 * it. Each row needs at least one finite scale·x.
 */
export function softmax(rt: Runtime, x: Tensor, y: Tensor, scale = 1): void {
  const C = x.shape[x.shape.length - 1];
  const N = shape('softmax', x, C);
  assertSize('softmax', 'y', y, N * C);
  assertDtype('softmax', 'x', x, 'f32');
  assertDtype('softmax', 'y', y, 'f32');
  assertDisjoint('softmax', { x, y });
  const v = widthFor(C);
  const k = rt.kernel({ name: 'softmax', code: softmaxWGSL(v) });
  rt.dispatch(k, { params: [N, C / v], fparams: [scale], tensors: [x, y], groups: groups1d(N), flops: N * C * FWD_FLOPS });
}

/**
 * dx = scale·y ⊙ (dy − Σ_row dy·y), or dx += … with `accumulate`, for y = softmax(scale·x)
 * ([..., C]). All three tensors must be disjoint.
 */
export function softmaxBackward(rt: Runtime, y: Tensor, dy: Tensor, dx: Tensor, o: { scale?: number; accumulate?: boolean } = {}): void {
  const C = y.shape[y.shape.length - 1];
  const N = shape('softmaxBackward', y, C);
  for (const [w, t] of [['y', y], ['dy', dy], ['dx', dx]] as const) {
    assertSize('softmaxBackward', w, t, N * C);
    assertDtype('softmaxBackward', w, t, 'f32');
  }
  assertDisjoint('softmaxBackward', { y, dy, dx });
  const v = widthFor(C);
  const accumulate = o.accumulate ?? false;
  const k = rt.kernel({ name: 'softmax_backward', code: softmaxBackwardWGSL(v, accumulate) });
  rt.dispatch(k, {
    params: [N, C / v],
    fparams: [o.scale ?? 1],
    tensors: [y, dy, dx],
    groups: groups1d(N),
    flops: N * C * (BWD_FLOPS + (accumulate ? 1 : 0)),
    label: `softmax_backward${accumulate ? '+=' : ''}`,
  });
}
