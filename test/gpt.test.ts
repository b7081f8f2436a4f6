// The whole GPU model against the float64 reference (llm.c's test_gpt2): logits, loss, and the
// gradient of every parameter tensor, on tiny configs with heads × head_dim not powers of two.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { crossEntropy } from '../kernels/loss.js';
import { adamwRef } from '../kernels/optim.ref.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { lossAndGrads } from '../model/reference.js';
import type { Runtime } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { randInts, rng, U32 } from './helpers.js';

const t = suite('gpt vs float64 reference');

// Error budget: each layer is a few reductions (matmuls of length ≤ 4C or N, attention over ≤ T,
// layernorm over C) whose float32 results carry at most γ_K relative error of their absolute sums.
// About 12 such ops per block in the forward and twice that in the backward compound along the
// chain, so per tensor we allow (24·L + 8)·γ_K·max|reference| with K the longest reduction — a
// worst-case sum of per-op bounds, loose for random rounding but 2–4 orders below what a wrong
// index, transpose or missing term produces (checked by breaking kernels while writing this).
function tol(cfg: GPTConfig, N: number, scale: number): number {
  const K = Math.max(4 * cfg.dModel, N, cfg.vocabSize);
  const gammaK = (K * U32) / (1 - K * U32);
  return (24 * cfg.nLayer + 8) * gammaK * scale;
}

function batch(cfg: GPTConfig, B: number, T: number, seed: number) {
  const tokens = randInts(B * T, cfg.vocabSize, seed);
  const targets = randInts(B * T, cfg.vocabSize, seed + 1);
  const r = rng(seed + 2);
  const weights = Float32Array.from({ length: B * T }, () => (r() < 0.6 ? 1 : 0)); // answer-only style mask
  weights[0] = 1;
  return { tokens, targets, weights, wsum: weights.reduce((a, b) => a + b, 0) };
}

async function gpuLossAndGrads(rt: Runtime, model: GPT, cfg: GPTConfig, B: number, T: number, d: ReturnType<typeof batch>) {
  rt.write(model.tokensFor(B, T), d.tokens);
  const logits = model.forward(B, T);
  const losses = rt.empty([B * T]);
  const dlogits = model.dlogitsBuffer();
  crossEntropy(rt, { logits, targets: rt.upload(d.targets, [B * T], 'u32'), weights: rt.upload(d.weights), losses, dlogits, scale: 1 / d.wsum });
  model.zeroGrad();
  model.backward(dlogits);
  const loss = Array.from(await rt.read(losses)).reduce((a, b) => a + b, 0);
  return { loss, logits: await rt.read(logits), grads: await rt.read(model.grads) };
}

function compareTensor(got: ArrayLike<number>, want: ArrayLike<number>, bound: number, what: string) {
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= bound, `${what}: element ${at} is ${got[at]}, reference ${want[at]} (|diff| ${worst.toExponential(2)} > bound ${bound.toExponential(2)})`);
}

const configs: [string, GPTConfig, number, number][] = [
  ['tied head, 3 heads × 5', { nLayer: 2, nHead: 3, dModel: 15, contextLength: 9, vocabSize: 11, tiedHead: true }, 3, 7],
  ['untied head, 2 heads × 7, T = 1', { nLayer: 1, nHead: 2, dModel: 14, contextLength: 4, vocabSize: 22, tiedHead: false }, 5, 1],
  ['untied head, 4 heads × 8, T = 33', { nLayer: 2, nHead: 4, dModel: 32, contextLength: 40, vocabSize: 22, tiedHead: false }, 2, 33],
];

for (const [label, cfg, B, T] of configs) {
  t(`logits, loss and every parameter gradient match: ${label}`, async () => {
    const rt = await testRuntime();
    const init = initParams(cfg, paramLayout(cfg, rt.viewAlign), 11);
    const model = new GPT(rt, cfg, init);
    try {
      const d = batch(cfg, B, T, 5);
      const got = await gpuLossAndGrads(rt, model, cfg, B, T, d);
      const ref = lossAndGrads(cfg, model.layout, init, d.tokens, d.targets, d.weights, B, T);
      const maxAbs = (x: ArrayLike<number>) => Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      compareTensor(got.logits, ref.logits, tol(cfg, B * T, maxAbs(ref.logits)), 'logits');
      assert.ok(Math.abs(got.loss - ref.loss) <= tol(cfg, B * T, ref.loss), `loss ${got.loss} vs ${ref.loss}`);
      for (const p of model.layout.params) {
        const want = ref.grads.subarray(p.offset, p.offset + p.size);
        const gotP = got.grads.subarray(p.offset, p.offset + p.size);
        // the key bias's gradient is exactly zero in theory (softmax is shift-invariant per query);
        // both sides hold rounding noise there, so it is held to the scale of its weight's gradient
        const weight = model.layout.byName.get(p.name.replace('bias', 'weight'))!;
        const scale = /c_attn\.bias/.test(p.name) ? maxAbs(ref.grads.subarray(weight.offset, weight.offset + weight.size)) : maxAbs(want);
        compareTensor(gotP, want, tol(cfg, B * T, scale) + 1e-12, `grad ${p.name}`);
      }
    } finally {
      model.destroy();
    }
  });
}

t('three AdamW training steps end at the reference parameters', async () => {
  const rt = await testRuntime();
  const [, cfg, B, T] = configs[0];
  const layout = paramLayout(cfg, rt.viewAlign);
  const init = initParams(cfg, layout, 3);
  const hyper = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm: 1 };
  const model = new GPT(rt, cfg, init, hyper);
  const state = { params: Float64Array.from(init), m: new Float64Array(layout.size), v: new Float64Array(layout.size) };
  const decay = new Uint8Array(layout.size);
  for (const p of layout.params) if (p.decay) decay.fill(1, p.offset, p.offset + p.size);
  try {
    for (let step = 1; step <= 3; step++) {
      const d = batch(cfg, B, T, 100 + step);
      await gpuLossAndGrads(rt, model, cfg, B, T, d);
      model.step(1e-2, step);
      const ref = lossAndGrads(cfg, layout, state.params, d.tokens, d.targets, d.weights, B, T);
      adamwRef(state, ref.grads, decay, { ...hyper, lr: 1e-2, step });
    }
    const got = await model.readParams();
    // Adam normalises each update to ~lr, so gradient rounding moves a parameter by at most
    // ~lr·(relative gradient error); three steps of lr 1e-2 with the gradient budget above.
    const bound = 3 * 1e-2 * tol(cfg, B * T, 1) * 50 + 1e-6;
    compareTensor(got, state.params, bound, 'params after 3 steps');
  } finally {
    model.destroy();
  }
});

t('forward is deterministic: two runs give identical logits', async () => {
  const rt = await testRuntime();
  const [, cfg, B, T] = configs[2];
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 9));
  try {
    const d = batch(cfg, B, T, 1);
    const a = await gpuLossAndGrads(rt, model, cfg, B, T, d);
    const b = await gpuLossAndGrads(rt, model, cfg, B, T, d);
    assert.equal(a.logits, b.logits);
    assert.equal(a.grads, b.grads);
  } finally {
    model.destroy();
  }
});

t.run();
