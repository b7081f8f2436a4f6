// Exact resume and determinism. A run interrupted after step N/2, saved, loaded into fresh objects
// and continued must log exactly the numbers an uninterrupted run with the same seed logs (only
// wall-clock times may differ) and end with the same weights and moments, bit for bit — first for
// the SFT and RL loops in-process, then for train/run.ts end to end, where the interrupted run
// also loses its device mid-RL and must be resumed from the last periodic checkpoint.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { loadTrainingCheckpoint, saveTrainingCheckpoint } from '../train/files.js';
import type { AdamWState } from '../kernels/optim.js';
import type { Resume, StepCheckpoint } from '../train/loop.js';
import { RlTrainer, type RewardFn, type RlOptions } from '../train/rl.js';
import { trainSft, type SftOptions } from '../train/sft.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { encode, VOCAB_SIZE, type TaskConfig } from '../verify/index.js';
import { testRuntime } from './gpu.js';

const t = suite('resume');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, vocabSize: VOCAB_SIZE, tiedHead: true };
const task: TaskConfig = { task: 'addition', digits: 1 };
const SFT: SftOptions = { task, steps: 6, batchSize: 8, learningRate: 1e-2, warmupSteps: 2, seed: 3, evalEvery: 2, evalProblems: 4 };
const RL: RlOptions = { ...DEFAULT_RL, task, maxSteps: 6, numPrompts: 3, numGenerations: 4, learningRate: 1e-2, warmupSteps: 2, seed: 3, evalEvery: 2, evalProblems: 4 };

/** A logged record as text, without wall-clock times (the only numbers allowed to differ). */
const record = (r: object) => JSON.stringify(r, (k, v) => (k === 'ms' || k === 'seconds' ? undefined : v));

interface Outcome { log: string[]; params: number[]; m: number[]; v: number[]; skipped: number }

async function outcome(model: GPT, log: string[]): Promise<Outcome> {
  const s = await model.opt.readState();
  return { log, params: Array.from(await model.readParams()), m: Array.from(s.m), v: Array.from(s.v), skipped: s.skipped };
}

/** How `run` drives a training loop: its stop and checkpoint hooks, and what to resume from. */
interface Ctl {
  /** stop once this step is done (the loops track their step in onStep, as run.ts does) */
  stopAfter?: number;
  onCheckpoint: (c: StepCheckpoint) => Promise<void>;
  resume?: { at: Resume; opt: AdamWState };
}
type Loop = (model: GPT, log: string[], ctl: Ctl) => Promise<void>;

/**
 * Runs `loop` on a fresh model; with `stopAfter`, stops there, saves a training checkpoint (the
 * log's length as its offset), and continues in a fresh model from the loaded checkpoint.
 * `alter` tampers with the resume position (to show the comparison can fail).
 */
async function run(stopAfter: number | null, loop: Loop, alter = (r: Resume) => r): Promise<Outcome> {
  const rt = await testRuntime();
  let model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 5));
  const log: string[] = [];
  const uninterrupted: Ctl = { onCheckpoint: async () => {} };
  if (stopAfter === null) {
    await loop(model, log, uninterrupted);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'forkgrad-resume-'));
    try {
      await loop(model, log, {
        stopAfter,
        onCheckpoint: async (c) => {
          if (!c.last) return;
          saveTrainingCheckpoint(dir, {
            config: model.cfg, layout: model.layout, params: await model.readParams(), opt: await model.opt.readState(), info: {},
            state: { stage: 'rl', step: c.step, data: c.data, metricsOffset: log.length, run: {} },
          });
        },
      });
      model.destroy();
      const ck = loadTrainingCheckpoint(dir, rt.viewAlign);
      log.length = ck.state.metricsOffset; // what the stopped run logged after its checkpoint goes
      model = new GPT(rt, ck.config, ck.params);
      await loop(model, log, { ...uninterrupted, resume: { at: alter({ step: ck.state.step, data: ck.state.data }), opt: ck.opt } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const out = await outcome(model, log);
  model.destroy();
  return out;
}

const sftLoop: Loop = async (model, log, ctl) => {
  if (ctl.resume) model.opt.loadState(ctl.resume.opt);
  let step = 0;
  await trainSft(model, SFT, {
    shouldStop: () => step >= (ctl.stopAfter ?? Infinity), onCheckpoint: ctl.onCheckpoint,
    onStep: (m) => {
      log.push(record(m));
      step = m.step;
    },
    onEval: (m) => void log.push(record(m)),
  }, { resume: ctl.resume?.at });
};

// An untrained model never solves a problem, which would leave every advantage zero: reward odd
// first digits instead (about 5 samples in 22), so the updates carry signal.
const ODD = new Set(encode('13579'));
const oddFirst: RewardFn = (_p, ids) => ({ reward: ODD.has(ids[0]) ? 1 : 0, correct: ODD.has(ids[0]) });

const rlLoop: Loop = async (model, log, ctl) => {
  const trainer = new RlTrainer(model, RL, oddFirst);
  try {
    if (ctl.resume) {
      model.opt.loadState(ctl.resume.opt);
      trainer.restore(ctl.resume.at);
    }
    let step = 0;
    await trainer.train({
      shouldStop: () => step >= (ctl.stopAfter ?? Infinity), onCheckpoint: ctl.onCheckpoint,
      onStep: (m) => {
        log.push(record(m));
        step = m.step;
      },
      onEval: (m) => void log.push(record(m)),
    });
  } finally {
    trainer.destroy();
  }
};

function assertSame(a: Outcome, b: Outcome, what: string): void {
  assert.is(b.log.length, a.log.length, `${what}: records logged`);
  a.log.forEach((line, i) => assert.is(b.log[i], line, `${what}: record ${i} differs`));
  for (const k of ['params', 'm', 'v'] as const) {
    const i = a[k].findIndex((x, j) => !Object.is(x, b[k][j]));
    assert.is(i, -1, `${what}: ${k}[${i}] ${a[k][i]} vs ${b[k][i]}`);
  }
  assert.is(b.skipped, a.skipped, `${what}: skipped steps`);
}

t('SFT: same seed, same numbers; stopped at step 3, saved, loaded and resumed: bit-identical to uninterrupted', async () => {
  const whole = await run(null, sftLoop);
  assert.ok(whole.log.length >= SFT.steps, 'every step logged');
  assertSame(whole, await run(null, sftLoop), 'second uninterrupted run');
  assertSame(whole, await run(3, sftLoop), 'resumed after step 3');
});

t('RL: same seed, same numbers; stopped at step 3, saved, loaded and resumed: bit-identical to uninterrupted', async () => {
  const whole = await run(null, rlLoop);
  assert.ok(whole.log.filter((l) => JSON.parse(l).reward > 0).length >= 3, 'rewards in most steps, so the updates carry signal');
  assertSame(whole, await run(3, rlLoop), 'resumed after step 3');
  // the comparison can fail: resuming without the problem stream's position gives other batches
  const wrong = await run(3, rlLoop, (r) => ({ ...r, data: (r.data + 1) >>> 0 }));
  assert.not.equal(wrong.log, whole.log, 'a resume that loses the data position must not match');
});

// ---------------------------------------------------------------- train/run.ts end to end

const FLAGS = [
  '--task', 'addition', '--digits', '1', '--n_layer', '1', '--n_head', '2', '--d_model', '16',
  '--sft_steps', '4', '--sft_batch_size', '4', '--eval_every', '2', '--eval_problems', '4',
  '--max_steps', '4', '--num_prompts', '2', '--num_generations', '2', '--rl_eval_every', '2',
  '--pass_k_problems', '1', '--pass_k_samples', '64', '--no_cache', '--save_steps', '2',
];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'train/run.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const metrics = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => record(JSON.parse(l)));

t('train/run.ts: stopped in SFT, resumed, device lost mid-RL, resumed again: metrics.jsonl equals an uninterrupted run', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-run-'));
  try {
    const cache = ['--cache_dir', join(tmp, 'cache')];
    const whole = cli([...FLAGS, ...cache, '--output_dir', join(tmp, 'whole')]);
    assert.is(whole.code, 0, whole.err);

    const dir = join(tmp, 'broken');
    const first = cli([...FLAGS, ...cache, '--output_dir', dir, '--stop_at', 'sft:3']);
    assert.is(first.code, 0, first.err);
    assert.match(first.out, /stopped after SFT step 3; continue with --resume/);
    assert.is(readFileSync(join(dir, 'checkpoints', 'latest'), 'utf8').trim(), 'sft-000003');

    // the device goes after RL step 3 is logged; the last checkpoint is RL step 2
    const second = cli(['--resume', dir, '--debug_lose_device', 'rl:3']);
    assert.is(second.code, 2, `${second.out}\n${second.err}`);
    assert.match(second.err, /error: the WebGPU device was lost during RL step 4 \(.*\); the last checkpoint, .*rl-000002, is intact: continue with --resume /);
    assert.is(readFileSync(join(dir, 'checkpoints', 'latest'), 'utf8').trim(), 'rl-000002');
    assert.is(loadTrainingCheckpoint(join(dir, 'checkpoints')).state.step, 2);
    assert.ok(metrics(dir).some((l) => /"stage":"rl","step":3,/.test(l)), 'step 3 was logged before the loss');

    const third = cli(['--resume', dir]);
    assert.is(third.code, 0, third.err);
    const a = metrics(join(tmp, 'whole')), b = metrics(dir);
    assert.is(b.length, a.length, 'records');
    a.forEach((line, i) => assert.is(b[i], line, `record ${i}`));
    assert.equal(readdirSync(join(dir, 'checkpoints')).sort(), ['latest', 'rl-000002', 'rl-000004']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

t.run();
