// RL with rollout-activation reuse against the recompute path, end to end: the same options and
// seeds with reuse on and off must log the same rewards, losses, entropies, selections and
// gradient norms, and leave the same weights bit for bit (the captured activations are the
// forward's bits, test/reuse.test.ts), in every backward mode; with numIterations = 2 the second
// pass must run a fresh forward (reusing the first pass's activations would train on stale ones
// and leave different weights).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { RlTrainer, type RewardFn, type RlOptions } from '../train/rl.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { encode, VOCAB_SIZE } from '../verify/index.js';
import { testRuntime } from './gpu.js';

const t = suite('rl-reuse');
const cfg: GPTConfig = { nLayer: 2, nHead: 2, dModel: 16, contextLength: 16, vocabSize: VOCAB_SIZE, tiedHead: true };

const base = (o: Partial<RlOptions>): RlOptions => ({
  ...DEFAULT_RL, task: { task: 'addition', digits: 1 }, maxSteps: 3, numPrompts: 3, numGenerations: 4,
  learningRate: 1e-2, warmupSteps: 0, evalEvery: 0, evalProblems: 2, ...o,
});

/** Runs `steps` RL steps with reuse on and off from the same weights; returns both runs' metrics
 * and final weights. */
async function twin(o: RlOptions, steps: number, reward?: RewardFn) {
  const rt = await testRuntime();
  const out = [];
  for (const reuseRollout of [true, false]) {
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 7));
    const trainer = new RlTrainer(model, { ...o, reuseRollout }, reward);
    try {
      const metrics = [];
      for (let i = 0; i < steps; i++) metrics.push(await trainer.trainStep());
      out.push({ metrics, params: new Uint32Array((await model.readParams()).buffer) });
    } finally {
      trainer.destroy();
      model.destroy();
    }
  }
  return { reuse: out[0], recompute: out[1] };
}

function assertSameRun(a: Awaited<ReturnType<typeof twin>>, what: string): void {
  for (const [i, m] of a.reuse.metrics.entries()) {
    const r = a.recompute.metrics[i];
    // per-phase FLOPs and times differ by design; everything the run logs about learning must not
    for (const k of ['reward', 'accuracy', 'loss', 'entropyMean', 'selected', 'responseTokens', 'clipFraction', 'gradNorm', 'skipped', 'zeroSignalGroups'] as const) {
      assert.is(m[k], r[k], `${what} step ${i + 1}: ${k}`);
    }
    assert.equal(m.entropyHistogram, r.entropyHistogram, `${what} step ${i + 1}: entropy histogram`);
    assert.equal(m.samples, r.samples, `${what} step ${i + 1}: samples (entropy and selected rows)`);
    assert.is(r.update.reuse, 'off');
  }
  const j = a.reuse.params.findIndex((v, n) => v !== a.recompute.params[n]);
  assert.ok(j < 0, `${what}: weight ${j} differs after ${a.reuse.metrics.length} steps`);
}

for (const [backward, rho] of [['dense', 1], ['exact', 0.5], ['forkOnly', 0.5]] as const) {
  t(`reuse logs the same run and leaves the same weights bit for bit as the recompute path (${backward}, ρ = ${rho})`, async () => {
    const runs = await twin(base({ backward, topEntropyQuantile: rho, causalTail: false }), 3);
    assertSameRun(runs, backward);
    for (const m of runs.reuse.metrics) {
      assert.is(m.update.reuse, 'reused');
      assert.is(m.update.backward, rho === 1 ? 'dense' : backward);
    }
    // the skipped training forward: only entropy and the PG loss remain in the forward phase
    const fwd = (r: typeof runs.reuse) => r.metrics[0].flops.forward;
    assert.ok(fwd(runs.reuse) < 0.5 * fwd(runs.recompute), `forward FLOPs ${fwd(runs.reuse)} with reuse vs ${fwd(runs.recompute)} without`);
  });
}

t('exact mode with the causal tail (the default): reuse and recompute still agree bit for bit, and the tail is recorded', async () => {
  const runs = await twin(base({ backward: 'exact', topEntropyQuantile: 0.3 }), 2);
  assertSameRun(runs, 'causal tail');
  for (const r of [runs.reuse, runs.recompute]) for (const m of r.metrics) {
    const tail = m.update.tail;
    assert.ok(tail && tail.rows >= m.selected && tail.pairs >= tail.rows, `tail recorded: ${JSON.stringify(tail)}`);
  }
});

t('DAPO dynamic sampling that replaces groups falls back to the forward, says so, and trains as the recompute path', async () => {
  // reward: the answer starts with 7 — rare at random init, so most groups carry no signal and
  // dynamic sampling replaces them from another rollout
  const seven = encode('7')[0];
  const reward: RewardFn = (_p, ids) => ({ reward: ids[0] === seven ? 1 : 0, correct: ids[0] === seven });
  const runs = await twin(base({ backward: 'exact', topEntropyQuantile: 0.5, dynamicSampling: true, numPrompts: 4, numGenerations: 8 }), 2, reward);
  assertSameRun(runs, 'dynamic sampling');
  const reasons = runs.reuse.metrics.map((m) => m.update.reuse);
  assert.ok(reasons.includes('dynamic sampling'), `a replacement happened and the update ran the forward: ${reasons}`);
  for (const m of runs.reuse.metrics) assert.ok(m.update.reuse === 'reused' || m.update.reuse === 'dynamic sampling', m.update.reuse);
});

t('one entropy kernel: the loss ranks by the entropies the sampler recorded, bit for bit, at every response token shown', async () => {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 7));
  const trainer = new RlTrainer(model, base({ backward: 'exact', topEntropyQuantile: 0.5 }));
  try {
    rt.resetStats();
    rt.setProfiling(true);
    const { rollout: ro } = await trainer.collect(1);
    const m = await trainer.update(ro, 0, 1, trainer.o);
    assert.is(m.update.reuse, 'reused');
    let n = 0;
    m.samples.forEach((smp, b) => smp.entropy.forEach((h, i) => {
      const c = ro.promptLength[b] + i;
      assert.is(h, ro.entropy[b * ro.L + c], `row ${b} column ${c}`);
      n++;
    }));
    assert.ok(n > 8, `${n} response tokens compared`);
  } finally {
    trainer.destroy();
    model.destroy();
  }
});

t('numIterations = 2: the second pass runs a fresh forward (same weights as the recompute path, not the stale activations)', async () => {
  const runs = await twin(base({ backward: 'exact', topEntropyQuantile: 0.5, numIterations: 2 }), 2);
  assertSameRun(runs, 'two passes');
  for (const m of runs.reuse.metrics) {
    assert.is(m.update.reuse, 'reused');
    assert.is(m.update.passes, 2);
  }
  // one forward (the second pass's) instead of two
  const fr = runs.reuse.metrics[0].flops.forward, fc = runs.recompute.metrics[0].flops.forward;
  assert.ok(fr > 0.3 * fc && fr < 0.7 * fc, `forward FLOPs ${fr} with reuse vs ${fc} without: one forward of two`);
});

t.run();
