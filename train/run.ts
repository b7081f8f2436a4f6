// `npx tsx train/run.ts`: the main job. Validates every flag and the configuration first (nothing
// is written on a bad one), then SFT warm start (reused from the cache when one matches) → base
// evaluation → RL → evaluation → a run folder. Training checkpoints are saved every --save_steps
// steps and when stopping; --resume continues from the latest one exactly (train/resume.ts).
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import type { Checkpoint } from '../model/checkpoint.js';
import { paramCount } from '../model/config.js';
import { predictBackwardFlops } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { maxLengths } from '../verify/index.js';
import { parseCommandLine, type RunControl, type RunOptions, type Stage } from './cli.js';
import { passAtKCurve } from './evaluate.js';
import { passKs } from './metrics.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic, type TrainingCheckpoint } from './files.js';
import { injectNonFinite } from './faults.js';
import { checkBufferLimits, runBuffers } from './limits.js';
import { NonFiniteError, type StepCheckpoint } from './loop.js';
import { writeReport } from './report.js';
import { Checkpointer, openResume, readRunSettings, rewindMetrics } from './resume.js';
import { PHASES, RlTrainer } from './rl.js';
import { warmStart } from './warmstart.js';

const PASS_KS = passKs(64); // the curve the report plots; --pass_k_samples must be ≥ 64
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Bad input: one line naming the problem and the fix, exit 1, nothing written. */
function reject(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- settings

let opts: RunOptions;
let control: RunControl;
try {
  ({ options: opts, control } = parseCommandLine(process.argv.slice(2)));
} catch (e: any) {
  if (String(e.code).startsWith('commander.help')) process.exit(0);
  reject(e.message);
}

let runDir: string;
if (control.resume) {
  runDir = control.resume;
  let saved: RunOptions;
  try {
    saved = readRunSettings(runDir);
  } catch (e) {
    reject((e as Error).message);
  }
  // only flags that change no computed number may differ from the saved settings
  opts = { ...saved, saveSteps: control.given.has('saveSteps') ? opts.saveSteps : saved.saveSteps, nonFinitePatience: control.given.has('nonFinitePatience') ? opts.nonFinitePatience : saved.nonFinitePatience };
} else {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  runDir = opts.out ?? join('runs', `${opts.stage}-${opts.task.task}-${stamp}`);
  if (existsSync(join(runDir, 'metrics.jsonl'))) reject(`--output_dir ${runDir} already holds a run; continue it with --resume ${runDir}, or choose another folder`);
}
if (!control.resume && opts.checkpoint && !existsSync(opts.checkpoint)) reject(`--checkpoint ${opts.checkpoint} does not exist; pass a folder written by train/run.ts`);

const gpu = await getGpu();
const rt = new Runtime(gpu);

// Everything else that can reject the run, before anything is written.
let start: Checkpoint | null = null;
let resumed: (TrainingCheckpoint & { dir: string }) | null = null;
try {
  if (control.resume) resumed = openResume(runDir, rt.viewAlign);
  else if (opts.checkpoint) start = loadCheckpoint(opts.checkpoint, rt.viewAlign);
  const cfg = resumed?.config ?? start?.config ?? opts.model;
  const need = maxLengths(opts.task).sequence;
  if (cfg.contextLength < need) throw new Error(`the checkpoint's context of ${cfg.contextLength} positions is shorter than the ${need} ${opts.task.task} needs; pass a checkpoint trained for this task`);
  checkBufferLimits(gpu.device.limits, runBuffers(cfg, {
    task: opts.task,
    sft: resumed?.state.stage === 'rl' || start ? undefined : opts.sft,
    rl: opts.stage === 'all' ? opts.rl : undefined,
    passK: opts.stage === 'all' ? opts.passK : undefined,
  }));
} catch (e) {
  gpu.destroy();
  reject((e as Error).message);
}

console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
mkdirSync(runDir, { recursive: true });
const metricsPath = join(runDir, 'metrics.jsonl');
if (resumed) {
  rewindMetrics(metricsPath, resumed.state.metricsOffset);
  console.log(`resuming from ${resumed.dir} (${resumed.state.stage.toUpperCase()} step ${resumed.state.step})`);
} else {
  writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ argv: process.argv.slice(2), options: opts, adapter: gpu.adapter }, null, 2));
}
const log = (rec: object) => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');

// ---------------------------------------------------------------- stopping and faults

let stopRequested = false;
process.on('SIGINT', () => {
  if (stopRequested) process.exit(130);
  stopRequested = true;
  console.error('\nstopping after this step (Ctrl-C again to abort without saving)…');
});
/** The last finished step of each stage in this process (or the resumed one). */
const at: Record<Stage, number> = { sft: 0, rl: 0 };
let stage: Stage = resumed?.state.stage ?? 'sft';
if (resumed) at[resumed.state.stage] = resumed.state.step;
const stopAt = (s: Stage) => stopRequested || (control.stopAt?.stage === s && at[s] >= control.stopAt.step);

let lost: GPUDeviceLostInfo | null = null;
gpu.device.lost.then((info) => (lost = info));

function afterStep(s: Stage, step: number, skipped: boolean): void {
  at[s] = step;
  if (skipped) console.error(`\nwarning: ${s.toUpperCase()} step ${step}: non-finite loss or gradient norm; the update was skipped (weights and moments unchanged)`);
  const lose = control.debugLoseDevice;
  if (lose && lose.stage === s && lose.step === step) gpu.device.destroy(); // tests: as a device loss would
}

function injectFaults(model: GPT, s: Stage): void {
  const poison = control.debugNonFinite.filter((p) => p.stage === s);
  injectNonFinite(model, poison.length ? (step) => poison.find((p) => p.step === step)?.what ?? null : null);
}

const ckpt = new Checkpointer(runDir, metricsPath, opts.saveSteps);
ckpt.last = resumed?.dir ?? null;
const info = { task: opts.task, adapter: gpu.adapter.description };
const saveIfDue = async (model: GPT, s: Stage, c: StepCheckpoint, run: Record<string, unknown>) => {
  if (ckpt.due(c)) await ckpt.save(model, s, c.step, c.data, run, info);
};

// ---------------------------------------------------------------- SFT

async function sftStage(): Promise<GPT> {
  if (resumed?.state.stage === 'rl') return new GPT(rt, resumed.config, resumed.params); // RL restores the optimizer
  if (start) {
    console.log(`loaded ${opts.checkpoint}`);
    return new GPT(rt, start.config, start.params);
  }
  let model: GPT | null = null;
  if (resumed) {
    model = new GPT(rt, resumed.config, resumed.params);
    model.opt.loadState(resumed.opt);
  }
  const bar = new cliProgress.SingleBar({
    format: 'SFT [{bar}] {value}/{total} | loss {loss} | held-out {acc} | {eta_formatted} left',
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const cfg = opts.model;
  const ws = await warmStart(rt, cfg, opts.sft, {
    cacheRoot: opts.cacheDir,
    noCache: opts.noCache,
    saveTo: join(runDir, 'sft'),
    adapter: gpu.adapter.description,
    resume: model && resumed ? { model, at: { step: resumed.state.step, data: resumed.state.data } } : undefined,
    nonFinitePatience: opts.nonFinitePatience,
    onTrainStart: (m) => {
      model = m;
      injectFaults(m, 'sft');
      console.log(`SFT: ${opts.task.task}, ${paramCount(cfg)} parameters, ${opts.sft.steps} steps of ${opts.sft.batchSize} sequences`);
      bar.start(opts.sft.steps, at.sft, { loss: '-', acc: '-' });
    },
    hooks: {
      shouldStop: () => stopAt('sft'),
      onStep: (m) => {
        log({ stage: 'sft', ...m });
        bar.update(m.step, { loss: m.loss.toFixed(4) });
        afterStep('sft', m.step, m.skipped);
      },
      onEval: (m) => {
        log({ stage: 'sft', ...m });
        bar.update({ acc: `${(m.heldoutAccuracy * 100).toFixed(1)}%` });
        if (!process.stdout.isTTY) console.log(`SFT step ${m.step}: held-out greedy accuracy ${(m.heldoutAccuracy * 100).toFixed(1)}% on ${m.problems}`);
      },
      onCheckpoint: (c) => saveIfDue(model!, 'sft', c, {}),
    },
  });
  if (ws.trained) {
    bar.stop();
    const t = ws.trained;
    console.log(`SFT done: ${t.steps} steps in ${t.seconds.toFixed(0)} s, loss ${t.lastLoss.toFixed(4)}, held-out greedy exact match ${pct(ws.heldoutAccuracy)}`);
  } else {
    console.log(`SFT warm start reused from ${ws.cacheDir} (held-out accuracy ${pct(ws.heldoutAccuracy)})`);
  }
  return ws.model;
}

// ---------------------------------------------------------------- RL

/** What the RL stage carries across a resume: the base evaluation and the running totals. */
interface RlRun extends Record<string, unknown> {
  baseGreedyAccuracy: number;
  basePassAtK: { k: number; passAtK: number }[];
  totals: Record<string, { flops: number; ms: number }>;
  denseBackwardFlops: number;
  seconds: number;
}

async function rlStage(model: GPT): Promise<Record<string, unknown>> {
  stage = 'rl';
  const ro = opts.rl;
  // RL starts a fresh AdamW (zero moments): a base trained here then matches one loaded from the cache
  model.opt.reset();
  const trainer = new RlTrainer(model, ro);
  injectFaults(model, 'rl');
  const passProblems = trainer.heldout.slice(0, opts.passK.problems);
  const passAtK = () => passAtKCurve(model, opts.task, passProblems, opts.passK.samples, PASS_KS, { temperature: opts.passK.temperature, seed: opts.seed + 7 });
  console.log(`RL: ${ro.maxSteps} steps × ${ro.numPrompts} prompts × ${ro.numGenerations} samples, ρ = ${ro.topEntropyQuantile} (${ro.selection}), ${ro.backward} backward`);
  let run: RlRun;
  if (resumed?.state.stage === 'rl') {
    model.opt.loadState(resumed.opt);
    trainer.restore({ step: resumed.state.step, data: resumed.state.data });
    run = resumed.state.run as RlRun;
  } else {
    const baseAcc = await trainer.evaluate();
    const basePass = await passAtK();
    log({ stage: 'sft-base-eval', step: 0, greedyAccuracy: baseAcc, passAtK: basePass, samples: opts.passK.samples, problems: passProblems.length });
    run = { baseGreedyAccuracy: baseAcc, basePassAtK: basePass, totals: {}, denseBackwardFlops: 0, seconds: 0 };
    // step 0: a crash during the first steps need not repeat the base evaluation
    if (opts.saveSteps > 0) await ckpt.save(model, 'rl', 0, trainer.position.data, run, info);
  }
  console.log(`SFT base: held-out greedy ${pct(run.baseGreedyAccuracy)}, pass@1 ${pct(run.basePassAtK[0].passAtK)}`);

  const bar = new cliProgress.SingleBar({
    format: 'RL  [{bar}] {value}/{total} | reward {reward} | held-out {acc} | {eta_formatted} left',
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  bar.start(ro.maxSteps, at.rl, { reward: '-', acc: '-' });
  const t0 = performance.now(), before = run.seconds;
  const r = await trainer.train({
    shouldStop: () => stopAt('rl'),
    onStep: (m) => {
      const dense = predictBackwardFlops(model.cfg, ro.numPrompts * ro.numGenerations, trainer.positions, m.selected, 'dense');
      run.denseBackwardFlops += dense;
      for (const p of PHASES) {
        const t = (run.totals[p] ??= { flops: 0, ms: 0 });
        t.flops += m.flops[p];
        t.ms += m.ms[p];
      }
      log({ ...m, denseBackwardFlops: dense });
      bar.update(m.step, { reward: m.reward.toFixed(3) });
      afterStep('rl', m.step, m.skipped);
    },
    onEval: (m) => {
      log(m);
      bar.update({ acc: `${(m.greedyAccuracy * 100).toFixed(1)}%` });
      if (!process.stdout.isTTY) console.log(`RL step ${m.step}: held-out greedy accuracy ${(m.greedyAccuracy * 100).toFixed(1)}%`);
    },
    onCheckpoint: (c) => {
      run.seconds = before + (performance.now() - t0) / 1000;
      return saveIfDue(model, 'rl', c, run);
    },
  }, { nonFinitePatience: opts.nonFinitePatience });
  bar.stop();
  trainer.destroy();
  run.seconds = before + (performance.now() - t0) / 1000;
  saveCheckpoint(join(runDir, 'checkpoint'), model.cfg, model.layout, await model.readParams(), { task: opts.task, stage: 'rl', steps: r.steps, heldoutAccuracy: r.finalAccuracy, rl: ro });
  let finalPass = run.basePassAtK;
  if (!stopAt('rl')) {
    finalPass = await passAtK();
    log({ stage: 'eval', step: r.steps, greedyAccuracy: r.finalAccuracy, passAtK: finalPass, samples: opts.passK.samples, problems: passProblems.length });
  }
  const dense = run.denseBackwardFlops, backward = run.totals.backward?.flops ?? 0;
  const summary = {
    baseGreedyAccuracy: run.baseGreedyAccuracy, finalGreedyAccuracy: r.finalAccuracy,
    basePassAtK: run.basePassAtK, finalPassAtK: finalPass,
    rlSteps: r.steps, rlSeconds: run.seconds, phases: run.totals,
    backwardFlopsSaved: dense > 0 ? 1 - backward / dense : 0,
  };
  const pk = (xs: typeof finalPass, k: number) => xs.find((x) => x.k === k)?.passAtK ?? NaN;
  console.log(formatTable(['held-out', 'SFT base', 'after RL'], [
    ['greedy accuracy', pct(run.baseGreedyAccuracy), pct(r.finalAccuracy)],
    ...[1, 8, 64].map((k) => [`pass@${k}`, pct(pk(run.basePassAtK, k)), pct(pk(finalPass, k))]),
  ]));
  console.log(formatTable(['phase', 'GFLOP', 'GPU s'], PHASES.map((p) => [p, ((run.totals[p]?.flops ?? 0) / 1e9).toFixed(2), ((run.totals[p]?.ms ?? 0) / 1000).toFixed(2)])));
  console.log(`backward FLOPs saved by the ${ro.backward} sparse backward vs dense: ${pct(summary.backwardFlopsSaved)}`);
  return summary;
}

// ---------------------------------------------------------------- the run

let failing = false;
/** A run that cannot go on: non-finite steps or a lost device get one clear line naming the last
 * checkpoint and exit 2; anything else is a bug and keeps its stack. */
async function fail(e: unknown): Promise<never> {
  if (failing) return new Promise<never>(() => {}); // one report, though a lost device fails several pending calls
  failing = true;
  // let a pending device-lost notice arrive: after a loss the failing call may reject first
  await Promise.race([gpu.device.lost, new Promise((r) => setTimeout(r, 200))]);
  const last = ckpt.last ? `the last checkpoint, ${ckpt.last}, is intact` : 'no checkpoint had been saved';
  const device = lost as GPUDeviceLostInfo | null;
  if (e instanceof NonFiniteError) console.error(`\nerror: ${e.message}; ${last}`);
  else if (device) {
    const why = `${device.reason}${device.message ? `: ${device.message}` : ''}`;
    console.error(`\nerror: the WebGPU device was lost during ${stage.toUpperCase()} step ${at[stage] + 1} (${why}); ${last}${ckpt.last ? `: continue with --resume ${runDir}` : ''}`);
  } else {
    console.error(e);
    process.exit(1);
  }
  gpu.destroy();
  process.exit(2);
}
// GPU promises nobody awaits yet (e.g. timing readbacks) reject on a lost device too
process.on('unhandledRejection', (e) => void fail(e));

try {
  const model = await sftStage();
  const summary: Record<string, unknown> = { runDir, task: opts.task };
  if (opts.stage === 'all' && !stopAt('sft')) Object.assign(summary, await rlStage(model));
  const stopped = stopAt(stage);
  writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({ ...summary, stopped }, null, 2));
  console.log(`report: ${writeReport(runDir)}`);
  console.log(`run folder: ${runDir}${stopped ? ` (stopped after ${stage.toUpperCase()} step ${at[stage]}; continue with --resume ${runDir})` : ''}`);
  model.destroy();
} catch (e) {
  await fail(e);
}
rt.destroy();
gpu.destroy();
