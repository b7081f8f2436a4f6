// Column-reduction launcher: the shared two-stage driver (layernorm and embedding backward).

import type { Runtime, Tensor } from './runtime.js';
import { assertDtype } from './elementwise.js';
import { groups1d } from './elementwise.wgsl.js';
import { columnReduceFinishWGSL, columnReduceWGSL, type ColumnReduceSpec } from './reduce.wgsl.js';

// Stage 1 aims for this many invocations (lavapipe runs 64-wide workgroups on 16 cores of 8
// lanes: a few workgroups per core), splitting rows into chunks of at least MIN_CHUNK.
const TARGET_INVOCATIONS = 4096;
const MIN_CHUNK = 16;

/** Rows per chunk L and chunk count J for K positions over W·O column groups; J = 1 sums directly. */
export function chunking(K: number, groups: number): { L: number; J: number } {
  if (K === 0) return { L: 1, J: 0 };
  const want = Math.max(1, Math.ceil(TARGET_INVOCATIONS / groups));
  const J0 = Math.min(want, Math.ceil(K / MIN_CHUNK));
  const L = Math.ceil(K / J0);
  return { L, J: Math.ceil(K / L) };
}

// One scratch buffer per runtime for stage-1 partials. Reusing it across dispatches is safe:
// WebGPU orders dispatches and makes each one's writes visible to the next.
const scratch = new WeakMap<Runtime, Tensor>();

function partialBuffer(rt: Runtime, size: number): Tensor {
  let t = scratch.get(rt);
  if (!t || t.size < size) {
    // An outgrown buffer stays alive while recorded commands still use it, then is collected.
    t = rt.empty([Math.max(size, 2 * (t?.size ?? 0), 1 << 16)], 'f32', 'column-reduce partials');
    scratch.set(rt, t);
  }
  return t.view(0, [size]);
}

export interface ColumnReduceArgs {
  inputs: Tensor[];
  rows?: Tensor;
  /** One per quantity summed; each holds O·W column groups (more is fine: the rest is untouched). */
  outs: Tensor[];
  /** List positions (the rows list length, or whatever the body counts over). */
  K: number;
  /** Output slots (rows of each output). */
  O: number;
  /** Columns per output row (a multiple of spec.v). */
  C: number;
  u32?: number[];
  accumulate: boolean;
  flops: number;
}

/** Runs a column reduction (see reduce.wgsl.ts) in one or two dispatches. */
export function columnReduce(rt: Runtime, spec: ColumnReduceSpec, a: ColumnReduceArgs): void {
  const W = a.C / spec.v;
  a.outs.forEach((t) => {
    assertDtype(spec.name, 'output', t, 'f32');
    if (t.size < a.O * a.C) throw new Error(`${spec.name}: output ${t.label} has ${t.size} elements, needs ${a.O}×${a.C}`);
  });
  const outs = a.outs.map((t) => t.view(0, [a.O * a.C]));
  if (a.K === 0 || a.O === 0 || W === 0) {
    if (!a.accumulate) outs.forEach((t) => rt.zero(t));
    return;
  }
  const tiles = Math.ceil(a.O / (spec.tile ?? 1));
  const { L, J } = chunking(a.K, W * tiles);
  const u32 = [W, a.O, a.K, L, J, ...(a.u32 ?? [])];
  const lists = a.rows ? [a.rows] : [];
  if (J === 1) {
    const k = rt.kernel({ name: spec.name, code: columnReduceWGSL(spec, true, a.accumulate) });
    rt.dispatch(k, { params: u32, tensors: [...a.inputs, ...lists, ...outs], groups: groups1d(W * tiles), flops: a.flops });
    return;
  }
  const partial = partialBuffer(rt, spec.nOut * a.O * J * a.C);
  const k1 = rt.kernel({ name: `${spec.name}_partial`, code: columnReduceWGSL(spec, false, false) });
  rt.dispatch(k1, { params: u32, tensors: [...a.inputs, ...lists, partial], groups: groups1d(W * J * tiles), flops: a.flops, label: spec.name });
  const k2 = rt.kernel({ name: `${spec.name}_finish`, code: columnReduceFinishWGSL(spec.v, spec.nOut, a.accumulate) });
  rt.dispatch(k2, { params: [W, a.O, J], tensors: [partial, ...outs], groups: groups1d(W * a.O), flops: spec.nOut * a.O * a.C * J, label: spec.name });
}
