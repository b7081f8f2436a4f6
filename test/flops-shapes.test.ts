// The analytic FLOP model on shapes nothing here can run (model/flops.ts FlopShape: the projection's
// GPT-2 and Qwen3 shapes), checked against facts that do not come from the model: the published
// parameter counts, and the rule that a forward's matmuls cost 2 FLOPs per weight per row and the
// backward's 4 (dX and dW), the attention core and the elementwise work apart.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { paramCount } from '../model/config.js';
import { gptFlopShape, predictBackwardFlops, predictForwardFlops, predictStepFlops, type FlopShape } from '../model/flops.js';

const t = suite('flops-shapes');

// GPT-2 small as Hugging Face ships it: 124,439,808 parameters (wte 50257×768 tied, wpe 1024×768)
const gpt2small = { nLayer: 12, nHead: 12, dModel: 768, contextLength: 1024, vocabSize: 50257, tiedHead: true };

t('GPT-2 small: the shape knows its 124,439,808 parameters', () => {
  assert.is(paramCount(gpt2small), 124_439_808);
  assert.is(gptFlopShape(gpt2small).params, 124_439_808);
});

/** Qwen3-8B's weight matrices by the published config (hidden 4096, 36 layers, 32 q heads and 8 kv
 * heads of 128, intermediate 12288, vocab 151936, untied head), listed per tensor. */
const q8 = { C: 4096, L: 36, Q: 32 * 128, KV: 8 * 128, F: 12288, V: 151936 };
const qwenMatrices = (q: typeof q8) => [
  ...Array.from({ length: q.L }, () => [
    [q.Q, q.C], [q.KV, q.C], [q.KV, q.C], [q.C, q.Q], // q_proj, k_proj, v_proj, o_proj
    [q.F, q.C], [q.F, q.C], [q.C, q.F], // gate_proj, up_proj, down_proj
  ]).flat(),
  [q.V, q.C], // lm_head (the embedding is a lookup, no matmul)
];
const shape8: FlopShape = { nLayer: q8.L, dModel: q8.C, qDim: q8.Q, kvDim: q8.KV, ffn: q8.F, gated: true, vocabSize: q8.V, bias: false, params: 0 };

t('Qwen3-8B shape: matmul FLOPs are 2 per weight per row forward and 4 backward', () => {
  const weights = qwenMatrices(q8).reduce((s, [a, b]) => s + a * b, 0);
  // published: 8.2B parameters, 6.95B of them outside the embeddings; the matrices above are those
  // 6.95B plus the untied head (0.62B)
  assert.ok(Math.abs(weights - (6.95e9 + 0.622e9)) < 0.01e9, `${weights}`);
  const n = 7, C = q8.C, F = q8.F, L = q8.L;
  // forward elementwise terms: embedding n·C, per layer two norms 8nC each and the activation 9nF, final norm 8nC
  const elementwise = n * C + L * (16 * n * C + 9 * n * F) + 8 * n * C;
  assert.is(predictForwardFlops(shape8, n, 0) - elementwise, 2 * n * weights);
  // backward (dense, no attention pairs are possible with T = 1 per sequence, so B = n, T = 1):
  // attention core 2·Q per row + 8·Q per pair (one pair per row), norms 16nC (+1 accumulate) and
  // the final norm 15nC, activation 19nF, embedding 2nC
  const bwdElementwise = L * (2 * q8.Q * n + 8 * q8.Q * n + 2 * 16 * n * C + 19 * n * F) + 15 * n * C + 2 * n * C;
  assert.is(predictBackwardFlops(shape8, n, 1, n, 'dense') - bwdElementwise, 4 * n * weights);
});

t('whole step: reuse removes exactly one training forward, passes repeat the update', () => {
  const st = { B: 3, L: 20, k: 9, mode: 'exact' as const, prefill: 4 };
  const a = predictStepFlops(shape8, st), b = predictStepFlops(shape8, { ...st, reuse: true, capture: false });
  assert.is(a.forward - b.forward, predictForwardFlops(shape8, 3 * 19, (3 * 19 * 20) / 2));
  assert.is(a.backward, b.backward);
  const two = predictStepFlops(shape8, { ...st, reuse: true, capture: false, passes: 2 });
  assert.is(two.backward, 2 * a.backward);
  assert.is(two.forward, a.forward + b.forward);
  assert.is(two.rollout, a.rollout);
  assert.throws(() => predictStepFlops(shape8, { ...st, prefill: 19 }), /prefill/);
  assert.throws(() => predictBackwardFlops(shape8, 2, 5, 3, 'forkOnly', undefined, { rows: 8, pairs: 20 }), /exact backward only/);
});

t.run();
