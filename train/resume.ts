// Periodic training checkpoints and `--resume` for train/run.ts (Node).
//
// A checkpoint is taken after a step's metrics and evaluation are logged: weights, AdamW moments
// and skip count, the step, the problem stream's position (every other random stream — rollout
// seeds, held-out sets, pass@k samples — derives from the seed and the step), and the length of
// metrics.jsonl at that moment. A resumed run cuts metrics.jsonl back to that length (dropping
// whatever the interrupted process logged after its checkpoint) and appends, so the file ends up
// line for line what an uninterrupted run writes.
import { existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { GPT } from '../model/gpt.js';
import type { RunOptions, Stage } from './cli.js';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainState, type TrainingCheckpoint } from './files.js';
import { checkSchema, RUN_SCHEMA } from './schema.js';

export const CHECKPOINTS = 'checkpoints';

/** The settings a run folder was started with (run.json), for --resume. */
export function readRunSettings(runDir: string): RunOptions {
  const path = join(runDir, 'run.json');
  if (!existsSync(runDir)) throw new Error(`--resume ${runDir}: the folder does not exist; pass a run folder written by train/run.ts`);
  if (!existsSync(path)) throw new Error(`--resume ${runDir}: it has no run.json; pass a run folder written by train/run.ts`);
  let meta: { schema?: unknown; options?: RunOptions };
  try {
    meta = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--resume ${runDir}: run.json is not valid JSON (${(e as Error).message})`);
  }
  checkSchema(`--resume ${runDir}: run.json`, meta?.schema, RUN_SCHEMA, 'start a new run');
  const options = meta.options;
  if (!options || typeof options !== 'object' || !options.model || !options.rl || !options.sft || !options.task) {
    throw new Error(`--resume ${runDir}: run.json holds no run settings; pass a run folder written by train/run.ts`);
  }
  return options;
}

/** Flags that change no number the run computes: a resumed run takes them from this command line
 * when given there (cli.ts RunControl.given), and every other setting from run.json. */
const PROCESS_SETTINGS = ['saveSteps', 'nonFinitePatience'] as const satisfies readonly (keyof RunOptions)[];

/** The one place a resumed run's settings are merged: the saved ones, with the process flags given anew. */
export function resumedOptions(saved: RunOptions, given: RunOptions, explicit: ReadonlySet<keyof RunOptions>): RunOptions {
  const out: RunOptions = { ...saved };
  for (const k of PROCESS_SETTINGS) if (explicit.has(k)) out[k] = given[k];
  return out;
}

/** The latest checkpoint of a run folder, verified, plus a check that metrics.jsonl reaches its offset. */
export function openResume(runDir: string, align: number): TrainingCheckpoint & { dir: string } {
  const ck = loadTrainingCheckpoint(join(runDir, CHECKPOINTS), align);
  const metrics = join(runDir, 'metrics.jsonl');
  const have = existsSync(metrics) ? statSync(metrics).size : 0;
  if (have < ck.state.metricsOffset) {
    throw new Error(`--resume ${runDir}: metrics.jsonl has ${have} bytes but checkpoint ${ck.dir} was taken at ${ck.state.metricsOffset}; the log was cut or replaced, so the run cannot continue it`);
  }
  return ck;
}

/** Drops what was logged after the checkpoint (steps the resumed run repeats). */
export function rewindMetrics(metricsPath: string, offset: number): void {
  if (existsSync(metricsPath) && statSync(metricsPath).size > offset) truncateSync(metricsPath, offset);
}

/** Saves training checkpoints of one model into <runDir>/checkpoints. */
export class Checkpointer {
  /** the folder of the last checkpoint saved (or resumed from) */
  last: string | null = null;

  constructor(readonly runDir: string, private readonly metricsPath: string, private readonly saveSteps: number) {}

  /** Whether a step's checkpoint is due: every saveSteps good steps, and always at the last one. */
  due(c: { step: number; last: boolean; skipped: boolean }): boolean {
    return c.last || (!c.skipped && this.saveSteps > 0 && c.step % this.saveSteps === 0);
  }

  /** Reads the model's weights and optimizer state back and saves them with `state`. */
  async save(model: GPT, stage: Stage, step: number, data: number, run: Record<string, unknown>, info: Record<string, unknown>): Promise<string> {
    // everything is read before anything is written: a device fault here leaves the last checkpoint as it was
    const params = await model.readParams();
    const opt = await model.opt.readState();
    const state: TrainState = { stage, step, data, metricsOffset: existsSync(this.metricsPath) ? statSync(this.metricsPath).size : 0, run };
    this.last = saveTrainingCheckpoint(join(this.runDir, CHECKPOINTS), { config: model.cfg, layout: model.layout, params, opt, info: { ...info, stage, step }, state });
    return this.last;
  }
}
