// Optimizer WGSL: the global gradient L2 norm and a fused AdamW step, over whole flat buffers.
//
// Non-finite values are detected from their bits (exponent all ones), never with x != x or
// comparisons against infinity, which a compiler that assumes finite math may fold away. For the same
// reason no shader ever spells an infinity as a float constant: the norm is stored as raw bits.
//
// Every tensor binds read_write even when only read: WebGPU validates usage per whole GPUBuffer, so a
// read-only binding would forbid a caller from passing views of one arena that is written elsewhere.

/** Invocations per workgroup: a multiple of every subgroup size we know. */
export const WG = 64;
/** The norm's stage 1 uses at most this many workgroups, so stage 2 sums at most WG·MAX_PARTIAL_GROUPS partials. */
export const MAX_PARTIAL_GROUPS = 1024;

const EXP_BITS = '0x7f800000u';

/** Scalar or vec4 lanes: the same kernel text serves both (vec4 when the length allows). */
function lanes(width: 1 | 4): string {
  const common = `const EXP_BITS: u32 = ${EXP_BITS};`;
  if (width === 1) {
    return `${common}
alias T = f32;
fn hsum(a: T) -> f32 { return a; }
fn nonfinite(x: T) -> bool { return (bitcast<u32>(x) & EXP_BITS) == EXP_BITS; }`;
  }
  return `${common}
alias T = vec4<f32>;
fn hsum(a: T) -> f32 { return (a.x + a.y) + (a.z + a.w); }
fn nonfinite(x: T) -> bool { return any((bitcast<vec4<u32>>(x) & vec4<u32>(EXP_BITS)) == vec4<u32>(EXP_BITS)); }`;
}

/**
 * Stage 1 of the norm: invocation k sums g² over lanes k, k + S, k + 2S, … (S = all invocations;
 * grid-stride, so loads coalesce on real GPUs) and stores the f32 bits of its partial sum, or the
 * bits of +inf if any of its values was non-finite. No barriers, no atomics: the order is fixed by n.
 */
export function normPartialWGSL(width: 1 | 4): string {
  return `${lanes(width)}
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> grads: array<T>;
@group(0) @binding(2) var<storage, read_write> partials: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * ${WG}u;
  var acc = T(0.0);
  var bad = false;
  for (var i = gid.x; i < P.n; i += stride) {
    let g = grads[i];
    acc += g * g;
    bad |= nonfinite(g);
  }
  partials[gid.x] = select(bitcast<u32>(hsum(acc)), EXP_BITS, bad);
}`;
}

/**
 * Stage 2: one workgroup. Invocation l sums partials l, l + WG, … in order, then invocation 0 sums
 * those WG values in order and writes √sum, or +inf (as bits) if anything was non-finite or the sum
 * overflowed. One barrier in one workgroup: cheap even where barriers are slow.
 */
export const normFinishWGSL = /* wgsl */ `
const EXP_BITS: u32 = ${EXP_BITS};
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> partials: array<u32>;
@group(0) @binding(2) var<storage, read_write> norm: array<u32>;
var<workgroup> sums: array<f32, ${WG}>;
var<workgroup> bads: array<u32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) l: u32) {
  var acc = 0.0;
  var bad = false;
  for (var i = l; i < P.count; i += ${WG}u) {
    let b = partials[i];
    bad |= (b & EXP_BITS) == EXP_BITS;
    acc += select(bitcast<f32>(b), 0.0, bad);
  }
  sums[l] = acc;
  bads[l] = u32(bad);
  workgroupBarrier();
  if (l == 0u) {
    var s = 0.0;
    var anyBad = 0u;
    for (var j = 0u; j < ${WG}u; j++) {
      s += sums[j];
      anyBad |= bads[j];
    }
    let overflow = (bitcast<u32>(s) & EXP_BITS) == EXP_BITS;
    norm[0] = select(bitcast<u32>(sqrt(s)), EXP_BITS, anyBad != 0u || overflow);
  }
}`;

/**
 * The loss guard: one workgroup checks x[0], x[stride], x[2·stride], … (e.g. per-row losses) and,
 * if any is non-finite, overwrites the norm with +inf bits, so the AdamW step after it is skipped
 * exactly as for non-finite gradients. Runs between the norm and AdamW; writes only on a bad value.
 */
export const lossGuardWGSL = /* wgsl */ `
const EXP_BITS: u32 = ${EXP_BITS};
struct Params { n: u32, stride: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> norm: array<u32>;
var<workgroup> bads: array<u32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) l: u32) {
  var bad = 0u;
  for (var i = l; i < P.n; i += ${WG}u) {
    bad |= u32((x[i * P.stride] & EXP_BITS) == EXP_BITS);
  }
  bads[l] = bad;
  workgroupBarrier();
  if (l == 0u) {
    var anyBad = 0u;
    for (var j = 0u; j < ${WG}u; j++) { anyBad |= bads[j]; }
    if (anyBad != 0u) { norm[0] = EXP_BITS; }
  }
}`;

/**
 * AdamW, element-wise over the flat buffers, with the clip scale and the skip decision read from the
 * norm tensor. Decay mask: bit b of the u32 words is 1 when elements [b·2^shift, (b+1)·2^shift)
 * decay. One dispatch covers every tensor, and the mask costs 1/(32·2^shift) words per element,
 * where a per-element u32 mask would add an eighth stream to the seven this kernel moves (p, g, m, v
 * read; p, m, v written). Lanes of a vec4 share one block, so vec4 needs shift ≥ 2.
 */
export function adamwWGSL(width: 1 | 4): string {
  return `${lanes(width)}
struct Params {
  n: u32, shift: u32,
  lr: f32, beta1: f32, omb1: f32, beta2: f32, omb2: f32, eps: f32, wd: f32, maxNorm: f32, ibc1: f32, ibc2: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> params: array<T>;
@group(0) @binding(2) var<storage, read_write> grads: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;
@group(0) @binding(5) var<storage, read_write> decay: array<u32>;
@group(0) @binding(6) var<storage, read_write> norm: array<u32>;
@group(0) @binding(7) var<storage, read_write> skipped: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= P.n) { return; }
  let nb = norm[0];
  if ((nb & EXP_BITS) == EXP_BITS) {
    // Non-finite gradients: leave params and moments untouched; count the skip (one writer).
    if (i == 0u) { skipped[0] = skipped[0] + 1u; }
    return;
  }
  let clip = select(1.0, min(1.0, P.maxNorm / (bitcast<f32>(nb) + 1e-6)), P.maxNorm > 0.0);
  let g = grads[i] * clip;
  let mi = P.beta1 * m[i] + P.omb1 * g;
  let vi = P.beta2 * v[i] + P.omb2 * (g * g);
  m[i] = mi;
  v[i] = vi;
  let block = (i * ${width}u) >> P.shift;
  let wd = select(0.0, P.wd, ((decay[block >> 5u] >> (block & 31u)) & 1u) == 1u);
  let p = params[i];
  params[i] = p - P.lr * ((mi * P.ibc1) / (sqrt(vi * P.ibc2) + P.eps) + wd * p);
}`;
}
