// The non-finite guard: a NaN/Inf in the loss or the gradients (injected through AdamW's debug
// hook) skips the update — weights and both moments keep every bit — and is reported with its
// step; a run of them stops training with a clear message, and train/run.ts then exits naming the
// last good checkpoint.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lossGuard } from '../kernels/optim.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { injectNonFinite } from '../train/faults.js';
import { loadTrainingCheckpoint } from '../train/files.js';
import { NonFiniteError } from '../train/loop.js';
import { RlTrainer, type RlOptions } from '../train/rl.js';
import { trainSft, type SftOptions } from '../train/sft.js';
import { encode, VOCAB_SIZE, type TaskConfig } from '../verify/index.js';
import { testRuntime } from './gpu.js';
import { randArray } from './helpers.js';

const t = suite('nonfinite');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, vocabSize: VOCAB_SIZE, tiedHead: true };
const task: TaskConfig = { task: 'addition', digits: 1 };
const SFT: SftOptions = { task, steps: 6, batchSize: 8, learningRate: 1e-2, warmupSteps: 0, seed: 4, evalEvery: 0, evalProblems: 4 };

t('loss guard kernel: the norm becomes +inf exactly when a guarded value (every stride-th) is not finite', async () => {
  const rt = await testRuntime();
  for (const n of [1, 7, 65, 300]) {
    for (const stride of [1, 4]) {
      for (const [bad, at] of [[null, 0], [NaN, 0], [Infinity, n - 1], [-Infinity, Math.floor(n / 2)], [NaN, 1]] as const) {
        const x = randArray(n, n + stride);
        if (bad !== null && at < n) x[at] = bad;
        const norm = rt.upload([2.5]);
        lossGuard(rt, { x: rt.upload(x), stride, norm });
        let want = 2.5;
        for (let i = 0; i < n; i += stride) if (!Number.isFinite(x[i])) want = Infinity;
        assert.is((await rt.readF32(norm))[0], want, `n ${n}, stride ${stride}, ${bad} at ${at}`);
      }
    }
  }
});

interface Snapshot { params: number[]; m: number[]; v: number[] }
async function snapshot(model: GPT): Promise<Snapshot> {
  const s = await model.opt.readState();
  return { params: Array.from(await model.readParams()), m: Array.from(s.m), v: Array.from(s.v) };
}
function assertBits(a: Snapshot, b: Snapshot, what: string): void {
  for (const k of ['params', 'm', 'v'] as const) {
    const i = a[k].findIndex((x, j) => !Object.is(x, b[k][j]));
    assert.is(i, -1, `${what}: ${k}[${i}] changed from ${a[k][i]} to ${b[k][i]}`);
  }
}

t('SFT: a NaN gradient or loss skips the step, bit for bit, and is reported with the step', async () => {
  const rt = await testRuntime();
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
  injectNonFinite(model, (step) => (step === 3 ? 'grad' : step === 4 ? 'loss' : null));
  const after: Snapshot[] = [];
  const steps: { step: number; loss: number; gradNorm: number; skipped: boolean }[] = [];
  try {
    await trainSft(model, SFT, {
      onStep: async (m) => {
        steps.push(m);
        after[m.step] = await snapshot(model);
      },
    });
    assert.equal(steps.map((s) => s.skipped), [false, false, true, true, false, false]);
    assert.equal(steps.map((s) => Number.isFinite(s.gradNorm)), [true, true, false, false, true, true]);
    assert.ok(Number.isFinite(steps[2].loss) && Number.isNaN(steps[3].loss), 'step 3 poisons the gradient, step 4 the loss');
    assertBits(after[2], after[3], 'NaN gradient at step 3');
    assertBits(after[2], after[4], 'NaN loss at step 4');
    assert.not.equal(after[5].params, after[4].params, 'step 5 updates again');
    assert.is((await model.opt.readState()).skipped, 2);
  } finally {
    model.destroy();
  }
});

t('SFT: isolated skips go on; `patience` skips in a row stop training with the steps named', async () => {
  const rt = await testRuntime();
  for (const [poisoned, stops] of [[[2, 4, 6], false], [[2, 3, 4], true]] as const) {
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
    injectNonFinite(model, (step) => ((poisoned as readonly number[]).includes(step) ? 'grad' : null));
    let last = 0;
    try {
      const run = trainSft(model, SFT, { onStep: (m) => void (last = m.step) }, { nonFinitePatience: 3 });
      if (stops) {
        const e = await run.then(() => null, (x) => x);
        assert.instance(e, NonFiniteError);
        assert.match(e.message, /^SFT steps 2–4: 3 steps in a row had a non-finite loss or gradient norm \(each was skipped; weights and optimizer moments are still those after step 1\); stopping\. Lower the learning rate/);
        assert.is(last, 4, 'no step after the third');
      } else {
        assert.is((await run).steps, SFT.steps);
      }
    } finally {
      model.destroy();
    }
  }
});

t('RL: a NaN in the selected rows\' loss skips the update bit for bit; three in a row stop train()', async () => {
  const rt = await testRuntime();
  const o: RlOptions = { ...DEFAULT_RL, task, maxSteps: 6, numPrompts: 2, numGenerations: 4, learningRate: 1e-2, warmupSteps: 0, evalEvery: 0, evalProblems: 4 };
  const seven = encode('7')[0];
  const reward = (_p: unknown, ids: number[]) => ({ reward: ids[0] === seven ? 1 : 0, correct: ids[0] === seven });
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 2));
  const trainer = new RlTrainer(model, o, reward);
  try {
    injectNonFinite(model, (step) => (step === 2 ? 'loss' : null));
    const m1 = await trainer.trainStep();
    const before = await snapshot(model);
    const m2 = await trainer.trainStep();
    assertBits(before, await snapshot(model), 'NaN loss at RL step 2');
    assert.equal([m1.skipped, m2.skipped], [false, true]);
    assert.is(m2.gradNorm, Infinity);
    assert.ok(Number.isNaN(m2.loss), 'the poisoned loss is what is logged');

    injectNonFinite(model, (step) => (step >= 4 ? 'grad' : null));
    const e = await trainer.train({}, { nonFinitePatience: 3 }).then(() => null, (x) => x);
    assert.instance(e, NonFiniteError);
    assert.match(e.message, /^RL steps 4–6: 3 steps in a row/);
  } finally {
    trainer.destroy();
    model.destroy();
  }
});

t('train/run.ts: repeated non-finite RL steps exit 2 naming the steps and the last good checkpoint, which loads', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-nan-'));
  try {
    const dir = join(tmp, 'run');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'train/run.ts',
      '--task', 'addition', '--digits', '1', '--n_layer', '1', '--n_head', '2', '--d_model', '16',
      '--sft_steps', '2', '--sft_batch_size', '4', '--eval_problems', '4', '--eval_every', '0',
      '--max_steps', '6', '--num_prompts', '2', '--num_generations', '2', '--rl_eval_every', '0',
      '--pass_k_problems', '1', '--pass_k_samples', '64', '--no_cache', '--cache_dir', join(tmp, 'cache'),
      '--save_steps', '2', '--nonfinite_patience', '3', '--output_dir', dir,
      '--debug_nonfinite', 'rl:3:grad,rl:4:loss,rl:5:grad'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    assert.is(r.status, 2, `${r.stdout}\n${r.stderr}`);
    for (const s of [3, 4, 5]) assert.match(r.stderr, new RegExp(`warning: RL step ${s}: non-finite loss or gradient norm; the update was skipped`));
    assert.match(r.stderr, /error: RL steps 3–5: 3 steps in a row had a non-finite loss or gradient norm .*; the last checkpoint, .*rl-000002, is intact/);
    const ck = loadTrainingCheckpoint(join(dir, 'checkpoints'));
    assert.equal([ck.state.stage, ck.state.step, ck.opt.skipped], ['rl', 2, 0]);
    const rl = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.stage === 'rl');
    assert.equal(rl.map((x) => [x.step, x.skipped, x.gradNorm === null]), [[1, false, false], [2, false, false], [3, true, true], [4, true, true], [5, true, true]]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t.run();
