import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { crossEntropy } from '../kernels/loss.js';
import { crossEntropyRef } from '../kernels/loss.ref.js';
import { testRuntime } from './gpu.js';
import { assertWithin, randArray, randInts, rng } from './helpers.js';

const t = suite('cross-entropy');
const ULP = 2 ** -23;

// WGSL guarantees exp to 3 + 2|x| ULP and log to 2^-21 absolute on [0.5, 2] (3 ULP elsewhere).
// s = Σ exp(z − max) then has relative error ≤ (3 + 2·spread + v)·ULP, so lse = max + log(s) is good
// to δ = (3 + 2·spread + v)·ULP + 2^-21 + 3·ULP·log(s) + ULP·|lse|; the loss to w·(δ + ULP·|z_t|),
// and each probability p_c = exp(z_c − lse) to p_c·((3 + 2|z_c − lse|)·ULP + δ).
function bounds(z: Float32Array, t: Uint32Array, w: Float32Array, n: number, v: number, scale: number, lse: Float64Array) {
  const lossB = new Float64Array(n), dB = new Float64Array(n * v);
  for (let r = 0; r < n; r++) {
    const row = z.subarray(r * v, (r + 1) * v);
    const mx = Math.max(...row);
    const spread = mx - Math.min(...row);
    const delta = (3 + 2 * spread + v) * ULP + 2 ** -21 + 3 * ULP * (lse[r] - mx) + ULP * Math.abs(lse[r]);
    const ww = Math.abs(w[r] * scale);
    lossB[r] = ww * (delta + 2 * ULP * (Math.abs(lse[r]) + Math.abs(row[t[r]])));
    for (let c = 0; c < v; c++) {
      const p = Math.exp(row[c] - lse[r]);
      dB[r * v + c] = ww * (p * ((3 + 2 * Math.abs(row[c] - lse[r])) * ULP + 1.01 * delta) + 2 * ULP);
    }
  }
  return { lossB, dB };
}

for (const [n, v, scaleZ, label] of [
  [1, 1, 1, 'single row, single class'],
  [7, 16, 3, 'small'],
  [65, 33, 1, 'odd sizes'],
  [33, 20, 80, 'large magnitudes (near one-hot)'],
  [17, 24, 0, 'all-equal logits (uniform)'],
] as const) {
  t(`matches the float64 reference: n=${n} v=${v}, ${label}`, async () => {
    const rt = await testRuntime();
    const z = scaleZ === 0 ? new Float32Array(n * v).fill(0.25) : randArray(n * v, n * 31 + v, scaleZ);
    const tg = randInts(n, v, n + 5);
    const r = rng(n * 7);
    const w = new Float32Array(n).map(() => (r() < 0.3 ? 0 : 1));
    const wsum = w.reduce((a, b) => a + b, 0) || 1;
    const ref = crossEntropyRef(z, tg, w, n, v, 1 / wsum);
    const logits = rt.upload(z, [n, v]);
    const losses = rt.empty([n]);
    const dlogits = rt.upload(new Float32Array(n * v).fill(NaN), [n, v]); // stale data must be overwritten
    crossEntropy(rt, { logits, targets: rt.upload(tg, [n], 'u32'), weights: rt.upload(w), losses, dlogits, scale: 1 / wsum });
    const { lossB, dB } = bounds(z, tg, w, n, v, 1 / wsum, ref.lse);
    assertWithin(await rt.read(losses), ref.losses, lossB, 'losses');
    const d = await rt.read(dlogits);
    assertWithin(d, ref.dlogits, dB, 'dlogits');
    for (let i = 0; i < n; i++) if (w[i] === 0) for (let c = 0; c < v; c++) assert.is(d[i * v + c], 0, `masked row ${i} is exactly zero`);
  });
}

t.run();
