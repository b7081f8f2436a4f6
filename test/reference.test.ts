// The float64 reference GPT is the oracle for every GPU layer, so it is itself checked against
// central finite differences, and the config/layout it shares with the GPU model is pinned down.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramCount, paramLayout, validateConfig, type GPTConfig, type ParamLayout } from '../model/config.js';
import { backward, crossEntropy, forward, lossAndGrads } from '../model/reference.js';
import { rng, randInts } from './helpers.js';

const cfgSuite = suite('config');

const PEER: GPTConfig = { nLayer: 2, dModel: 64, nHead: 4, contextLength: 32, vocabSize: 16, tiedHead: false };

cfgSuite('the peer config counts 104,192 parameters; tying drops lm_head', () => {
  assert.is(paramCount(PEER), 104_192);
  assert.is(paramCount({ ...PEER, tiedHead: true }), 104_192 - 16 * 64);
  // GPT-2 small, the published count (tied head)
  assert.is(paramCount({ nLayer: 12, dModel: 768, nHead: 12, contextLength: 1024, vocabSize: 50257, tiedHead: true }), 124_439_808);
});

cfgSuite('layout: GPT-2 names in order, aligned, disjoint, decay on 2-D weights only', () => {
  const lay = paramLayout(PEER, 64);
  const names = lay.params.map((p) => p.name);
  assert.equal(names.slice(0, 4), ['wte.weight', 'wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias']);
  assert.equal(names.slice(-3), ['ln_f.weight', 'ln_f.bias', 'lm_head.weight']);
  assert.equal(lay.byName.get('h.1.attn.c_attn.weight')!.shape, [64, 192]);
  assert.equal(lay.byName.get('h.1.mlp.c_proj.weight')!.shape, [256, 64]);
  let end = 0;
  for (const p of lay.params) {
    assert.ok(p.offset % 64 === 0 && p.offset >= end, `${p.name} at ${p.offset}`);
    end = p.offset + p.size;
    assert.is(p.decay, p.shape.length === 2, p.name);
  }
  assert.ok(lay.size % 64 === 0 && lay.size >= end);
  assert.is(lay.count, 104_192);
  assert.not.ok(paramLayout({ ...PEER, tiedHead: true }).byName.has('lm_head.weight'));
});

cfgSuite('validation names the field and the fix', () => {
  assert.throws(() => validateConfig({ ...PEER, nHead: 5 }), /dModel 64 is not divisible by nHead 5.*choose nHead among 1, 2, 4, 8, 16, 32, 64/);
  assert.throws(() => validateConfig({ ...PEER, nLayer: 0 }), /nLayer is 0; it must be a positive integer/);
  assert.throws(() => validateConfig({ ...PEER, vocabSize: 2.5 }), /vocabSize is 2.5/);
  assert.throws(() => validateConfig({ ...PEER, tiedHead: 'yes' as any }), /tiedHead/);
  assert.throws(() => paramLayout(PEER, 0), /align is 0/);
});

cfgSuite('init: GPT-2 statistics, zero padding, reproducible from the seed', () => {
  const cfg: GPTConfig = { ...PEER, nLayer: 4 };
  const lay = paramLayout(cfg, 64);
  const a = initParams(cfg, lay, 7);
  assert.equal(a, initParams(cfg, lay, 7));
  assert.not.equal(a, initParams(cfg, lay, 8));
  const std = (name: string) => {
    const p = lay.byName.get(name)!;
    const v = a.subarray(p.offset, p.offset + p.size);
    return Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
  };
  // sample std of n normals is within a few percent for n ≥ 4096
  assert.ok(Math.abs(std('h.0.mlp.c_fc.weight') / 0.02 - 1) < 0.05);
  assert.ok(Math.abs(std('h.3.mlp.c_proj.weight') / (0.02 / Math.sqrt(8)) - 1) < 0.05);
  assert.ok(Math.abs(std('h.2.attn.c_proj.weight') / (0.02 / Math.sqrt(8)) - 1) < 0.05);
  assert.is(std('h.1.attn.c_attn.bias'), 0);
  assert.ok(a.subarray(lay.byName.get('ln_f.weight')!.offset).slice(0, 64).every((x) => x === 1));
  let covered = new Uint8Array(lay.size);
  for (const p of lay.params) covered.fill(1, p.offset, p.offset + p.size);
  assert.ok(a.every((x, i) => covered[i] === 1 || x === 0), 'padding is zero');
});

// ------------------------------------------------------------ finite differences

const TINY: GPTConfig = { nLayer: 2, dModel: 12, nHead: 3, contextLength: 6, vocabSize: 7, tiedHead: false };
const B = 2, T = 5;
// Partial mask: unmasked targets hold an out-of-range placeholder that must never be read.
const WEIGHTS = [0, 0, 1, 1, 1, 0, 1, 1, 0, 1];

/** Random parameters far from init so every nonlinearity (GELU, softmax, LN) is exercised. */
function randomParams(lay: ParamLayout, seed: number): Float64Array {
  const r = rng(seed), p = new Float64Array(lay.size);
  for (const s of lay.params) {
    const isLnW = /ln_.\.weight|ln_f\.weight/.test(s.name);
    for (let i = 0; i < s.size; i++) p[s.offset + i] = (isLnW ? 1 : 0) + (2 * r() - 1) * (s.decay ? 0.5 : 0.3);
  }
  return p;
}

/** Entries to probe: a few random ones in every tensor (never fewer than two). */
function sampleEntries(lay: ParamLayout, seed: number, perTensor: number): { name: string; index: number }[] {
  const r = rng(seed), out: { name: string; index: number }[] = [];
  for (const s of lay.params) {
    for (let k = 0; k < Math.min(perTensor, s.size); k++) out.push({ name: s.name, index: s.offset + Math.floor(r() * s.size) });
  }
  return out;
}

/**
 * Central differences in float64: truncation error O(h²·f''') ≈ 1e-10 relative, so a correct
 * gradient agrees to ~1e-6 relative and a wrong one does not. Gradients that are exactly zero (the
 * key bias: softmax ignores a shift shared by a whole row) only show rounding noise, a few ulps of
 * f over 2h; the absolute floor allows 64 ulps of it.
 */
function checkGradient(what: string, f: (p: Float64Array) => number, params: Float64Array, grads: Float64Array, entries: { name: string; index: number }[]): void {
  const h = 1e-5;
  let worst = 0, worstAt = '';
  for (const { name, index } of entries) {
    const p = Float64Array.from(params);
    p[index] = params[index] + h;
    const up = f(p);
    p[index] = params[index] - h;
    const down = f(p);
    const fd = (up - down) / (2 * h);
    const floor = (64 * Number.EPSILON * Math.max(Math.abs(up), Math.abs(down))) / (2 * h);
    const err = Math.max(0, Math.abs(fd - grads[index]) - floor) / Math.max(Math.abs(fd), Math.abs(grads[index]), 1e-300);
    if (err > worst) { worst = err; worstAt = `${name} [flat ${index}]: fd ${fd}, analytic ${grads[index]}`; }
  }
  assert.ok(worst < 1e-6, `${what}: worst relative error ${worst.toExponential(2)} at ${worstAt}`);
}

const fd = suite('reference finite differences');

for (const tiedHead of [false, true]) {
  fd(`masked cross-entropy gradient of every parameter tensor (${tiedHead ? 'tied' : 'untied'} head)`, () => {
    const cfg = { ...TINY, tiedHead };
    const lay = paramLayout(cfg, 16);
    const params = randomParams(lay, tiedHead ? 11 : 12);
    const tokens = randInts(B * T, cfg.vocabSize, 3);
    const targets = Array.from(randInts(B * T, cfg.vocabSize, 4), (t, i) => (WEIGHTS[i] > 0 ? t : -1));
    const res = lossAndGrads(cfg, lay, params, tokens, targets, WEIGHTS, B, T);
    const loss = (p: Float64Array) => crossEntropy(forward(cfg, lay, p, tokens, B, T).logits, targets, WEIGHTS, B * T, cfg.vocabSize).loss;
    checkGradient('loss', loss, params, res.grads, sampleEntries(lay, 5, 6));
    for (const s of lay.params) assert.ok(res.grads.subarray(s.offset, s.offset + s.size).some((g) => g !== 0), `${s.name} receives gradient`);
    let covered = new Uint8Array(lay.size);
    for (const s of lay.params) covered.fill(1, s.offset, s.offset + s.size);
    assert.ok(res.grads.every((g, i) => covered[i] === 1 || g === 0), 'padding gradient is zero');
    const kb = lay.byName.get('h.0.attn.c_attn.bias')!, C = cfg.dModel;
    assert.ok(res.grads.subarray(kb.offset + C, kb.offset + 2 * C).every((g) => Math.abs(g) < 1e-15), 'key bias gradient vanishes');
  });
}

fd('an arbitrary dlogits (the RL path) backpropagates as the gradient of Σ dlogits·logits', () => {
  const lay = paramLayout(TINY, 1);
  const params = randomParams(lay, 21);
  const tokens = randInts(B * T, TINY.vocabSize, 22);
  const r = rng(23);
  const dl = Float64Array.from({ length: B * T * TINY.vocabSize }, () => 2 * r() - 1);
  const grads = backward(TINY, lay, forward(TINY, lay, params, tokens, B, T), dl);
  const f = (p: Float64Array) => forward(TINY, lay, p, tokens, B, T).logits.reduce((s, x, i) => s + x * dl[i], 0);
  checkGradient('Σ dlogits·logits', f, params, grads, sampleEntries(lay, 24, 4));
});

fd('cross-entropy: dlogits match finite differences and the masked mean is over unmasked positions', () => {
  const N = 4, V = 5, r = rng(31);
  const logits = Float64Array.from({ length: N * V }, () => 4 * r() - 2);
  const targets = [1, -1, 4, 0], weights = [1, 0, 0.5, 1];
  const { loss, losses, dlogits } = crossEntropy(logits, targets, weights, N, V);
  assert.ok(Math.abs(loss - (losses[0] + 0.5 * losses[2] + losses[3]) / 3) < 1e-15);
  const h = 1e-5;
  for (let i = 0; i < N * V; i++) {
    const p = Float64Array.from(logits), m = Float64Array.from(logits);
    p[i] += h;
    m[i] -= h;
    const num = (crossEntropy(p, targets, weights, N, V).loss - crossEntropy(m, targets, weights, N, V).loss) / (2 * h);
    assert.ok(Math.abs(num - dlogits[i]) < 1e-9, `dlogits[${i}]: fd ${num}, analytic ${dlogits[i]}`);
  }
  const weighted = crossEntropy(logits, targets, weights, N, V, 1 / 2.5).loss;
  assert.ok(Math.abs(weighted - (losses[0] + 0.5 * losses[2] + losses[3]) / 2.5) < 1e-15, 'explicit scale: weighted mean');
  assert.is(crossEntropy(logits, targets, [0, 0, 0, 0], N, V).loss, 0);
  assert.throws(() => crossEntropy(logits, [1, 0, 9, 0], weights, N, V), /target 9 at position 2/);
});

const beh = suite('reference behaviour');

beh('causal: a token changes no logits before its position', () => {
  const lay = paramLayout(TINY, 1);
  const params = randomParams(lay, 41);
  const tokens = Array.from(randInts(B * T, TINY.vocabSize, 42));
  const a = forward(TINY, lay, params, tokens, B, T).logits;
  tokens[3] = (tokens[3] + 1) % TINY.vocabSize;
  const b = forward(TINY, lay, params, tokens, B, T).logits;
  const V = TINY.vocabSize;
  for (let i = 0; i < 3 * V; i++) assert.is(a[i], b[i]);
  for (let i = 5 * V; i < 10 * V; i++) assert.is(a[i], b[i], 'other batch row untouched');
  assert.ok(a.slice(3 * V, 4 * V).some((x, i) => x !== b[3 * V + i]));
});

beh('at GPT-2 init the loss is close to ln V (near-uniform predictions)', () => {
  const cfg: GPTConfig = { ...TINY, vocabSize: 50 };
  const lay = paramLayout(cfg);
  const tokens = randInts(B * T, 50, 51), targets = randInts(B * T, 50, 52);
  const { loss } = lossAndGrads(cfg, lay, initParams(cfg, lay, 1), tokens, targets, new Array(B * T).fill(1), B, T);
  assert.ok(Math.abs(loss - Math.log(50)) < 0.05, `loss ${loss}`);
});

beh('bad inputs fail loudly', () => {
  const lay = paramLayout(TINY, 1);
  const params = new Float64Array(lay.size);
  assert.throws(() => forward(TINY, lay, params, [0, 1, 7], 1, 3), /token 7 at 2/);
  assert.throws(() => forward(TINY, lay, params, new Array(7).fill(0), 1, 7), /T 7 exceeds contextLength 6/);
  assert.throws(() => forward(TINY, lay, params.subarray(1), [0], 1, 1), /params have/);
});

cfgSuite.run();
fd.run();
beh.run();
