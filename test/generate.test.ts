// Decoding with the KV cache must see exactly what the full-sequence forward sees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { Decoder } from '../model/generate.js';
import { GPT } from '../model/gpt.js';
import { testRuntime } from './gpu.js';
import { randInts, U32 } from './helpers.js';

const t = suite('generation');
const cfg: GPTConfig = { nLayer: 2, nHead: 3, dModel: 15, contextLength: 33, vocabSize: 22, tiedHead: false };
const EOS = 2, PAD = 0;

t('decode-with-cache logits equal full-sequence logits at every position (T = 33)', async () => {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 4));
  const B = 3, T = 33;
  const tokens = randInts(B * T, cfg.vocabSize, 8).map((x) => (x === EOS ? 3 : x)); // no early stop
  rt.write(model.tokensFor(B, T), tokens);
  const full = await rt.read(model.forward(B, T));
  const dec = new Decoder(model, B, T);
  // The whole sequence is the "prompt": the decoder is teacher-forced through every position.
  const prompts = Array.from({ length: B }, (_, b) => Array.from(tokens.subarray(b * T, (b + 1) * T)));
  const gen = await dec.generate(prompts, { length: T, eos: EOS, pad: PAD, temperature: 0, seed: 0, keepLogits: true });
  const V = cfg.vocabSize;
  // Same arithmetic on a single row, though matmul variants may tile (so round) differently for
  // M = B than for M = B·T: allow the γ_K budget of a few chained reductions (K = 4C = 60).
  const gamma = (60 * U32) / (1 - 60 * U32);
  for (let pos = 0; pos < T - 1; pos++) for (let b = 0; b < B; b++) for (let v = 0; v < V; v++) {
    const want = full[(b * T + pos) * V + v], got = gen.logits![(pos * B + b) * V + v];
    assert.ok(Math.abs(got - want) <= 40 * gamma * (1 + Math.abs(want)), `b=${b} pos=${pos} v=${v}: decode ${got} vs full ${want}`);
  }
  assert.equal(Array.from(gen.tokens), Array.from(tokens), 'teacher-forced tokens kept');
  dec.destroy();
  model.destroy();
});

t('greedy generation continues each prompt with the full forward\'s argmax, then pads after EOS', async () => {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 6));
  const B = 4, L = 12;
  const prompts = [[1, 5, 6], [1, 7], [1, 8, 9, 10, 11], [1]];
  const dec = new Decoder(model, B, L);
  const gen = await dec.generate(prompts, { length: L, eos: EOS, pad: PAD, temperature: 0, seed: 0 });
  rt.write(model.tokensFor(B, L), gen.tokens);
  const full = await rt.read(model.forward(B, L));
  const V = cfg.vocabSize;
  for (let b = 0; b < B; b++) {
    let ended = false;
    for (let pos = prompts[b].length - 1; pos < L - 1; pos++) {
      const tok = gen.tokens[b * L + pos + 1];
      if (ended) { assert.is(tok, PAD, `row ${b} pads after EOS`); continue; }
      const row = full.subarray((b * L + pos) * V, (b * L + pos + 1) * V);
      const best = row.indexOf(Math.max(...row));
      // ties within rounding could flip argmax; with random weights they do not occur at this size
      assert.is(tok, best, `row ${b} position ${pos + 1}`);
      assert.ok(gen.entropy[b * L + pos + 1] > 0, 'entropy reported for generated tokens');
      if (tok === EOS) ended = true;
    }
    for (let pos = 1; pos < prompts[b].length; pos++) assert.is(gen.logprob[b * L + pos], 0, 'prompt columns carry no log-prob');
  }
  dec.destroy();
  model.destroy();
});

t('prompt prefill generates exactly what decoding every prompt position does (tokens, log-probs, entropies)', async () => {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 9));
  const B = 5, L = 20;
  // shortest prompt 4 tokens: positions 0..2 prefilled; the others teacher-forced further
  const prompts = [[1, 5, 6, 7], [1, 7, 8, 9, 10, 11], [1, 8, 9, 10, 11, 12, 13, 3], [1, 4, 4, 4], [1, 9, 8, 7, 6]];
  const dec = new Decoder(model, B, L);
  try {
    const runs = [];
    for (const prefill of [true, false]) runs.push(await dec.generate(prompts, { length: L, eos: EOS, pad: PAD, temperature: 1, seed: 3, prefill }));
    assert.equal(Array.from(runs[0].tokens), Array.from(runs[1].tokens), 'tokens');
    assert.equal(Array.from(runs[0].logprob), Array.from(runs[1].logprob), 'log-probs');
    assert.equal(Array.from(runs[0].entropy), Array.from(runs[1].entropy), 'entropies');
    assert.ok(runs[0].tokens.some((tok, i) => i % L >= prompts[Math.floor(i / L)].length && tok !== PAD), 'something was sampled');
  } finally {
    dec.destroy();
    model.destroy();
  }
});

t.run();
