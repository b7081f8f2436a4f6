// The pipeline's bookkeeping without a GPU: the seed plan's streams (the numbers every recorded run
// used), the RL accounts (phase totals, dense FLOPs, a resumed run continuing them), and the one
// place a resumed run's settings are merged.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunOptions } from '../train/cli.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { RlAccounts } from '../train/pipeline.js';
import { resumedOptions } from '../train/resume.js';
import type { RlStepMetrics } from '../train/schema.js';
import { COMMON_EVALUATION_SEEDS, seedPlan } from '../train/seeds.js';

const t = suite('pipeline');

t('seed plan: the streams every recorded run used, apart from each other', () => {
  const p = seedPlan(5);
  assert.equal([p.init, p.sftData, p.labelNoise, p.heldout, p.rlData], [5, 5, 5, 6, 1005]);
  assert.is(p.rollout(3), 5 * 1_000_003 + 3 * 7919);
  assert.is(p.rollout(3, 2), 5 * 1_000_003 + 3 * 7919 + 2);
  assert.equal([p.evaluation.final, p.evaluation.curve(4), p.evaluation.decoding, p.evaluation.bootstrap], [12, 4012, 43, 16]);
  assert.equal([COMMON_EVALUATION_SEEDS.final, COMMON_EVALUATION_SEEDS.curve(2), COMMON_EVALUATION_SEEDS.decoding, COMMON_EVALUATION_SEEDS.bootstrap], [7, 2007, 38, 11]);
  assert.throws(() => seedPlan(-1), /seed -1 must be a non-negative integer/);
  assert.throws(() => seedPlan(1.5), /seed 1\.5 must be a non-negative integer/);
});

const step = (i: number): RlStepMetrics => ({
  stage: 'rl', step: i, reward: 0, accuracy: 0, loss: 0, entropyMean: 0, selected: 1, responseTokens: 1, zeroSignalGroups: 0, clipFraction: 0,
  gradNorm: 1, skipped: false, gradCosine: null,
  flops: { rollout: 10 * i, forward: 0.1 * i, backward: 3 + i, optimizer: 1 }, ms: { rollout: 1, forward: 2, backward: 3, optimizer: 0.5 * i },
  entropyHistogram: { edges: [], counts: [], threshold: 0.672 }, samples: [],
});

t('RL accounts: per-phase sums in order, the diagnostic apart, and a resumed run continues them bit for bit', () => {
  const a = new RlAccounts();
  assert.equal(a.toTotals(), {}, 'nothing before the first step');
  assert.is(a.backwardFlopsSaved(), 0);
  const dense = (i: number) => ({ backward: 10 * (3 + i), step: 100 * i });
  for (let i = 1; i <= 5; i++) a.add(step(i), dense(i), i === 2 ? { flops: 7, ms: 1 } : undefined);
  let fwd = 0;
  for (let i = 1; i <= 5; i++) fwd += 0.1 * i;
  assert.is(a.flops.forward, fwd, 'summed in step order');
  assert.is(a.flops.diagnostic, 7);
  assert.equal(a.training(), { flops: a.flops.rollout + a.flops.forward + a.flops.backward + a.flops.optimizer, backwardFlops: 30, gpuMs: a.ms.rollout + a.ms.forward + a.ms.backward + a.ms.optimizer });
  assert.is(a.backwardFlopsSaved(), 1 - 30 / 300);
  assert.is(a.denseStepFlops, 1500);
  assert.is(a.stepFlopsSaved(), 1 - a.training().flops / 1500, 'whole steps: the four phases against the dense steps');
  // interrupted after step 3, continued from the saved totals (as a checkpoint's JSON holds them)
  const b = new RlAccounts();
  for (let i = 1; i <= 3; i++) b.add(step(i), dense(i));
  const saved = JSON.parse(JSON.stringify({ totals: b.toTotals(), dense: b.denseBackwardFlops, denseStep: b.denseStepFlops }));
  const c = RlAccounts.from(saved.totals, saved.dense, saved.denseStep);
  for (let i = 4; i <= 5; i++) c.add(step(i), dense(i));
  assert.equal(c.toTotals(), a.toTotals());
  assert.is(c.denseBackwardFlops, a.denseBackwardFlops);
  assert.is(c.stepFlopsSaved(), a.stepFlopsSaved());
  // a checkpoint written before whole-step accounting has no dense-step total: the ratio is unknown, not wrong
  const old = RlAccounts.from(saved.totals, saved.dense);
  for (let i = 4; i <= 5; i++) old.add(step(i), dense(i));
  assert.ok(Number.isNaN(old.stepFlopsSaved()), 'unknown after a resume from an older checkpoint');
  assert.ok(Number.isNaN(RlAccounts.from(saved.totals, saved.dense, null).stepFlopsSaved()), 'NaN written to JSON reads back as unknown');
  assert.equal(Object.keys(a.toTotals()), ['rollout', 'forward', 'backward', 'optimizer'], 'summary.json key order');
});

t('resume: saved settings win, except the process flags given anew', () => {
  const saved = { saveSteps: 20, nonFinitePatience: 3, rl: DEFAULT_RL, seed: 1 } as unknown as RunOptions;
  const cli = { saveSteps: 5, nonFinitePatience: 9, rl: { ...DEFAULT_RL, maxSteps: 7 }, seed: 2 } as unknown as RunOptions;
  assert.equal(resumedOptions(saved, cli, new Set()), saved);
  const r = resumedOptions(saved, cli, new Set(['saveSteps', 'seed'] as const));
  assert.is(r.saveSteps, 5);
  assert.is(r.nonFinitePatience, 3);
  assert.is(r.seed, 1, 'a computed-number setting never comes from the command line');
  assert.is(r.rl, DEFAULT_RL);
});

t.run();
