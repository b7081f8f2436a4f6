import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embedding, embeddingBackward } from '../kernels/embedding.js';
import { embeddingBackwardRef, embeddingRef } from '../kernels/embedding.ref.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, randInts, U32 } from './helpers.js';

const t = suite('embedding');
const V = 20;
const SHAPES = [[1, 1, 1], [2, 7, 3], [3, 33, 64], [5, 13, 65], [1, 127, 200], [32, 64, 32]] as const;

for (const [B, T, C] of SHAPES) {
  t(`forward: B=${B} T=${T} C=${C}`, async () => {
    const rt = await testRuntime();
    const tokens = randInts(B * T, V, B * T + C), wte = randArray(V * C, C, 1), wpe = randArray((T + 3) * C, C + 1, 1);
    const tt = rt.upload(tokens, [B, T], 'u32'), twte = rt.upload(wte, [V, C]), twpe = rt.upload(wpe, [T + 3, C]);
    const out = rt.empty([B, T, C]);
    for (const pos0 of [0, 3]) {
      embedding(rt, tt, twte, twpe, out, pos0);
      const want = embeddingRef(tokens, wte, wpe, B, T, C, pos0);
      // One float32 addition of exact inputs: at most one rounding.
      assertWithin(await rt.readF32(out), want, want.map((v) => U32 * Math.abs(v)), `out, pos0 ${pos0}`);
    }
    assert.throws(() => embedding(rt, tt, twte, twpe, out, 4), /exceed wpe/);
  });
}

t('forward: a token id past the vocabulary gives a NaN row', async () => {
  const rt = await testRuntime();
  const C = 8, out = rt.empty([1, 3, C]);
  embedding(rt, rt.upload([1, V, 2], [1, 3], 'u32'), rt.upload(randArray(V * C, 1), [V, C]), rt.upload(randArray(3 * C, 2), [3, C]), out);
  const got = await rt.readF32(out);
  assert.ok(got.slice(C, 2 * C).every(Number.isNaN), 'row 1 is NaN');
  assert.ok([...got.slice(0, C), ...got.slice(2 * C)].every(Number.isFinite), 'other rows finite');
});

interface Setup {
  B: number; T: number; C: number; V: number;
  tokens: Uint32Array;
  dout: Float32Array;
  prior: { wte: Float32Array; wpe: Float32Array };
  ts: { tokens: Tensor; dout: Tensor; dwte: Tensor; dwpe: Tensor };
}

/** dwte and dwpe are disjoint views of one buffer, as in the model's flat gradient buffer. */
function setup(rt: Runtime, B: number, T: number, C: number, seed: number, V = 20): Setup {
  const tokens = randInts(B * T, V, seed), dout = randArray(B * T * C, seed + 1, 1);
  const prior = { wte: randArray(V * C, seed + 2, 1), wpe: randArray((T + 1) * C, seed + 3, 1) };
  const grads = rt.empty([2 * rt.viewAlign + V * C + (T + 1) * C]);
  const off = Math.ceil((V * C) / rt.viewAlign) * rt.viewAlign;
  const dwte = grads.view(0, [V, C]), dwpe = grads.view(off, [T + 1, C]);
  rt.write(dwte, prior.wte);
  rt.write(dwpe, prior.wpe);
  return { B, T, C, V, tokens, dout, prior, ts: { tokens: rt.upload(tokens, [B, T], 'u32'), dout: rt.upload(dout, [B, T, C]), dwte, dwpe } };
}

/**
 * Each gradient element is its prior value plus k float32 terms summed in some fixed order:
 * γ_{k+1} over Σ|terms| + |prior|. A dwpe term for a position listed n ≥ 3 times is n·dout, one
 * more rounding (extra = 1).
 */
async function check(rt: Runtime, s: Setup, rows?: number[]) {
  const ref = embeddingBackwardRef(s.tokens, s.dout, s.B, s.T, s.V, s.C, rows);
  const cmp = async (got: Tensor, r: typeof ref.dwte, prior: Float32Array, extra: number, what: string) => {
    const g = (await rt.readF32(got)).slice(0, r.sum.length);
    const want = r.sum.map((v, i) => v + prior[i]);
    assertWithin(g, want, r.abs.map((a, i) => dotBound(r.count[i] + 1, a + Math.abs(prior[i]), extra)), what);
    return g;
  };
  await cmp(s.ts.dwte, ref.dwte, s.prior.wte, 0, 'dwte');
  await cmp(s.ts.dwpe, ref.dwpe, s.prior.wpe, 1, 'dwpe');
  const tail = (await rt.readF32(s.ts.dwpe)).slice(s.T * s.C);
  assert.equal([...tail], [...s.prior.wpe.slice(s.T * s.C)], 'wpe rows past T untouched');
}

for (const [B, T, C] of SHAPES) {
  // The project's vocabulary is ~20 (one dwte tile of 32 ids); 70 takes three, the last partial.
  for (const V of [20, 70]) {
    t(`backward, all positions: B=${B} T=${T} C=${C} V=${V}`, async () => {
      const rt = await testRuntime();
      const s = setup(rt, B, T, C, B * 100 + T + C, V);
      embeddingBackward(rt, s.ts);
      await check(rt, s);
    });
  }
}

for (const [B, T, C, V] of [[2, 7, 3, 20], [3, 33, 64, 70], [32, 64, 32, 20]] as const) {
  t(`backward over a rows list: B=${B} T=${T} C=${C} V=${V}`, async () => {
    const rt = await testRuntime();
    const N = B * T;
    const lists: [string, number[]][] = [
      ['repeats (3× makes n·dout) and out of order', [N - 1, 0, N - 1, 5, 0, N - 1, 1]],
      ['random subset, with entries past the end', [...randInts(Math.ceil(N / 5), N, N), N, 0xffffffff]],
      ['empty', []],
    ];
    for (const [what, rows] of lists) {
      const s = setup(rt, B, T, C, N + rows.length, V);
      // Unlisted positions of dout hold NaN: they must never be read.
      const listed = new Set(rows);
      const dout = Float32Array.from(s.dout, (v, i) => (listed.has(Math.floor(i / C)) ? v : NaN));
      rt.write(s.ts.dout, dout);
      embeddingBackward(rt, { ...s.ts, rows: rt.upload(rows, [rows.length], 'u32') });
      try {
        await check(rt, { ...s, dout }, rows);
      } catch (e: any) {
        throw new Error(`${what}: ${e.message}`);
      }
    }
  });
}

t('backward is deterministic', async () => {
  const rt = await testRuntime();
  const bits = async (t: Tensor) => [...new Uint32Array((await rt.readF32(t)).buffer)];
  const runs = [];
  for (let k = 0; k < 2; k++) {
    const s = setup(rt, 64, 64, 64, 5);
    const rows = rt.upload(randInts(3000, 64 * 64, 9), [3000], 'u32');
    embeddingBackward(rt, s.ts);
    embeddingBackward(rt, { ...s.ts, rows });
    runs.push([await bits(s.ts.dwte), await bits(s.ts.dwpe)]);
  }
  assert.equal(runs[0], runs[1]);
});

t.run();
