// Optimizer kernels against their float64 reference: the gradient norm within its summation bound,
// AdamW steps within a bound derived operation by operation, decay only where masked, clipping,
// skipping non-finite steps bit for bit, and repeatability.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { paramLayout, type GPTConfig } from '../model/config.js';
import { ADAMW_DEFAULTS, AdamW, adamw, decayMask, gradNorm, normScratchSize, type AdamWHyper } from '../kernels/optim.js';
import { adamwRef, gradNormRef } from '../kernels/optim.ref.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, rng, U32 as u } from './helpers.js';

// WGSL: + − × correctly rounded (u each), x/y 2.5 ULP (5u), sqrt = 1/inverseSqrt: 2 + 2.5 ULP (9u,
// rounded up to 10u). Constants in the uniform are f32 roundings of their float64 values (u each).
const DIV = 5 * u, SQRT = 10 * u;

/** Relative error bound of the GPU norm: any-order sum of n rounded squares (γ_{n+1}), halved by √, plus √'s own. */
function normRelBound(n: number): number {
  return dotBound(n, 1) / 2 + SQRT;
}

async function runNorm(rt: Runtime, g: Float32Array): Promise<number> {
  const grads = rt.upload(g);
  const norm = rt.empty([1]);
  gradNorm(rt, { grads, partials: rt.empty([normScratchSize(g.length)], 'u32'), norm });
  return (await rt.readF32(norm))[0];
}

const t = suite('optim: gradient norm');

for (const n of [1, 7, 33, 65, 127, 1000, 4099, 1_048_577, 4_194_308]) {
  t(`norm of ${n} gradients (${n % 4 ? 'scalar' : 'vec4'}) within γ_n of float64`, async () => {
    const rt = await testRuntime();
    const g = randArray(n, n, 1);
    // a spread of magnitudes, as real gradients have
    for (let i = 0; i < n; i += 3) g[i] *= 1e-3;
    const ref = gradNormRef(g);
    assertWithin([await runNorm(rt, g)], [ref], ref * normRelBound(n), `norm(${n})`);
  });
}

t('all-zero gradients have norm 0', async () => {
  assert.is(await runNorm(await testRuntime(), new Float32Array(260)), 0);
});

t('NaN, ±inf or an overflowing sum of squares make the norm +inf', async () => {
  const rt = await testRuntime();
  for (const [bad, n] of [[NaN, 1001], [Infinity, 1000], [-Infinity, 7], [NaN, 1]] as const) {
    const g = randArray(n, 3);
    g[n - 1] = bad;
    assert.is(await runNorm(rt, g), Infinity, `${bad} among ${n}`);
  }
  assert.is(await runNorm(rt, new Float32Array(64).fill(3e19)), Infinity, 'overflow');
});

// ------------------------------------------------------------------ AdamW

const CFG: GPTConfig = { nLayer: 2, dModel: 12, nHead: 3, contextLength: 6, vocabSize: 7, tiedHead: false };
// Odd tensor sizes: unpadded, no 4-element block is all-decay or all-not, so the scalar path runs.
const ODD: GPTConfig = { nLayer: 1, dModel: 9, nHead: 3, contextLength: 5, vocabSize: 7, tiedHead: false };

interface Setup {
  rt: Runtime;
  n: number;
  decayEl: Uint8Array;
  t: { params: Tensor; grads: Tensor; m: Tensor; v: Tensor; decay: Tensor; norm: Tensor; skipped: Tensor; partials: Tensor };
  shift: number;
  /** Random gradients, zero in the padding (backward never writes there). */
  grad: (seed: number, scale?: number) => Float32Array;
}

/**
 * Optimizer state for a real parameter layout: align 64 gives the vec4 path, align 1 the scalar one.
 * Padding is zero in params, moments and grads, as in training: a 64-element decay block may cover
 * padding, which therefore must (and does) stay zero.
 */
async function setup(align: number, seed: number): Promise<Setup> {
  const rt = await testRuntime();
  const lay = paramLayout(align === 1 ? ODD : CFG, align);
  const n = lay.size;
  const mask = decayMask(n, lay.params);
  const decayEl = new Uint8Array(n);
  for (const p of lay.params) if (p.decay) decayEl.fill(1, p.offset, p.offset + p.size);
  const r = rng(seed);
  const covered = new Uint8Array(n);
  for (const p of lay.params) covered.fill(1, p.offset, p.offset + p.size);
  const unpad = (x: Float32Array) => x.map((e, i) => (covered[i] ? e : 0));
  const v0 = Float32Array.from({ length: n }, () => 0.01 * r() * r());
  const t = {
    params: rt.upload(unpad(randArray(n, seed + 1, 0.5))),
    grads: rt.empty([n]),
    m: rt.upload(unpad(randArray(n, seed + 2, 0.05))),
    v: rt.upload(unpad(v0)),
    decay: rt.upload(mask.bits, [mask.bits.length], 'u32'),
    norm: rt.empty([1]),
    skipped: rt.empty([1], 'u32'),
    partials: rt.empty([normScratchSize(n)], 'u32'),
  };
  return { rt, n, decayEl, t, shift: mask.shift, grad: (seed, scale = 1) => unpad(randArray(n, seed, scale)) };
}

function step(s: Setup, h: AdamWHyper & { lr: number; step: number }): void {
  gradNorm(s.rt, { grads: s.t.grads, partials: s.t.partials, norm: s.t.norm });
  adamw(s.rt, { ...s.t, shift: s.shift }, h);
}

async function state(s: Setup) {
  const [params, m, v] = await Promise.all([s.t.params, s.t.m, s.t.v].map((x) => s.rt.readF32(x)));
  return { params, m, v };
}

/**
 * Per-element bounds for one GPU step from the same f32 state, first order, operation by operation:
 * clip scale s (δs = norm error + 8u), g' = g·s (δg = δs + u); m' = β1·m + (1−β1)·g' to (3u + δg)·A_m
 * with A_m = β1|m| + (1−β1)|g'|; v' to (4u + 2δg)·v'; m̂ = m'·ibc1 to (5u + δg)·A_m·ibc1; v̂ to
 * 6u + 2δg relative; den = √v̂ + eps to 15u + δg; r = m̂/den to E_m̂/den + |r|(20u + δg); and
 * p' = p − lr·(r + wd·p) to lr·E_r + lr·(3u|r| + 5u·wd|p|) + u|p'|.
 */
function stepBounds(before: { params: Float32Array; m: Float32Array; v: Float32Array }, g: Float32Array, decayEl: Uint8Array, h: AdamWHyper & { lr: number; step: number }, clip: number) {
  const n = g.length;
  const dG = (h.maxNorm > 0 ? normRelBound(n) + 8 * u : 0) + u;
  const ibc1 = 1 / (1 - h.beta1 ** h.step), ibc2 = 1 / (1 - h.beta2 ** h.step);
  const bm = new Float64Array(n), bv = new Float64Array(n), bp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const gs = Math.abs(g[i]) * clip, p = before.params[i];
    const Am = h.beta1 * Math.abs(before.m[i]) + (1 - h.beta1) * gs;
    const v1 = h.beta2 * before.v[i] + (1 - h.beta2) * gs * gs;
    bm[i] = (3 * u + dG) * Am;
    bv[i] = (4 * u + 2 * dG) * v1;
    const den = Math.sqrt(v1 * ibc2) + h.eps;
    const r = (Am * ibc1) / den; // an upper bound on |r|
    const er = ((5 * u + dG) * Am * ibc1) / den + r * (20 * u + dG);
    const wdp = (decayEl[i] ? h.weightDecay : 0) * Math.abs(p);
    bp[i] = h.lr * er + h.lr * (3 * u * r + 5 * u * wdp) + u * (Math.abs(p) + h.lr * (r + wdp));
  }
  return { bm, bv, bp };
}

const a = suite('optim: AdamW');

for (const align of [64, 1]) {
  a(`three steps match the float64 reference step by step (layout align ${align})`, async () => {
    const s = await setup(align, 100 + align);
    assert.is(s.shift >= 2 && s.n % 4 === 0, align === 64, 'path under test');
    const plan = [
      { lr: 1e-2, step: 1, maxNorm: 1, gscale: 1 }, // norm ≈ √n/√3 ≫ 1: clipped
      { lr: 3e-3, step: 2, maxNorm: 0, gscale: 0.1 }, // clipping off
      { lr: 1e-2, step: 3, maxNorm: 1e3, gscale: 1 }, // clipping on but not engaged
    ];
    for (const [k, pl] of plan.entries()) {
      const h = { ...ADAMW_DEFAULTS, ...pl };
      const g = s.grad(200 + k, pl.gscale);
      s.rt.write(s.t.grads, g);
      const before = await state(s);
      step(s, h);
      const got = await state(s);
      const ref = { params: Float64Array.from(before.params), m: Float64Array.from(before.m), v: Float64Array.from(before.v) };
      const info = adamwRef(ref, g, s.decayEl, h);
      assert.is(info.clip < 1, k === 0, `clip engaged at step ${k + 1} only`);
      const { bm, bv, bp } = stepBounds(before, g, s.decayEl, h, info.clip);
      assertWithin(got.m, ref.m, bm, `m after step ${k + 1}`);
      assertWithin(got.v, ref.v, bv, `v after step ${k + 1}`);
      assertWithin(got.params, ref.params, bp, `params after step ${k + 1}`);
      assertWithin([(await s.rt.readF32(s.t.norm))[0]], [info.norm], info.norm * normRelBound(s.n), 'norm');
    }
    assert.is((await s.rt.read(s.t.skipped))[0], 0);
  });
}

a('weight decay touches exactly the masked (2-D weight) elements', async () => {
  for (const align of [64, 1]) {
    const s = await setup(align, 300);
    s.rt.write(s.t.m, new Float32Array(s.n));
    s.rt.write(s.t.v, new Float32Array(s.n));
    const before = await state(s);
    // zero gradient and moments: the only change is p ← p − lr·wd·p
    const h = { ...ADAMW_DEFAULTS, lr: 0.05, weightDecay: 0.5, step: 1 };
    step(s, h);
    const got = await state(s);
    for (let i = 0; i < s.n; i++) {
      const p = before.params[i];
      if (s.decayEl[i]) {
        const want = p - h.lr * h.weightDecay * p;
        assert.ok(Math.abs(got.params[i] - want) <= 6 * u * Math.abs(p), `align ${align}: decayed element ${i}: ${got.params[i]} vs ${want}`);
      } else {
        assert.is(got.params[i], p, `align ${align}: element ${i} must not decay`);
      }
    }
  }
});

a('clipping scales the gradient by maxNorm/norm once the norm exceeds maxNorm', async () => {
  const s = await setup(64, 400);
  s.rt.write(s.t.m, new Float32Array(s.n));
  const g = s.grad(401);
  const norm = gradNormRef(g);
  s.rt.write(s.t.grads, g);
  step(s, { ...ADAMW_DEFAULTS, lr: 1e-3, step: 1, maxNorm: norm / 10 });
  const m = await s.rt.readF32(s.t.m);
  // fresh m: m' = (1 − β1)·g·clip, clip = 0.1 up to the norm's error
  const i = g.findIndex((x) => Math.abs(x) > 0.5);
  const ratio = m[i] / ((1 - ADAMW_DEFAULTS.beta1) * g[i]);
  assert.ok(Math.abs(ratio - 0.1) < 0.1 * (normRelBound(s.n) + 20 * u), `clip ratio ${ratio}`);
});

a('a non-finite gradient skips the step: params and moments keep their bits, the skip is counted', async () => {
  const s = await setup(64, 500);
  for (const [k, bad] of [NaN, Infinity, -Infinity].entries()) {
    const g = s.grad(501);
    g[17 + k] = bad;
    s.rt.write(s.t.grads, g);
    const before = await state(s);
    step(s, { ...ADAMW_DEFAULTS, lr: 1e-2, step: 1 });
    const got = await state(s);
    for (const key of ['params', 'm', 'v'] as const) {
      assert.equal(new Uint32Array(got[key].buffer), new Uint32Array(before[key].buffer), `${key} unchanged after a ${bad} gradient`);
    }
    assert.is((await s.rt.readF32(s.t.norm))[0], Infinity);
    assert.is((await s.rt.read(s.t.skipped))[0], k + 1);
  }
  s.rt.write(s.t.grads, s.grad(502));
  const before = await state(s);
  step(s, { ...ADAMW_DEFAULTS, lr: 1e-2, step: 1 });
  assert.not.equal((await state(s)).params, before.params, 'a finite step after skips updates again');
  assert.is((await s.rt.read(s.t.skipped))[0], 3);
});

a('deterministic: the same steps from the same state give the same bits', async () => {
  const runs: Uint32Array[] = [];
  for (let rep = 0; rep < 2; rep++) {
    const s = await setup(64, 600);
    for (let k = 1; k <= 3; k++) {
      s.rt.write(s.t.grads, s.grad(600 + k));
      step(s, { ...ADAMW_DEFAULTS, lr: 1e-2, step: k });
    }
    const st = await state(s);
    const norm = await s.rt.readF32(s.t.norm);
    runs.push(new Uint32Array([...new Uint32Array(st.params.buffer), ...new Uint32Array(st.m.buffer), ...new Uint32Array(st.v.buffer), ...new Uint32Array(norm.buffer)]));
  }
  assert.equal(runs[0], runs[1]);
});

a('the AdamW class gives the same bits as the launchers it wraps, and reports norm and skips', async () => {
  const s = await setup(64, 800);
  const lay = paramLayout(CFG, 64);
  const params = s.rt.empty([s.n]);
  s.rt.copy(s.t.params, params);
  const opt = new AdamW(s.rt, s.n, lay.params, { weightDecay: 0.2 });
  s.rt.copy(s.t.m, opt.m);
  s.rt.copy(s.t.v, opt.v);
  const g = s.grad(801);
  s.rt.write(s.t.grads, g);
  opt.step(params, s.t.grads, 1e-2, 4);
  step(s, { ...ADAMW_DEFAULTS, weightDecay: 0.2, lr: 1e-2, step: 4 });
  assert.equal(await s.rt.readF32(params), await s.rt.readF32(s.t.params));
  assert.equal(await s.rt.readF32(opt.v), await s.rt.readF32(s.t.v));
  assert.ok(Math.abs((await opt.readNorm()) - gradNormRef(g)) <= gradNormRef(g) * normRelBound(s.n));
  assert.is(await opt.readSkipped(), 0);
});

a('decayMask picks the largest consistent block and rejects segments outside the buffer', () => {
  const lay = paramLayout(CFG, 64);
  const m64 = decayMask(lay.size, lay.params);
  assert.is(m64.shift, 6);
  const lay1 = paramLayout(ODD, 1);
  assert.is(decayMask(lay1.size, lay1.params).shift, 0);
  const m1 = decayMask(lay1.size, lay1.params);
  for (const p of lay1.params) {
    for (const i of [p.offset, p.offset + p.size - 1]) {
      const b = i >> m1.shift;
      assert.is(((m1.bits[b >> 5] >>> (b & 31)) & 1) === 1, p.decay, `${p.name} element ${i}`);
    }
  }
  assert.throws(() => decayMask(10, [{ offset: 8, size: 4, decay: true }]), /outside the 10 elements/);
});

a('launcher validation: mismatched sizes and bad steps fail loudly', async () => {
  const s = await setup(64, 700);
  assert.throws(() => adamw(s.rt, { ...s.t, m: s.rt.empty([3]), shift: s.shift }, { ...ADAMW_DEFAULTS, lr: 1, step: 1 }), /adamw: m .* is \[3\]/);
  assert.throws(() => adamw(s.rt, { ...s.t, shift: s.shift }, { ...ADAMW_DEFAULTS, lr: 1, step: 0 }), /steps count from 1/);
  assert.throws(() => gradNorm(s.rt, { grads: s.t.grads, partials: s.rt.empty([1], 'u32'), norm: s.t.norm }), /normScratchSize/);
});

t.run();
a.run();
