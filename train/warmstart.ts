// The SFT warm start, shared by train/run.ts and scripts/experiment.ts: reuse the cached model when
// one matches the settings, otherwise train it and cache it. One place for the cache key, so every
// consumer of "the default SFT base" gets the same weights.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../kernels/runtime.js';
import type { GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { generate } from '../verify/index.js';
import { loadCheckpoint, saveCheckpoint } from './files.js';
import type { Resume } from './loop.js';
import { freshModel } from './pipeline.js';
import { seedPlan } from './seeds.js';
import { trainSft, type SftHooks, type SftOptions } from './sft.js';

/**
 * SftOptions that decide only how SFT is evaluated, not the weights it trains (test/warmstart.test.ts
 * trains with different values and compares the weights bit for bit). The cache key leaves them
 * out, so changing them reuses the warm start; the held-out accuracy recorded with it is then
 * re-measured when it was measured on a different number of problems.
 */
export const SFT_EVAL_ONLY = ['evalEvery', 'evalProblems'] as const;

/** JSON with object keys sorted, so the key does not depend on the order options were spelled in. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') {
    const entries = Object.entries(x).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** A sample of the training data itself, so a change in how tasks are written (e.g. padded
 * operands) never reuses a warm start trained on the old format. */
function dataSample(sft: SftOptions): string[] {
  return generate(sft.task, { seed: seedPlan(sft.seed).sftData, count: 4 }).map((p) => p.prompt + p.answer);
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * The cache key covers the model, every SFT setting that changes the trained weights (all but
 * SFT_EVAL_ONLY; a new option changes the key unless it is added there) and a data sample.
 */
export function sftCacheKey(cfg: GPTConfig, sft: SftOptions): string {
  const training: Record<string, unknown> = { ...sft, labelNoise: sft.labelNoise ?? 0 };
  for (const k of SFT_EVAL_ONLY) delete training[k];
  return digest(canonical({ model: cfg, sft: training, dataSample: dataSample(sft) }));
}

/** The key warm starts were cached under before evaluation settings were left out of it (every SFT
 * option, in the order given). Such caches are still found: their weights are what the settings
 * train, and their held-out accuracy was measured with these very evaluation settings. */
export function legacySftCacheKey(cfg: GPTConfig, sft: SftOptions): string {
  return digest(JSON.stringify({ model: cfg, sft, dataSample: dataSample(sft) }));
}

export interface WarmStart {
  model: GPT;
  /** Where the cached warm start lives (written after a complete SFT run). */
  cacheDir: string;
  reused: boolean;
  /** Held-out greedy accuracy at the end of SFT on `heldoutProblems` problems: the recorded value
   * when it was measured on as many as `sft.evalProblems` asks for, else measured again now. */
  heldoutAccuracy: number;
  heldoutProblems: number;
  /** A reused warm start whose recorded accuracy was on a different number of problems: measured now. */
  remeasured: boolean;
  /** Set when SFT ran here: steps, seconds, last loss; and whether it was stopped early. */
  trained?: { steps: number; seconds: number; lastLoss: number; stopped: boolean };
}

export interface WarmStartOptions {
  cacheRoot: string;
  /** Train even when a cached warm start matches. */
  noCache?: boolean;
  /** Also save the trained SFT model here (the run folder's sft/). */
  saveTo?: string;
  hooks?: SftHooks;
  /** Called once before SFT training starts (not when the cache is reused), with the model it trains. */
  onTrainStart?: (model: GPT) => void;
  /** Recorded in the checkpoint's info. */
  adapter?: string;
  /** Continue an interrupted SFT run: `model` holds its weights and optimizer state, `at` where it
   * stopped. The cache is not consulted (the run finishes what it started). */
  resume?: { model: GPT; at: Resume };
  /** consecutive non-finite steps that stop SFT (train/loop.ts) */
  nonFinitePatience?: number;
}

export async function warmStart(rt: Runtime, cfg: GPTConfig, sft: SftOptions, o: WarmStartOptions): Promise<WarmStart> {
  const cacheDir = join(o.cacheRoot, sftCacheKey(cfg, sft));
  const legacyDir = join(o.cacheRoot, legacySftCacheKey(cfg, sft));
  const found = [cacheDir, legacyDir].find((d) => existsSync(join(d, 'config.json')));
  if (!o.resume && !o.noCache && found) {
    const ck = loadCheckpoint(found, rt.viewAlign);
    const model = new GPT(rt, ck.config, ck.params);
    // a legacy key included evalProblems, so its accuracy was measured on as many problems as asked now
    const measuredOn = found === legacyDir ? sft.evalProblems : ck.info.heldoutProblems;
    if (measuredOn === sft.evalProblems && typeof ck.info.heldoutAccuracy === 'number') {
      return { model, cacheDir: found, reused: true, heldoutAccuracy: ck.info.heldoutAccuracy, heldoutProblems: sft.evalProblems, remeasured: false };
    }
    // trainSft resumed at its last step runs no step and evaluates on exactly the held-out problems
    // a training run with these settings would (one definition of the SFT held-out set)
    const r = await trainSft(model, sft, {}, { resume: { step: sft.steps, data: 0 } });
    return { model, cacheDir: found, reused: true, heldoutAccuracy: r.finalAccuracy, heldoutProblems: sft.evalProblems, remeasured: true };
  }
  const model = o.resume?.model ?? freshModel(rt, cfg, sft);
  o.onTrainStart?.(model);
  const t0 = performance.now();
  const r = await trainSft(model, sft, o.hooks, { resume: o.resume?.at, nonFinitePatience: o.nonFinitePatience });
  const seconds = (performance.now() - t0) / 1000;
  const stopped = r.steps < sft.steps;
  const params = await model.readParams();
  const info = { task: sft.task, stage: 'sft', steps: r.steps, heldoutAccuracy: r.finalAccuracy, heldoutProblems: sft.evalProblems, seconds, adapter: o.adapter };
  if (o.saveTo) saveCheckpoint(o.saveTo, cfg, model.layout, params, info);
  // Only a complete SFT run becomes the shared warm start.
  if (!stopped) saveCheckpoint(cacheDir, cfg, model.layout, params, info);
  return { model, cacheDir, reused: false, heldoutAccuracy: r.finalAccuracy, heldoutProblems: sft.evalProblems, remeasured: false, trained: { steps: r.steps, seconds, lastLoss: r.lastLoss, stopped } };
}
