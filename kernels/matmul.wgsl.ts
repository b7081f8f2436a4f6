// WGSL builders for the matmul family. Two shapes of kernel:
//
// - register-blocked ('reg'): no workgroup memory, no barriers. A subgroup of 8 lanes owns a tile
//   of `tm` rows × 32·g columns; lane l owns columns c0 + 32·j + 4·l + (0..3). Each lane loads its
//   own B values (vec4 along N, or along K for NT) and, with share = 'subgroup', only 1/8 of the A
//   values, which the others get by subgroupBroadcast. On lavapipe every storage load is a
//   per-lane scalar loop with a bounds check (~15 instructions per element) while a broadcast is
//   one register shuffle, so the loads per FMA decide the speed: big tiles (32×64) win even though
//   their accumulators spill. share = 'none' is the same schedule with every lane loading all its
//   A values (for adapters without subgroups); its workgroup stacks `wy` such lane rows.
// - tiled ('tiled'): the classic 64×64 workgroup-memory tile with barriers, 4×4 per invocation.
//   This is what discrete GPUs like; on lavapipe barriers make it slow, and the autotuner knows.
//
// Every kernel computes C = op(A)·op(B) (+ bias) (+ C) for one form, with the problem's sizes
// in a uniform (M, N, K: the logical sizes after row gathering), so one pipeline serves every
// shape of its alignment class. Loads are clamped into range and out-of-range K terms are zeroed,
// so any size works; vec4 access is used only where the launcher says the sizes allow it.
//
// Bindings: 0 params {M, N, K}; 1 A; 2 B; 3 C; then bias if present; then rows if gathered.

export type MatmulForm = 'NN' | 'NT' | 'TN';

/** 'compact': out row i = A[rows[i]]·op(B) into C[i]; 'scatter': the same into C[rows[i]];
 * 'reduce' (TN only): the reduction runs over the listed rows of A and B. */
export type GatherMode = 'none' | 'compact' | 'scatter' | 'reduce';

export interface MatmulSpec {
  form: MatmulForm;
  gather: GatherMode;
  bias: boolean;
  accumulate: boolean;
  /** vec4 access along the contiguous dimension of A, B, C (and bias): the launcher sets these
   * when that dimension is a multiple of 4 (NN: A needs K, B and C need N; NT: A and B need K;
   * TN: A needs M, B needs N). */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
}

export interface RegConfig {
  kind: 'reg';
  share: 'subgroup' | 'none';
  /** rows per lane row (a multiple of 4 for TN) */
  tm: number;
  /** vec4 column groups per lane: the tile is 32·g columns wide */
  g: number;
  /** lane rows per workgroup (1 when sharing through subgroups) */
  wy: number;
}

export interface TiledConfig {
  kind: 'tiled';
}

export type VariantConfig = RegConfig | TiledConfig;

const XYZW = ['x', 'y', 'z', 'w'];

/** Workgroup grid for a problem of logical size M×N. */
export function gridFor(c: VariantConfig, M: number, N: number): [number, number] {
  if (c.kind === 'tiled') return [Math.ceil(N / 64), Math.ceil(M / 64)];
  return [Math.ceil(N / (32 * c.g)), Math.ceil(M / (c.tm * c.wy))];
}

function header(s: MatmulSpec, subgroups: boolean): string[] {
  const arr = (vec: boolean) => (vec ? 'array<vec4f>' : 'array<f32>');
  const L = [
    subgroups ? 'enable subgroups;' : '',
    'struct P { M: u32, N: u32, K: u32 }',
    '@group(0) @binding(0) var<uniform> p: P;',
    `@group(0) @binding(1) var<storage, read> A: ${arr(s.vecA)};`,
    `@group(0) @binding(2) var<storage, read> B: ${arr(s.vecB)};`,
    `@group(0) @binding(3) var<storage, read_write> C: ${arr(s.vecC)};`,
  ];
  let b = 4;
  if (s.bias) L.push(`@group(0) @binding(${b++}) var<storage, read> bias: ${arr(s.vecC)};`);
  if (s.gather !== 'none') L.push(`@group(0) @binding(${b++}) var<storage, read> rows: array<u32>;`);
  return L;
}

/** The epilogue for one output value or vec4: bias, then the old C, then the store. */
function storeC(s: MatmulSpec, index: string, value: string, biasIndex: string, indent: string): string[] {
  const L = [`${indent}var v = ${value};`];
  if (s.bias) L.push(`${indent}v = v + bias[${biasIndex}];`);
  if (s.accumulate) L.push(`${indent}v = v + C[${index}];`);
  L.push(`${indent}C[${index}] = v;`);
  return L;
}

function checkSpec(s: MatmulSpec): void {
  if (s.gather === 'reduce' && s.form !== 'TN') throw new Error(`matmul: gather 'reduce' is the TN form's; got ${s.form}`);
  if ((s.gather === 'compact' || s.gather === 'scatter') && s.form === 'TN') throw new Error(`matmul: TN gathers with 'reduce', not '${s.gather}'`);
}

// ------------------------------------------------------------------------------ register-blocked

export function regWGSL(c: RegConfig, s: MatmulSpec): string {
  checkSpec(s);
  const sg = c.share === 'subgroup';
  if (sg && c.wy !== 1) throw new Error('matmul: subgroup sharing assumes one 8-lane subgroup per workgroup (wy = 1)');
  if (s.form === 'TN' && c.tm % 4 !== 0) throw new Error('matmul: TN register blocks need tm % 4 == 0');
  const { tm, g } = c;
  const tn = s.form === 'TN';
  const rowsGathered = s.gather === 'compact' || s.gather === 'scatter';
  const reduce = s.gather === 'reduce';
  const nA = Math.ceil(tm / 8); // A slots per lane when sharing
  const L = header(s, sg);
  L.push(
    `@compute @workgroup_size(8, ${c.wy})`,
    sg
      ? 'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(subgroup_invocation_id) l: u32) {'
      : 'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {',
  );
  if (!sg) L.push('  let l = lid.x;');
  L.push(
    '  let M = p.M; let N = p.N; let K = p.K;',
    `  let m0 = wg.y * ${tm * c.wy}u${sg ? '' : ` + lid.y * ${tm}u`};`,
    `  let c0 = wg.x * ${32 * g}u + 4u * l;`, // this lane's first column
  );

  // --- A setup: which A values this lane loads, as row offsets or (TN) k/column slots.
  // aLoads: the vec4 loads this lane does per chunk; aVal(i, u): the f32 A(m0 + i, k + u).
  const aLoads: { load: (k: string, tail: boolean) => string[] }[] = [];
  let aVal: (i: number, u: number) => string;
  const rowIdx = (m: string) => (rowsGathered ? `rows[${m}]` : m);
  const ldA_rowK = (name: string, off: string, k: string, tail: boolean): string[] => {
    // A[row, k..k+3] for NN/NT; `off` is the row's offset in A's elements (or vec4s)
    if (s.vecA) return [`let ${name} = A[${off} + ${k} / 4u];`];
    const idx = (j: number) => (tail ? `min(${k} + ${j}u, K - 1u)` : `${k} + ${j}u`);
    const L2 = [`var ${name} = vec4f(A[${off} + ${idx(0)}], A[${off} + ${idx(1)}], A[${off} + ${idx(2)}], A[${off} + ${idx(3)}]);`];
    if (tail) L2.push(`${name} = select(vec4f(0.0), ${name}, kok);`);
    return L2;
  };
  const ldA_kM = (name: string, krow: string, colq: string, mcol: (j: number) => string, kIn: string | null): string[] => {
    // A[krow, m..m+3] for TN; zeroed when the k term is past K (kIn is its condition, tail only)
    const v = s.vecA ? `A[${krow} * (M / 4u) + ${colq}]` : `vec4f(${[0, 1, 2, 3].map((j) => `A[${krow} * M + ${mcol(j)}]`).join(', ')})`;
    return kIn ? [`let ${name} = select(vec4f(0.0), ${v}, ${kIn});`] : [`let ${name} = ${v};`];
  };

  const setup: string[] = [];
  if (!tn) {
    if (sg) {
      for (let r = 0; r < nA; r++) {
        setup.push(`  let ra${r} = ${rowIdx(`min(m0 + l + ${8 * r}u, M - 1u)`)};`);
        setup.push(`  let oa${r} = ra${r} * ${s.vecA ? '(K / 4u)' : 'K'};`);
        aLoads.push({ load: (k, tail) => ldA_rowK(`av${r}`, `oa${r}`, k, tail) });
      }
      aVal = (i, u) => `subgroupBroadcast(av${i >> 3}.${XYZW[u]}, ${i & 7}u)`;
    } else {
      for (let i = 0; i < tm; i++) {
        setup.push(`  let ra${i} = ${rowIdx(`min(m0 + ${i}u, M - 1u)`)};`);
        setup.push(`  let oa${i} = ra${i} * ${s.vecA ? '(K / 4u)' : 'K'};`);
        aLoads.push({ load: (k, tail) => ldA_rowK(`av${i}`, `oa${i}`, k, tail) });
      }
      aVal = (i, u) => `av${i}.${XYZW[u]}`;
    }
  } else {
    const tq = tm / 4; // vec4 groups along M per k step
    const colq = (q: string) => (s.vecA ? `min(m0 / 4u + ${q}, M / 4u - 1u)` : '');
    const mcol = (q: string) => (j: number) => `min(m0 + 4u * ${q} + ${j}u, M - 1u)`;
    if (sg) {
      // slot s = l + 8r covers (u = s / tq, q = s % tq); lanes past the tile repeat its last slot
      for (let r = 0; r < nA; r++) {
        setup.push(`  let sa${r} = min(l + ${8 * r}u, ${tm - 1}u);`);
        setup.push(`  let ua${r} = sa${r} / ${tq}u; let qa${r} = sa${r} % ${tq}u;`);
        if (s.vecA) setup.push(`  let ca${r} = ${colq(`qa${r}`)};`);
        aLoads.push({
          load: (k, tail) => {
            const kk = tail ? `min(${k} + ua${r}, K - 1u)` : `${k} + ua${r}`;
            const krow = reduce ? `subgroupShuffle(rk, ua${r})` : kk;
            return ldA_kM(`av${r}`, krow, `ca${r}`, mcol(`qa${r}`), tail ? `${k} + ua${r} < K` : null);
          },
        });
      }
      aVal = (i, u) => {
        const sl = u * tq + (i >> 2);
        return `subgroupBroadcast(av${sl >> 3}.${XYZW[i & 3]}, ${sl & 7}u)`;
      };
    } else {
      for (let q = 0; q < tq; q++) if (s.vecA) setup.push(`  let ca${q} = ${colq(`${q}u`)};`);
      for (let u = 0; u < 4; u++)
        for (let q = 0; q < tq; q++)
          aLoads.push({
            load: (k, tail) => ldA_kM(`av${u}_${q}`, `kb${u}`, `ca${q}`, mcol(`${q}u`), tail ? `ok${u}` : null),
          });
      aVal = (i, u) => `av${u}_${i >> 2}.${XYZW[i & 3]}`;
    }
  }

  // --- B setup: this lane's own columns c0 + 32j + (0..3).
  const ncol = (j: number, q: number) => `min(c0 + ${32 * j + q}u, N - 1u)`;
  if (s.form === 'NT') {
    for (let j = 0; j < g; j++)
      for (let q = 0; q < 4; q++) setup.push(`  let ob${j}_${q} = ${ncol(j, q)} * ${s.vecB ? '(K / 4u)' : 'K'};`);
  } else if (s.vecB) {
    for (let j = 0; j < g; j++) setup.push(`  let cb${j} = min(c0 / 4u + ${8 * j}u, N / 4u - 1u);`);
  } else {
    for (let j = 0; j < g; j++) for (let q = 0; q < 4; q++) setup.push(`  let cb${j}_${q} = ${ncol(j, q)};`);
  }

  // --- one chunk of 4 k steps starting at k; `tail` masks the steps past K (and clamps loads)
  const chunk = (tail: boolean): string[] => {
    const C2: string[] = [];
    if (tail) {
      C2.push(`let kok = vec4<bool>(k < K, k + 1u < K, k + 2u < K, k + 3u < K);`);
      for (let u = 0; u < 4; u++) C2.push(`let ok${u} = k + ${u}u < K;`);
    }
    // k rows for NN/TN B loads (and TN A loads without sharing)
    if (s.form !== 'NT') {
      if (reduce && sg) {
        C2.push(`let rk = rows[min(k + (l & 3u), K - 1u)];`);
        for (let u = 0; u < 4; u++) C2.push(`let kb${u} = subgroupBroadcast(rk, ${u}u);`);
      } else {
        for (let u = 0; u < 4; u++) {
          const kk = tail ? `min(k + ${u}u, K - 1u)` : `k + ${u}u`;
          C2.push(`let kb${u} = ${reduce ? `rows[${kk}]` : kk};`);
        }
      }
    }
    for (const a of aLoads) C2.push(...a.load('k', tail));
    // B values bv{j}_{u}: vec4 over this lane's 4 columns of group j at step k+u
    for (let j = 0; j < g; j++) {
      if (s.form === 'NT') {
        for (let q = 0; q < 4; q++) {
          if (s.vecB) C2.push(`let bw${j}_${q} = B[ob${j}_${q} + k / 4u];`);
          else {
            const idx = (x: number) => (tail ? `min(k + ${x}u, K - 1u)` : `k + ${x}u`);
            C2.push(`let bw${j}_${q} = vec4f(${[0, 1, 2, 3].map((x) => `B[ob${j}_${q} + ${idx(x)}]`).join(', ')});`);
          }
        }
        for (let u = 0; u < 4; u++) {
          const v = `vec4f(bw${j}_0.${XYZW[u]}, bw${j}_1.${XYZW[u]}, bw${j}_2.${XYZW[u]}, bw${j}_3.${XYZW[u]})`;
          C2.push(tail ? `let bv${j}_${u} = select(vec4f(0.0), ${v}, ok${u});` : `let bv${j}_${u} = ${v};`);
        }
      } else {
        for (let u = 0; u < 4; u++) {
          const v = s.vecB
            ? `B[kb${u} * (N / 4u) + cb${j}]`
            : `vec4f(${[0, 1, 2, 3].map((q) => `B[kb${u} * N + cb${j}_${q}]`).join(', ')})`;
          C2.push(tail ? `let bv${j}_${u} = select(vec4f(0.0), ${v}, ok${u});` : `let bv${j}_${u} = ${v};`);
        }
      }
    }
    // row-major over the accumulators so each stays in a register across its 4 k steps
    for (let i = 0; i < tm; i++)
      for (let u = 0; u < 4; u++) {
        C2.push(`{ let a = vec4f(${aVal(i, u)});`);
        for (let j = 0; j < g; j++) C2.push(`  acc${i}_${j} = fma(a, bv${j}_${u}, acc${i}_${j});`);
        C2.push('}');
      }
    return C2;
  };

  L.push(...setup);
  for (let i = 0; i < tm; i++) for (let j = 0; j < g; j++) L.push(`  var acc${i}_${j} = vec4f(0.0);`);
  // NN/NT with vec4 along K only see K % 4 == 0. Otherwise every chunk masks the steps past K
  // rather than a separate tail copy of the body doubling the code (a few selects per chunk).
  const masked = !(s.form !== 'TN' && (s.vecA || (s.form === 'NT' && s.vecB)));
  L.push('  for (var k = 0u; k < K; k += 4u) {', ...chunk(masked).map((x) => '    ' + x), '  }');

  // --- epilogue. Every storage access is a per-lane scalar loop on lavapipe, so unrolling the
  // stores over the tile's rows would multiply the shader's size (and its compile time, minutes
  // for 32×64); the accumulators go through a local array and one loop writes them.
  L.push(`  var out: array<vec4f, ${tm * g}>;`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < g; j++) L.push(`  out[${i * g + j}] = acc${i}_${j};`);
  if (s.bias) {
    for (let j = 0; j < g; j++) {
      if (s.vecC) L.push(`  let bb${j} = bias[min(c0 / 4u + ${8 * j}u, N / 4u - 1u)];`);
      else L.push(`  let bb${j} = vec4f(${[0, 1, 2, 3].map((q) => `bias[${ncol(j, q)}]`).join(', ')});`);
    }
  }
  L.push(`  for (var i = 0u; i < ${tm}u; i++) {`, '    let m = m0 + i;', '    if (m >= M) { break; }');
  L.push(`    let orow = ${s.gather === 'scatter' ? 'rows[m]' : 'm'};`);
  for (let j = 0; j < g; j++) {
    L.push(`    var v${j} = out[i * ${g}u + ${j}u]${s.bias ? ` + bb${j}` : ''};`);
    if (s.vecC) {
      const idx = `orow * (N / 4u) + c0 / 4u + ${8 * j}u`;
      L.push(`    if (c0 + ${32 * j}u < N) {`);
      if (s.accumulate) L.push(`      v${j} = v${j} + C[${idx}];`);
      L.push(`      C[${idx}] = v${j};`, '    }');
    } else {
      for (let q = 0; q < 4; q++) {
        const n = `c0 + ${32 * j + q}u`;
        L.push(`    if (${n} < N) {`);
        if (s.accumulate) L.push(`      v${j}.${XYZW[q]} = v${j}.${XYZW[q]} + C[orow * N + ${n}];`);
        L.push(`      C[orow * N + ${n}] = v${j}.${XYZW[q]};`, '    }');
      }
    }
  }
  L.push('  }');
  L.push('}');
  return L.filter((x) => x !== '').join('\n');
}

// ----------------------------------------------------------------------------------------- tiled

/** 64×64 output tile per 16×16 workgroup, K in steps of 16 through workgroup memory. */
export function tiledWGSL(s: MatmulSpec): string {
  checkSpec(s);
  const BM = 64, BN = 64, BK = 16;
  const rowsGathered = s.gather === 'compact' || s.gather === 'scatter';
  const reduce = s.gather === 'reduce';
  // the tiled kernel reads scalars; vec flags only change how C/bias are typed
  const spec: MatmulSpec = { ...s, vecA: false, vecB: false };
  const L = header(spec, false);
  const krow = (k: string) => (reduce ? `rows[${k}]` : k);
  L.push(
    `var<workgroup> As: array<vec4f, ${(BK * BM) / 4}>;`, // As[kk][m] with m contiguous
    `var<workgroup> Bs: array<vec4f, ${(BK * BN) / 4}>;`, // Bs[kk][n] with n contiguous
    '@compute @workgroup_size(16, 16)',
    'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32) {',
    '  let M = p.M; let N = p.N; let K = p.K;',
    `  let m0 = wg.y * ${BM}u; let n0 = wg.x * ${BN}u;`,
    '  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);',
    `  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {`,
    // a fixed trip count keeps the barriers below in uniform control flow
    '    for (var j = 0u; j < 4u; j++) {',
    '      let e = t + 256u * j;',
  );
  // A tile element e -> As[kk][row]
  if (s.form === 'TN') {
    L.push(
      `      let kk = e / ${BM}u; let row = e % ${BM}u; let m = m0 + row; let k = k0 + kk;`,
      `      let av = A[${krow('min(k, K - 1u)')} * M + min(m, M - 1u)];`,
    );
  } else {
    L.push(
      `      let row = e / ${BK}u; let kk = e % ${BK}u; let m = m0 + row; let k = k0 + kk;`,
      `      let av = A[${rowsGathered ? 'rows[min(m, M - 1u)]' : 'min(m, M - 1u)'} * K + min(k, K - 1u)];`,
    );
  }
  L.push(`      As[kk * ${BM / 4}u + row / 4u][row % 4u] = select(0.0, av, m < M && k < K);`);
  // B tile element e -> Bs[kk][col]
  if (s.form === 'NT') {
    L.push(
      `      let col = e / ${BK}u; let kb = e % ${BK}u; let n = n0 + col; let kx = k0 + kb;`,
      '      let bv = B[min(n, N - 1u) * K + min(kx, K - 1u)];',
    );
  } else {
    L.push(
      `      let kb = e / ${BN}u; let col = e % ${BN}u; let n = n0 + col; let kx = k0 + kb;`,
      `      let bv = B[${krow('min(kx, K - 1u)')} * N + min(n, N - 1u)];`,
    );
  }
  L.push(
    `      Bs[kb * ${BN / 4}u + col / 4u][col % 4u] = select(0.0, bv, n < N && kx < K);`,
    '    }',
    '    workgroupBarrier();',
    `    for (var kk = 0u; kk < ${BK}u; kk++) {`,
    `      let a = As[kk * ${BM / 4}u + lid.y];`,
    `      let b = Bs[kk * ${BN / 4}u + lid.x];`,
    '      acc0 = fma(vec4f(a.x), b, acc0); acc1 = fma(vec4f(a.y), b, acc1);',
    '      acc2 = fma(vec4f(a.z), b, acc2); acc3 = fma(vec4f(a.w), b, acc3);',
    '    }',
    '    workgroupBarrier();',
    '  }',
    '  let c0 = n0 + 4u * lid.x;',
  );
  for (let i = 0; i < 4; i++) {
    const m = `m0 + 4u * lid.y + ${i}u`;
    L.push(`  if (${m} < M) {`);
    const orow = s.gather === 'scatter' ? `rows[${m}]` : m;
    if (s.vecC) {
      L.push('    if (c0 < N) {', ...storeC(s, `(${orow}) * (N / 4u) + c0 / 4u`, `acc${i}`, 'c0 / 4u', '      '), '    }');
    } else {
      for (let q = 0; q < 4; q++) {
        L.push(`    if (c0 + ${q}u < N) {`, ...storeC(s, `(${orow}) * N + c0 + ${q}u`, `acc${i}.${XYZW[q]}`, `c0 + ${q}u`, '      '), '    }');
      }
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

export function matmulWGSL(c: VariantConfig, s: MatmulSpec): string {
  return c.kind === 'tiled' ? tiledWGSL(s) : regWGSL(c, s);
}
