import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pgLoss, tokenEntropy, type PgLossOptions } from '../kernels/pgloss.js';
import { pgLossRef, rowStatsRef } from '../kernels/pgloss.ref.js';
import { testRuntime } from './gpu.js';
import { assertWithin, randArray, randInts, rng } from './helpers.js';

const t = suite('policy-gradient loss');
const ULP = 2 ** -23;
const SENTINEL = 7;

// Float32 error of one row's softmax statistics (WGSL: exp 3 + 2|x| ULP, log 2^-21 abs near 1):
// log-sum-exp and log-probs to δ = (3 + 2·spread + v)·ULP + 2^-21 + ULP·(|lse| + |z_t|) + 3·ULP·log v;
// the entropy to δ·(1 + spread), since it weighs each z (up to `spread` from the max) by its exp.
function rowDelta(z: number[], lse: number, zt: number): number {
  const spread = Math.max(...z) - Math.min(...z);
  return (3 + 2 * spread + z.length) * ULP + 2 ** -21 + ULP * (Math.abs(lse) + Math.abs(zt)) + 3 * ULP * Math.log(z.length);
}

function makeCase(n: number, v: number, mag: number, seed: number, o: PgLossOptions) {
  const r = rng(seed);
  const logits = mag === 0 ? new Float32Array(n * v) : randArray(n * v, seed, mag);
  const tokens = randInts(n, v, seed + 1);
  const adv = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (0.1 + r()));
  // Old log-probs put ratios on both sides of the clip range, but never within 2e-3 of its edges,
  // where float32 and float64 could legitimately take different branches.
  const old = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const st = rowStatsRef(logits.subarray(i * v, (i + 1) * v), o.temperature);
    const logp = logits[i * v + tokens[i]] / o.temperature - st.lse;
    let d: number;
    do d = (r() - 0.5) * 0.8; while ([1 - o.epsilon, 1 + o.epsilonHigh].some((e) => Math.abs(Math.exp(d) - e) < 2e-3));
    old[i] = logp - d;
  }
  return { logits, tokens, adv, old };
}

const base: PgLossOptions = { temperature: 1, epsilon: 0.2, epsilonHigh: 0.28, entropyShaping: false, alpha: 0.4, kappa: 2, scale: 1 };

for (const [n, v, mag, label, o] of [
  [33, 16, 2, 'typical', base],
  [65, 7, 40, 'large magnitudes, near one-hot', { ...base, temperature: 0.7 }],
  [17, 20, 0, 'uniform rows', base],
  [127, 33, 3, 'entropy-shaped advantage, TRL scale', { ...base, entropyShaping: true, scale: 1 / 127 }],
] as const) {
  t(`matches the float64 reference on selected rows only: ${label}`, async () => {
    const rt = await testRuntime();
    const c = makeCase(n, v, mag, n * 13 + v, o);
    const r = rng(n);
    const rowsList = [...Array(n).keys()].filter(() => r() < 0.3).reverse(); // out of order on purpose
    const ref = pgLossRef(c.logits, c.tokens, c.old, c.adv, rowsList, v, o);
    const dl = rt.upload(new Float32Array(n * v).fill(SENTINEL), [n, v]);
    const stats = rt.empty([rowsList.length, 4]);
    pgLoss(rt, {
      logits: rt.upload(c.logits, [n, v]), tokens: rt.upload(c.tokens, [n], 'u32'), oldLogprob: rt.upload(c.old),
      advantages: rt.upload(c.adv), rows: rt.upload(rowsList, [rowsList.length], 'u32'), dlogits: dl, stats,
    }, o);
    const got = await rt.read(dl);
    const st = await rt.read(stats);
    const selected = new Set(rowsList);
    for (let i = 0; i < n; i++) {
      const row = got.subarray(i * v, (i + 1) * v);
      if (!selected.has(i)) { assert.ok(row.every((x) => x === SENTINEL), `unselected row ${i} never touched`); continue; }
      const z = Array.from(c.logits.subarray(i * v, (i + 1) * v), (x) => x / o.temperature);
      const { lse } = rowStatsRef(c.logits.subarray(i * v, (i + 1) * v), o.temperature);
      const delta = rowDelta(z, lse, z[c.tokens[i]]);
      const want = ref.dlogits.get(i)!;
      // dlogits = g·(onehot − p) with |g| ≤ ratio·|A|·(1 + 1/κ)·scale/T (shaping adds at most |A|/κ).
      // g carries the ratio's error (δ, plus α·δ_H through shaping) and each (onehot − p) term is
      // good to ~2 ULP absolute (1 − p cancels when p ≈ 1), so bound by |g|, not by |dlogits|.
      const j = rowsList.indexOf(i);
      const g = ref.ratio[j] * Math.abs(c.adv[i]) * (1 + 1 / o.kappa) * o.scale / o.temperature;
      const bound = want.map(() => g * (delta * (2 + Math.max(...z) - Math.min(...z)) + 8 * ULP) + 1e-30);
      assertWithin(row, want, bound, `dlogits row ${i}`);
    }
    for (const [j, i] of rowsList.entries()) {
      assert.is(st[4 * j + 2] === 1, ref.clipped[j], `clip branch of row ${i}`);
      // The loss term is ratio·A'·scale (or its clipped value): the same error budget as g·T.
      const z = Array.from(c.logits.subarray(i * v, (i + 1) * v), (x) => x / o.temperature);
      const { lse } = rowStatsRef(c.logits.subarray(i * v, (i + 1) * v), o.temperature);
      const spread = Math.max(...z) - Math.min(...z);
      const mag = Math.max(ref.ratio[j], 1 + o.epsilonHigh) * Math.abs(c.adv[i]) * (1 + 1 / o.kappa) * o.scale;
      const tol = mag * (rowDelta(z, lse, z[c.tokens[i]]) * (2 + spread) + 8 * ULP);
      assert.ok(Math.abs(st[4 * j] - ref.loss[j]) <= tol, `loss of row ${i}: ${st[4 * j]} vs ${ref.loss[j]} ± ${tol}`);
      assert.ok(Math.abs(st[4 * j + 3] - ref.entropy[j]) <= rowDelta(z, lse, 0) * (1 + spread), `entropy of row ${i}`);
    }
  });
}

t('reference gradient agrees with finite differences of the reference loss', () => {
  const o = { ...base, entropyShaping: false, temperature: 0.8 };
  const n = 6, v = 5;
  const c = makeCase(n, v, 1.5, 3, o);
  const rows = [0, 2, 3, 5];
  const ref = pgLossRef(c.logits, c.tokens, c.old, c.adv, rows, v, o);
  const lossAt = (z: Float64Array) => pgLossRef(z, c.tokens, c.old, c.adv, rows, v, o).loss.reduce((a, b) => a + b, 0);
  const z0 = Float64Array.from(c.logits);
  for (const r of rows) for (let cc = 0; cc < v; cc++) {
    const h = 1e-6, zp = z0.slice(), zm = z0.slice();
    zp[r * v + cc] += h; zm[r * v + cc] -= h;
    const fd = (lossAt(zp) - lossAt(zm)) / (2 * h);
    assert.ok(Math.abs(fd - ref.dlogits.get(r)![cc]) < 1e-7, `row ${r} class ${cc}: fd ${fd} vs ${ref.dlogits.get(r)![cc]}`);
  }
});

t('token entropy of every row matches the reference', async () => {
  const rt = await testRuntime();
  const n = 65, v = 19;
  const logits = randArray(n * v, 5, 6);
  const ent = rt.empty([n]);
  tokenEntropy(rt, { logits: rt.upload(logits, [n, v]), entropy: ent }, 1.3);
  const got = await rt.read(ent);
  const want = Array.from({ length: n }, (_, i) => rowStatsRef(logits.subarray(i * v, (i + 1) * v), 1.3).entropy);
  const bound = want.map((_, i) => {
    const z = Array.from(logits.subarray(i * v, (i + 1) * v), (x) => x / 1.3);
    return rowDelta(z, 0, 0) * (1 + Math.max(...z) - Math.min(...z));
  });
  assertWithin(got, want, bound, 'entropy');
});

t.run();
