// Held-out evaluation: greedy exact match and sampled pass@k, through the same GPU decoder.
import { Decoder } from '../model/generate.js';
import type { GPTConfig } from '../model/config.js';
import type { GPT } from '../model/gpt.js';
import { EOS, PAD, encodeExample, maxLengths, verifyTokens, type Problem, type TaskConfig } from '../verify/index.js';
import { meanPassAtK } from './metrics.js';

export interface Completion {
  problem: Problem;
  /** generated answer tokens (EOS excluded), the sampled positions' entropies */
  answer: number[];
  entropy: number[];
  correct: boolean;
  reason: string;
}

/** Decoded sequence length for a task: its longest prompt + answer + EOS, within the context. */
export function rolloutLength(cfg: GPTConfig, task: TaskConfig): number {
  return Math.min(cfg.contextLength, maxLengths(task).sequence + 2);
}

/** Decoder batch sizes of the held-out evaluations (train/limits.ts plans their buffers from them). */
export const GREEDY_BATCH = 256;
export const PASS_K_BATCH = 512;

/** Where a generated answer stops in a decoded row: the first EOS or PAD at or after `start` (or L). */
export function answerEnd(row: ArrayLike<number>, start: number, L: number): number {
  let end = start;
  while (end < L && row[end] !== EOS && row[end] !== PAD) end++;
  return end;
}

/** Generates one completion per problem in batches of `batch`; temperature 0 is greedy. */
export async function complete(
  model: GPT, task: TaskConfig, problems: readonly Problem[],
  o: { batch: number; temperature: number; seed: number; forkTemperature?: number; forkThreshold?: number },
): Promise<Completion[]> {
  const length = rolloutLength(model.cfg, task);
  const out: Completion[] = [];
  const dec = new Decoder(model, o.batch, length);
  try {
    for (let i = 0; i < problems.length; i += o.batch) {
      const chunk = problems.slice(i, i + o.batch);
      const prompts = chunk.map((p) => encodeExample(p.prompt).ids);
      while (prompts.length < o.batch) prompts.push(prompts[0]); // fill the fixed-size decoder
      const gen = await dec.generate(prompts, { length, eos: EOS, pad: PAD, temperature: o.temperature, seed: o.seed + i, forkTemperature: o.forkTemperature, forkThreshold: o.forkThreshold });
      chunk.forEach((problem, b) => {
        const row = gen.tokens.subarray(b * length, (b + 1) * length);
        const start = gen.promptLength[b];
        const end = answerEnd(row, start, length);
        const ids = Array.from(row.subarray(start, Math.min(length, end + 1)));
        const v = verifyTokens(problem, ids, { requireEos: true });
        out.push({
          problem,
          answer: Array.from(row.subarray(start, end)),
          entropy: Array.from(gen.entropy.subarray(b * length + start, b * length + end + 1)),
          correct: v.correct,
          reason: v.reason,
        });
      });
    }
  } finally {
    dec.destroy();
  }
  return out;
}

export async function greedyAccuracy(model: GPT, task: TaskConfig, problems: readonly Problem[], batch = GREEDY_BATCH): Promise<number> {
  const c = await complete(model, task, problems, { batch: Math.min(batch, problems.length), temperature: 0, seed: 0 });
  return c.filter((x) => x.correct).length / c.length;
}

/** pass@k for each k in ks from n samples per problem at `temperature`. */
export async function passAtKCurve(
  model: GPT, task: TaskConfig, problems: readonly Problem[], n: number, ks: readonly number[],
  o: { temperature: number; seed: number; batch?: number },
): Promise<{ k: number; passAtK: number }[]> {
  const repeated = problems.flatMap((p) => Array.from({ length: n }, () => p));
  const c = await complete(model, task, repeated, { batch: Math.min(o.batch ?? PASS_K_BATCH, repeated.length), temperature: o.temperature, seed: o.seed });
  const results = problems.map((_, i) => [n, c.slice(i * n, (i + 1) * n).filter((x) => x.correct).length] as const);
  return ks.filter((k) => k <= n).map((k) => ({ k, passAtK: meanPassAtK(results, k) }));
}
