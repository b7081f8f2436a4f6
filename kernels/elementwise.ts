// Elementwise launchers: residual add, scale, GELU forward/backward. Also the host-side binding
// checks every family here shares (aliasing rules WebGPU enforces per buffer).

import type { Runtime, Tensor } from './runtime.js';
import { elementwiseWGSL, groupsStrided, widthFor, type ElementwiseOp } from './elementwise.wgsl.js';

// ------------------------------------------------------------------ binding checks

function range(t: Tensor): [number, number] {
  return [t.offset, t.offset + t.byteLength];
}

/** Same buffer and the same byte range. */
export function sameRange(a: Tensor, b: Tensor): boolean {
  return a.buffer === b.buffer && a.offset === b.offset && a.byteLength === b.byteLength;
}

export function overlaps(a: Tensor, b: Tensor): boolean {
  if (a.buffer !== b.buffer || a.size === 0 || b.size === 0) return false;
  const [a0, a1] = range(a), [b0, b1] = range(b);
  return a0 < b1 && b0 < a1;
}

/** Every kernel binds its tensors writable, so WebGPU rejects any two overlapping ranges; say which. */
export function assertDisjoint(kernel: string, tensors: Record<string, Tensor | undefined>): void {
  const named = Object.entries(tensors).filter((e): e is [string, Tensor] => e[1] !== undefined);
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      if (overlaps(named[i][1], named[j][1])) {
        throw new Error(`${kernel}: ${named[i][0]} (${named[i][1].label}) and ${named[j][0]} (${named[j][1].label}) overlap in one buffer; they must be disjoint ranges`);
      }
    }
  }
}

export function assertSize(kernel: string, what: string, t: Tensor, size: number): void {
  if (t.size !== size) throw new Error(`${kernel}: ${what} (${t.label}) has shape [${t.shape}] = ${t.size} elements, expected ${size}`);
}

export function assertDtype(kernel: string, what: string, t: Tensor, dtype: Tensor['dtype']): void {
  if (t.dtype !== dtype) throw new Error(`${kernel}: ${what} (${t.label}) is ${t.dtype}, expected ${dtype}`);
}

// ------------------------------------------------------------------ ops

const OPS = {
  add: { name: 'add', inputs: ['a', 'b'], expr: 'a + b' },
  addInto: { name: 'add_into', inputs: ['b'], expr: 'b' },
  scale: { name: 'scale', inputs: ['x'], expr: 'x * P.s', fparams: ['s'] },
  gelu: { name: 'gelu', inputs: ['x'], expr: 'gelu(x)' },
  geluBackward: { name: 'gelu_backward', inputs: ['x', 'dy'], expr: 'dy * gelu_grad(x)' },
} satisfies Record<string, ElementwiseOp>;

// Useful FLOPs per element, counting exp and division as one each: gelu is u(x) (5), −2u, exp,
// 1 + e, x / (...); its gradient reuses e (7) and adds s (2), u′ (4), the product chain (5), ·dy.
export const GELU_FLOPS = 9;
export const GELU_GRAD_FLOPS = 19;

/**
 * out = op(inputs) (or out += op(inputs)). Inputs may be exactly `out` (read in place) or exactly
 * each other (bound once); any other overlap is an error.
 */
function elementwise(rt: Runtime, op: ElementwiseOp, inputs: Tensor[], out: Tensor, o: { accumulate?: boolean; fparams?: number[]; flopsPerElem: number }): void {
  const n = out.size;
  inputs.forEach((t, k) => {
    assertSize(op.name, op.inputs[k], t, n);
    assertDtype(op.name, op.inputs[k], t, 'f32');
  });
  assertDtype(op.name, 'out', out, 'f32');
  const source = inputs.map((t) => {
    if (sameRange(t, out)) return 'out';
    const first = inputs.findIndex((u) => sameRange(u, t));
    return `in_${op.inputs[first]}`;
  });
  const bound: Record<string, Tensor> = { out };
  source.forEach((b, k) => b !== 'out' && (bound[b] = inputs[k]));
  assertDisjoint(op.name, bound);

  const v = widthFor(n);
  const accumulate = o.accumulate ?? false;
  const k = rt.kernel({ name: op.name, code: elementwiseWGSL(op, v, accumulate, source) });
  rt.dispatch(k, {
    params: [n / v],
    fparams: o.fparams,
    tensors: [...Object.entries(bound).filter(([b]) => b !== 'out').map(([, t]) => t), out],
    groups: groupsStrided(n / v),
    flops: n * (o.flopsPerElem + (accumulate ? 1 : 0)),
    label: `${op.name}${accumulate ? '+=' : ''}`,
  });
}

/** out = a + b. `out` may be exactly `a` or `b` (in place); prefer `addInto` for out += b. */
export function add(rt: Runtime, a: Tensor, b: Tensor, out: Tensor): void {
  elementwise(rt, OPS.add, [a, b], out, { flopsPerElem: 1 });
}

/** acc += b: the residual-stream accumulate, one writable binding for acc. */
export function addInto(rt: Runtime, acc: Tensor, b: Tensor): void {
  elementwise(rt, OPS.addInto, [b], acc, { accumulate: true, flopsPerElem: 0 });
}

/** out = s·x; `out` may be exactly `x`. */
export function scale(rt: Runtime, x: Tensor, s: number, out: Tensor): void {
  elementwise(rt, OPS.scale, [x], out, { fparams: [s], flopsPerElem: 1 });
}

/** out = gelu(x), GPT-2's tanh approximation; `out` may be exactly `x`. */
export function gelu(rt: Runtime, x: Tensor, out: Tensor): void {
  elementwise(rt, OPS.gelu, [x], out, { flopsPerElem: GELU_FLOPS });
}

/**
 * dx = dy·gelu′(x), or dx += dy·gelu′(x) with `accumulate`. `dx` may be exactly `dy` or `x`
 * (in place: each element is read before it is written).
 */
export function geluBackward(rt: Runtime, x: Tensor, dy: Tensor, dx: Tensor, accumulate = false): void {
  elementwise(rt, OPS.geluBackward, [x, dy], dx, { accumulate, flopsPerElem: GELU_GRAD_FLOPS });
}
