// Running a grid: check what is already finished (and that it was made by this grid), warm-start
// the SFT base, measure how fast this machine steps and decodes, plan, then run the remaining jobs,
// each written atomically when it ends. The CLI (scripts/experiment.ts) and the test drive it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../../kernels/runtime.js';
import type { GPTConfig } from '../../model/config.js';
import { GPT } from '../../model/gpt.js';
import { complete } from '../../train/evaluate.js';
import { writeFileAtomic } from '../../train/files.js';
import { RlStage } from '../../train/pipeline.js';
import { seedPlan } from '../../train/seeds.js';
import type { SftHooks } from '../../train/sft.js';
import { warmStart } from '../../train/warmstart.js';
import { generate, type Problem } from '../../verify/index.js';
import { arms, type ArmId } from './arms.js';
import { runArmJob, runBaseJob, type JobContext } from './jobs.js';
import { jobKey, jobRlOptions, jobs, plannedSeconds, type Calibration, type GridOptions, type Job } from './plan.js';
import { jobPath, readJob, writeJob } from './records.js';
import { readMeta, writeReport, type GridMeta } from './report.js';
import type { Summary } from './summary.js';

/**
 * Finished jobs of this grid, and the pending ones. Throws (before anything runs or is written)
 * when a job file exists but was made with other settings: mixing grids would be silent nonsense.
 */
export function finishedJobs(g: GridOptions): { done: Job[]; pending: Job[] } {
  const done: Job[] = [], pending: Job[] = [];
  for (const job of jobs(g)) {
    const path = jobPath(g.out, job.name);
    if (!existsSync(path)) { pending.push(job); continue; }
    const have = readJob(path).job.key, want = jobKey(g, job);
    if (have !== want) throw new Error(`${path} was made by a grid with other settings (key ${have}, this grid's ${want}); pass --out with a new folder, or delete that file to rerun the job`);
    done.push(job);
  }
  return { done, pending };
}

export interface PlanLine { job: Job; seconds: number }

export interface GridHooks {
  log(line: string): void;
  /** SFT progress when the base has to be trained (not cached) */
  sft?: SftHooks & { onTrainStart?(): void };
  /** the plan, before any job runs; return false to stop there (--plan, or over budget) */
  onPlan?(plan: PlanLine[], c: Calibration, done: Job[]): boolean;
  /** planned seconds of work done since the last call, and what runs now */
  onProgress?(seconds: number, status: string): void;
  /** a job's file was written (`index` of `count` jobs this run) */
  onJobDone?(name: string, index: number, count: number): void;
  shouldStop?(): boolean;
}

/** `seconds`: the jobs' wall time (what the plan estimates); `setupSeconds`: SFT base and calibration. */
export interface GridRun { summary: Summary | null; plan: PlanLine[]; ran: string[]; seconds: number; setupSeconds: number }

export async function runGrid(rt: Runtime, g: GridOptions, meta: Pick<GridMeta, 'command' | 'adapter' | 'invocations'>, hooks: GridHooks): Promise<GridRun> {
  const { done, pending } = finishedJobs(g);
  if (!pending.length) return { summary: writeReport(g.out), plan: [], ran: [], seconds: 0, setupSeconds: 0 };
  const t0 = performance.now();
  const ws = await warmStart(rt, g.model, g.sft, { cacheRoot: g.cacheRoot, hooks: hooks.sft, onTrainStart: hooks.sft?.onTrainStart, adapter: meta.adapter });
  if (ws.trained?.stopped) {
    ws.model.destroy();
    hooks.log(`SFT base: stopped after ${ws.trained.steps} of ${g.sft.steps} steps; nothing cached, no job run`);
    return { summary: null, plan: [], ran: [], seconds: 0, setupSeconds: (performance.now() - t0) / 1000 };
  }
  hooks.log(ws.reused
    ? `SFT base: reused ${ws.cacheDir} (held-out greedy accuracy at the end of SFT ${(ws.heldoutAccuracy * 100).toFixed(1)}%)`
    : `SFT base: trained ${ws.trained!.steps} steps in ${ws.trained!.seconds.toFixed(0)} s, cached in ${ws.cacheDir} (held-out greedy accuracy ${(ws.heldoutAccuracy * 100).toFixed(1)}%)`);
  const baseParams = await ws.model.readParams();
  const cfg = ws.model.cfg;
  ws.model.destroy();
  // The held-out set of train/run.ts (the SFT seed's held-out stream), shared by every evaluation.
  const heldout = generate(g.rl.task, { seed: seedPlan(g.sft.seed).heldout, split: 'heldout', count: Math.max(g.problems, g.greedyProblems), unique: true });

  const calibration = await calibrate(rt, g, cfg, baseParams, heldout, pending);
  const plan = pending.map((job) => ({ job, seconds: plannedSeconds(g, job, calibration) }));
  const setupSeconds = (performance.now() - t0) / 1000;
  if (hooks.onPlan && !hooks.onPlan(plan, calibration, done)) return { summary: null, plan, ran: [], seconds: 0, setupSeconds };
  const t1 = performance.now();

  const allJobs = jobs(g).length;
  const prev = readMeta(g.out);
  writeFileAtomic(join(g.out, 'grid.json'), JSON.stringify({ ...meta, options: g as unknown as Record<string, unknown>, jobs: allJobs, invocations: [...(prev?.invocations ?? []), ...meta.invocations] } satisfies GridMeta, null, 2));

  const secPerSample = 1 / calibration.samplesPerSecond;
  let current: ArmId | null = null;
  const ctx: JobContext = {
    rt, grid: g, cfg, baseParams, heldout, adapter: meta.adapter,
    progress: (kind, count, status) => hooks.onProgress?.(kind === 'samples' ? count * secPerSample : count * (calibration.stepSeconds[current!] ?? 0), status),
  };
  const ran: string[] = [];
  let summary: ReturnType<typeof writeReport> | null = null;
  for (const { job } of plan) {
    if (hooks.shouldStop?.()) break;
    current = job.kind === 'arm' ? job.arm.id : null;
    const records = job.kind === 'base' ? await runBaseJob(ctx, job) : await runArmJob(ctx, job);
    writeJob(g.out, records);
    ran.push(job.name);
    hooks.onJobDone?.(job.name, ran.length, plan.length);
    summary = writeReport(g.out); // after every job, so an interrupted grid still has a report of what finished
  }
  return { summary: summary ?? writeReport(g.out), plan, ran, seconds: (performance.now() - t1) / 1000, setupSeconds };
}

/**
 * Arms whose RL steps cost the same: the backward mode and how many rows it touches decide a step's
 * cost (rollouts and the training forward are equal across arms), so the plan measures one arm of
 * each kind. Dense (a, b, f) and the exact backward on 80% of the rows (e) are measured as (a); the
 * exact backward on the top ρ (c, g) as (c); fork-only with its cosine diagnostic (d) as itself.
 */
const COSTS_LIKE: Record<ArmId, ArmId> = { a: 'a', b: 'a', e: 'a', f: 'a', c: 'c', g: 'c', d: 'd' };

/**
 * Measures this machine: the mean of RL steps 2 and 3 (the first compiles pipelines) for each kind
 * of pending arm, and decoded sequences per second at the grid's batch size (second of two calls).
 */
async function calibrate(rt: Runtime, g: GridOptions, cfg: GPTConfig, baseParams: Float32Array, heldout: Problem[], pending: Job[]): Promise<Calibration> {
  const measured: Partial<Record<ArmId, number>> = {};
  const stepSeconds: Partial<Record<ArmId, number>> = {};
  for (const job of pending) {
    if (job.kind !== 'arm') continue;
    const like = COSTS_LIKE[job.arm.id];
    if (measured[like] === undefined) {
      const model = new GPT(rt, cfg, baseParams);
      const stage = new RlStage(model, jobRlOptions(g, { ...job, arm: arms(g.rho).find((a) => a.id === like)! }), { freshOptimizer: true });
      try {
        await stage.step();
        const t0 = performance.now();
        await stage.step();
        await stage.step();
        measured[like] = (performance.now() - t0) / 2000;
      } finally {
        stage.destroy();
        model.destroy();
      }
    }
    stepSeconds[job.arm.id] = measured[like];
  }
  const model = new GPT(rt, cfg, baseParams);
  try {
    const batch = Math.min(g.batch, g.problems * Math.max(g.passKSamples, g.finalSamples));
    const problems = Array.from({ length: batch }, (_, i) => heldout[i % heldout.length]);
    await complete(model, g.rl.task, problems, { batch, temperature: g.rl.temperature, seed: 1 });
    const t0 = performance.now();
    await complete(model, g.rl.task, problems, { batch, temperature: g.rl.temperature, seed: 2 });
    return { stepSeconds, samplesPerSecond: batch / ((performance.now() - t0) / 1000) };
  } finally {
    model.destroy();
  }
}
