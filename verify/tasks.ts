// The task registry: one entry point for sampling, sizing, keying and verifying any task.
import {
  type ArithmeticConfig, arithmeticKey, arithmeticLengths, parseArithmeticPrompt, sampleArithmetic, verifyArithmetic,
} from './arithmetic.js';
import {
  type Problem, type Split, type TaskName, type VerifyOptions, type VerifyResult, MAX_ANSWER_CHARS, fail, mulberry32, splitOfKey, streamSeed,
} from './common.js';
import {
  type CountdownConfig, countdownKey, countdownLengths, parseCountdownPrompt, sampleCountdown, verifyCountdown,
} from './countdown.js';
import {
  type StepsConfig, parseStepsPrompt, sampleSteps, stepsKey, stepsLengths, verifySteps,
} from './steps.js';
import { BOS, EOS, PAD, TOKENS, VOCAB_SIZE, decode } from './tokenizer.js';

export type TaskConfig =
  | ({ task: 'addition' } & ArithmeticConfig)
  | ({ task: 'multiplication' } & ArithmeticConfig)
  | ({ task: 'countdown' } & CountdownConfig)
  | ({ task: 'countdown-steps' } & StepsConfig);

export const TASK_NAMES: readonly TaskName[] = ['addition', 'multiplication', 'countdown', 'countdown-steps'];

/** A task's config from its name: arithmetic tasks take an operand digit count, the countdowns take
 * none (their ranges are the task's defaults). */
export function taskConfig(name: TaskName, digits = 3): TaskConfig {
  if (name === 'countdown' || name === 'countdown-steps') return { task: name };
  return { task: name, digits };
}

function toConfig(c: TaskConfig | TaskName): TaskConfig {
  const cfg = typeof c === 'string' ? ({ task: c } as TaskConfig) : c;
  if (!TASK_NAMES.includes(cfg?.task)) throw new Error(`unknown task ${JSON.stringify(cfg?.task)}; expected one of ${TASK_NAMES.join(', ')}`);
  return cfg;
}

export interface SamplerOptions {
  seed: number;
  /** Default 'train'. */
  split?: Split;
}

/** A problem stream; `state` is its position (the PRNG's), saved in checkpoints to resume it. */
export interface Sampler {
  (): Problem;
  state: number;
}

/**
 * An endless deterministic stream of problems: the same (config, seed, split) always yields the same
 * sequence. Train and held-out streams never share a problem (see splitOfKey in common.ts).
 */
export function sampler(config: TaskConfig | TaskName, opts: SamplerOptions): Sampler {
  const cfg = toConfig(config);
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'heldout') throw new Error(`split must be 'train' or 'heldout', got ${JSON.stringify(split)}`);
  const rand = mulberry32(streamSeed(opts.seed, cfg.task, split));
  let draw: () => Problem;
  if (cfg.task === 'countdown') draw = () => sampleCountdown(cfg, rand, split);
  else if (cfg.task === 'countdown-steps') draw = () => sampleSteps(cfg, rand, split);
  else {
    const task = cfg.task;
    draw = () => sampleArithmetic(task, cfg, rand, split);
  }
  const next = draw as Sampler;
  Object.defineProperty(next, 'state', {
    get: () => rand.state,
    set: (s: number) => {
      if (!(Number.isInteger(s) && s >= 0 && s <= 0xffffffff)) throw new Error(`sampler state must be a u32, got ${s}`);
      rand.state = s;
    },
  });
  return next;
}

/** `count` problems from sampler(); with `unique`, repeats are skipped (for evaluation sets). */
export function generate(config: TaskConfig | TaskName, opts: SamplerOptions & { count: number; unique?: boolean }): Problem[] {
  const next = sampler(config, opts);
  const out: Problem[] = [];
  const seen = new Set<string>();
  const budget = 50 * opts.count + 1000;
  for (let draws = 0; out.length < opts.count; draws++) {
    if (draws >= budget) throw new Error(`generate: only ${out.length} unique problems in ${budget} draws; the space is too small for ${opts.count}`);
    const p = next();
    if (opts.unique) {
      const k = problemKey(p);
      if (seen.has(k)) continue;
      seen.add(k);
    }
    out.push(p);
  }
  return out;
}

/**
 * Longest prompt and reference answer a config can produce, and the sequence [BOS, prompt, answer,
 * EOS] they make: the model's context must be at least `sequence`.
 */
export function maxLengths(config: TaskConfig | TaskName): { prompt: number; answer: number; sequence: number } {
  const cfg = toConfig(config);
  const l = cfg.task === 'countdown' ? countdownLengths(cfg) : cfg.task === 'countdown-steps' ? stepsLengths(cfg) : arithmeticLengths(cfg.task, cfg);
  return { ...l, sequence: 1 + l.prompt + l.answer + 1 };
}

/** Names the problem independent of presentation; equal keys are the same problem. */
export function problemKey(p: Problem): string {
  if (p.task === 'countdown-steps') return stepsKey(p.meta.numbers, p.meta.target);
  return p.task === 'countdown' ? countdownKey(p.meta.numbers, p.meta.target) : arithmeticKey(p.task, p.meta.a, p.meta.b);
}

export function splitOf(p: Problem): Split {
  return splitOfKey(problemKey(p));
}

/**
 * Rebuilds a problem from its prompt text (for the CLI and for callers that kept only prompts).
 * `reverse` sets the arithmetic answer direction; `solve` computes a countdown reference. Throws.
 */
export function parseProblem(task: TaskName, prompt: string, opts: { reverse?: boolean; solve?: boolean } = {}): Problem {
  if (typeof prompt !== 'string') throw new Error('prompt must be a string');
  switch (task) {
    case 'addition':
    case 'multiplication':
      return parseArithmeticPrompt(task, prompt, opts.reverse ?? false);
    case 'countdown':
      return parseCountdownPrompt(prompt, opts.solve ?? false);
    case 'countdown-steps':
      return parseStepsPrompt(prompt, opts.solve ?? false);
    default:
      throw new Error(`unknown task ${JSON.stringify(task)}; expected one of ${TASK_NAMES.join(', ')}`);
  }
}

/**
 * Exact check of a model's answer text (what it wrote after the prompt; anything from the first
 * "<eos>" on is ignored). Never throws: garbage of any kind gets reward 0 and a reason.
 */
export function verify(problem: Problem, answerText: string, opts?: VerifyOptions): VerifyResult {
  try {
    switch (problem?.task) {
      case 'addition':
      case 'multiplication':
        return verifyArithmetic(problem, answerText, opts);
      case 'countdown':
        return verifyCountdown(problem, answerText, opts);
      case 'countdown-steps':
        return verifySteps(problem, answerText, opts);
      default:
        return fail(`bad-problem: unknown task ${JSON.stringify((problem as any)?.task)}`);
    }
  } catch (err) {
    // Only a malformed problem object can get here (verifiers treat every answer as data).
    return fail(`bad-problem: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface VerifyTokensOptions extends VerifyOptions {
  /** Fail answers that never emitted EOS (ran out of context). Default false: judge what is there. */
  requireEos?: boolean;
}

/**
 * Checks generated token ids (those after the prompt). The answer ends at the first EOS; PAD or BOS
 * before it, or an id outside the vocabulary, fails the answer. Never throws.
 */
export function verifyTokens(problem: Problem, ids: ArrayLike<number>, opts?: VerifyTokensOptions): VerifyResult {
  const n = Math.min(ids.length, MAX_ANSWER_CHARS + 1);
  let end = -1;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id === EOS) { end = i; break; }
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) return fail(`bad-token: id ${id} at ${i}`);
    if (id === PAD || id === BOS) return fail(`bad-token: ${TOKENS[id]} at ${i}`);
  }
  if (end < 0 && ids.length > MAX_ANSWER_CHARS) return fail(`too-long: ${ids.length} tokens without EOS`);
  if (end < 0 && opts?.requireEos) return fail('no-eos');
  return verify(problem, decode(end < 0 ? ids : Array.prototype.slice.call(ids, 0, end)), opts);
}
