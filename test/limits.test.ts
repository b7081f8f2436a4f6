// train/limits.ts plans the buffers a run allocates. With rollout reuse (RlOptions.reuseRollout) the
// rollout decoder keeps a staging copy of the captured activations while it lives
// (model/generate.ts stagingFor): the plan must list exactly the buffers that staging allocates,
// measured here by recording every buffer the runtime creates during a captured rollout (the
// GPUBuffer sizes Dawn reports), and a staging buffer over the limit must be named with its fix.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Runtime } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { Decoder } from '../model/generate.js';
import { GPT } from '../model/gpt.js';
import { rolloutLength } from '../train/evaluate.js';
import { captureStagingBuffers, checkBufferLimits, MAX_VIEW_ALIGN, plannedBytes, runBuffers, type RunSizes } from '../train/limits.js';
import { taskConfig } from '../verify/index.js';
import { testRuntime } from './gpu.js';
import { rng } from './helpers.js';

const t = suite('limits');
const EOS = 2, PAD = 0;

// odd widths (C 15: no slab of B·W is a multiple of the alignment) and aligned ones (C 16, B 4)
const CASES: { cfg: GPTConfig; B: number; L: number; minLen: number }[] = [
  { cfg: { nLayer: 2, nHead: 3, dModel: 15, contextLength: 24, vocabSize: 22, tiedHead: true }, B: 3, L: 11, minLen: 1 },
  { cfg: { nLayer: 1, nHead: 2, dModel: 16, contextLength: 24, vocabSize: 22, tiedHead: false }, B: 4, L: 13, minLen: 4 },
];

/** Every buffer rt.empty creates while `fn` runs: its label and the GPUBuffer's size in bytes. */
async function allocations(rt: Runtime, fn: () => Promise<unknown>): Promise<{ label: string; bytes: number }[]> {
  const log: { label: string; bytes: number }[] = [];
  const empty = rt.empty;
  rt.empty = function (this: Runtime, ...args: Parameters<Runtime['empty']>) {
    const x = empty.apply(this, args);
    log.push({ label: x.label, bytes: x.buffer.size });
    return x;
  };
  try {
    await fn();
  } finally {
    rt.empty = empty;
  }
  return log;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

for (const { cfg, B, L, minLen } of CASES) {
  t(`the plan's capture staging is every buffer a captured rollout adds, byte for byte (C ${cfg.dModel}, B ${B}, prompts ≥ ${minLen})`, async () => {
    const rt = await testRuntime();
    const layout = paramLayout(cfg, rt.viewAlign);
    const model = new GPT(rt, cfg, initParams(cfg, layout, 3));
    const dec = new Decoder(model, B, L);
    try {
      // the capture target is the model's training activations ([B, L − 1], counted by trainingBuffers):
      // allocate them first, so what the rollout allocates is the decoder's own
      model.tokensFor(B, L - 1);
      const r = rng(5);
      const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: minLen + (b ? Math.floor(r() * 3) : 0) }, () => 3 + Math.floor(r() * (cfg.vocabSize - 3))));
      const rollout = (seed: number) => dec.generate(prompts, { length: L, eos: EOS, pad: PAD, temperature: 1, seed, capture: true });
      const first = await allocations(rt, () => rollout(1));
      const staging = first.filter((a) => a.label.startsWith('decode staging '));
      // besides the staging: the prompt prefill (any rollout has it) and, the first time a runtime
      // needs them, kernels/matmul.ts's 16-byte placeholders for unused bindings (one per runtime)
      const other = first.filter((a) => !a.label.startsWith('decode staging ') && !a.label.startsWith('prefill ') && !(a.label.startsWith('matmul unused ') && a.bytes === 16));
      assert.equal(other.map((a) => a.label), [], 'a captured rollout allocates only its staging, the prefill and matmul placeholders');
      if (minLen > 1) assert.ok(first.some((a) => a.label.startsWith('prefill ')), 'this case prefills');

      const plan = captureStagingBuffers(cfg, B, L - 1, rt.viewAlign, 'RL rollout');
      assert.is(staging.length, plan.length, `${staging.length} staging buffers allocated, ${plan.length} planned`);
      assert.equal(sorted(staging.map((a) => a.bytes)), sorted(plan.map(plannedBytes)), 'each planned buffer has the size of one allocated');
      const total = staging.reduce((s, a) => s + a.bytes, 0);
      assert.is(plan.reduce((s, b) => s + plannedBytes(b), 0), total);
      // the staging is one more copy of the activations the update reuses: at least their bytes
      const acts = model.activationBuffers()!;
      const copied = [acts.x0, ...acts.blocks.flatMap((b) => Object.entries(b).filter(([k]) => k !== 'attSaved').map(([, x]) => x)), acts.lnf, acts.lnfMean, acts.lnfRstd, acts.logits];
      assert.ok(total >= copied.reduce((s, x) => s + 4 * x.size, 0), 'the staging holds every activation it hands over');

      // the decoder keeps it: a second captured rollout of the same length allocates nothing
      const second = await allocations(rt, () => rollout(2));
      assert.equal(second.map((a) => a.label), [], 'the staging lives as long as the decoder');

      // the run's plan: the rollout decoder's staging with reuse on (the default), none with it off
      const task = taskConfig('addition', 1);
      const sizes: RunSizes = { task, rl: { numPrompts: B, numGenerations: 1, evalProblems: 1 }, viewAlign: rt.viewAlign };
      const T = rolloutLength(cfg, task) - 1;
      const withReuse = runBuffers(cfg, sizes);
      const without = runBuffers(cfg, { ...sizes, rl: { ...sizes.rl!, reuseRollout: false } });
      const extra = withReuse.filter((b) => b.what.includes('capture staging'));
      assert.equal(extra, captureStagingBuffers(cfg, B, T, rt.viewAlign, 'RL rollout'));
      assert.is(withReuse.length - without.length, extra.length);
      assert.equal(runBuffers(cfg, { ...sizes, rl: { ...sizes.rl!, reuseRollout: true } }), withReuse, 'reuse is on unless false');
      assert.not.ok(without.some((b) => b.what.includes('capture staging')));
    } finally {
      dec.destroy();
      model.destroy();
    }
  });
}

t('without the adapter\'s alignment the plan bounds the staging from above (256-byte slabs)', () => {
  const { cfg, B } = CASES[0];
  for (const align of [1, 4, 16, 64]) {
    const exact = captureStagingBuffers(cfg, B, 10, align, 'x').map(plannedBytes);
    const bound = captureStagingBuffers(cfg, B, 10, MAX_VIEW_ALIGN, 'x').map(plannedBytes);
    exact.forEach((e, i) => assert.ok(e <= bound[i], `align ${align}: buffer ${i} ${e} > ${bound[i]}`));
  }
  const task = taskConfig('addition', 1);
  assert.equal(runBuffers(cfg, { task, rl: { numPrompts: B, numGenerations: 1, evalProblems: 1 } }), runBuffers(cfg, { task, rl: { numPrompts: B, numGenerations: 1, evalProblems: 1 }, viewAlign: MAX_VIEW_ALIGN }));
});

t('a staging buffer over the limit is named, with its size, the limit and both fixes; reuse off then passes', () => {
  // C 15, B 24: each staging slab of B·4C = 1440 elements is rounded up to 1472, so the staging's fch
  // buffer is bigger than the training forward's [B·T, 4C], the largest buffer of the run without it
  const cfg: GPTConfig = { nLayer: 1, nHead: 3, dModel: 15, contextLength: 24, vocabSize: 22, tiedHead: true };
  const task = taskConfig('addition', 1);
  const sizes: RunSizes = { task, rl: { numPrompts: 3, numGenerations: 8, evalProblems: 1, reuseRollout: false }, viewAlign: 64 };
  const limit = Math.max(...runBuffers(cfg, sizes).map(plannedBytes));
  const limits = { maxBufferSize: limit, maxStorageBufferBindingSize: limit + 1024 };
  checkBufferLimits(limits, runBuffers(cfg, sizes)); // fits without reuse
  const over = runBuffers(cfg, { ...sizes, rl: { ...sizes.rl!, reuseRollout: true } }).find((b) => plannedBytes(b) > limit);
  assert.ok(over && over.what.includes('capture staging'), 'precondition: only a staging buffer is over');
  try {
    checkBufferLimits(limits, runBuffers(cfg, { ...sizes, rl: { ...sizes.rl!, reuseRollout: true } }));
    assert.unreachable('the staging is over the limit');
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(m.startsWith(`the RL rollout capture staging of the h.0.fch [${over.shape[0]}] would need`), m);
    assert.ok(m.includes(`(${plannedBytes(over)} bytes), over this adapter's limit`) && m.includes(`(${limit} bytes) per buffer`), m);
    assert.ok(m.endsWith('; use a smaller batch or model, or run without rollout reuse (--reuse_rollout false)'), m);
  }
  // buffers without a fix of their own keep the message as it was
  try {
    checkBufferLimits({ maxBufferSize: 16, maxStorageBufferBindingSize: 16 }, runBuffers(cfg, sizes));
    assert.unreachable('parameters are over 16 bytes');
  } catch (e) {
    assert.ok((e as Error).message.startsWith('the parameters ['), (e as Error).message);
    assert.ok((e as Error).message.endsWith('per buffer; use a smaller batch or model'), (e as Error).message);
  }
});

t.run();
