// The SFT warm start, shared by train/run.ts and scripts/experiment.ts: reuse the cached model when
// one matches the settings, otherwise train it and cache it. One place for the cache key, so every
// consumer of "the default SFT base" gets the same weights.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { generate } from '../verify/index.js';
import { loadCheckpoint, saveCheckpoint } from './files.js';
import type { Resume } from './loop.js';
import { trainSft, type SftHooks, type SftOptions } from './sft.js';

/**
 * The cache key covers the model, the SFT settings and a sample of the training data itself, so a
 * change in how tasks are written (e.g. padded operands) never reuses a warm start trained on the
 * old format.
 */
export function sftCacheKey(cfg: GPTConfig, sft: SftOptions): string {
  const dataSample = generate(sft.task, { seed: sft.seed, count: 4 }).map((p) => p.prompt + p.answer);
  return createHash('sha256').update(JSON.stringify({ model: cfg, sft, dataSample })).digest('hex').slice(0, 12);
}

export interface WarmStart {
  model: GPT;
  /** Where the cached warm start lives (written after a complete SFT run). */
  cacheDir: string;
  reused: boolean;
  /** Held-out greedy accuracy at the end of SFT (as recorded when it was trained). */
  heldoutAccuracy: number;
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
  if (!o.resume && !o.noCache && existsSync(join(cacheDir, 'config.json'))) {
    const ck = loadCheckpoint(cacheDir, rt.viewAlign);
    return { model: new GPT(rt, ck.config, ck.params), cacheDir, reused: true, heldoutAccuracy: ck.info.heldoutAccuracy as number };
  }
  const model = o.resume?.model ?? new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), sft.seed));
  o.onTrainStart?.(model);
  const t0 = performance.now();
  const r = await trainSft(model, sft, o.hooks, { resume: o.resume?.at, nonFinitePatience: o.nonFinitePatience });
  const seconds = (performance.now() - t0) / 1000;
  const stopped = r.steps < sft.steps;
  const params = await model.readParams();
  const info = { task: sft.task, stage: 'sft', steps: r.steps, heldoutAccuracy: r.finalAccuracy, seconds, adapter: o.adapter };
  if (o.saveTo) saveCheckpoint(o.saveTo, cfg, model.layout, params, info);
  // Only a complete SFT run becomes the shared warm start.
  if (!stopped) saveCheckpoint(cacheDir, cfg, model.layout, params, info);
  return { model, cacheDir, reused: false, heldoutAccuracy: r.finalAccuracy, trained: { steps: r.steps, seconds, lastLoss: r.lastLoss, stopped } };
}
