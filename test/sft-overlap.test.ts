// SFT with one step in flight (SftHooks.syncAfter): step n + 1 is submitted before step n's results
// reach the hooks. Checked against the same run without the hook, from the same weights: every
// loss, gradient norm, evaluation and final weight bit for bit; the overlap really happens (submit
// order); the model a checkpoint hook sees at a sync step is the one that step left; a planned stop
// is exact; and a run of non-finite steps still stops with no step after it (weights unchanged).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { injectNonFinite } from '../train/faults.js';
import { NonFiniteError } from '../train/loop.js';
import { trainSft, type SftHooks, type SftOptions, type SftStepMetrics } from '../train/sft.js';
import { VOCAB_SIZE, type TaskConfig } from '../verify/index.js';
import { testRuntime } from './gpu.js';

const t = suite('sft-overlap');

const cfg: GPTConfig = { nLayer: 2, nHead: 2, dModel: 16, contextLength: 16, vocabSize: VOCAB_SIZE, tiedHead: true };
const task: TaskConfig = { task: 'addition', digits: 2 };
// evaluations at 4 and 8 are sync points; 11 steps so the last is not one of them
const SFT: SftOptions = { task, steps: 11, batchSize: 8, learningRate: 1e-2, warmupSteps: 2, seed: 5, evalEvery: 4, evalProblems: 6, labelNoise: 0.5 };

interface Trace {
  steps: SftStepMetrics[];
  evals: { step: number; acc: number }[];
  /** 'submit' per readMany (one per step), `step n` per onStep: the order shows the overlap */
  events: string[];
  checkpoints: { step: number; last: boolean; data: number; params?: number[] }[];
  params: number[];
}

async function run(o: { overlap: boolean; syncAt?: number[]; stopAfterStepHook?: number; poison?: number[]; readAt?: number[] }): Promise<Trace & { error?: unknown }> {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 3));
  const tr: Trace & { error?: unknown } = { steps: [], evals: [], events: [], checkpoints: [], params: [] };
  const readMany = rt.readMany.bind(rt);
  rt.readMany = (ts) => {
    if (ts.includes(model.opt.norm)) tr.events.push('submit');
    return readMany(ts);
  };
  if (o.poison) injectNonFinite(model, (step) => (o.poison!.includes(step) ? 'grad' : null));
  let seen = 0;
  const hooks: SftHooks = {
    onStep: (m) => {
      tr.steps.push(m);
      tr.events.push(`step ${m.step}`);
      seen = m.step;
    },
    onEval: (m) => void tr.evals.push({ step: m.step, acc: m.heldoutAccuracy }),
    shouldStop: () => o.stopAfterStepHook !== undefined && seen >= o.stopAfterStepHook,
    onCheckpoint: async (c) => {
      const params = o.readAt?.includes(c.step) ? Array.from(await model.readParams()) : undefined;
      tr.checkpoints.push({ step: c.step, last: c.last, data: c.data, params });
    },
    ...(o.overlap ? { syncAfter: (step: number) => o.syncAt?.includes(step) ?? false } : {}),
  };
  try {
    await trainSft(model, SFT, hooks, { nonFinitePatience: 3 });
  } catch (e) {
    tr.error = e;
  }
  tr.params = Array.from(await model.readParams());
  rt.readMany = readMany;
  model.destroy();
  return tr;
}

function sameBits(a: number[], b: number[], what: string): void {
  assert.is(a.length, b.length, `${what}: length`);
  const i = a.findIndex((x, j) => !Object.is(x, b[j]));
  assert.is(i, -1, `${what}: element ${i} is ${a[i]} one way and ${b[i]} the other`);
}

t('one step in flight: the same losses, norms, evaluations, checkpoint positions and weights, bit for bit', async () => {
  const seq = await run({ overlap: false });
  const ovl = await run({ overlap: true });
  assert.is(seq.steps.length, SFT.steps);
  sameBits(ovl.steps.map((s) => s.loss), seq.steps.map((s) => s.loss), 'losses');
  sameBits(ovl.steps.map((s) => s.gradNorm), seq.steps.map((s) => s.gradNorm), 'gradient norms');
  assert.equal(ovl.steps.map((s) => [s.step, s.lr, s.tokens]), seq.steps.map((s) => [s.step, s.lr, s.tokens]));
  assert.equal(ovl.evals, seq.evals);
  assert.equal(ovl.checkpoints.map((c) => [c.step, c.last, c.data]), seq.checkpoints.map((c) => [c.step, c.last, c.data]));
  sameBits(ovl.params, seq.params, 'final weights');

  // without the hook, each step is handled before the next is submitted
  const order = (tr: Trace) => tr.events.map((e) => (e === 'submit' ? 's' : 'h')).join('');
  assert.is(order(seq), 'sh'.repeat(SFT.steps));
  // with it, step n's hooks run after step n + 1 was submitted, except after the evaluation steps
  // (4, 8), which wait for their own model
  const handled = (tr: Trace, n: number) => tr.events.indexOf(`step ${n}`);
  const submitted = (tr: Trace, n: number) => { let k = 0; return tr.events.findIndex((e) => e === 'submit' && ++k === n); };
  for (let n = 1; n < SFT.steps; n++) {
    const waits = n % SFT.evalEvery === 0;
    assert.is(handled(ovl, n) < submitted(ovl, n + 1), waits, `step ${n}: ${waits ? 'an evaluation step waits' : 'overlaps the next'}`);
  }
});

t('a sync step: its checkpoint hook reads the weights that step left; a planned stop there is exact', async () => {
  // the weights after step 6, sequentially
  const seq = await run({ overlap: false, readAt: [6], stopAfterStepHook: 6 });
  const ovl = await run({ overlap: true, syncAt: [6], readAt: [6], stopAfterStepHook: 6 });
  assert.equal(seq.steps.map((s) => s.step), [1, 2, 3, 4, 5, 6]);
  assert.equal(ovl.steps.map((s) => s.step), [1, 2, 3, 4, 5, 6], 'the stop at a sync step is exact');
  const cs = seq.checkpoints.find((c) => c.step === 6)!, co = ovl.checkpoints.find((c) => c.step === 6)!;
  assert.ok(cs.last && co.last, 'step 6 is the last');
  sameBits(co.params!, cs.params!, 'weights seen at the step-6 checkpoint');
});

t('a stop requested during an overlapped step takes effect one step later, with a consistent last checkpoint', async () => {
  const ovl = await run({ overlap: true, readAt: [6], stopAfterStepHook: 5 });
  assert.equal(ovl.steps.map((s) => s.step), [1, 2, 3, 4, 5, 6]);
  const last = ovl.checkpoints[ovl.checkpoints.length - 1];
  assert.equal([last.step, last.last], [6, true]);
  const seq = await run({ overlap: false, readAt: [6], stopAfterStepHook: 6 });
  sameBits(last.params!, seq.checkpoints.find((c) => c.step === 6)!.params!, 'the last checkpoint holds the weights after step 6');
});

t('non-finite steps in a row stop training with no step after them, weights as the last good step left them', async () => {
  const ovl = await run({ overlap: true, poison: [2, 3, 5, 6, 7] });
  const seq = await run({ overlap: false, poison: [2, 3, 5, 6, 7] });
  assert.instance(ovl.error, NonFiniteError);
  assert.is((ovl.error as Error).message, (seq.error as Error).message);
  assert.equal(ovl.steps.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7], 'no step after the third skip in a row');
  sameBits(ovl.params, seq.params, 'weights (those after step 4)');
});

t.run();
