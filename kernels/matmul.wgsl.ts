// WGSL builders for the matmul family. Two shapes of kernel:
//
// - register-blocked ('reg'): no workgroup memory, no barriers. An 8-lane group owns a tile of
//   `tm` rows × 32·g columns; lane l owns columns c0 + 32·j + 4·l + (0..3). Each lane loads its
//   own B values (vec4 along N, or along K for NT) and, with share = 'subgroup', only 1/8 of the
//   A values, which the others get by subgroupBroadcast. On lavapipe every storage load is a
//   per-lane scalar loop with a bounds check (~8 instructions per element) while a broadcast is
//   one register shuffle, so loads per FMA matter: a 32×64 tile loads 0.375 scalars per 8-wide
//   FMA against 1.25 for 8×32, though its accumulators spill. The loop takes 4 k steps per
//   iteration (vec4 along K) or, with ku = 1, one: the same scalar loads on lavapipe, a quarter of
//   the code (a 4-step 32×64 body is ~15,000 instructions, past the CPU's instruction caches).
//   share = 'none' is the 4-step schedule with each lane loading all its A values (adapters
//   without subgroups); its workgroup stacks `wy` lane rows. Every form adds each output's
//   products in k order, so all variants give the same bits.
// - tiled ('tiled'): the classic 64×64 workgroup-memory tile with barriers, 4×4 per invocation.
//   This is what discrete GPUs like; on lavapipe barriers make it slow, and the autotuner knows.
//
// Only the form and the vec4 alignment specialise a pipeline. Sizes and the features (bias,
// accumulate, row gathering) are uniforms: each feature costs a few instructions outside the
// inner loop (TN's row list one load per 4 k steps), far less than compiling every combination,
// which takes seconds per pipeline on lavapipe. Loads are clamped into range and K steps past
// the end are zeroed, so any size works.
//
// Epilogue, in this order: + bias, + old C (accumulate), + residual (F_RES: a read-only tensor
// shaped like C, so a block's projection writes res = x + (a·W + b) without first copying x into
// its output: the same additions in the same order as copy + accumulate), then with F_GELU the
// pre-activation is kept in `pre` (F_PRE) and C gets gelu of it (elementwise.wgsl.ts's GELU, the
// same function the separate kernel runs): an MLP's c_fc and its GELU in one dispatch. With F_DGELU
// (backward) C gets v·gelu′(x) instead, x read from the residual binding (the two exclude each
// other): the MLP projection's dx and the GELU's backward in one dispatch, as the separate kernel
// computes it (dy · gelu_grad(x)).
//
// Column sums (TN only, F_COLSUM): csum[n] (+)= Σ_k B[k, n] over the same k steps (listed rows
// with F_REDUCE), added in k order like the products: what the product would give for a column of
// ones in A, so a linear layer's bias gradient comes out of its weight gradient's dispatch. Every
// workgroup adds its B values (a few vector adds per 4 k steps, a uniform branch when off); the
// row-0 workgroups store them.
//
// Bindings: 0 params {M, N, K, flags}; 1 A; 2 B; 3 C; 4 bias; 5 rows; 6 pre; 7 residual; TN also
// 8 csum (dummies when unused).
import { geluWGSL } from './elementwise.wgsl.js';

export type MatmulForm = 'NN' | 'NT' | 'TN';

/** Uniform feature bits. */
export const F_BIAS = 1, F_ACC = 2, F_GATHER_A = 4, F_SCATTER = 8, F_REDUCE = 16, F_GELU = 32, F_PRE = 64, F_RES = 128, F_COLSUM = 256, F_DGELU = 512;

export interface MatmulSpec {
  form: MatmulForm;
  /** vec4 access along the contiguous dimension of A, B, C (and bias): set when that dimension is
   * a multiple of 4 (NN: A needs K, B and C need N; NT: A and B need K; TN: A needs M, B needs N). */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
}

export interface RegConfig {
  kind: 'reg';
  share: 'subgroup' | 'none';
  /** rows per lane row (a multiple of 4) */
  tm: number;
  /** vec4 column groups per lane: the tile is 32·g columns wide */
  g: number;
  /** lane rows per workgroup (1 when sharing through subgroups) */
  wy: number;
  /** k steps per loop iteration: 4 (A and, for NT, B loaded as vec4 along K, the body unrolled
   * over them) or 1 (subgroup sharing only: one step per iteration, scalar loads along K) */
  ku?: 1 | 4;
}

export interface TiledConfig {
  kind: 'tiled';
}

export type VariantConfig = RegConfig | TiledConfig;

const XYZW = ['x', 'y', 'z', 'w'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** The register kernels' column c0 + 32j + q, clamped into range (a lane past N loads a real one). */
const ncol = (j: number, q: number) => `min(c0 + ${32 * j + q}u, N - 1u)`;

/** Workgroup grid for a problem of logical size M×N. */
export function gridFor(c: VariantConfig, M: number, N: number): [number, number] {
  if (c.kind === 'tiled') return [Math.ceil(N / 64), Math.ceil(M / 64)];
  return [Math.ceil(N / (32 * c.g)), Math.ceil(M / (c.tm * c.wy))];
}

function header(s: MatmulSpec, subgroups: boolean): string[] {
  const arr = (vec: boolean) => (vec ? 'array<vec4f>' : 'array<f32>');
  return [
    ...(subgroups ? ['enable subgroups;'] : []),
    'struct P { M: u32, N: u32, K: u32, flags: u32 }',
    '@group(0) @binding(0) var<uniform> p: P;',
    `@group(0) @binding(1) var<storage, read> A: ${arr(s.vecA)};`,
    `@group(0) @binding(2) var<storage, read> B: ${arr(s.vecB)};`,
    `@group(0) @binding(3) var<storage, read_write> C: ${arr(s.vecC)};`,
    `@group(0) @binding(4) var<storage, read> bias: ${arr(s.vecC)};`,
    '@group(0) @binding(5) var<storage, read> rows: array<u32>;',
    `@group(0) @binding(6) var<storage, read_write> pre: ${arr(s.vecC)};`,
    `@group(0) @binding(7) var<storage, read> res: ${arr(s.vecC)};`,
    ...(s.form === 'TN' ? [`@group(0) @binding(8) var<storage, read_write> csum: ${arr(s.vecC)};`] : []),
    `alias T = ${s.vecC ? 'vec4f' : 'f32'};`,
    geluWGSL,
  ];
}

const FLAG_LETS = [
  '  let M = p.M; let N = p.N; let K = p.K;',
  `  let useBias = (p.flags & ${F_BIAS}u) != 0u; let useAcc = (p.flags & ${F_ACC}u) != 0u;`,
  `  let gatherA = (p.flags & ${F_GATHER_A}u) != 0u; let scatter = (p.flags & ${F_SCATTER}u) != 0u;`,
  `  let reduce = (p.flags & ${F_REDUCE}u) != 0u;`,
  `  let useGelu = (p.flags & ${F_GELU}u) != 0u; let keepPre = (p.flags & ${F_PRE}u) != 0u;`,
  `  let useRes = (p.flags & ${F_RES}u) != 0u; let useCsum = (p.flags & ${F_COLSUM}u) != 0u;`,
  `  let useDgelu = (p.flags & ${F_DGELU}u) != 0u;`,
];

/** Stores a column sum (vec4 or one value) at csum[index]: + old value when accumulating. */
function storeCsum(index: string, value: string, indent: string): string[] {
  return [`${indent}var v = ${value};`, `${indent}if (useAcc) { v = v + csum[${index}]; }`, `${indent}csum[${index}] = v;`];
}

/** Output of one value or vec4 at C[index]: + bias, + old C, + residual, (pre =, gelu), store. */
function storeC(index: string, value: string, biasValue: string, indent: string): string[] {
  return [
    `${indent}var v = ${value} + ${biasValue};`, // the bias is zeroed when unused: no branch
    `${indent}if (useAcc) { v = v + C[${index}]; }`,
    `${indent}if (useRes) { v = v + res[${index}]; }`,
    `${indent}if (useDgelu) { v = v * gelu_grad(res[${index}]); }`, // res holds the GELU's input here
    `${indent}if (useGelu) { if (keepPre) { pre[${index}] = v; } v = gelu(v); }`,
    `${indent}C[${index}] = v;`,
  ];
}

// ------------------------------------------------------------------------------ register-blocked

export function regWGSL(c: RegConfig, s: MatmulSpec): string {
  if ((c.ku ?? 4) === 1) return regStepWGSL(c, s);
  const sg = c.share === 'subgroup';
  if (sg && c.wy !== 1) throw new Error('matmul: subgroup sharing assumes one 8-lane subgroup per workgroup (wy = 1)');
  if (c.tm % 4 !== 0) throw new Error('matmul: register blocks need tm % 4 == 0');
  const { tm, g } = c;
  const tn = s.form === 'TN';
  const nA = Math.ceil(tm / 8); // A slots per lane when sharing
  // NN/NT with vec4 along K only see K % 4 == 0. Otherwise every chunk masks the steps past K
  // (a few selects) rather than a tail copy of the body doubling the code.
  const masked = !(s.form !== 'TN' && (s.vecA || (s.form === 'NT' && s.vecB)));
  const kIdx = (u: number | string) => (masked ? `min(k + ${u}, K - 1u)` : `k + ${u}`);
  const L = header(s, sg);
  L.push(
    `@compute @workgroup_size(8, ${c.wy})`,
    sg
      ? 'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(subgroup_invocation_id) l: u32) {'
      : 'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {',
    ...(sg ? [] : ['  let l = lid.x;']),
    ...FLAG_LETS,
    `  let m0 = wg.y * ${tm * c.wy}u${sg ? '' : ` + lid.y * ${tm}u`};`,
    `  let c0 = wg.x * ${32 * g}u + 4u * l;`, // this lane's first column
  );

  // --- A. aLoads: the vec4 loads a lane does per chunk of 4 k steps; aVal(i, u): A(m0 + i, k + u).
  const setup: string[] = [];
  const aLoads: string[] = [];
  let aVal: (i: number, u: number) => string;
  const rowOff = (name: string, m: string) => {
    setup.push(`  let ${name}m = min(${m}, M - 1u);`);
    setup.push(`  let ${name} = select(${name}m, rows[${name}m], gatherA);`); // A's row
    setup.push(`  let o${name} = ${name} * ${s.vecA ? '(K / 4u)' : 'K'};`);
  };
  const ldRowK = (name: string, off: string) => {
    // A[row, k..k+3] (NN/NT)
    if (s.vecA) aLoads.push(`let ${name} = A[${off} + k / 4u];`);
    else aLoads.push(`let ${name} = select(vec4f(0.0), vec4f(${range(4).map((j) => `A[${off} + ${kIdx(`${j}u`)}]`).join(', ')}), kok);`);
  };
  const ldKM = (name: string, krow: string, q: string, kOk: string) => {
    // A[krow, m0 + 4q .. +3] (TN), zero when that k step is past K
    const v = s.vecA
      ? `A[${krow} * (M / 4u) + min(m0 / 4u + ${q}, M / 4u - 1u)]`
      : `vec4f(${range(4).map((j) => `A[${krow} * M + min(m0 + 4u * ${q} + ${j}u, M - 1u)]`).join(', ')})`;
    aLoads.push(`let ${name} = select(vec4f(0.0), ${v}, ${kOk});`);
  };
  if (!tn) {
    if (sg) {
      range(nA).forEach((r) => rowOff(`ra${r}`, `m0 + l + ${8 * r}u`));
      range(nA).forEach((r) => ldRowK(`av${r}`, `ora${r}`));
      aVal = (i, u) => `subgroupBroadcast(av${i >> 3}.${XYZW[u]}, ${i & 7}u)`;
    } else {
      range(tm).forEach((i) => rowOff(`ra${i}`, `m0 + ${i}u`));
      range(tm).forEach((i) => ldRowK(`av${i}`, `ora${i}`));
      aVal = (i, u) => `av${i}.${XYZW[u]}`;
    }
  } else {
    const tq = tm / 4; // vec4 groups along M per k step
    if (sg) {
      // slot s = l + 8r covers (u = s / tq, q = s % tq); lanes past the tile repeat its last slot
      for (const r of range(nA)) {
        setup.push(`  let sa${r} = min(l + ${8 * r}u, ${tm - 1}u); let ua${r} = sa${r} / ${tq}u; let qa${r} = sa${r} % ${tq}u;`);
        aLoads.push(`let ka${r} = select(${kIdx(`ua${r}`)}, subgroupShuffle(rk, ua${r}), reduce);`);
        ldKM(`av${r}`, `ka${r}`, `qa${r}`, `k + ua${r} < K`);
      }
      aVal = (i, u) => {
        const sl = u * tq + (i >> 2);
        return `subgroupBroadcast(av${sl >> 3}.${XYZW[i & 3]}, ${sl & 7}u)`;
      };
    } else {
      for (const u of range(4)) for (const q of range(tq)) ldKM(`av${u}_${q}`, `kb${u}`, `${q}u`, `k + ${u}u < K`);
      aVal = (i, u) => `av${u}_${i >> 2}.${XYZW[i & 3]}`;
    }
  }

  // --- B: this lane's own columns c0 + 32j + (0..3); bv{j}_{u} is their vec4 at step k + u.
  const bLoads: string[] = [];
  for (const j of range(g)) {
    if (s.form === 'NT') {
      for (const q of range(4)) {
        setup.push(`  let ob${j}_${q} = ${ncol(j, q)} * ${s.vecB ? '(K / 4u)' : 'K'};`);
        bLoads.push(
          s.vecB
            ? `let bw${j}_${q} = B[ob${j}_${q} + k / 4u];`
            : `let bw${j}_${q} = select(vec4f(0.0), vec4f(${range(4).map((x) => `B[ob${j}_${q} + ${kIdx(`${x}u`)}]`).join(', ')}), kok);`,
        );
      }
      for (const u of range(4)) bLoads.push(`let bv${j}_${u} = vec4f(${range(4).map((q) => `bw${j}_${q}.${XYZW[u]}`).join(', ')});`);
    } else {
      if (s.vecB) setup.push(`  let cb${j} = min(c0 / 4u + ${8 * j}u, N / 4u - 1u);`);
      else for (const q of range(4)) setup.push(`  let cb${j}_${q} = ${ncol(j, q)};`);
      for (const u of range(4)) {
        const v = s.vecB ? `B[kb${u} * (N / 4u) + cb${j}]` : `vec4f(${range(4).map((q) => `B[kb${u} * N + cb${j}_${q}]`).join(', ')})`;
        bLoads.push(masked ? `let bv${j}_${u} = select(vec4f(0.0), ${v}, kok[${u}]);` : `let bv${j}_${u} = ${v};`);
      }
    }
  }

  // --- the K loop, 4 steps per chunk
  const body: string[] = [];
  if (masked) body.push('let kok = vec4<bool>(k < K, k + 1u < K, k + 2u < K, k + 3u < K);');
  if (tn) {
    // row list (TN gathers over k): one load per lane, shared by broadcast when possible
    if (sg) body.push(`let rk = rows[${kIdx('(l & 3u)')}];`);
    for (const u of range(4)) {
      const viaRows = sg ? `subgroupBroadcast(rk, ${u}u)` : `rows[${kIdx(`${u}u`)}]`;
      body.push(`let kb${u} = select(${kIdx(`${u}u`)}, ${viaRows}, reduce);`);
    }
  } else if (s.form === 'NN') {
    for (const u of range(4)) body.push(`let kb${u} = ${kIdx(`${u}u`)};`);
  }
  body.push(...aLoads, ...bLoads);
  if (tn) body.push(`if (useCsum) {${range(g).flatMap((j) => range(4).map((u) => ` cs${j} = cs${j} + bv${j}_${u};`)).join('')} }`);
  // row-major over the accumulators so each stays in a register across its 4 k steps
  for (const i of range(tm))
    for (const u of range(4)) {
      body.push(`{ let a = vec4f(${aVal(i, u)});`);
      for (const j of range(g)) body.push(`  acc${i}_${j} = fma(a, bv${j}_${u}, acc${i}_${j});`);
      body.push('}');
    }
  L.push(...setup);
  for (const i of range(tm)) for (const j of range(g)) L.push(`  var acc${i}_${j} = vec4f(0.0);`);
  if (tn) for (const j of range(g)) L.push(`  var cs${j} = vec4f(0.0);`);
  L.push('  for (var k = 0u; k < K; k += 4u) {', ...body.map((x) => '    ' + x), '  }');

  regEpilogue(L, c, s);
  return L.join('\n');
}

/**
 * The register kernel with one k step per loop iteration (ku = 1, subgroup sharing). Per step each
 * lane loads tm/8 scalars of A (rows m0 + l + 8r; the others get them by broadcast) and its own
 * B columns, then updates its tm×g vec4 accumulators. Unrolling four steps (ku = 4) loads the same
 * number of scalars (lavapipe loads a vec4 as four scalars) but makes a loop body of ~15,000
 * instructions for a 32×64 tile, far past the CPU's instruction caches; this body is a quarter of
 * that and, measured on lavapipe, ~1.1–1.3× faster at the model's shapes. No k step is masked.
 * The products are added in the same k order as ku = 4, so the two give the same bits.
 */
function regStepWGSL(c: RegConfig, s: MatmulSpec): string {
  if (c.share !== 'subgroup' || c.wy !== 1) throw new Error('matmul: one k step per iteration is for subgroup sharing (wy = 1)');
  if (c.tm % 4 !== 0) throw new Error('matmul: register blocks need tm % 4 == 0');
  const { tm, g } = c;
  const nA = Math.ceil(tm / 8);
  const vecB = s.form !== 'NT' && s.vecB; // B along N (NN, TN); NT's B is read along K, as scalars
  const L = header({ ...s, vecA: false, vecB }, true);
  L.push(
    '@compute @workgroup_size(8, 1)',
    'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(subgroup_invocation_id) l: u32) {',
    ...FLAG_LETS,
    `  let m0 = wg.y * ${tm}u;`,
    `  let c0 = wg.x * ${32 * g}u + 4u * l;`, // this lane's first column
  );
  const body: string[] = [];
  // A: this lane's share, rows (NN/NT) or columns (TN) m0 + l + 8r
  for (const r of range(nA)) {
    L.push(`  let ma${r} = min(m0 + l + ${8 * r}u, M - 1u);`);
    if (s.form === 'TN') body.push(`let a${r} = A[kr * M + ma${r}];`);
    else {
      L.push(`  let oa${r} = select(ma${r}, rows[ma${r}], gatherA) * K;`);
      body.push(`let a${r} = A[oa${r} + k];`);
    }
  }
  // B: this lane's columns c0 + 32j + (0..3) at step k (its row kr: listed for TN with rows)
  for (const j of range(g)) {
    if (s.form === 'NT') {
      for (const q of range(4)) L.push(`  let ob${j}_${q} = ${ncol(j, q)} * K;`);
      body.push(`let b${j} = vec4f(${range(4).map((q) => `B[ob${j}_${q} + k]`).join(', ')});`);
    } else if (vecB) {
      L.push(`  let cb${j} = min(c0 / 4u + ${8 * j}u, N / 4u - 1u);`);
      body.push(`let b${j} = B[kr * (N / 4u) + cb${j}];`);
    } else {
      for (const q of range(4)) L.push(`  let cb${j}_${q} = ${ncol(j, q)};`);
      body.push(`let b${j} = vec4f(${range(4).map((q) => `B[kr * N + cb${j}_${q}]`).join(', ')});`);
    }
  }
  if (s.form === 'TN') body.push(`if (useCsum) {${range(g).map((j) => ` cs${j} = cs${j} + b${j};`).join('')} }`);
  for (const i of range(tm)) {
    body.push(`{ let a = vec4f(subgroupBroadcast(a${i >> 3}, ${i & 7}u));`);
    for (const j of range(g)) body.push(`  acc${i}_${j} = fma(a, b${j}, acc${i}_${j});`);
    body.push('}');
  }
  for (const i of range(tm)) for (const j of range(g)) L.push(`  var acc${i}_${j} = vec4f(0.0);`);
  if (s.form === 'TN') for (const j of range(g)) L.push(`  var cs${j} = vec4f(0.0);`);
  const kr = s.form === 'TN' ? ['let kr = select(k, rows[k], reduce);'] : s.form === 'NN' ? ['let kr = k;'] : [];
  L.push('  for (var k = 0u; k < K; k++) {', ...[...kr, ...body].map((x) => '    ' + x), '  }');
  regEpilogue(L, c, s);
  return L.join('\n');
}

/** The register kernels' epilogue: column sums (TN), then the tile through bias, accumulate,
 * residual and GELU into C. Needs acc{i}_{j} (and cs{j} for TN), m0, c0 and the flag lets. */
function regEpilogue(L: string[], c: RegConfig, s: MatmulSpec): void {
  const { tm, g } = c;
  const tn = s.form === 'TN';
  // --- epilogue. Every storage access is a per-lane scalar loop on lavapipe, and unrolling the
  // stores over the tile would multiply the shader's size and compile time (minutes for 32×64):
  // the accumulators go through a local array and one loop writes them.
  L.push(`  var out: array<vec4f, ${tm * g}>;`);
  for (const i of range(tm)) for (const j of range(g)) L.push(`  out[${i * g + j}] = acc${i}_${j};`);
  for (const j of range(g)) {
    if (s.vecC) L.push(`  let bb${j} = select(vec4f(0.0), bias[min(c0 / 4u + ${8 * j}u, N / 4u - 1u)], useBias);`);
    else L.push(`  let bb${j} = select(vec4f(0.0), vec4f(${range(4).map((q) => `bias[${ncol(j, q)}]`).join(', ')}), useBias);`);
  }
  if (tn) {
    // the column sums, once per column: from the workgroups (and lane rows) at row 0
    L.push('  if (useCsum && m0 == 0u) {');
    for (const j of range(g)) {
      if (s.vecC) L.push(`    if (c0 + ${32 * j}u < N) {`, ...storeCsum(`c0 / 4u + ${8 * j}u`, `cs${j}`, '      '), '    }');
      else for (const q of range(4)) L.push(`    if (c0 + ${32 * j + q}u < N) {`, ...storeCsum(`c0 + ${32 * j + q}u`, `cs${j}.${XYZW[q]}`, '      '), '    }');
    }
    L.push('  }');
  }
  // (its trip count depends on M, which also keeps the compiler from unrolling it back)
  L.push(`  let mEnd = min(${tm}u, M - min(M, m0));`, '  for (var i = 0u; i < mEnd; i++) {', '    let m = m0 + i;');
  L.push('    let orow = select(m, rows[m], scatter);');
  for (const j of range(g)) {
    L.push(`    let o${j} = out[i * ${g}u + ${j}u];`);
    if (s.vecC) {
      L.push(`    if (c0 + ${32 * j}u < N) {`, ...storeC(`orow * (N / 4u) + c0 / 4u + ${8 * j}u`, `o${j}`, `bb${j}`, '      '), '    }');
    } else {
      for (const q of range(4)) {
        const n = `c0 + ${32 * j + q}u`;
        L.push(`    if (${n} < N) {`, ...storeC(`orow * N + ${n}`, `o${j}.${XYZW[q]}`, `bb${j}.${XYZW[q]}`, '      '), '    }');
      }
    }
  }
  L.push('  }', '}');
}

// ----------------------------------------------------------------------------------------- tiled

/** 64×64 output tile per 16×16 workgroup, K in steps of 16 through workgroup memory. */
export function tiledWGSL(s: MatmulSpec): string {
  const BM = 64, BN = 64, BK = 16;
  const L = header({ ...s, vecA: false, vecB: false }, false); // tiles load scalars
  const krow = (k: string) => `select(${k}, rows[${k}], reduce)`;
  L.push(
    `var<workgroup> As: array<vec4f, ${(BK * BM) / 4}>;`, // As[kk][m], m contiguous
    `var<workgroup> Bs: array<vec4f, ${(BK * BN) / 4}>;`, // Bs[kk][n], n contiguous
    '@compute @workgroup_size(16, 16)',
    'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32) {',
    ...FLAG_LETS,
    `  let m0 = wg.y * ${BM}u; let n0 = wg.x * ${BN}u;`,
    '  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);',
    '  var cs = vec4f(0.0);',
    `  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {`,
    `    let kn = min(${BK}u, K - k0);`,
  );
  // Tile loads cover only the rows/columns/k steps that exist (what lies past them feeds outputs
  // nobody stores, or k steps the inner loop skips). Bounds that depend on the sizes also keep
  // lavapipe from unrolling these loops, which multiplies compile time ~7× for nothing.
  const aCount = s.form === 'TN' ? `kn * ${BM}u` : `min(${BM}u, M - m0) * ${BK}u`;
  const bCount = s.form === 'NT' ? `min(${BN}u, N - n0) * ${BK}u` : `kn * ${BN}u`;
  L.push(`    for (var e = t; e < ${aCount}; e += 256u) {`);
  if (s.form === 'TN') {
    L.push(`      let kk = e / ${BM}u; let row = e % ${BM}u;`, `      let av = A[${krow('k0 + kk')} * M + m0 + row];`);
  } else {
    L.push(
      `      let row = e / ${BK}u; let kk = e % ${BK}u; let m = m0 + row;`,
      '      let av = A[select(m, rows[m], gatherA) * K + min(k0 + kk, K - 1u)];',
    );
  }
  L.push(`      As[kk * ${BM / 4}u + row / 4u][row % 4u] = av;`, '    }', `    for (var e = t; e < ${bCount}; e += 256u) {`);
  if (s.form === 'NT') {
    L.push(`      let col = e / ${BK}u; let kb = e % ${BK}u;`, '      let bv = B[(n0 + col) * K + min(k0 + kb, K - 1u)];');
  } else {
    L.push(`      let kb = e / ${BN}u; let col = e % ${BN}u;`, `      let bv = B[${krow('k0 + kb')} * N + n0 + col];`);
  }
  L.push(
    `      Bs[kb * ${BN / 4}u + col / 4u][col % 4u] = bv;`,
    '    }',
    '    workgroupBarrier();',
    '    for (var kk = 0u; kk < kn; kk++) {',
    `      let a = As[kk * ${BM / 4}u + lid.y];`,
    `      let b = Bs[kk * ${BN / 4}u + lid.x];`,
    '      acc0 = fma(vec4f(a.x), b, acc0); acc1 = fma(vec4f(a.y), b, acc1);',
    '      acc2 = fma(vec4f(a.z), b, acc2); acc3 = fma(vec4f(a.w), b, acc3);',
    ...(s.form === 'TN' ? ['      if (useCsum) { cs = cs + b; }'] : []),
    '    }',
    '    workgroupBarrier();',
    '  }',
    '  let c0 = n0 + 4u * lid.x;',
    s.vecC
      ? '  let bb = select(vec4f(0.0), bias[min(c0 / 4u, N / 4u - 1u)], useBias);'
      : `  let bb = select(vec4f(0.0), vec4f(${range(4).map((q) => `bias[min(c0 + ${q}u, N - 1u)]`).join(', ')}), useBias);`,
    '  var out = array<vec4f, 4>(acc0, acc1, acc2, acc3);',
    ...(s.form !== 'TN'
      ? []
      : s.vecC
        ? ['  if (useCsum && m0 == 0u && lid.y == 0u && c0 < N) {', ...storeCsum('c0 / 4u', 'cs', '    '), '  }']
        : ['  if (useCsum && m0 == 0u && lid.y == 0u) {', ...range(4).flatMap((q) => [`    if (c0 + ${q}u < N) {`, ...storeCsum(`c0 + ${q}u`, `cs.${XYZW[q]}`, '      '), '    }']), '  }']),
    '  let r0 = m0 + 4u * lid.y;',
    '  for (var i = 0u; i < min(4u, M - min(M, r0)); i++) {',
    '    let m = r0 + i;',
    '    let orow = select(m, rows[m], scatter);',
  );
  if (s.vecC) L.push('    if (c0 < N) {', ...storeC('orow * (N / 4u) + c0 / 4u', 'out[i]', 'bb', '      '), '    }');
  else
    for (const q of range(4))
      L.push(`    if (c0 + ${q}u < N) {`, ...storeC(`orow * N + c0 + ${q}u`, `out[i].${XYZW[q]}`, `bb.${XYZW[q]}`, '      '), '    }');
  L.push('  }', '}');
  return L.join('\n');
}

export function matmulWGSL(c: VariantConfig, s: MatmulSpec): string {
  return c.kind === 'tiled' ? tiledWGSL(s) : regWGSL(c, s);
}
