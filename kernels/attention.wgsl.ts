// Causal multi-head self-attention, GPT-2 layout: qkv [B, T, 3C] = q | k | v with head h at columns
// h·hd..(h+1)·hd of each third, y [B, T, C]; T ≤ a few hundred, so a whole softmax row is one
// invocation's job and nothing needs a workgroup barrier.
//
// Layout of the work: one invocation per query row (forward, dq) or key row (dk, dv), R rows of one
// (batch, head) per workgroup, and every walk over the other side's rows runs to a bound that is the
// same for the whole workgroup (the end of its chunk), masking the causal tail per lane. On lavapipe
// (GALLIVM_DEBUG=asm) each storage element a lane loads costs ~10 instructions (a bounds check, a
// branch, an insert), even when all lanes load the same address inside a loop, against 1 for a
// vector FMA: loads are the cost. So the `sub` variants (R = 8 = one subgroup) walk in blocks of 8
// rows, lane u loading row u of the block and every lane taking it by subgroupBroadcast: each
// element is loaded once per subgroup, not once per lane (the block loop's instructions drop ~5×).
// The portable variants load per lane and suit GPUs (R = 32, a warp) or adapters without subgroups.
//
// head_dim is baked into each pipeline so the per-row registers are unrolled scalars/vectors: vec4
// loads when hd % 4 == 0, vec2 when hd % 2 == 0, else f32 (every offset is then a multiple of W).
// The head count is a uniform, so pipelines depend on hd alone (llvmpipe compiles one in 0.3–6 s).
//
// Softmax is online (running max m, sum l, unnormalised output o), in key order 0..t, every step
// from one shared text (`softmaxStep`), so the KV-cache decode step computes bit for bit what the
// full forward computes for the same row. Masked steps are exact no-ops (factor 1, weight 0).

/** What the forward keeps for the backward: per-row logsumexp (recompute P) or P itself. */
export type SaveMode = 'lse' | 'att';

interface Layout {
  W: number;
  /** WGSL type of one loaded element: f32, vec2<f32> or vec4<f32> */
  V: string;
  /** elements of V per head row */
  HV: number;
  consts: string;
}

export function layout(hd: number): Layout {
  const W = hd % 4 === 0 ? 4 : hd % 2 === 0 ? 2 : 1;
  const V = W === 1 ? 'f32' : `vec${W}<f32>`;
  const HV = hd / W;
  const consts = `const HV = ${HV}u;`;
  return { W, V, HV, consts };
}

// Every subgroupBroadcast here sits in control flow that depends only on workgroup-uniform values
// (loop counters, T, broadcast results), which WGSL's analysis cannot see through.
const SUBGROUPS = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);';

// H is a uniform, not baked, so one pipeline per head_dim serves every head count.
// C3 = one qkv row, CV = one y row (= the offset from q to k to v), in elements of V.
const DIMS = 'let H = p.H;\n  let CV = H * HV;\n  let C3 = 3u * CV;';
/** Which (sequence b, head h) a workgroup of the full-sequence kernels serves: grid y is b·H + h. */
const GRID = 'let T = p.T;\n  let bh = wg.y;\n  let h = bh % H;\n  let b = bh / H;\n  let seq = b * T;';

const each = (n: number, f: (d: number) => string, sep = '\n  ') => Array.from({ length: n }, (_, d) => f(d)).join(sep);

/** Σ_d a_d·b_d over one head row, as one expression. */
function dotRow(L: Layout, a: (d: number) => string, b: (d: number) => string): string {
  return each(L.HV, (d) => (L.W === 1 ? `${a(d)} * ${b(d)}` : `dot(${a(d)}, ${b(d)})`), ' + ');
}

/** The empty softmax state. The first key (always visible) replaces it: its factor
 * exp(−3e38 − s) is 0, so l and o start from that key alone; no peeled step, no second load site. */
function softmaxInit(L: Layout): string {
  return `var m = -3.0e38;
  var l = 0.0;
  ${each(L.HV, (d) => `var o${d} = ${L.V}();`)}`;
}

/** One online-softmax step (query row in q0.., pre-scaled by 1/√hd); a lane with `vis` false is an
 * exact no-op (factor 1, weight 0). */
function softmaxStep(L: Layout, k: (d: number) => string, v: (d: number) => string, vis: string, ind = '  '): string {
  return `{
${ind}  let s = ${dotRow(L, (d) => `q${d}`, k)};
${ind}  let vis = ${vis};
${ind}  let mn = select(m, max(m, s), vis);
${ind}  let a = select(1.0, exp(m - mn), vis);
${ind}  let e = select(0.0, exp(s - mn), vis);
${ind}  l = l * a + e;
${ind}  ${each(L.HV, (d) => `o${d} = fma(${L.V}(e), ${v(d)}, o${d} * a);`, `\n${ind}  `)}
${ind}  m = mn;
${ind}}`;
}

/** The walk over keys 0..end−1, loading each key row itself. `key(j, d)`/`val(j, d)`: storage
 * expressions; `vis` an expression in j. Leaves m, l and o0.. in scope. */
function attendRow(L: Layout, key: (j: string, d: number) => string, val: (j: string, d: number) => string, end: string, vis: string): string {
  return `${softmaxInit(L)}
  for (var j = 0u; j < ${end}; j++) ${softmaxStep(L, (d) => key('j', d), (d) => val('j', d), vis)}`;
}

/** The same walk for a subgroup of 8 lanes = 8 consecutive query rows t0..t0+7 (t0 % 8 == 0): keys
 * come in blocks of 8, lane u loading key jb+u (`key(row, d)`/`val(row, d)` with row clamped by
 * the caller's `clamp(j)`), and every lane takes each key from lane u by subgroupBroadcast, so each
 * key element is loaded once per subgroup instead of once per lane. Blocks run to the diagonal one. */
function attendRowSubgroup(
  L: Layout, key: (j: string, d: number) => string, val: (j: string, d: number) => string, clamp: (j: string) => string, t0: string,
): string {
  return `${softmaxInit(L)}
  for (var jb = 0u; jb <= ${t0}; jb += 8u) {
    let kr = ${clamp('jb + lane')};
    ${each(L.HV, (d) => `let kl${d} = ${key('kr', d)};\n    let vl${d} = ${val('kr', d)};`, '\n    ')}
    ${each(8, (u) => softmaxStep(L, (d) => `subgroupBroadcast(kl${d}, ${u}u)`, (d) => `subgroupBroadcast(vl${d}, ${u}u)`, `jb + ${u}u <= t`, '    '), '\n    ')}
  }`;
}

/** Forward: y, plus lse [B,H,T] or att [B,H,T,T] when `save` is set. Grid (⌈T/R⌉, B·H). With `sub`,
 * R must be 8 and a workgroup must be one subgroup (see attendRowSubgroup). */
export function forwardWGSL(hd: number, save: SaveMode | null, R: number, sub = false): string {
  const L = layout(hd);
  const key = (j: string, d: number) => `qkv[ko + ${j} * C3 + ${d}u]`;
  const val = (j: string, d: number) => `qkv[ko + CV + ${j} * C3 + ${d}u]`;
  const walk = sub
    ? attendRowSubgroup(L, key, val, (j) => `min(${j}, T - 1u)`, 't0')
    : attendRow(L, key, val, 'tEnd', 'j <= t');
  // att: a second walk, now that m and l are final, writing P_tj = exp(s_tj − m)/l
  const attPass = sub
    ? `for (var jb = 0u; jb <= t0; jb += 8u) {
    let kl = min(jb + lane, T - 1u);
    ${each(L.HV, (d) => `let kl${d} = ${key('kl', d)};`, '\n    ')}
    ${each(8, (u) => `{
      let s = ${dotRow(L, (d) => `q${d}`, (d) => `subgroupBroadcast(kl${d}, ${u}u)`)};
      if (jb + ${u}u <= t && t < T) { saved[(bh * T + t) * T + jb + ${u}u] = exp(s - m) * inv; }
    }`, '\n    ')}
  }`
    : `for (var j = 0u; j < tEnd; j++) {
    let s = ${dotRow(L, (d) => `q${d}`, (d) => key('j', d))};
    if (j <= t && t < T) { saved[(bh * T + t) * T + j] = exp(s - m) * inv; }
  }`;
  return /* wgsl */ `${sub ? SUBGROUPS : ''}
${L.consts}
const R = ${R}u;
struct P { H: u32, T: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qkv: array<${L.V}>;
@group(0) @binding(2) var<storage, read_write> y: array<${L.V}>;
${save ? '@group(0) @binding(3) var<storage, read_write> saved: array<f32>;' : ''}

@compute @workgroup_size(${R})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(${sub ? 'subgroup_invocation_id' : 'local_invocation_index'}) lane: u32) {
  ${DIMS}
  ${GRID}
  let t0 = wg.x * R;
  let t = t0 + lane;
  let tEnd = min(T, t0 + R);
  let qo = (seq + min(t, T - 1u)) * C3 + h * HV;
  ${each(L.HV, (d) => `let q${d} = qkv[qo + ${d}u] * p.scale;`)}
  let ko = seq * C3 + CV + h * HV;
  ${walk}
  let inv = 1.0 / l;
  if (t < T) {
    let yo = (seq + t) * CV + h * HV;
    ${each(L.HV, (d) => `y[yo + ${d}u] = o${d} * inv;`, '\n    ')}
    ${save === 'lse' ? 'saved[bh * T + t] = m + log(l);' : ''}
  }
  ${save === 'att' ? attPass : ''}
}`;
}

// Sparse backward row index (u32, built by rowMaskWGSL + rowOrderWGSL), in one buffer so no kernel
// binds more than WebGPU's guaranteed 8 storage buffers: [0, BT) mask (1 = listed); [BT, 2BT) per
// sequence b, its listed positions ascending at b·T..; [2BT, 2BT + B(T+1)) per sequence b, rank[t] =
// listed positions before t (rank[T] = how many). Query rows are then walked per sequence in a
// fixed order, densely: blocks of 8 listed rows, not 8 positions of which a few are listed.
const ROW_INDEX = (binding: number) => `@group(0) @binding(${binding}) var<storage, read> ri: array<u32>;`;

/** Backward, pass 0: D[b,h,t] = dout_t·y_t per head (what softmax's backward subtracts), once per
 * row rather than once per key chunk in pass 1. With `sparse`, unlisted rows are skipped. */
export function backwardDWGSL(hd: number, sparse: boolean): string {
  const L = layout(hd);
  return /* wgsl */ `
${L.consts}
struct P { H: u32, BT: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> y: array<${L.V}>;
@group(0) @binding(2) var<storage, read> dout: array<${L.V}>;
@group(0) @binding(3) var<storage, read_write> rowD: array<f32>;
${sparse ? ROW_INDEX(4) : ''}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  ${DIMS}
  let n = gid.x;   // (b·T + t)·H + h: consecutive lanes read consecutive heads of one row
  if (n >= p.BT * H) { return; }
  let r = n / H;
  let h = n % H;
  ${sparse ? 'if (ri[r] == 0u) { return; }' : ''}
  let o = r * CV + h * HV;
  let t = r % p.T;
  rowD[((r - t) * H + h * p.T) + t] = ${dotRow(L, (d) => `dout[o + ${d}u]`, (d) => `y[o + ${d}u]`)};
}`;
}

/**
 * Backward, pass 1, one invocation per key row j: dk_j, dv_j and dS[b,h,i,j] = P_ij·(dO_i·v_j − D_i)
 * for every query row i ≥ j (dense) or every listed one (sparse), in increasing i: a fixed order,
 * deterministic without atomics. D_i = dO_i·y_i comes from backwardDWGSL; P is recomputed from
 * lse, or read from att. Sparse also zeroes the dq of unlisted rows. Grid (⌈T/R⌉, B·H). With
 * `sub` (R = 8, one subgroup per workgroup), lane u loads query row k+u of each block of 8 and the
 * others take it by subgroupBroadcast, as in the forward.
 */
export function backwardKeysWGSL(hd: number, save: SaveMode, sparse: boolean, R: number, sub = false): string {
  const L = layout(hd);
  const zero = `${L.V}()`;
  // query rows are walked by index k in kStart..kEnd−1; row(k) is the position
  const row = (k: string) => (sparse ? `ri[p.BT + seq + ${k}]` : k);
  // the work of query row i on this lane's key row j, from q_i in qb.., dout_i in gb.., D_i and lse_i
  const body = (i: string, D: string, lse: string, ind: string) => `${save === 'lse'
      ? `let s = ${dotRow(L, (d) => `qb${d}`, (d) => `k${d}`)};
${ind}let P = select(0.0, exp(s - ${lse}), ${i} >= j);`
      : `let P = select(0.0, saved[(bh * T + ${i}) * T + jq], ${i} >= j);`}
${ind}let dp = ${dotRow(L, (d) => `gb${d}`, (d) => `v${d}`)};
${ind}let ds = P * (dp - ${D});
${ind}${each(L.HV, (d) => `dv${d} = fma(${L.V}(P), gb${d}, dv${d});\n${ind}dk${d} = fma(${L.V}(ds), qb${d}, dk${d});`, `\n${ind}`)}
${ind}if (j < T) { dS[(bh * T + ${i}) * T + j] = ds; }`;
  const loop = sub
    ? `for (var kb = kStart; kb < kEnd; kb += 8u) {
    let il = ${row('min(kb + lane, kEnd - 1u)')};
    let qo = (seq + il) * C3 + h * HV;
    let go = (seq + il) * CV + h * HV;
    ${each(L.HV, (d) => `let ql${d} = qkv[qo + ${d}u];\n    let gl${d} = dout[go + ${d}u];`, '\n    ')}
    let Dl = rowD[bh * T + il];
    ${save === 'lse' ? 'let lsel = saved[bh * T + il];' : ''}
    ${each(8, (u) => `if (kb + ${u}u < kEnd) {
      let i = ${sparse ? `subgroupBroadcast(il, ${u}u)` : `kb + ${u}u`};
      ${each(L.HV, (d) => `let qb${d} = subgroupBroadcast(ql${d}, ${u}u);\n      let gb${d} = subgroupBroadcast(gl${d}, ${u}u);`, '\n      ')}
      ${body('i', `subgroupBroadcast(Dl, ${u}u)`, `subgroupBroadcast(lsel, ${u}u)`, '      ')}
    }`, '\n    ')}
  }`
    : `for (var k = kStart; k < kEnd; k++) {
    let i = ${row('k')};
    let qo = (seq + i) * C3 + h * HV;
    let go = (seq + i) * CV + h * HV;
    ${each(L.HV, (d) => `let qb${d} = qkv[qo + ${d}u];\n    let gb${d} = dout[go + ${d}u];`, '\n    ')}
    ${body('i', 'rowD[bh * T + i]', 'saved[bh * T + i]', '    ')}
  }`;
  return /* wgsl */ `${sub ? SUBGROUPS : ''}
${L.consts}
const R = ${R}u;
struct P { H: u32, T: u32, BT: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qkv: array<${L.V}>;
@group(0) @binding(2) var<storage, read> rowD: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<${L.V}>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<${L.V}>;
@group(0) @binding(6) var<storage, read_write> dS: array<f32>;
${sparse ? ROW_INDEX(7) : ''}

@compute @workgroup_size(${R})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(${sub ? 'subgroup_invocation_id' : 'local_invocation_index'}) lane: u32) {
  ${DIMS}
  ${GRID}
  let j0 = wg.x * R;
  let j = j0 + lane;
  let jq = min(j, T - 1u);
  ${sparse ? `let rk = 2u * p.BT + b * (T + 1u);
  let kStart = ri[rk + j0];
  let kEnd = ri[rk + T];` : `let kStart = j0;
  let kEnd = T;`}
  let ko = (seq + jq) * C3 + CV + h * HV;
  ${each(L.HV, (d) => `let k${d} = qkv[ko + ${d}u] * p.scale;\n  let v${d} = qkv[ko + CV + ${d}u];`)}
  ${each(L.HV, (d) => `var dk${d} = ${zero};\n  var dv${d} = ${zero};`)}
  ${loop}
  if (j < T) {
    let o = (seq + j) * C3 + h * HV;
    ${each(L.HV, (d) => `dqkv[o + CV + ${d}u] = dk${d} * p.scale;\n    dqkv[o + 2u * CV + ${d}u] = dv${d};`, '\n    ')}
    ${sparse ? `if (ri[seq + j] == 0u) {\n      ${each(L.HV, (d) => `dqkv[o + ${d}u] = ${zero};`, '\n      ')}\n    }` : ''}
  }
}`;
}

/**
 * Backward, pass 2: dq_i = (1/√hd)·Σ_{j≤i} dS_ij·k_j, in increasing j, for R consecutive query rows
 * (dense) or R consecutive listed rows (sparse) of one (b, h) per workgroup; grid (⌈T/R⌉, B·H).
 * The key walk runs to the chunk's last row, masking per lane. With `sub`, lane u loads key jb+u of
 * each block of 8 and shares it by subgroupBroadcast.
 */
export function backwardQueriesWGSL(hd: number, sparse: boolean, R: number, sub = false): string {
  const L = layout(hd);
  const head = sparse
    ? `let count = ri[2u * p.BT + b * (T + 1u) + T];
  if (c0 >= count) { return; }
  let live = c0 + lane < count;
  let i = ri[p.BT + seq + min(c0 + lane, count - 1u)];
  let jEnd = ri[p.BT + seq + min(c0 + R - 1u, count - 1u)] + 1u;`
    : `let live = c0 + lane < T;
  let i = min(c0 + lane, T - 1u);
  let jEnd = min(T, c0 + R);`;
  const loop = sub
    ? `for (var jb = 0u; jb < jEnd; jb += 8u) {
    let ko = (seq + min(jb + lane, T - 1u)) * C3 + CV + h * HV;
    ${each(L.HV, (d) => `let kl${d} = qkv[ko + ${d}u];`, '\n    ')}
    ${each(8, (u) => `{
      let ds = select(0.0, dS[srow + min(jb + ${u}u, T - 1u)], jb + ${u}u <= i);
      ${each(L.HV, (d) => `dq${d} = fma(${L.V}(ds), subgroupBroadcast(kl${d}, ${u}u), dq${d});`, '\n      ')}
    }`, '\n    ')}
  }`
    : `for (var j = 0u; j < jEnd; j++) {
    let ds = select(0.0, dS[srow + j], j <= i);
    let ko = (seq + j) * C3 + CV + h * HV;
    ${each(L.HV, (d) => `dq${d} = fma(${L.V}(ds), qkv[ko + ${d}u], dq${d});`, '\n    ')}
  }`;
  return /* wgsl */ `${sub ? SUBGROUPS : ''}
${L.consts}
const R = ${R}u;
struct P { H: u32, T: u32, BT: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qkv: array<${L.V}>;
@group(0) @binding(2) var<storage, read> dS: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<${L.V}>;
${sparse ? ROW_INDEX(4) : ''}

@compute @workgroup_size(${R})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(${sub ? 'subgroup_invocation_id' : 'local_invocation_index'}) lane: u32) {
  ${DIMS}
  ${GRID}
  let c0 = wg.x * R;
  ${head}
  ${each(L.HV, (d) => `var dq${d} = ${L.V}();`)}
  let srow = (bh * T + i) * T;
  ${loop}
  if (live) {
    let o = (seq + i) * C3 + h * HV;
    ${each(L.HV, (d) => `dqkv[o + ${d}u] = dq${d} * p.scale;`, '\n    ')}
  }
}`;
}

/** The row index's mask: 1 for every listed row < BT (the index is cleared first); repeats write
 * the same 1, which is what makes the rows a set. */
export const rowMaskWGSL = /* wgsl */ `
struct P { count: u32, BT: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> list: array<u32>;
@group(0) @binding(2) var<storage, read_write> ri: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.count) { return; }
  let r = list[gid.x];
  if (r < p.BT) { ri[r] = 1u; }
}`;

/** The row index's per-sequence order and rank, from its mask: one invocation per sequence walks
 * its T ≤ a few hundred positions in order. */
export const rowOrderWGSL = /* wgsl */ `
struct P { B: u32, T: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> ri: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= p.B) { return; }
  let T = p.T;
  let BT = p.B * T;
  let rk = 2u * BT + b * (T + 1u);
  var n = 0u;
  for (var t = 0u; t < T; t++) {
    ri[rk + t] = n;
    if (ri[b * T + t] != 0u) {
      ri[BT + b * T + n] = t;
      n++;
    }
  }
  ri[rk + T] = n;
}`;

/**
 * KV-cache decode step, one invocation per (b, h): attends to cache positions 0..pos_b (the new k, v
 * already stored there by cacheWriteWGSL) with the forward's exact arithmetic. Positions come from
 * a uniform (all equal) or a u32 buffer [B]; a position ≥ Tmax leaves y untouched. The cache is
 * bound read-only: on llvmpipe the same kernel storing the new row itself compiled 3× as slowly.
 * With `saveLse`, also writes the forward's logsumexp m + log(l) at lse[(b·H + h)·Tsave + pos]
 * (the [B, H, T] layout attentionForward saves for the backward), for pos < Tsave.
 */
export function decodeWGSL(hd: number, perSeq: boolean, R: number, saveLse = false): string {
  const L = layout(hd);
  return /* wgsl */ `
${L.consts}
struct P { H: u32, B: u32, Tmax: u32, pos: u32, Tsave: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qkv: array<${L.V}>;
@group(0) @binding(2) var<storage, read> kc: array<${L.V}>;
@group(0) @binding(3) var<storage, read> vc: array<${L.V}>;
@group(0) @binding(4) var<storage, read_write> y: array<${L.V}>;
${perSeq ? '@group(0) @binding(5) var<storage, read> posOf: array<u32>;' : ''}
${saveLse ? `@group(0) @binding(${perSeq ? 6 : 5}) var<storage, read_write> lse: array<f32>;` : ''}

@compute @workgroup_size(${R})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  ${DIMS}
  let bh = gid.x;
  if (bh >= p.B * H) { return; }
  let b = bh / H;
  let h = bh % H;
  let pos = ${perSeq ? 'posOf[b]' : 'p.pos'};
  if (pos >= p.Tmax) { return; }
  let qo = b * C3 + h * HV;
  let co = bh * p.Tmax * HV;
  ${each(L.HV, (d) => `let q${d} = qkv[qo + ${d}u] * p.scale;`)}
  ${attendRow(L, (j, d) => `kc[co + ${j} * HV + ${d}u]`, (j, d) => `vc[co + ${j} * HV + ${d}u]`, 'pos + 1u', 'true')}
  let inv = 1.0 / l;
  let yo = b * CV + h * HV;
  ${each(L.HV, (d) => `y[yo + ${d}u] = o${d} * inv;`)}
  ${saveLse ? 'if (pos < p.Tsave) { lse[bh * p.Tsave + pos] = m + log(l); }' : ''}
}`;
}

/**
 * Stores k, v of T consecutive positions per sequence from qkv [B, T, 3C] into the cache
 * [B, H, Tmax, hd] at positions base_b + t, base_b from a uniform or a u32 buffer [B]; one
 * invocation per element of V. Prefill is T = prompt length, base 0; a decode step T = 1, base pos.
 */
export function cacheWriteWGSL(hd: number, perSeq: boolean): string {
  const L = layout(hd);
  return /* wgsl */ `
${L.consts}
struct P { H: u32, B: u32, T: u32, Tmax: u32, base: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> qkv: array<${L.V}>;
@group(0) @binding(2) var<storage, read_write> kc: array<${L.V}>;
@group(0) @binding(3) var<storage, read_write> vc: array<${L.V}>;
${perSeq ? '@group(0) @binding(4) var<storage, read> posOf: array<u32>;' : ''}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  ${DIMS}
  let n = gid.x;   // ((b·T + t)·H + h)·HV + d
  if (n >= p.B * p.T * CV) { return; }
  let d = n % HV;
  let h = (n / HV) % H;
  let bt = n / CV;
  let b = bt / p.T;
  let pos = ${perSeq ? 'posOf[b]' : 'p.base'} + bt % p.T;
  if (pos >= p.Tmax) { return; }
  let src = bt * C3 + CV + h * HV + d;
  let dst = ((b * H + h) * p.Tmax + pos) * HV + d;
  kc[dst] = qkv[src];
  vc[dst] = qkv[src + CV];
}`;
}

/** Copies one sequence's block of both caches onto another's, in place (WebGPU cannot copy a buffer
 * onto itself with copyBufferToBuffer). One invocation per f32; the blocks never overlap. */
export const cacheCopyWGSL = /* wgsl */ `
struct P { n: u32, src: u32, dst: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> kc: array<f32>;
@group(0) @binding(2) var<storage, read_write> vc: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.n) { return; }
  kc[p.dst + i] = kc[p.src + i];
  vc[p.dst + i] = vc[p.src + i];
}`;
