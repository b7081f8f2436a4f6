import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  attentionBackward, attentionDecode, attentionForward, attentionPrefill, attentionRows, createKVCache, kvCacheCopy, savedShape,
  type AttnDims, type AttnTuning, type RowSet, type SaveMode,
} from '../kernels/attention.js';
import { attentionBackwardRef, attentionForwardRef, type AttnRefBackward, type AttnRefForward } from '../kernels/attention.ref.js';
import type { Runtime } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, U32 } from './helpers.js';

const t = suite('attention');
const ULP = 2 ** -23;
const gamma = (n: number) => (n * U32) / (1 - n * U32);

// ------------------------------------------------------------------ error bounds
//
// First-order bounds, each term a γ_k·Σ|terms| (Higham §3.1) or a WGSL accuracy guarantee (exp: 3 + 2|x|
// ULP; log: 2^-21 absolute on [0.5, 2], else 3 ULP; 1/x: 2.5 ULP), composed through softmax:
// - score s_ij = (q_i·scale)·k_j: ε_s = γ_{hd+2}·scale·Σ_d|q_d k_d| (dotBound; +2 for rounding scale and q·scale).
// - softmax weights ê_j = exp(ŝ_j − m̂) carry a relative error η_j ≤ ε_s,j + (3 + 2Δ)·ULP + u·Δ, Δ = the
//   row's score spread (every |ŝ_j − running max| is at most Δ). The running max and the rescale
//   factors multiply o and l alike, so they cancel in y = o/l; what is left of the weights is
//   y − ŷ ≈ Σ_j P_j·η_j·(v_j − y), plus the accumulation: 2 roundings per step in o and in l
//   (γ_{2(t+1)+2} on Σ P|v| and on |y|) and 6u for 1/l and the final product.
// - lse = m + log(l): ε_lse = max_j ε_s,j + (3 + 2Δ)·ULP + u·Δ + γ_{2(t+1)+2} + (log) + u·|lse|.
// - backward P̂_ij = exp(ŝ_ij − lse_i): η^P = ε_s,ij + ε_lse,i + (3 + 2|s − lse|)·ULP + u·|s − lse|
//   (+6u when P is stored by the forward as exp(s − m)·(1/l)). dp = dout_i·v_j and D_i = dout_i·ŷ_i
//   are dot products (D also inherits ŷ's error); dS = P·(dp − D) then has
//   ε_dS ≤ P·(η^P·|dp − D| + ε_dp + ε_D) + 2u·|dS|, and dq, dk, dv are sums of dS·k, dS·q, P·dout
//   over the causal pairs, each bounded by Σ ε·|factor| + γ_{terms+2}·Σ|products|.
// Second-order terms (products of two of these ~1e-7 relative errors) are below float32 resolution
// of the bounds and are not carried.

interface Bounds { y: Float64Array; lse: Float64Array; dqkv?: Float64Array }

function forwardBounds(qkv: Float32Array, d: AttnDims, f: AttnRefForward): Bounds & { epsS: Float64Array } {
  const { B, T, H, hd } = d, C = H * hd, scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(B * T * C), lse = new Float64Array(B * H * T), epsS = new Float64Array(B * H * T * T);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    const row = ((b * H + h) * T + i) * T;
    let mx = -Infinity, mn = Infinity;
    for (let j = 0; j <= i; j++) {
      let abs = 0;
      for (let e = 0; e < hd; e++) abs += Math.abs(qkv[(b * T + i) * 3 * C + h * hd + e] * qkv[(b * T + j) * 3 * C + C + h * hd + e]);
      epsS[row + j] = dotBound(hd, scale * abs, 2);
      mx = Math.max(mx, f.s[row + j]);
      mn = Math.min(mn, f.s[row + j]);
    }
    const spread = mx - mn;
    const acc = gamma(2 * (i + 1) + 2);
    let maxEps = 0;
    for (let j = 0; j <= i; j++) maxEps = Math.max(maxEps, epsS[row + j]);
    const L = Math.exp(f.lse[(b * H + h) * T + i] - mx);
    const logErr = L >= 0.5 && L <= 2 ? 2 ** -21 : 3 * ULP * Math.log(L) * 2;
    lse[(b * H + h) * T + i] = maxEps + (3 + 2 * spread) * ULP + U32 * spread + acc + logErr + U32 * Math.abs(f.lse[(b * H + h) * T + i]);
    for (let e = 0; e < hd; e++) {
      const yi = (b * T + i) * C + h * hd + e, yv = f.y[yi];
      let weights = 0, sumPv = 0;
      for (let j = 0; j <= i; j++) {
        const P = f.P[row + j], v = qkv[(b * T + j) * 3 * C + 2 * C + h * hd + e];
        const eta = epsS[row + j] + (3 + 2 * spread) * ULP + U32 * spread;
        weights += P * eta * Math.abs(v - yv);
        sumPv += P * Math.abs(v);
      }
      y[yi] = weights + acc * (sumPv + Math.abs(yv)) + 6 * U32 * Math.abs(yv) + 1e-30;
    }
  }
  return { y, lse, epsS };
}

function backwardBounds(
  qkv: Float32Array, dout: Float32Array, d: AttnDims, f: AttnRefForward, fb: ReturnType<typeof forwardBounds>,
  g: AttnRefBackward, mode: SaveMode, listed: (r: number) => boolean,
): Float64Array {
  const { B, T, H, hd } = d, C = H * hd, scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(B * T * 3 * C);
  const epsDS = new Float64Array(B * H * T * T), etaP = new Float64Array(B * H * T * T);
  const q = (b: number, i: number, h: number, e: number) => qkv[(b * T + i) * 3 * C + h * hd + e];
  const k = (b: number, i: number, h: number, e: number) => qkv[(b * T + i) * 3 * C + C + h * hd + e];
  const v = (b: number, i: number, h: number, e: number) => qkv[(b * T + i) * 3 * C + 2 * C + h * hd + e];
  const go = (b: number, i: number, h: number, e: number) => dout[(b * T + i) * C + h * hd + e];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    if (!listed(b * T + i)) continue;
    const bhi = (b * H + h) * T + i, row = bhi * T;
    let epsD = 0, absD = 0;
    for (let e = 0; e < hd; e++) {
      epsD += Math.abs(go(b, i, h, e)) * fb.y[(b * T + i) * C + h * hd + e];
      absD += Math.abs(go(b, i, h, e) * f.y[(b * T + i) * C + h * hd + e]);
    }
    epsD += dotBound(hd, absD);
    for (let j = 0; j <= i; j++) {
      let absDp = 0;
      for (let e = 0; e < hd; e++) absDp += Math.abs(go(b, i, h, e) * v(b, j, h, e));
      const x = Math.abs(f.s[row + j] - f.lse[bhi]);
      const eta = fb.epsS[row + j] + fb.lse[bhi] + (3 + 2 * x) * ULP + U32 * x + (mode === 'att' ? 6 * U32 : 0);
      const P = f.P[row + j];
      etaP[row + j] = eta;
      epsDS[row + j] = P * (eta * Math.abs(g.dP[row + j] - g.D[bhi]) + dotBound(hd, absDp) + epsD) + 2 * U32 * Math.abs(g.dS[row + j]);
    }
  }
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let e = 0; e < hd; e++) {
    // dq of row t over keys j ≤ t; dk, dv of key t over queries i ≥ t
    let errQ = 0, absQ = 0, nQ = 0, errK = 0, absK = 0, errV = 0, absV = 0, nKV = 0;
    for (let j = 0; j <= t && listed(b * T + t); j++) {
      const r = ((b * H + h) * T + t) * T + j;
      errQ += epsDS[r] * Math.abs(k(b, j, h, e));
      absQ += Math.abs(g.dS[r] * k(b, j, h, e));
      nQ++;
    }
    for (let i = t; i < T; i++) {
      if (!listed(b * T + i)) continue;
      const r = ((b * H + h) * T + i) * T + t;
      errK += epsDS[r] * Math.abs(q(b, i, h, e));
      absK += Math.abs(g.dS[r] * q(b, i, h, e));
      errV += f.P[r] * etaP[r] * Math.abs(go(b, i, h, e));
      absV += Math.abs(f.P[r] * go(b, i, h, e));
      nKV++;
    }
    const o = (b * T + t) * 3 * C + h * hd + e;
    out[o] = scale * (errQ + gamma(nQ + 3) * absQ) + 1e-30;
    out[o + C] = scale * (errK + gamma(nKV + 3) * absK) + 1e-30;
    out[o + 2 * C] = errV + gamma(nKV + 1) * absV + 1e-30;
  }
  return out;
}

// ------------------------------------------------------------------ helpers

const dimsOf = (B: number, T: number, H: number, hd: number): AttnDims => ({ B, T, H, hd });

/** The kernel variants this adapter runs: subgroup (if it can), portable with 8 rows per group,
 * and (with `odd`) portable with 3, which makes every chunk boundary fall mid-sequence. */
async function variants(rt: Runtime, odd = true): Promise<[string, AttnTuning][]> {
  const v: [string, AttnTuning][] = [['portable R=8', { subgroups: false, rowsPerGroup: 8 }]];
  if (odd) v.push(['portable R=3', { subgroups: false, rowsPerGroup: 3 }]);
  const info: any = (rt.device as any).adapterInfo;
  if (rt.gpu.hasSubgroups && (info?.subgroupMinSize ?? 0) >= 8) v.unshift(['subgroup', { subgroups: true }]);
  return v;
}

function setup(rt: Runtime, d: AttnDims, seed: number, mag = 1.5) {
  const C = d.H * d.hd;
  const qkvH = randArray(d.B * d.T * 3 * C, seed, mag), doutH = randArray(d.B * d.T * C, seed + 1);
  const qkv = rt.upload(qkvH, [d.B, d.T, 3 * C], 'f32', 'qkv');
  const dout = rt.upload(doutH, [d.B, d.T, C], 'f32', 'dout');
  const nan = (n: number) => new Float32Array(n).fill(NaN); // stale data must be overwritten
  const out = rt.upload(nan(d.B * d.T * C), [d.B, d.T, C], 'f32', 'y');
  const dqkv = rt.upload(nan(d.B * d.T * 3 * C), [d.B, d.T, 3 * C], 'f32', 'dqkv');
  return { qkvH, doutH, qkv, dout, out, dqkv };
}

// ------------------------------------------------------------------ forward + dense backward

// Each (hd, variant, mode) is its own pipeline and llvmpipe compiles them slowly (seconds for
// hd = 32), so the odd variants (rows per group 3, stored att) run on a few shapes only.
const SHAPES: { B: number; T: number; H: number; hd: number; mag?: number; odd?: boolean; only?: 'default' }[] = [
  { B: 1, T: 1, H: 3, hd: 5 },
  { B: 3, T: 33, H: 3, hd: 5, odd: true },
  { B: 1, T: 33, H: 4, hd: 7, only: 'default' },
  { B: 3, T: 33, H: 2, hd: 16, odd: true },
  { B: 2, T: 9, H: 1, hd: 6, only: 'default' }, // vec2 loads
  { B: 2, T: 17, H: 2, hd: 16, mag: 4 }, // large scores: peaked softmax rows
  { B: 1, T: 64, H: 4, hd: 32, only: 'default' }, // the model's widest head
];

for (const { B, T, H, hd, mag = 1.5, odd = false, only } of SHAPES) {
  t(`forward and backward match float64: B=${B} T=${T} H=${H} hd=${hd}${mag > 2 ? ' (peaked)' : ''}`, async () => {
    const rt = await testRuntime();
    const d = dimsOf(B, T, H, hd);
    const s = setup(rt, d, B * 1000 + T * 10 + hd, mag);
    const f = attentionForwardRef(s.qkvH, d);
    const fb = forwardBounds(s.qkvH, d, f);
    const g = attentionBackwardRef(s.qkvH, s.doutH, d, f);
    const all = await variants(rt);
    const runs: [string, AttnTuning, SaveMode][] = only ? [['default', {}, 'lse']] : all.flatMap(([name, tune]) =>
      name === 'portable R=3' ? (odd ? [[name, tune, 'lse']] : []) : odd ? [[name, tune, 'lse'], [name, tune, 'att']] : [[name, tune, 'lse']]);
    for (const [name, tune, mode] of runs) {
      const saved = rt.empty(savedShape(d, mode), 'f32', 'saved');
      attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, saved, mode });
      assertWithin(await rt.readF32(s.out), f.y, fb.y, `${name} ${mode}: y`);
      if (mode === 'lse') assertWithin(await rt.readF32(saved), f.lse, fb.lse, `${name}: lse`);
      attentionBackward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved, mode });
      assertWithin(await rt.readF32(s.dqkv), g.dqkv, backwardBounds(s.qkvH, s.doutH, d, f, fb, g, mode, () => true), `${name} ${mode}: dqkv`);
    }
  });
}

t('forward without saving writes the same y; variants agree bit for bit', async () => {
  const rt = await testRuntime();
  const d = dimsOf(3, 33, 4, 5);
  const s = setup(rt, d, 5);
  const ys: Float32Array[] = [];
  for (const [, tune] of await variants(rt, false)) {
    attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out });
    ys.push(await rt.readF32(s.out));
    attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, saved: rt.empty(savedShape(d)) });
    assert.equal(await rt.readF32(s.out), ys[ys.length - 1]);
  }
  for (const y of ys) assert.equal(y, ys[0]);
});

// ------------------------------------------------------------------ sparse rows

/** A forward with saved lse, and a backward to run with any rows. */
async function sparseCase(rt: Runtime, d: AttnDims, tune: AttnTuning, seed = 7) {
  const s = setup(rt, d, seed);
  const saved = rt.empty(savedShape(d));
  attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, saved });
  return {
    s,
    run: async (rows: RowSet | number[]) => {
      attentionBackward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved, rows });
      return rt.readF32(s.dqkv);
    },
  };
}

for (const [B, T, H, hd] of [[3, 33, 3, 5], [2, 17, 2, 16]] as const) {
  t(`sparse rows match float64 with unlisted dout as zero: B=${B} T=${T} H=${H} hd=${hd}`, async () => {
    const rt = await testRuntime();
    const d = dimsOf(B, T, H, hd), BT = B * T, C = H * hd;
    for (const [name, tune] of await variants(rt, hd === 5)) {
      const { s, run } = await sparseCase(rt, d, tune);
      const f = attentionForwardRef(s.qkvH, d);
      const fb = forwardBounds(s.qkvH, d, f);
      // out of order, with a repeat, touching both ends of every sequence
      const ids = [BT - 1, 0, T, 5, 2 * T - 1, 5, 1].filter((r) => r < BT);
      const set = new Set(ids);
      const g = attentionBackwardRef(s.qkvH, s.doutH, d, f, ids);
      const got = await run(attentionRows(rt, ids, d));
      assertWithin(got, g.dqkv, backwardBounds(s.qkvH, s.doutH, d, f, fb, g, 'lse', (r) => set.has(r)), `${name}: dqkv`);
      for (let r = 0; r < BT; r++) {
        if (set.has(r)) continue;
        for (let c = 0; c < C; c++) assert.is(got[r * 3 * C + c], 0, `${name}: dq of unlisted row ${r} is exactly zero`);
      }
      // with dout zeroed outside the listed rows the dense backward computes the same gradient
      const masked = Float32Array.from(s.doutH, (x, n) => (set.has(Math.floor(n / C)) ? x : 0));
      const gm = attentionBackwardRef(s.qkvH, masked, d, f);
      assertWithin(got, gm.dqkv, backwardBounds(s.qkvH, masked, d, f, fb, gm, 'lse', () => true), `${name}: vs dense with masked dout`);
    }
  });
}

t('rows are a set: repeats and order change nothing (bit for bit); GPU and host lists agree', async () => {
  const rt = await testRuntime();
  const d = dimsOf(3, 33, 3, 5), BT = 99;
  for (const [name, tune] of await variants(rt, false)) {
    const { run } = await sparseCase(rt, d, tune, 11);
    const sorted = [0, 4, 32, 33, 50, 65, 98];
    const base = await run(attentionRows(rt, sorted, d));
    assert.equal(await run(attentionRows(rt, [98, 33, 4, 0, 65, 50, 32], d)), base, `${name}: out of order`);
    assert.equal(await run(attentionRows(rt, [4, 98, 4, 33, 0, 0, 65, 50, 32, 98, 4], d)), base, `${name}: repeats`);
    const gpuList = rt.upload(Uint32Array.from([65, 0xffffffff, 32, 4, 98, 0, 33, 50, 4, 7]), [10], 'u32');
    assert.equal(await run(attentionRows(rt, gpuList, d, 9)), base, `${name}: GPU list, first 9 ids, one out of range`);
    assert.equal(await run(sorted), base, `${name}: ids passed to the backward directly`);
    const all = await run(attentionRows(rt, Array.from({ length: BT }, (_, r) => BT - 1 - r), d));
    const { s } = await sparseCase(rt, d, tune, 11);
    const saved = rt.empty(savedShape(d));
    attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, saved });
    attentionBackward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved });
    assert.equal(all, await rt.readF32(s.dqkv), `${name}: every row listed equals the dense backward`);
  }
});

t('an empty row list gives an all-zero gradient', async () => {
  const rt = await testRuntime();
  const d = dimsOf(2, 17, 2, 16);
  for (const [name, tune] of await variants(rt, false)) {
    const { run } = await sparseCase(rt, d, tune);
    const got = await run(attentionRows(rt, [], d));
    assert.ok(got.every((x) => x === 0), `${name}: all zero`);
  }
});

t('bad row ids and mismatched shapes are rejected loudly', async () => {
  const rt = await testRuntime();
  const d = dimsOf(2, 5, 2, 4);
  assert.throws(() => attentionRows(rt, [0, 10], d), /row 1 is 10; ids must be integers in \[0, 10\)/);
  assert.throws(() => attentionRows(rt, [1.5], d), /row 0 is 1.5/);
  const s = setup(rt, d, 1);
  assert.throws(() => attentionForward(rt, { ...d, qkv: s.qkv, out: s.dqkv }), /out .* expected f32 \[2,5,8\]/);
  assert.throws(() => attentionForward(rt, { ...d, qkv: s.qkv, out: s.out, saved: rt.empty([2, 2, 5, 5]) }), /saved \(lse\)/);
  const rows = attentionRows(rt, [1], { B: 1, T: 10 });
  assert.throws(
    () => attentionBackward(rt, { ...d, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved: rt.empty(savedShape(d)), rows }),
    /rows were built for B=1, T=10/,
  );
});

// ------------------------------------------------------------------ determinism

t('backward is deterministic: two runs give identical bits (dense and sparse)', async () => {
  const rt = await testRuntime();
  const d = dimsOf(3, 33, 4, 16);
  for (const [name, tune] of await variants(rt, false)) {
    const { run } = await sparseCase(rt, d, tune, 3);
    const rows = attentionRows(rt, [5, 40, 41, 98, 0], d);
    assert.equal(await run(rows), await run(rows), `${name}: sparse`);
    const { s } = await sparseCase(rt, d, tune, 3);
    const saved = rt.empty(savedShape(d));
    attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, saved });
    const dense = async () => {
      attentionBackward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved });
      return rt.readF32(s.dqkv);
    };
    assert.equal(await dense(), await dense(), `${name}: dense`);
  }
});

// ------------------------------------------------------------------ KV-cache decode

/** qkv rows [B, 3C] of position pos[b] of each sequence. */
function rowsAt(qkvH: Float32Array, d: AttnDims, pos: number[]): Float32Array {
  const C3 = 3 * d.H * d.hd, out = new Float32Array(d.B * C3);
  pos.forEach((p, b) => out.set(qkvH.subarray((b * d.T + p) * C3, (b * d.T + p + 1) * C3), b * C3));
  return out;
}

for (const [B, T, H, hd] of [[3, 33, 3, 5], [2, 33, 2, 16], [1, 1, 4, 5]] as const) {
  t(`decode step by step equals the full forward at every position, bit for bit: B=${B} T=${T} H=${H} hd=${hd}`, async () => {
    const rt = await testRuntime();
    const d = dimsOf(B, T, H, hd), C = H * hd;
    const s = setup(rt, d, 21);
    for (const [name, tune] of await variants(rt, false)) {
      attentionForward(rt, { ...d, ...tune, qkv: s.qkv, out: s.out });
      const full = await rt.readF32(s.out);
      const cache = createKVCache(rt, { B, H, hd, Tmax: T + 3 });
      const y = rt.empty([B, C]);
      for (let p = 0; p < T; p++) {
        attentionDecode(rt, { qkv: rt.upload(rowsAt(s.qkvH, d, Array(B).fill(p)), [B, 3 * C]), cache, out: y, pos: p });
        const got = await rt.readF32(y);
        for (let b = 0; b < B; b++) {
          assert.equal(got.subarray(b * C, (b + 1) * C), full.subarray((b * T + p) * C, (b * T + p + 1) * C), `${name}: sequence ${b} position ${p}`);
        }
      }
    }
  });
}

t('decode with per-sequence positions (host and GPU), after a prefill and after a cache fork equals the forward', async () => {
  const rt = await testRuntime();
  const d = dimsOf(3, 20, 2, 16), { B, T, H, hd } = d, C = H * hd;
  const s = setup(rt, d, 9);
  attentionForward(rt, { ...d, qkv: s.qkv, out: s.out });
  const full = await rt.readF32(s.out);
  const check = async (y: ReturnType<Runtime['empty']>, pos: number[], what: string) => {
    const got = await rt.readF32(y);
    pos.forEach((p, b) => assert.equal(got.subarray(b * C, (b + 1) * C), full.subarray((b * T + p) * C, (b * T + p + 1) * C), `${what}: sequence ${b} at ${p}`));
  };
  // sequence b lags b steps; until it starts it keeps rewriting position 0
  for (const gpuPos of [false, true]) {
    const cache = createKVCache(rt, { B, H, hd, Tmax: T });
    const y = rt.empty([B, C]);
    for (let step = 0; step < T + B - 1; step++) {
      const pos = Array.from({ length: B }, (_, b) => Math.min(T - 1, Math.max(0, step - b)));
      const qkv = rt.upload(rowsAt(s.qkvH, d, pos), [B, 3 * C]);
      const p = gpuPos ? { gpu: rt.upload(Uint32Array.from(pos), [B], 'u32'), host: pos } : pos;
      attentionDecode(rt, { qkv, cache, out: y, pos: p });
      await check(y, pos, `${gpuPos ? 'GPU' : 'host'} positions, step ${step}`);
    }
  }
  // prefill the first 12 positions from the full qkv of a 12-long prompt, then decode the rest
  const dp = dimsOf(B, 12, H, hd);
  const prompt = new Float32Array(B * 12 * 3 * C);
  for (let b = 0; b < B; b++) prompt.set(s.qkvH.subarray(b * T * 3 * C, (b * T + 12) * 3 * C), b * 12 * 3 * C);
  const cache = createKVCache(rt, { B, H, hd, Tmax: T });
  attentionPrefill(rt, { qkv: rt.upload(prompt, [dp.B, dp.T, 3 * C]), cache, T: 12 });
  const y = rt.empty([B, C]);
  for (let p = 12; p < T; p++) {
    attentionDecode(rt, { qkv: rt.upload(rowsAt(s.qkvH, d, Array(B).fill(p)), [B, 3 * C]), cache, out: y, pos: p });
    await check(y, Array(B).fill(p), `after prefill, position ${p}`);
  }
  assert.throws(() => attentionDecode(rt, { qkv: rt.empty([B, 3 * C]), cache, out: y, pos: T }), /position 20 of sequence 0 is outside the cache/);
  // fork: sequence 2 takes sequence 0's cache, then decodes sequence 0's next position identically
  const forked = createKVCache(rt, { B, H, hd, Tmax: T });
  attentionPrefill(rt, { qkv: rt.upload(prompt, [dp.B, dp.T, 3 * C]), cache: forked, T: 12 });
  kvCacheCopy(rt, forked, 0, 2);
  const rows12 = rowsAt(s.qkvH, d, [12, 12, 12]);
  rows12.copyWithin(2 * 3 * C, 0, 3 * C);
  attentionDecode(rt, { qkv: rt.upload(rows12, [B, 3 * C]), cache: forked, out: y, pos: 12 });
  const yf = await rt.readF32(y);
  assert.equal(yf.subarray(2 * C, 3 * C), full.subarray(12 * C, 13 * C), 'forked sequence 2 continues sequence 0');
});

t('FLOP accounting counts the causal pairs', async () => {
  const rt = await testRuntime();
  const d = dimsOf(2, 5, 3, 4), { B, T, H, hd } = d;
  const s = setup(rt, d, 1);
  const saved = rt.empty(savedShape(d));
  rt.resetStats();
  rt.phase = 'attn-flops';
  attentionForward(rt, { ...d, qkv: s.qkv, out: s.out, saved });
  attentionBackward(rt, { ...d, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved });
  attentionBackward(rt, { ...d, qkv: s.qkv, out: s.out, dout: s.dout, dqkv: s.dqkv, saved, rows: attentionRows(rt, [1, 1, 9], d) });
  await rt.sync();
  const stats = Object.fromEntries(rt.kernelStats().filter((k) => k.phase === 'attn-flops').map((k) => [k.label, k.flops]));
  rt.phase = 'default';
  const pairs = (B * T * (T + 1)) / 2; // 30
  const sparsePairs = 2 + 5; // rows t=1 and t=4
  assert.is(stats.attn_fwd, 4 * hd * H * pairs);
  assert.is(stats.attn_bwd_d, H * 2 * hd * (B * T + 2));
  assert.is(stats.attn_bwd_kv, H * 6 * hd * (pairs + sparsePairs));
  assert.is(stats.attn_bwd_q, H * 2 * hd * (pairs + sparsePairs));
});

t.run();
