// Types, the PRNG (from util/) and the train/held-out rule shared by every task.
import type { Rng } from '../util/random.js';
import type { StepsProblem } from './steps.js';
import { EOS_MARK } from './tokenizer.js';

// The PRNG lives in util/random.ts (model/ uses it too); re-exported for verify's users.
export { mulberry32, type Rng } from '../util/random.js';

export type TaskName = 'addition' | 'multiplication' | 'countdown' | 'countdown-steps';
export type Split = 'train' | 'heldout';

export interface ArithmeticMeta {
  /** Operands as decimal strings: long operands stay exact and JSON-safe. */
  a: string;
  b: string;
  /** Answer written least-significant digit first. */
  reverse: boolean;
}

export interface CountdownMeta {
  numbers: number[];
  target: number;
  /** Distinct solutions up to commutativity and associativity (see countdown.ts). */
  solutionCount: number;
}

interface ProblemOf<T extends TaskName, M> {
  task: T;
  /** What the model is conditioned on (after BOS). */
  prompt: string;
  /** One reference solution, for SFT; the model writes it after the prompt, then EOS. */
  answer: string;
  meta: M;
}
export type AdditionProblem = ProblemOf<'addition', ArithmeticMeta>;
export type MultiplicationProblem = ProblemOf<'multiplication', ArithmeticMeta>;
export type CountdownProblem = ProblemOf<'countdown', CountdownMeta>;
export type Problem = AdditionProblem | MultiplicationProblem | CountdownProblem | StepsProblem;

export interface VerifyOptions {
  /** Reward for a well-formed but wrong answer (default 0). */
  formatReward?: number;
}

export interface VerifyResult {
  correct: boolean;
  /** 1 when correct, else formatReward for well-formed answers, else 0. */
  reward: number;
  /** First word is a stable code (ok, empty, too-long, wrong, parse-error, …); the rest is detail. */
  reason: string;
}

/** No legitimate answer is near this long; longer input is rejected before any parsing. */
export const MAX_ANSWER_CHARS = 1024;

export function ok(): VerifyResult {
  return { correct: true, reward: 1, reason: 'ok' };
}
export function fail(reason: string): VerifyResult {
  return { correct: false, reward: 0, reason };
}
/** A wrong answer that was well-formed, so it may earn the format reward. */
export function wrongButWellFormed(reason: string, opts: VerifyOptions | undefined): VerifyResult {
  const r = opts?.formatReward ?? 0;
  return { correct: false, reward: Number.isFinite(r) ? r : 0, reason };
}

/**
 * The answer part of a model's text: everything before the first EOS marker (a sampler's output
 * after EOS is not the model's answer), within the length cap; or the failure that makes it unusable.
 */
export function answerPart(text: unknown): { text: string } | { fail: VerifyResult } {
  if (typeof text !== 'string') return { fail: fail('bad-input: answer is not a string') };
  // Only the head can hold an acceptable answer, so never scan further than the cap.
  const head = text.length > MAX_ANSWER_CHARS + EOS_MARK.length ? text.slice(0, MAX_ANSWER_CHARS + EOS_MARK.length) : text;
  const cut = head.indexOf(EOS_MARK);
  const s = cut >= 0 ? head.slice(0, cut) : text;
  if (s.length === 0) return { fail: fail('empty') };
  if (s.length > MAX_ANSWER_CHARS) return { fail: fail(`too-long: ${s.length} chars > ${MAX_ANSWER_CHARS}`) };
  return { text: s };
}

/** Shortens long values inside reasons. */
export function clip(s: string, n = 40): string {
  return s.length <= n ? s : `${s.slice(0, n)}…(${s.length} chars)`;
}

/** Uniform integer in [lo, hi]. */
export function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/** FNV-1a then murmur3's finalizer, so that `% HELDOUT_MOD` sees well-mixed low bits. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Held-out rule: a problem belongs to the held-out split iff hash32(key) % HELDOUT_MOD === 0, where
 * the key names the problem independent of presentation (operand order, answer direction). Train
 * samplers never emit such problems, whatever the seed, so the splits are disjoint by construction.
 */
export const HELDOUT_MOD = 10;
export function splitOfKey(key: string): Split {
  return hash32(key) % HELDOUT_MOD === 0 ? 'heldout' : 'train';
}

/** A per-(task, split) stream from one user seed, so train and held-out draws are unrelated. */
export function streamSeed(seed: number, task: TaskName, split: Split): number {
  return hash32(`${task}/${split}/${seed >>> 0}`);
}
