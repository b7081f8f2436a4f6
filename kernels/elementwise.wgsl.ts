// WGSL for the elementwise family, and the building blocks the other row/column families
// (layernorm, softmax, reduce, embedding) share: kernel header, flat invocation index, vector width.

/** Invocations per workgroup for every kernel built here: a multiple of every subgroup size we know. */
export const WG = 64;

export interface Binding {
  name: string;
  /** WGSL element type of the runtime-sized array, e.g. 'T', 'f32', 'u32'. */
  elem: string;
}

/**
 * The uniform params struct at @binding(0) and one storage array per tensor from @binding(1).
 * Every tensor binds read_write, even pure inputs: WebGPU validates usage per whole GPUBuffer, so a
 * read-only view and a writable view of one flat buffer (params, grads, an activation arena) in the
 * same dispatch is an error, while two writable views are fine as long as their ranges are disjoint.
 */
export function header(fields: { u32?: string[]; f32?: string[] }, bindings: Binding[]): string {
  const members = [...(fields.u32 ?? []).map((n) => `${n}: u32`), ...(fields.f32 ?? []).map((n) => `${n}: f32`)];
  // WGSL has no empty structs; without params the runtime binds no uniform either.
  const uniform = members.length ? [`struct Params { ${members.join(', ')} }`, `@group(0) @binding(0) var<uniform> P: Params;`] : [];
  return [
    ...uniform,
    ...bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> ${b.name}: array<${b.elem}>;`),
  ].join('\n');
}

/**
 * A 1-D kernel entry: `body` runs once per index `i` in [0, count). The grid may be 2-D (more than
 * 65535 workgroups); `groups1d` sizes it to match.
 */
export function entry1d(count: string, body: string): string {
  return `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= ${count}) { return; }
${body}
}`;
}

/** Workgroup grid covering n invocations of an `entry1d` kernel. */
export function groups1d(n: number): [number, number] {
  const wgs = Math.ceil(n / WG);
  if (wgs === 0) return [0, 1];
  const x = Math.min(wgs, 65535);
  return [x, Math.ceil(wgs / x)];
}

/**
 * Indices per invocation of an `entryStrided` kernel. Amortising the per-invocation cost over a
 * few elements measured 10–25% faster on lavapipe for streaming kernels; the stride between an
 * invocation's indices keeps neighbouring invocations on neighbouring addresses (coalesced on GPUs).
 */
export const PER_INVOCATION = 4;

/** Like `entry1d`, but each invocation runs `body` for i, i + S, i + 2S, … < count (S = grid size). */
export function entryStrided(count: string, body: string): string {
  return `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * nwg.y * ${WG}u;
  for (var i = gid.x + gid.y * nwg.x * ${WG}u; i < ${count}; i += stride) {
${body}
  }
}`;
}

/** Workgroup grid for an `entryStrided` kernel over n indices. */
export function groupsStrided(n: number): [number, number] {
  return groups1d(Math.ceil(n / PER_INVOCATION));
}

/**
 * Vector width along a contiguous dimension of length c: vec4 when c is a multiple of 4 (tensor
 * views start 256-byte aligned, so every row then starts on a vec4), scalars otherwise.
 */
export function widthFor(c: number): 1 | 4 {
  return c % 4 === 0 ? 4 : 1;
}

/** Defines `T` (f32 or vec4<f32>) and its horizontal sum/max, so one kernel text serves both widths. */
export function lanesWGSL(v: 1 | 4): string {
  if (v === 1) return `alias T = f32;\nfn hsum(a: T) -> f32 { return a; }\nfn hmax(a: T) -> f32 { return a; }`;
  return `alias T = vec4<f32>;
fn hsum(a: T) -> f32 { return (a.x + a.y) + (a.z + a.w); }
fn hmax(a: T) -> f32 { return max(max(a.x, a.y), max(a.z, a.w)); }`;
}

/** `row_of(k)`: the k-th row to process, from a u32 `rows` list when there is one, else k itself. */
export function rowOf(hasRows: boolean): string {
  return hasRows ? `fn row_of(k: u32) -> u32 { return rows[k]; }` : `fn row_of(k: u32) -> u32 { return k; }`;
}

// GELU, GPT-2's tanh approximation, written as 0.5·x·(1 + tanh(u)) = x·σ(2u) = x / (1 + e^(−2u)):
// the same function without the cancellation 1 + tanh(u) suffers for negative x (gelu(−5) would
// lose most of its digits) and without tanh, whose WGSL accuracy is only "inherited from sinh/cosh".
// The exponent is clamped to ±80: e^80 is finite in f32 (no inf for drivers that assume finite
// math), and beyond it the result is already x or ~0 to within |x|·e^−80.
export const geluWGSL = /* wgsl */ `
const GELU_K: f32 = 0.7978845608028654; // sqrt(2/pi)
const GELU_C: f32 = 0.044715;
fn gelu_e(x: T) -> T {
  let u = GELU_K * (x + GELU_C * x * x * x);
  return exp(clamp(-2.0 * u, T(-80.0), T(80.0)));
}
fn gelu(x: T) -> T { return x / (1.0 + gelu_e(x)); }
// gelu'(x) = s + 2x·s(1 − s)·u'(x) with s = σ(2u); 1 − s = e·s, again without cancellation.
fn gelu_grad(x: T) -> T {
  let e = gelu_e(x);
  let s = 1.0 / (1.0 + e);
  let du = GELU_K * (1.0 + 3.0 * GELU_C * x * x);
  return s * (1.0 + 2.0 * x * (e * s) * du);
}`;

export interface ElementwiseOp {
  name: string;
  /** Input names, each loaded at index i into a `let` of that name. */
  inputs: string[];
  /** WGSL expression of type T over the inputs (and `P.s` for scale). */
  expr: string;
  /** Extra f32 uniform fields the expression reads. */
  fparams?: string[];
}

/**
 * out[i] = expr(inputs[i]) (or out[i] += expr when accumulating) over n/v elements of width T.
 * `source[k]` is the binding input k is loaded from: its own (`in_<name>`), `out` when it is the
 * output range itself (in place), or an earlier input's when both are the same range, so no buffer
 * range is ever bound twice.
 */
export function elementwiseWGSL(op: ElementwiseOp, v: 1 | 4, accumulate: boolean, source: string[]): string {
  const bound = [...new Set(source.filter((b) => b !== 'out'))];
  const loads = op.inputs.map((n, k) => `  let ${n} = ${source[k]}[i];`).join('\n');
  const value = accumulate ? `out[i] + (${op.expr})` : op.expr;
  return `${lanesWGSL(v)}
${header({ u32: ['n'], f32: op.fparams }, [...bound.map((name) => ({ name, elem: 'T' })), { name: 'out', elem: 'T' }])}
${geluWGSL}
${entryStrided('P.n', `${loads}\n  out[i] = ${value};`)}`;
}
