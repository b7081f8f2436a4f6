// The TN matmul's column sums (matmul(x, dy, dW, { form: 'TN', colSum: db })): a linear layer's bias
// gradient from its weight gradient's dispatch. Against float64 (Σ_k B[k, n] over all k or a row
// list, to γ_k·Σ|terms|, the old value one more term when accumulating), bit for bit against the
// TN product of a column of ones (the same additions in the same k order), and with C unchanged
// from the product without it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matmul, matmulVariants } from '../kernels/matmul.js';
import { matmulRef } from '../kernels/matmul.ref.js';
import { colSumRef } from '../kernels/reduce.ref.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, randInts } from './helpers.js';

const t = suite('matmul-colsum');

const bits = async (rt: Runtime, x: Tensor) => Array.from(new Uint32Array((await rt.readF32(x)).buffer));

interface Case {
  variant: string;
  /** A is [K, M], B is [K, N] (K: rows before any row list) */
  M: number;
  K: number;
  N: number;
  rows?: number[];
  accumulate?: boolean;
}

async function check(rt: Runtime, c: Case, seed: number): Promise<void> {
  const { variant, M, K, N } = c;
  const a = randArray(K * M, seed), b = randArray(K * N, seed + 1, 3);
  const c0 = randArray(M * N, seed + 2, 2), s0 = randArray(N, seed + 3, 2);
  const A = rt.upload(a, [K, M]), B = rt.upload(b, [K, N]);
  const C = rt.upload(c0, [M, N]), S = rt.upload(s0, [N]), plain = rt.upload(c0, [M, N]);
  const rows = c.rows ? rt.upload(Uint32Array.from(c.rows), [c.rows.length], 'u32') : undefined;
  matmul(rt, A, B, C, { form: 'TN', variant, accumulate: c.accumulate, rows, colSum: S });
  matmul(rt, A, B, plain, { form: 'TN', variant, accumulate: c.accumulate, rows });
  const what = `${variant} TN M=${M} K=${K} N=${N}${c.rows ? ` rows[${c.rows.length}]` : ''}${c.accumulate ? ' +=' : ''}`;

  const ref = colSumRef(b, K, N, c.rows);
  const want = Float64Array.from(ref.sum, (s, n) => s + (c.accumulate ? s0[n] : 0));
  const bound = Float64Array.from(ref.abs, (x, n) => dotBound(ref.count + (c.accumulate ? 1 : 0), x + (c.accumulate ? Math.abs(s0[n]) : 0), 0));
  assertWithin(await rt.readF32(S), want, bound, `${what}: column sums`);
  assert.equal(await bits(rt, C), await bits(rt, plain), `${what}: C is the product's, bit for bit`);

  // the same sums as the product of a column of ones with B, in the same order
  const ones = rt.upload(new Float32Array(K).fill(1), [K, 1]), viaOnes = rt.upload(c.accumulate ? s0 : new Float32Array(N), [1, N]);
  matmul(rt, ones, B, viaOnes, { form: 'TN', variant, accumulate: c.accumulate, rows });
  assert.equal(await bits(rt, S), await bits(rt, viaOnes), `${what}: bit for bit the product of a column of ones`);
  const pref = matmulRef({ form: 'TN', a, b, M, N, K, c0, accumulate: c.accumulate, rows: c.rows, gather: c.rows ? 'reduce' : 'none' });
  assertWithin(await rt.readF32(C), pref.c, pref.c.map((_, i) => dotBound(pref.terms[i], pref.mag[i])), `${what}: product`);
  for (const x of [A, B, C, S, plain, rows, ones, viaOnes]) x?.buffer.destroy();
}

// odd (scalar loads, masked K steps, partial tiles) and vec4-aligned sizes, the model's shapes
// (d 64 → 3·64 and 4·64 over 128·13 rows) and more rows than one tile in M
const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 33, 5], [65, 127, 33], [36, 20, 68], [64, 1664, 192], [100, 300, 132]];

t('column sums: every variant, odd and aligned sizes, with and without accumulate', async () => {
  const rt = await testRuntime();
  let seed = 501;
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const [i, [M, K, N]] of SHAPES.entries()) await check(rt, { variant, M, K, N, accumulate: i % 2 === 0 }, (seed += 7));
});

t('column sums over a row list (repeats count twice, any order, empty)', async () => {
  const rt = await testRuntime();
  let seed = 601;
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const [M, K, N] of [[7, 33, 5], [36, 200, 68]] as [number, number, number][]) {
      for (const rows of [[K - 1, 0, K - 1, 3], Array.from(randInts(Math.ceil(K / 3), K, seed), Number), []])
        for (const accumulate of [false, true]) await check(rt, { variant, M, K, N, rows, accumulate }, (seed += 7));
    }
});

t('bad column-sum arguments are named', async () => {
  const rt = await testRuntime();
  const A = rt.empty([6, 4]), B = rt.empty([6, 8]), C = rt.empty([4, 8]);
  assert.throws(() => matmul(rt, A, rt.empty([4, 8]), rt.empty([6, 8]), { colSum: rt.empty([8]) }), /colSum .* for TN, not NN/);
  assert.throws(() => matmul(rt, A, B, C, { form: 'TN', colSum: rt.empty([7]) }), /colSum .* must have N = 8 elements, has 7/);
  assert.throws(() => matmul(rt, A, B, C, { form: 'TN', colSum: rt.empty([8], 'u32') }), /colSum .* must be f32/);
  assert.throws(() => matmul(rt, A, B, C, { form: 'TN', colSum: B.view(0, [8]) }), /colSum .* and B .* one buffer/);
  assert.throws(() => matmul(rt, A, B, C, { form: 'TN', colSum: C.view(0, [8]) }), /C .* and colSum .* overlap in one buffer/);
  assert.throws(() => matmul(rt, rt.empty([6, 0]), B, rt.empty([0, 8]), { form: 'TN', colSum: rt.empty([8]) }), /colSum needs M > 0/);
  for (const x of [A, B, C]) x.buffer.destroy();
});

t.run();
