import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chunking, colSum } from '../kernels/reduce.js';
import { colSumRef, type SumRef } from '../kernels/reduce.ref.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, randInts } from './helpers.js';

const t = suite('reduce');

/**
 * Float32 summation of k terms in any order is within γ_k·Σ|terms| (the inputs are exact
 * float32s, so no extra roundings); accumulating into an existing value adds it as one more term.
 */
function bounds(ref: SumRef, prior?: ArrayLike<number>): Float64Array {
  return Float64Array.from(ref.abs, (a, c) => dotBound(ref.count + (prior ? 1 : 0), a + Math.abs(prior?.[c] ?? 0), 0));
}

const withPrior = (ref: SumRef, prior: ArrayLike<number>) => Float64Array.from(ref.sum, (s, c) => s + prior[c]);

// 1000 rows make the two-stage (chunked) path run; small row counts sum in one stage.
for (const N of [1, 7, 33, 65, 127, 1000]) {
  for (const C of [1, 3, 4, 33, 65, 127, 200]) {
    t(`column sum: ${N}×${C}`, async () => {
      const rt = await testRuntime();
      const x = randArray(N * C, N * 1000 + C, 4);
      const tx = rt.upload(x, [N, C]), out = rt.empty([C]);
      colSum(rt, tx, out);
      const ref = colSumRef(x, N, C);
      assertWithin(await rt.readF32(out), ref.sum, bounds(ref), 'Σ rows');

      const prior = randArray(C, C, 10);
      rt.write(out, prior);
      colSum(rt, tx, out, { accumulate: true });
      assertWithin(await rt.readF32(out), withPrior(ref, prior), bounds(ref, prior), 'out += Σ rows');
    });
  }
}

for (const [N, C] of [[7, 3], [65, 64], [1000, 33], [1000, 200]] as const) {
  t(`column sum over a rows list (repeats, any order, out of range, empty): ${N}×${C}`, async () => {
    const rt = await testRuntime();
    const x = randArray(N * C, N + 3 * C, 2);
    const tx = rt.upload(x, [N, C]), out = rt.empty([C]);
    const lists: number[][] = [
      [N - 1, 0, N - 1, 0, Math.floor(N / 2)], // repeats count twice
      Array.from(randInts(Math.ceil(N / 3), N, N), Number), // random, unsorted, maybe repeats
      [0, N + 5, N - 1, 0xffffffff], // entries past the last row are skipped
    ];
    for (const rows of lists) {
      colSum(rt, tx, out, { rows: rt.upload(rows, [rows.length], 'u32') });
      const ref = colSumRef(x, N, C, rows);
      assertWithin(await rt.readF32(out), ref.sum, bounds(ref), `rows [${rows.slice(0, 6)}…]`);
    }
    const prior = randArray(C, 5, 1);
    rt.write(out, prior);
    colSum(rt, tx, out, { rows: rt.empty([0], 'u32'), accumulate: true });
    assert.equal([...(await rt.readF32(out))], [...prior], 'empty list, accumulate: unchanged');
    colSum(rt, tx, out, { rows: rt.empty([0], 'u32') });
    assert.ok((await rt.readF32(out)).every((v) => v === 0), 'empty list: zero');
  });
}

t('column sum is deterministic (two-stage path)', async () => {
  const rt = await testRuntime();
  const N = 3000, C = 40;
  const x = rt.upload(randArray(N * C, 99, 100), [N, C]);
  const a = rt.empty([C]), b = rt.empty([C]);
  colSum(rt, x, a);
  colSum(rt, x, b);
  const bits = async (t: typeof a) => [...new Uint32Array((await rt.readF32(t)).buffer)];
  assert.equal(await bits(a), await bits(b));
});

t('chunking covers every position exactly once', () => {
  for (const K of [1, 15, 16, 17, 100, 1000, 4097, 100000]) {
    for (const groups of [1, 8, 50, 4096, 10000]) {
      const { L, J } = chunking(K, groups);
      assert.ok(J >= 1 && (J - 1) * L < K && J * L >= K, `K=${K} groups=${groups}: L=${L} J=${J}`);
    }
  }
  assert.is(chunking(0, 5).J, 0);
});

t.run();
