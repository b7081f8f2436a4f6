// The SFT warm-start cache (train/warmstart.ts): keyed by what changes the trained weights only, so
// an evaluation setting reuses it and a training setting retrains; a reused warm start never
// reports a held-out accuracy measured on other problems than the ones asked for; caches written
// under the old key (every SFT option) are still found.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { GPTConfig } from '../model/config.js';
import type { SftOptions } from '../train/sft.js';
import { legacySftCacheKey, SFT_EVAL_ONLY, sftCacheKey, warmStart } from '../train/warmstart.js';
import { testRuntime } from './gpu.js';

const t = suite('warmstart');
const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-warm-'));
t.after(() => rmSync(tmp, { recursive: true, force: true }));

const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, vocabSize: 22, tiedHead: true };
const sft: SftOptions = {
  task: { task: 'addition', digits: 2 }, steps: 10, batchSize: 16, learningRate: 1e-2, warmupSteps: 2, seed: 3,
  evalEvery: 0, evalProblems: 16, labelNoise: 0.25,
};

/** A different value of each SFT option that changes the weights. */
const TRAINING_CHANGES: { [K in keyof SftOptions]?: SftOptions[K] } = {
  task: { task: 'addition', digits: 3 }, steps: 11, batchSize: 17, learningRate: 2e-2, warmupSteps: 3, seed: 4, labelNoise: 0.5,
};

t('the key ignores evaluation settings and option order, and changes with every training setting and the model', () => {
  const key = sftCacheKey(cfg, sft);
  assert.is(sftCacheKey(cfg, { ...sft, evalEvery: 5 }), key, 'evalEvery');
  assert.is(sftCacheKey(cfg, { ...sft, evalProblems: 200 }), key, 'evalProblems');
  const reordered = Object.fromEntries(Object.entries(sft).reverse()) as unknown as SftOptions;
  assert.is(sftCacheKey({ ...cfg }, reordered), key, 'option order');
  assert.is(sftCacheKey(cfg, { ...sft, labelNoise: 0 }), sftCacheKey(cfg, { ...sft, labelNoise: undefined }), 'labelNoise 0 is the default');
  // every option is either evaluation-only or part of the key: a new option cannot slip out of it
  for (const k of Object.keys(sft) as (keyof SftOptions)[]) {
    if ((SFT_EVAL_ONLY as readonly string[]).includes(k)) continue;
    assert.ok(k in TRAINING_CHANGES, `the test covers ${k}`);
    assert.is.not(sftCacheKey(cfg, { ...sft, [k]: TRAINING_CHANGES[k] }), key, k);
  }
  for (const [k, v] of Object.entries({ nLayer: 2, nHead: 4, dModel: 32, contextLength: 17, tiedHead: false })) {
    assert.is.not(sftCacheKey({ ...cfg, [k]: v }, sft), key, k);
  }
});

t('an evaluation-only change reuses the cache; the accuracy is re-measured when the problem count differs; a training change retrains', async () => {
  const rt = await testRuntime();
  const root = join(tmp, 'cache');
  const a = await warmStart(rt, cfg, sft, { cacheRoot: root });
  assert.not.ok(a.reused);
  assert.is(a.heldoutProblems, 16);
  const params = await a.model.readParams();

  // same problem count, other evaluation schedule: reused, the recorded accuracy is for these problems
  const b = await warmStart(rt, cfg, { ...sft, evalEvery: 3 }, { cacheRoot: root });
  assert.ok(b.reused, 'evalEvery alone must not retrain');
  assert.is(b.cacheDir, a.cacheDir);
  assert.not.ok(b.remeasured);
  assert.is(b.heldoutAccuracy, a.heldoutAccuracy);
  assert.equal(Array.from(await b.model.readParams()), Array.from(params));

  // another problem count: reused, and the accuracy is measured on those problems
  const c = await warmStart(rt, cfg, { ...sft, evalProblems: 40 }, { cacheRoot: root });
  assert.ok(c.reused, 'evalProblems alone must not retrain');
  assert.ok(c.remeasured, 'an accuracy on 16 problems is not reported as one on 40');
  assert.is(c.heldoutProblems, 40);

  // the same settings trained from scratch, evaluating every 3 steps on 40 problems: the weights are
  // bit for bit those of the run that never evaluated mid-way (what lets the key leave evaluation
  // out), and its recorded accuracy is the one the re-measure gave
  const d = await warmStart(rt, cfg, { ...sft, evalEvery: 3, evalProblems: 40 }, { cacheRoot: join(tmp, 'fresh') });
  assert.not.ok(d.reused);
  assert.equal(Array.from(await d.model.readParams()), Array.from(params), 'evaluation changed the trained weights');
  assert.is(d.heldoutAccuracy, c.heldoutAccuracy);

  // a training setting: retrained, in its own cache folder
  const e = await warmStart(rt, cfg, { ...sft, learningRate: 2e-2 }, { cacheRoot: root });
  assert.not.ok(e.reused, 'a new learning rate must retrain');
  assert.is.not(e.cacheDir, a.cacheDir);
  for (const w of [a, b, c, d, e]) w.model.destroy();
});

t('a warm start cached under the old key (every SFT option) is still found, with its recorded accuracy', async () => {
  const rt = await testRuntime();
  const from = join(tmp, 'cache', sftCacheKey(cfg, sft));
  assert.ok(existsSync(from), 'written by the previous test');
  const root = join(tmp, 'old-cache');
  const legacy = join(root, legacySftCacheKey(cfg, sft));
  cpSync(from, legacy, { recursive: true });
  const w = await warmStart(rt, cfg, sft, { cacheRoot: root });
  assert.ok(w.reused);
  assert.is(basename(w.cacheDir), basename(legacy));
  assert.not.ok(w.remeasured, 'the old key included evalProblems: the recorded accuracy is for these problems');
  assert.is(w.heldoutProblems, sft.evalProblems);
  w.model.destroy();
});

t.run();
