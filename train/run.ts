// `npx tsx train/run.ts`: the main job, as a thin Node driver of train/pipeline.ts. It validates
// every flag and the configuration first (nothing is written on a bad one), then runs the pipeline
// (SFT warm start, reused from the cache when one matches → base evaluation → RL → evaluation) and
// keeps the files: the run folder's run.json, metrics.jsonl, checkpoints, summary.json, report.html.
// Training checkpoints are saved every --save_steps steps and when stopping; --resume continues
// from the latest one exactly (train/resume.ts).
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeAdapter, getGpu, type Gpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import type { Checkpoint } from '../model/checkpoint.js';
import { paramCount } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { maxLengths } from '../verify/index.js';
import { parseCommandLine, type RunControl, type RunOptions } from './cli.js';
import { injectNonFinite } from './faults.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic, type TrainingCheckpoint } from './files.js';
import { checkBufferLimits, runBuffers } from './limits.js';
import { NonFiniteError } from './loop.js';
import { ProgressDisplay } from './progress.js';
import { runPipeline, type PipelineHooks, type RlResume } from './pipeline.js';
import { writeReport } from './report.js';
import { Checkpointer, openResume, readRunSettings, resumedOptions, rewindMetrics } from './resume.js';
import { PHASES, RUN_SCHEMA, type RlProgress, type RunFolderMeta, type Stage } from './schema.js';
import type { SftHooks } from './sft.js';
import { warmStart } from './warmstart.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Bad input: one line naming the problem and the fix, exit 1, nothing written. */
function reject(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

type Resumed = TrainingCheckpoint & { dir: string };

/** The settings (a resumed run's saved ones, with this command's process flags) and the run folder. */
function settings(argv: string[]): { opts: RunOptions; control: RunControl; runDir: string } {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (e: any) {
    if (String(e.code).startsWith('commander.help')) process.exit(0);
    reject(e.message);
  }
  const { control } = parsed;
  if (control.resume) {
    try {
      return { opts: resumedOptions(readRunSettings(control.resume), parsed.options, control.given), control, runDir: control.resume };
    } catch (e) {
      reject((e as Error).message);
    }
  }
  const opts = parsed.options;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const runDir = opts.out ?? join('runs', `${opts.stage}-${opts.task.task}-${stamp}`);
  if (existsSync(join(runDir, 'metrics.jsonl'))) reject(`--output_dir ${runDir} already holds a run; continue it with --resume ${runDir}, or choose another folder`);
  if (opts.checkpoint && !existsSync(opts.checkpoint)) reject(`--checkpoint ${opts.checkpoint} does not exist; pass a folder written by train/run.ts`);
  return { opts, control, runDir };
}

/** Everything else that can reject the run, before anything is written: the checkpoint to resume
 * or start from, the context length, the device's buffer limits. */
function inputs(gpu: Gpu, rt: Runtime, opts: RunOptions, control: RunControl, runDir: string): { start: Checkpoint | null; resumed: Resumed | null } {
  try {
    const resumed = control.resume ? openResume(runDir, rt.viewAlign) : null;
    const start = !resumed && opts.checkpoint ? loadCheckpoint(opts.checkpoint, rt.viewAlign) : null;
    const cfg = resumed?.config ?? start?.config ?? opts.model;
    const need = maxLengths(opts.task).sequence;
    if (cfg.contextLength < need) throw new Error(`the checkpoint's context of ${cfg.contextLength} positions is shorter than the ${need} ${opts.task.task} needs; pass a checkpoint trained for this task`);
    checkBufferLimits(gpu.device.limits, runBuffers(cfg, {
      task: opts.task,
      sft: resumed?.state.stage === 'rl' || start ? undefined : opts.sft,
      rl: opts.stage === 'all' ? opts.rl : undefined,
      passK: opts.stage === 'all' ? opts.passK : undefined,
      viewAlign: rt.viewAlign,
    }));
    return { start, resumed };
  } catch (e) {
    gpu.destroy();
    reject((e as Error).message);
  }
}

/** Where this process is: the last finished step of each stage, the stage running, stop requests. */
class Progress {
  readonly at: Record<Stage, number> = { sft: 0, rl: 0 };
  stage: Stage = 'sft';
  stopRequested = false;

  constructor(private control: RunControl, resumed: Resumed | null) {
    if (resumed) {
      this.stage = resumed.state.stage;
      this.at[resumed.state.stage] = resumed.state.step;
    }
  }

  /** Ctrl-C, or --stop_at reached in this stage. */
  stopAt(s: Stage): boolean {
    const at = this.control.stopAt;
    return this.stopRequested || (at?.stage === s && this.at[s] >= at.step);
  }
}

/** The hidden test flags: NaN in chosen steps, a device destroyed after a chosen step. */
function faults(control: RunControl, gpu: Gpu) {
  return {
    arm(model: GPT, s: Stage): void {
      const poison = control.debugNonFinite.filter((p) => p.stage === s);
      injectNonFinite(model, poison.length ? (step) => poison.find((p) => p.step === step)?.what ?? null : null);
    },
    afterStep(s: Stage, step: number): void {
      const lose = control.debugLoseDevice;
      if (lose && lose.stage === s && lose.step === step) gpu.device.destroy(); // as a device loss would
    },
  };
}

async function main(): Promise<void> {
  const { opts, control, runDir } = settings(process.argv.slice(2));
  const gpu = await getGpu();
  const rt = new Runtime(gpu);
  const { start, resumed } = inputs(gpu, rt, opts, control, runDir);

  console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
  mkdirSync(runDir, { recursive: true });
  const metricsPath = join(runDir, 'metrics.jsonl');
  if (resumed) {
    rewindMetrics(metricsPath, resumed.state.metricsOffset);
    console.log(`resuming from ${resumed.dir} (${resumed.state.stage.toUpperCase()} step ${resumed.state.step})`);
  } else {
    const meta: RunFolderMeta = { schema: RUN_SCHEMA, argv: process.argv.slice(2), options: opts, adapter: gpu.adapter };
    writeFileAtomic(join(runDir, 'run.json'), JSON.stringify(meta, null, 2));
  }

  const progress = new Progress(control, resumed);
  process.on('SIGINT', () => {
    if (progress.stopRequested) process.exit(130);
    progress.stopRequested = true;
    console.error('\nstopping after this step (Ctrl-C again to abort without saving)…');
  });
  let lost: GPUDeviceLostInfo | null = null;
  gpu.device.lost.then((info) => (lost = info));
  const fault = faults(control, gpu);
  const ckpt = new Checkpointer(runDir, metricsPath, opts.saveSteps);
  ckpt.last = resumed?.dir ?? null;
  const info = { task: opts.task, adapter: gpu.adapter.description };

  let failing = false;
  /** A run that cannot go on: non-finite steps or a lost device get one clear line naming the last
   * checkpoint and exit 2; anything else is a bug and keeps its stack. */
  const fail = async (e: unknown): Promise<never> => {
    if (failing) return new Promise<never>(() => {}); // one report, though a lost device fails several pending calls
    failing = true;
    // let a pending device-lost notice arrive: after a loss the failing call may reject first
    await Promise.race([gpu.device.lost, new Promise((r) => setTimeout(r, 200))]);
    const last = ckpt.last ? `the last checkpoint, ${ckpt.last}, is intact` : 'no checkpoint had been saved';
    const device = lost as GPUDeviceLostInfo | null;
    if (e instanceof NonFiniteError) console.error(`\nerror: ${e.message}; ${last}`);
    else if (device) {
      const why = `${device.reason}${device.message ? `: ${device.message}` : ''}`;
      const s = progress.stage;
      console.error(`\nerror: the WebGPU device was lost during ${s.toUpperCase()} step ${progress.at[s] + 1} (${why}); ${last}${ckpt.last ? `: continue with --resume ${runDir}` : ''}`);
    } else {
      console.error(e);
      process.exit(1);
    }
    gpu.destroy();
    process.exit(2);
  };
  // GPU promises nobody awaits yet (e.g. timing readbacks) reject on a lost device too
  process.on('unhandledRejection', (e) => void fail(e));

  const bars = {
    // a bar on a terminal, a plain line about every 30 s without one (train/progress.ts)
    sft: new ProgressDisplay({ stage: 'SFT', format: 'SFT [{bar}] {value}/{total} | loss {loss} | held-out {acc} | {eta_formatted} left', etaBuffer: 50, fields: { loss: 'loss', acc: 'held-out' } }),
    rl: new ProgressDisplay({ stage: 'RL', format: 'RL  [{bar}] {value}/{total} | reward {reward} | held-out {acc} | {eta_formatted} left', etaBuffer: 20, fields: { reward: 'reward', acc: 'held-out' } }),
  };

  const hooks: PipelineHooks = {
    warmStart: (sftHooks, training) => warm(rt, gpu, opts, runDir, { start, resumed }, sftHooks, (m) => {
      training(m);
      fault.arm(m, 'sft');
      console.log(`SFT: ${opts.task.task}, ${paramCount(opts.model)} parameters, ${opts.sft.steps} steps of ${opts.sft.batchSize} sequences`);
      bars.sft.start(opts.sft.steps, progress.at.sft, { loss: '-', acc: '-' });
    }, bars.sft),
    record: (r) => appendFileSync(metricsPath, JSON.stringify(r) + '\n'),
    shouldStop: (s) => progress.stopAt(s),
    afterStep: (s, r) => {
      if (s === 'sft') bars.sft.update(r.step, { loss: (r as { loss: number }).loss.toFixed(4) });
      else bars.rl.update(r.step, { reward: (r as { reward: number }).reward.toFixed(3) });
      progress.at[s] = r.step;
      if (r.skipped) console.error(`\nwarning: ${s.toUpperCase()} step ${r.step}: non-finite loss or gradient norm; the update was skipped (weights and moments unchanged)`);
      fault.afterStep(s, r.step);
    },
    afterEval: (s, r) => {
      if (s === 'sft' && 'heldoutAccuracy' in r) {
        bars.sft.update({ acc: pct(r.heldoutAccuracy) });
        if (!process.stdout.isTTY) console.log(`SFT step ${r.step}: held-out greedy accuracy ${pct(r.heldoutAccuracy)} on ${r.problems}`);
      } else if (s === 'rl' && 'greedyAccuracy' in r && !('passAtK' in r)) {
        bars.rl.update({ acc: pct(r.greedyAccuracy) });
        const sampled = 'sampled' in r && r.sampled ? `, sampled pass@1 ${pct(r.sampled.pass1)} (${r.sampled.samples} samples × ${r.sampled.problems} problems)` : '';
        if (!process.stdout.isTTY) console.log(`RL step ${r.step}: held-out greedy accuracy ${pct(r.greedyAccuracy)}${sampled}`);
      }
    },
    onCheckpoint: async (s, model, c, run) => {
      if (ckpt.due(c)) await ckpt.save(model, s, c.step, c.data, run ?? {}, info);
    },
    onRlSetup: (rl) => {
      progress.stage = 'rl';
      fault.arm(rl.model, 'rl');
      const ro = rl.o;
      console.log(`RL: ${ro.maxSteps} steps × ${ro.numPrompts} prompts × ${ro.numGenerations} samples, ρ = ${ro.topEntropyQuantile} (${ro.selection}), ${ro.backward} backward`);
    },
    onRlStart: (rl, run) => {
      const ro = rl.o;
      console.log(`SFT base: held-out greedy ${pct(run.baseGreedyAccuracy)}, pass@1 ${pct(run.basePassAtK[0].passAtK)}`);
      bars.rl.start(ro.maxSteps, progress.at.rl, { reward: '-', acc: '-' });
    },
    onRlEnd: async (rl, r) => {
      bars.rl.stop();
      const model = rl.model;
      saveCheckpoint(join(runDir, 'checkpoint'), model.cfg, model.layout, await model.readParams(), { task: opts.task, stage: 'rl', steps: r.steps, heldoutAccuracy: r.finalAccuracy, rl: rl.o });
    },
  };

  try {
    const rlResume: RlResume | undefined = resumed?.state.stage === 'rl'
      ? { opt: resumed.opt, at: { step: resumed.state.step, data: resumed.state.data }, progress: resumed.state.run as RlProgress }
      : undefined;
    const { model, summary: rl } = await runPipeline(opts, hooks, { rl: rlResume });
    if (rl.rlSteps !== undefined) printRl(rl as Required<typeof rl>, opts);
    const stopped = progress.stopAt(progress.stage);
    writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({ runDir, task: opts.task, ...rl, stopped }, null, 2));
    console.log(`report: ${writeReport(runDir)}`);
    const s = progress.stage;
    console.log(`run folder: ${runDir}${stopped ? ` (stopped after ${s.toUpperCase()} step ${progress.at[s]}; continue with --resume ${runDir})` : ''}`);
    model.destroy();
  } catch (e) {
    await fail(e);
  }
  rt.destroy();
  gpu.destroy();
}

/** The warm start: the resumed run's model, a --checkpoint, or SFT (reused from the cache when one matches). */
async function warm(
  rt: Runtime, gpu: Gpu, opts: RunOptions, runDir: string, from: { start: Checkpoint | null; resumed: Resumed | null },
  hooks: SftHooks, onTrainStart: (m: GPT) => void, bar: ProgressDisplay,
): Promise<GPT> {
  const { start, resumed } = from;
  if (resumed?.state.stage === 'rl') return new GPT(rt, resumed.config, resumed.params); // the pipeline restores the optimizer
  if (start) {
    console.log(`loaded ${opts.checkpoint}`);
    return new GPT(rt, start.config, start.params);
  }
  let model: GPT | null = null;
  if (resumed) {
    model = new GPT(rt, resumed.config, resumed.params);
    model.opt.loadState(resumed.opt);
  }
  const ws = await warmStart(rt, opts.model, opts.sft, {
    cacheRoot: opts.cacheDir,
    noCache: opts.noCache,
    saveTo: join(runDir, 'sft'),
    adapter: gpu.adapter.description,
    resume: model && resumed ? { model, at: { step: resumed.state.step, data: resumed.state.data } } : undefined,
    nonFinitePatience: opts.nonFinitePatience,
    onTrainStart,
    hooks,
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

function printRl(s: { baseGreedyAccuracy: number; finalGreedyAccuracy: number; basePassAtK: { k: number; passAtK: number }[]; finalPassAtK: { k: number; passAtK: number }[]; phases: Record<string, { flops: number; ms: number }>; backwardFlopsSaved: number; stepFlopsSaved?: number }, opts: RunOptions): void {
  const pk = (xs: typeof s.basePassAtK, k: number) => xs.find((x) => x.k === k)?.passAtK ?? NaN;
  console.log(formatTable(['held-out', 'SFT base', 'after RL'], [
    ['greedy accuracy', pct(s.baseGreedyAccuracy), pct(s.finalGreedyAccuracy)],
    ...[1, 8, 64].map((k) => [`pass@${k}`, pct(pk(s.basePassAtK, k)), pct(pk(s.finalPassAtK, k))]),
  ]));
  console.log(formatTable(['phase', 'GFLOP', 'GPU s'], PHASES.map((p) => [p, ((s.phases[p]?.flops ?? 0) / 1e9).toFixed(2), ((s.phases[p]?.ms ?? 0) / 1000).toFixed(2)])));
  console.log(`backward FLOPs saved by the ${opts.rl.backward} sparse backward vs dense: ${pct(s.backwardFlopsSaved)}`);
  const reuse = opts.rl.reuseRollout === false ? 'forward recomputed' : 'rollout reused';
  if (Number.isFinite(s.stepFlopsSaved)) console.log(`whole-step FLOPs (rollout, forward, backward, optimizer; ${reuse}) saved vs plain dense steps on the same batches: ${pct(s.stepFlopsSaved!)}`);
}

await main();
