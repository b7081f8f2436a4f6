import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { layernorm, layernormBackward } from '../kernels/layernorm.js';
import { layernormBackwardRef, layernormRef } from '../kernels/layernorm.ref.js';
import type { SumRef } from '../kernels/reduce.ref.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, randInts, U32 } from './helpers.js';

const t = suite('layernorm');
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** Rows with offsets up to ±20 around a ±2 spread, so the mean matters and cancels. */
function rowsData(N: number, C: number, seed: number): Float32Array {
  const x = randArray(N * C, seed, 2), shift = randArray(N, seed + 1, 20);
  return Float32Array.from(x, (v, i) => v + shift[Math.floor(i / C)]);
}

/**
 * Forward error, element by element. mean: C-term sum (γ_C·Σ|x|) and a division: δm. Variance:
 * d = x − mean, d², the C-term sum and /C make γ_{C+3} relative, and the mean's error enters only
 * quadratically (Σd = 0), as δm². rstd: half the relative error of var + eps, plus the + eps (u)
 * and WGSL's inverseSqrt (2 ulp). out = ((x − mean)·rstd)·γ + β: three roundings. 1% margin for
 * second-order terms.
 */
function forwardBounds(x: Float32Array, g: Float32Array, N: number, C: number) {
  const ref = layernormRef(x, g, g, N, C); // β's value does not enter the bound
  const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let absX = 0, d2 = 0;
    for (let c = 0; c < C; c++) absX += Math.abs(x[r * C + c]);
    for (let c = 0; c < C; c++) d2 += (x[r * C + c] - ref.mean[r]) ** 2;
    const dm = dotBound(C, absX, 0) / C + U32 * Math.abs(ref.mean[r]);
    const v = d2 / C, ve = v + 1e-5;
    const relR = 0.5 * ((dotBound(C, v + dm * dm, 3) + dm * dm) / ve + U32) + 2 * U32;
    const s = ref.rstd[r];
    mean[r] = 1.01 * dm;
    rstd[r] = 1.01 * s * relR;
    for (let c = 0; c < C; c++) {
      const d = x[r * C + c] - ref.mean[r];
      const i = r * C + c;
      out[i] = 1.01 * (Math.abs(g[c]) * s * (dm + U32 * Math.abs(d)) + Math.abs(g[c] * d * s) * (relR + 2 * U32) + U32 * (Math.abs(ref.out[i]) + 2 * Math.abs(g[c])));
    }
  }
  return { out, mean, rstd };
}

for (const N of [1, 7, 33, 65, 127]) {
  for (const C of [1, 3, 33, 64, 65, 127, 200]) {
    t(`forward: ${N}×${C}`, async () => {
      const rt = await testRuntime();
      const x = rowsData(N, C, N * 7 + C), g = randArray(C, C, 2), b = randArray(C, C + 1, 1);
      const out = rt.empty([N, C]), mean = rt.empty([N]), rstd = rt.empty([N]);
      const tx = rt.upload(x, [N, C]), tg = rt.upload(g), tb = rt.upload(b);
      layernorm(rt, tx, tg, tb, out, { mean, rstd });
      const ref = layernormRef(x, g, b, N, C);
      const bound = forwardBounds(x, g, N, C);
      // β only adds to the output, so its rounding is the u·|out| term already in the bound.
      assertWithin(await rt.readF32(out), ref.out, bound.out.map((e, i) => e + U32 * Math.abs(b[i % C])), 'out');
      assertWithin(await rt.readF32(mean), ref.mean, bound.mean, 'mean');
      assertWithin(await rt.readF32(rstd), ref.rstd, bound.rstd, 'rstd');
      const first = await rt.readF32(out);
      layernorm(rt, tx, tg, tb, out); // without saved stats: same arithmetic, same bits
      assert.equal([...(await rt.readF32(out))], [...first], 'no-stats variant');
    });
  }
}

interface Problem {
  N: number;
  C: number;
  dout: Float32Array;
  x: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  g: Float32Array;
}

function problem(N: number, C: number, seed: number): Problem {
  const x = rowsData(N, C, seed), g = randArray(C, seed + 2, 2);
  const ref = layernormRef(x, g, g, N, C);
  return { N, C, x, g, dout: randArray(N * C, seed + 3, 1), mean: f32(ref.mean), rstd: f32(ref.rstd) };
}

/**
 * dx = s·(g − mg − x̂·mgx) for one row, from the given float32 mean/rstd: g = dout·γ (1 rounding),
 * x̂ (2), mg = Σg/C (γ_C on Σ|g| with g's own rounding, and the division), mgx = Σg·x̂/C (each term
 * carries 4 roundings), then g − mg, x̂·mgx, the subtraction and ·s round once each.
 */
function dxBounds(p: Problem, ref: ReturnType<typeof layernormBackwardRef>): Float64Array {
  const { N, C } = p;
  const b = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    const s = p.rstd[r];
    const dmg = dotBound(C, ref.absG[r], 1) / C + U32 * Math.abs(ref.mg[r]);
    const dmgx = dotBound(C, ref.absGX[r], 4) / C + U32 * Math.abs(ref.mgx[r]);
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const gi = p.dout[i] * p.g[c], xh = (p.x[i] - p.mean[r]) * s;
      const inner = gi - ref.mg[r] - xh * ref.mgx[r];
      const err = U32 * Math.abs(gi) + dmg + Math.abs(xh) * dmgx + Math.abs(ref.mgx[r]) * 2 * U32 * Math.abs(xh) +
        U32 * (Math.abs(gi - ref.mg[r]) + Math.abs(xh * ref.mgx[r]) + Math.abs(inner));
      b[i] = 1.01 * (s * err + U32 * Math.abs(s * inner));
    }
  }
  return b;
}

/** k float32 terms (each with `extra` roundings) in any order, plus the prior value as one more. */
function sumBounds(ref: SumRef, prior: ArrayLike<number>, extra: number): Float64Array {
  return Float64Array.from(ref.abs, (a, c) => dotBound(ref.count + 1, a + Math.abs(prior[c]), extra));
}
const plus = (ref: SumRef, prior: ArrayLike<number>) => Float64Array.from(ref.sum, (s, c) => s + prior[c]);

function upload(rt: Runtime, p: Problem) {
  return {
    dout: rt.upload(p.dout, [p.N, p.C]), x: rt.upload(p.x, [p.N, p.C]), mean: rt.upload(p.mean), rstd: rt.upload(p.rstd),
    gamma: rt.upload(p.g), dx: rt.empty([p.N, p.C]), dgamma: rt.empty([p.C]), dbeta: rt.empty([p.C]),
  };
}

async function checkParamGrads(rt: Runtime, dg: Tensor, db: Tensor, ref: ReturnType<typeof layernormBackwardRef>, prior: { g: Float32Array; b: Float32Array }) {
  // dγ terms dout·x̂ carry x̂'s 2 roundings and the product's; dβ terms are exact inputs.
  assertWithin(await rt.readF32(dg), plus(ref.dgamma, prior.g), sumBounds(ref.dgamma, prior.g, 3), 'dγ');
  assertWithin(await rt.readF32(db), plus(ref.dbeta, prior.b), sumBounds(ref.dbeta, prior.b, 0), 'dβ');
}

for (const [N, C] of [[1, 1], [1, 200], [7, 3], [33, 65], [65, 64], [127, 127], [127, 33], [1000, 64], [1000, 3]] as const) {
  t(`backward, all rows: ${N}×${C}`, async () => {
    const rt = await testRuntime();
    const p = problem(N, C, N + 5 * C);
    const ts = upload(rt, p);
    const prior = { g: randArray(C, 1, 3), b: randArray(C, 2, 3) };
    rt.write(ts.dgamma, prior.g);
    rt.write(ts.dbeta, prior.b);
    layernormBackward(rt, ts);
    const ref = layernormBackwardRef(p.dout, p.x, p.mean, p.rstd, p.g, N, C);
    const bdx = dxBounds(p, ref);
    assertWithin(await rt.readF32(ts.dx), ref.dx, bdx, 'dx');
    await checkParamGrads(rt, ts.dgamma, ts.dbeta, ref, prior);

    // dx += …: one more rounding of the sum.
    const dxPrior = randArray(N * C, 3, 2);
    rt.write(ts.dx, dxPrior);
    layernormBackward(rt, { ...ts, accumulate: true });
    const want = Float64Array.from(ref.dx, (v, i) => v + dxPrior[i]);
    assertWithin(await rt.readF32(ts.dx), want, Float64Array.from(bdx, (b, i) => b + U32 * Math.abs(want[i])), 'dx +=');
  });
}

for (const [N, C] of [[7, 3], [65, 64], [1000, 33]] as const) {
  t(`backward over a rows list: ${N}×${C}`, async () => {
    const rt = await testRuntime();
    const p = problem(N, C, 3 * N + C);
    const ts = upload(rt, p);
    const full = layernormBackwardRef(p.dout, p.x, p.mean, p.rstd, p.g, N, C);
    const bdx = dxBounds(p, full);
    const sentinel = randArray(N * C, 11, 5);
    const distinct = [...new Set(randInts(Math.ceil(N / 4), N, N))];
    const cases: [string, number[], boolean][] = [
      ['repeats and out of order (overwrite)', [N - 1, 0, N - 1, Math.floor(N / 2), 0], false],
      ['random distinct, with a past-the-end entry (accumulate)', [...distinct, N + 3], true],
      ['empty', [], true],
    ];
    for (const [what, rows, accumulate] of cases) {
      const prior = { g: randArray(C, 4, 3), b: randArray(C, 5, 3) };
      rt.write(ts.dgamma, prior.g);
      rt.write(ts.dbeta, prior.b);
      rt.write(ts.dx, sentinel);
      layernormBackward(rt, { ...ts, rows: rt.upload(rows, [rows.length], 'u32'), accumulate });
      const listed = new Set(rows.filter((r) => r < N));
      const want = Float64Array.from(sentinel, (s, i) => {
        if (!listed.has(Math.floor(i / C))) return s;
        return accumulate ? s + full.dx[i] : full.dx[i];
      });
      const bound = Float64Array.from(want, (w, i) => (listed.has(Math.floor(i / C)) ? bdx[i] + (accumulate ? U32 * Math.abs(w) : 0) : 0));
      assertWithin(await rt.readF32(ts.dx), want, bound, `dx, ${what}`);
      const ref = layernormBackwardRef(p.dout, p.x, p.mean, p.rstd, p.g, N, C, rows);
      await checkParamGrads(rt, ts.dgamma, ts.dbeta, ref, prior);
    }
  });
}

t('backward is deterministic (chunked dγ/dβ)', async () => {
  const rt = await testRuntime();
  const p = problem(2000, 64, 77);
  const bits = async (t: Tensor) => [...new Uint32Array((await rt.readF32(t)).buffer)];
  const runs = [];
  for (let k = 0; k < 2; k++) {
    const ts = upload(rt, p);
    layernormBackward(rt, ts);
    runs.push([await bits(ts.dx), await bits(ts.dgamma), await bits(ts.dbeta)]);
  }
  assert.equal(runs[0], runs[1]);
});

t('shape and aliasing errors are caught on the host', async () => {
  const rt = await testRuntime();
  const x = rt.empty([4, 8]), g = rt.empty([8]);
  assert.throws(() => layernorm(rt, x, g, g, rt.empty([4, 8])), /overlap/);
  assert.throws(() => layernorm(rt, rt.empty([4, 7]), g, rt.empty([8]), rt.empty([4, 7])), /not rows/);
  const ts = upload(rt, problem(4, 8, 1));
  assert.throws(() => layernormBackward(rt, { ...ts, dx: ts.dout }), /overlap/);
  assert.throws(() => layernormBackward(rt, { ...ts, rows: rt.empty([2]) }), /u32/);
});

t.run();
