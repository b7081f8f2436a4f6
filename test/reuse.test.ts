// Rollout-activation reuse: a captured rollout must leave exactly what a training forward over its
// tokens leaves (every buffer the backward reads, bit for bit: the decode step runs the forward's
// block, kernels and matmul variants), so the gradients from reused activations equal the recompute
// path's bit for bit; and reuse must refuse activations that are stale.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attentionRows } from '../kernels/attention.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { Decoder } from '../model/generate.js';
import { GPT, type BackwardMode, type CaptureTarget } from '../model/gpt.js';
import { testRuntime } from './gpu.js';
import { randArray, rng } from './helpers.js';

const t = suite('reuse');
const EOS = 2, PAD = 0;

// odd widths (hd 5: scalar loads, C 15: no vec4 rows) and vec4 ones (hd 8, C 32, untied head)
const CONFIGS: GPTConfig[] = [
  { nLayer: 2, nHead: 3, dModel: 15, contextLength: 24, vocabSize: 22, tiedHead: true },
  { nLayer: 2, nHead: 4, dModel: 32, contextLength: 24, vocabSize: 20, tiedHead: false },
];

/** Every buffer of the target, read back, by name. */
async function readAll(rt: Runtime, a: CaptureTarget): Promise<Map<string, Uint32Array>> {
  const out = new Map<string, Uint32Array>();
  const put = async (name: string, x: Tensor) => out.set(name, new Uint32Array((await rt.readF32(x)).buffer));
  await put('x0', a.x0);
  for (const [l, b] of a.blocks.entries()) for (const [k, x] of Object.entries(b)) await put(`h.${l}.${k}`, x);
  for (const k of ['lnf', 'lnfMean', 'lnfRstd', 'logits'] as const) await put(k, a[k]);
  out.set('tokens', (await rt.read(a.tokens)) as Uint32Array);
  return out;
}

function sameBits(a: Map<string, Uint32Array>, b: Map<string, Uint32Array>, what: string): void {
  assert.equal([...a.keys()], [...b.keys()]);
  for (const [k, x] of a) {
    const y = b.get(k)!;
    assert.is(x.length, y.length, `${what}: ${k} length`);
    const i = x.findIndex((v, j) => v !== y[j]);
    assert.ok(i < 0, `${what}: ${k}[${i}] differs: ${new Float32Array(x.buffer)[i]} vs ${new Float32Array(y.buffer)[i]}`);
  }
}

/** Prompts of minLen..minLen+4 tokens (the first exactly minLen): positions before the shortest
 * prompt's last token are prefilled in one pass, the rest teacher-forced, then sampled at
 * temperature 1. */
function prompts(B: number, V: number, seed: number, minLen: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: B }, (_, b) => Array.from({ length: minLen + (b ? Math.floor(r() * 5) : 0) }, () => 3 + Math.floor(r() * (V - 3))));
}

async function capturedRollout(rt: Runtime, model: GPT, B: number, L: number, seed: number, minLen = 1) {
  const dec = new Decoder(model, B, L);
  try {
    const gen = await dec.generate(prompts(B, model.cfg.vocabSize, seed, minLen), { length: L, eos: EOS, pad: PAD, temperature: 1, seed, capture: true });
    return gen;
  } finally {
    dec.destroy();
  }
}

for (const [c, cfg] of CONFIGS.entries()) {
  // the first config decodes every position (a 1-token prompt: nothing to prefill), the second
  // prefills 4 positions of every sequence first
  const minLen = c === 0 ? 1 : 5;
  const name = `C ${cfg.dModel}, H ${cfg.nHead}, ${c === 0 ? 'no prefill' : 'prompt prefill'}`;

  t(`a captured rollout leaves the training forward's activations bit for bit (${name})`, async () => {
    const rt = await testRuntime();
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 11));
    try {
      // B = 7 rows, L = 19: M = B = 7 for the decode's matmuls, B·T = 126 for the forward's
      const B = 7, L = 19, T = L - 1;
      const gen = await capturedRollout(rt, model, B, L, 5, minLen);
      assert.ok(model.reuse(gen.ticket!, B, T), 'the capture is reusable right after the rollout');
      const captured = await readAll(rt, model.activationBuffers()!);
      const tokens = new Uint32Array(B * T);
      for (let b = 0; b < B; b++) tokens.set(gen.tokens.subarray(b * L, b * L + T), b * T);
      rt.write(model.tokensFor(B, T), tokens);
      model.forward(B, T);
      const forward = await readAll(rt, model.activationBuffers()!);
      sameBits(captured, forward, 'capture vs forward');
      assert.is(model.reuse(gen.ticket!, B, T), null, 'a forward overwrote the capture');
    } finally {
      model.destroy();
    }
  });

  t(`backward from reused activations equals the recompute path bit for bit: dense, exact, fork-only (${name})`, async () => {
    const rt = await testRuntime();
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 12));
    try {
      const B = 5, L = 17, T = L - 1, N = B * T, V = cfg.vocabSize;
      const r = rng(3);
      const ids = [...new Set(Array.from({ length: 23 }, () => Math.floor(r() * N)))];
      for (const mode of ['dense', 'exact', 'forkOnly'] as BackwardMode[]) {
        const grads: Uint32Array[] = [];
        for (const reuse of [true, false]) {
          const gen = await capturedRollout(rt, model, B, L, 9, minLen);
          const tokens = new Uint32Array(N);
          for (let b = 0; b < B; b++) tokens.set(gen.tokens.subarray(b * L, b * L + T), b * T);
          if (reuse) assert.ok(model.reuse(gen.ticket!, B, T), 'capture reusable');
          else {
            rt.write(model.tokensFor(B, T), tokens);
            model.forward(B, T);
          }
          // dlogits on the selected rows only (zero elsewhere), as the PG loss writes it
          const d = randArray(N * V, 21);
          const sel = new Set(ids);
          for (let row = 0; row < N; row++) if (!sel.has(row)) d.fill(0, row * V, (row + 1) * V);
          const dlogits = model.dlogitsBuffer();
          rt.write(dlogits, d);
          const rows = attentionRows(rt, ids, { B, T });
          model.zeroGrad();
          model.backward(dlogits, mode === 'dense' ? {} : { rows, mode });
          grads.push(new Uint32Array((await rt.readF32(model.grads)).buffer));
          rows.index.buffer.destroy();
          rows.list.buffer.destroy();
        }
        const i = grads[0].findIndex((v, j) => v !== grads[1][j]);
        assert.ok(i < 0, `${mode}: gradient ${i} differs between reuse and recompute`);
        assert.ok(grads[0].some((v) => v !== 0), `${mode}: the gradient is not all zero`);
      }
    } finally {
      model.destroy();
    }
  });
}

t('reuse refuses stale activations: after a weight update, another capture, a forward, or a change of shape', async () => {
  const rt = await testRuntime();
  const cfg = CONFIGS[0];
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 13));
  try {
    const B = 3, L = 9, T = L - 1;
    let gen = await capturedRollout(rt, model, B, L, 1);
    assert.ok(model.reuse(gen.ticket!, B, T));
    assert.is(model.reuse(gen.ticket!, B, T + 1), null, 'another shape');
    model.zeroGrad();
    model.step(1e-3, 1);
    assert.is(model.reuse(gen.ticket!, B, T), null, 'the weights changed');
    gen = await capturedRollout(rt, model, B, L, 2);
    const first = gen.ticket!;
    gen = await capturedRollout(rt, model, B, L, 3);
    assert.is(model.reuse(first, B, T), null, 'a later capture overwrote it');
    assert.ok(model.reuse(gen.ticket!, B, T));
    model.loadParams(await model.readParams());
    assert.is(model.reuse(gen.ticket!, B, T), null, 'loadParams counts as a weight change');
  } finally {
    model.destroy();
  }
});

t.run();
