// Running the grid's jobs: the SFT base's evaluation and one RL run per arm and seed, each from the
// same base weights, with the same held-out problems and the same sampling seeds for evaluation
// (common random numbers, so arm-to-arm differences are not sampling noise of the evaluation).
import type { Runtime } from '../../kernels/runtime.js';
import type { GPTConfig } from '../../model/config.js';
import { GPT } from '../../model/gpt.js';
import { complete, greedyAccuracy } from '../../train/evaluate.js';
import { meanPassAtK, passKs } from '../../train/metrics.js';
import { RlAccounts, RlStage } from '../../train/pipeline.js';
import { EXPERIMENT_SCHEMA } from '../../train/schema.js';
import { COMMON_EVALUATION_SEEDS as SEEDS } from '../../train/seeds.js';
import type { Problem } from '../../verify/index.js';
import { evalSamples, jobKey, jobRlOptions, type GridOptions, type Job } from './plan.js';
import type { CostRecord, CurveRecord, DecodingRecord, ExperimentRecord, FinalRecord, JobRecord, StepRecord } from './records.js';
import { entropyStats, type SampledAnswer } from './stats.js';

/** Entropy below this (nats) counts as "low" (the 0.01). */
export const LOW_ENTROPY = 0.01;

export interface JobContext {
  rt: Runtime;
  grid: GridOptions;
  cfg: GPTConfig;
  /** the SFT base's parameters, laid out for this runtime */
  baseParams: Float32Array;
  /** the held-out problems every evaluation draws from (first `problems`, first `greedyProblems`) */
  heldout: Problem[];
  adapter: string;
  /** progress: planned-cost units done (samples decoded, RL steps) and a word on what runs */
  progress(kind: 'samples' | 'step', count: number, status: string): void;
}

interface Sampled { correct: number[]; answers: SampledAnswer[] }

/** n samples for each of the first `problems` held-out problems; correct counts per problem. */
async function sample(ctx: JobContext, model: GPT, n: number, o: { temperature: number; seed: number; forkTemperature?: number; forkThreshold?: number; keep?: boolean }, status: string): Promise<Sampled> {
  const problems = ctx.heldout.slice(0, ctx.grid.problems);
  const repeated = problems.flatMap((p) => Array.from({ length: n }, () => p));
  // Equal chunks of at most grid.batch sequences (complete() pads a short last chunk to full size).
  const chunks = Math.ceil(repeated.length / ctx.grid.batch);
  const batch = Math.ceil(repeated.length / chunks);
  const correct = new Array(problems.length).fill(0);
  const answers: SampledAnswer[] = [];
  for (let i = 0; i < repeated.length; i += batch) {
    const part = repeated.slice(i, i + batch);
    const c = await complete(model, ctx.grid.rl.task, part, { batch, temperature: o.temperature, seed: o.seed + i, forkTemperature: o.forkTemperature, forkThreshold: o.forkThreshold });
    c.forEach((x, j) => {
      const p = Math.floor((i + j) / n);
      if (x.correct) correct[p]++;
      if (o.keep) answers.push({ problem: p, prompt: x.problem.prompt, ids: x.answer, entropy: x.entropy });
    });
    ctx.progress('samples', part.length, status);
  }
  return { correct, answers };
}

const passAtKList = (correct: number[], n: number) => passKs(n).map((k) => ({ k, passAtK: meanPassAtK(correct.map((c) => [n, c] as const), k) }));

/** Greedy accuracy and sampled pass@k (k = 1, 2, 4, … ≤ n); with `keep`, the samples too. */
async function finalEval(ctx: JobContext, model: GPT, step: number, n: number, keep: boolean, status: string): Promise<{ rec: FinalRecord; answers: SampledAnswer[] }> {
  const g = ctx.grid;
  const greedyProblems = ctx.heldout.slice(0, g.greedyProblems);
  const greedyAccuracyHeldout = await greedyAccuracy(model, g.rl.task, greedyProblems, g.batch);
  ctx.progress('samples', greedyProblems.length, status);
  const s = await sample(ctx, model, n, { temperature: g.rl.temperature, seed: SEEDS.final, keep }, status);
  return {
    rec: {
      type: 'final', step, greedyAccuracy: greedyAccuracyHeldout, greedyProblems: greedyProblems.length,
      problems: s.correct.length, samples: n, passAtK: passAtKList(s.correct, n), correct: s.correct,
    },
    answers: s.answers,
  };
}

function entropyRecord(ctx: JobContext, answers: SampledAnswer[]): ExperimentRecord {
  const g = ctx.grid;
  const stats = entropyStats(answers, { threshold: g.rl.forkThreshold, low: LOW_ENTROPY, topTokens: 8, contexts: 3, bootstrapReps: g.bootstrapReps, seed: SEEDS.bootstrap });
  return { type: 'entropy', temperature: g.rl.temperature, ...stats };
}

function jobRecord(ctx: JobContext, job: Job): JobRecord {
  const arm = job.kind === 'arm' ? job : null;
  return {
    type: 'job', schema: EXPERIMENT_SCHEMA, name: job.name, key: jobKey(ctx.grid, job), arm: arm?.arm.id ?? null, armLabel: arm?.arm.label ?? null,
    seed: arm?.seed ?? null, rl: arm ? jobRlOptions(ctx.grid, arm) : null, task: ctx.grid.rl.task,
    adapter: ctx.adapter, finishedAt: new Date().toISOString(),
  };
}

/** The SFT base: full pass@k and its entropy statistics (step 0 of every arm's curve). */
export async function runBaseJob(ctx: JobContext, job: Job): Promise<ExperimentRecord[]> {
  const model = new GPT(ctx.rt, ctx.cfg, ctx.baseParams);
  try {
    const t0 = performance.now();
    const f = await finalEval(ctx, model, 0, ctx.grid.passKSamples, true, 'SFT base: pass@k');
    const evalSeconds = (performance.now() - t0) / 1000;
    const none = new RlAccounts();
    return [jobRecord(ctx, job), f.rec, entropyRecord(ctx, f.answers), { type: 'cost', flops: none.flops, gpuMs: none.ms, trainSeconds: 0, evalSeconds }];
  } finally {
    model.destroy();
  }
}

/** One arm and seed: RL from the base with the held-out pass@1 curve, then the final evaluation. */
export async function runArmJob(ctx: JobContext, job: Extract<Job, { kind: 'arm' }>): Promise<ExperimentRecord[]> {
  const g = ctx.grid;
  const rl = jobRlOptions(g, job);
  const model = new GPT(ctx.rt, ctx.cfg, ctx.baseParams);
  const stage = new RlStage(model, rl, { freshOptimizer: true });
  const records: ExperimentRecord[] = [];
  let trainMs = 0, evalMs = 0;
  try {
    for (let step = 1; step <= g.steps; step++) {
      const t0 = performance.now();
      // the stage's accounts add up the phases, the fork-only arm's cosine backward ('diagnostic') apart
      const m = await stage.step();
      const wallMs = performance.now() - t0;
      trainMs += wallMs;
      records.push({
        type: 'step', step, reward: m.reward, accuracy: m.accuracy, loss: m.loss, entropyMean: m.entropyMean,
        selected: m.selected, responseTokens: m.responseTokens, zeroSignalGroups: m.zeroSignalGroups, clipFraction: m.clipFraction,
        gradCosine: m.gradCosine, flops: m.flops, ms: m.ms, wallMs,
      } satisfies StepRecord);
      ctx.progress('step', 1, `${job.name} step ${step}/${g.steps}`);
      if (step % g.evalEvery === 0 && step < g.steps) {
        const e0 = performance.now();
        const s = await sample(ctx, model, g.curveSamples, { temperature: rl.temperature, seed: SEEDS.curve(step) }, `${job.name} eval at step ${step}`);
        evalMs += performance.now() - e0;
        records.push({ type: 'curve', step, pass1: meanPassAtK(s.correct.map((c) => [g.curveSamples, c] as const), 1), problems: s.correct.length, samples: g.curveSamples, ...stage.accounts.training() } satisfies CurveRecord);
      }
    }
    const e0 = performance.now();
    const n = job.passK ? g.passKSamples : g.finalSamples;
    const f = await finalEval(ctx, model, g.steps, n, job.passK, `${job.name} final eval (${n} samples per problem)`);
    records.push(f.rec, { type: 'curve', step: g.steps, pass1: f.rec.passAtK[0].passAtK, problems: f.rec.problems, samples: n, ...stage.accounts.training() });
    if (job.passK) records.push(entropyRecord(ctx, f.answers));
    if (job.decoding) records.push(...(await decodingStudy(ctx, model, job.name)));
    evalMs += performance.now() - e0;
    records.push({ type: 'cost', flops: stage.accounts.flops, gpuMs: stage.accounts.ms, trainSeconds: trainMs / 1000, evalSeconds: evalMs / 1000 });
  } finally {
    stage.destroy();
    model.destroy();
  }
  return [jobRecord(ctx, job), ...records];
}

/** Dual-temperature decoding on a trained model: pass@1 and pass@16 for each (T_fork, T_other). */
async function decodingStudy(ctx: JobContext, model: GPT, name: string): Promise<DecodingRecord[]> {
  const g = ctx.grid;
  const out: DecodingRecord[] = [];
  const n = g.decodingSamples;
  for (const temperature of g.otherTemperatures) {
    for (const forkTemperature of g.forkTemperatures) {
      const s = await sample(ctx, model, n, { temperature, forkTemperature, forkThreshold: g.rl.forkThreshold, seed: SEEDS.decoding }, `${name} decoding T_fork ${forkTemperature} T_other ${temperature}`);
      const at = (k: number) => (k <= n ? meanPassAtK(s.correct.map((c) => [n, c] as const), k) : null);
      out.push({ type: 'decoding', forkTemperature, temperature, forkThreshold: g.rl.forkThreshold, problems: s.correct.length, samples: n, pass1: at(1)!, pass16: at(16) });
    }
  }
  return out;
}

/** Planned work of a job in the progress bar's units: decoded samples and RL steps. */
export function jobWork(g: GridOptions, job: Job): { samples: number; steps: number } {
  const s = evalSamples(g, job);
  return { samples: s.curve + s.final + s.greedy + s.decoding, steps: job.kind === 'arm' ? g.steps : 0 };
}
