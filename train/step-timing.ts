// One training step (forward, cross-entropy, backward, AdamW, loss readback) timed end to end on a
// given runtime. Shared by scripts/bench-step.ts (Node, Dawn) and the browser benchmark page
// (web/bench.ts, driven by scripts/bench-browser.ts), so both measure the same code the same way.
// It lives in train/ (platform-neutral) so that web/ and scripts/ both import it without importing
// each other.
import { tunePendingMatmuls } from '../kernels/matmul.js';
import type { Runtime } from '../kernels/runtime.js';
import { initParams, paramCount, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { sftStep } from './sft.js';

/** The shape jax-js and tfjs were measured at: 2 layers, d 64, 4 heads, T 32, vocab 16, batch 32, untied head. */
export const PEER_MODEL: GPTConfig = { nLayer: 2, dModel: 64, nHead: 4, contextLength: 32, vocabSize: 16, tiedHead: false };
export const PEER_BATCH = 32;
export const PEER_POSITIONS = 32;

export interface StepTiming {
  /** wall-clock ms per step, median and fastest of `reps` */
  median: number;
  min: number;
  /** per-kernel GPU profile of one step (runtime.profileTable) */
  profile: string;
  /** FLOPs of one step as the runtime counts them */
  flops: number;
  params: number;
}

export async function timeTrainingStep(rt: Runtime, cfg: GPTConfig, B: number, T: number, o: { reps?: number; warmup?: number } = {}): Promise<StepTiming> {
  const reps = o.reps ?? 15, warmup = o.warmup ?? 5;
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
  const r = (n: number) => Math.floor(Math.random() * n);
  rt.write(model.tokensFor(B, T), Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)));
  const targets = rt.upload(Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)), [B * T], 'u32');
  const weights = rt.upload(new Float32Array(B * T).fill(1));
  const losses = rt.empty([B * T]);
  const run = (i: number) => sftStep(model, B, T, targets, weights, losses, 1 / (B * T), 1e-4, i + 1);
  try {
    for (let i = 0; i < warmup; i++) await run(i);
    await tunePendingMatmuls(rt); // shapes first seen above get their autotuned variant now
    for (let i = 0; i < 2; i++) await run(i);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await run(i);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    // one profiled step for the per-kernel table
    rt.resetStats();
    rt.setProfiling(true);
    await run(0);
    await rt.sync();
    rt.setProfiling(false);
    const profile = rt.profileTable();
    const flops = Object.values(rt.phaseStats()).reduce((a, p) => a + p.flops, 0);
    rt.resetStats();
    return { median: times[Math.floor(times.length / 2)], min: times[0], profile, flops, params: paramCount(cfg) };
  } finally {
    model.destroy();
    for (const t of [targets, weights, losses]) t.buffer.destroy();
  }
}

/** What the browser benchmark page (web/bench.ts) leaves in window.forkgradBench for scripts/bench-browser.ts. */
export interface BrowserBench { adapter: string; timing: string; median: number; min: number; flops: number; params: number; reps: number; profile: string; userAgent: string }
