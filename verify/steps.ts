// Countdown written as steps: given a few numbers and a target, combine two numbers of the pool at a
// time until one number is left, and make it the target. "3,7,12,5;24=" → "12-7=5,5*3=15,15+5=20"
// is well formed (and wrong: 20 ≠ 24). Every number is used exactly once; each step's result joins
// the pool. The answer is long (count − 1 steps) and mostly determined: which pair and operation to
// take next is a choice (several lead to a solution, others to dead ends), and once chosen the
// result, the '=' and the ',' are fixed — the forks the 80/20 paper describes, followed by
// determined text.
//
// Arithmetic rule (solver, generator and verifier share it): every value is a whole number in
// 1..maxValue. a+b, a*b as usual; a−b only when a > b; a/b only when b divides a. The SFT reference
// writes + and * with the larger operand first (the verifier accepts either order) and is drawn
// uniformly at random among all step sequences that reach the target, so the model learns the
// choices as uncertainty and the arithmetic as certainty.
import {
  type Split, type VerifyOptions, type VerifyResult, answerPart, clip, fail, ok, randInt, splitOfKey, wrongButWellFormed,
} from './common.js';

export interface StepsConfig {
  /** How many numbers (steps = count − 1). Default 4. */
  count?: number;
  /** Numbers are distinct, uniform in 1..maxNumber. Default 15 (with 9 the held-out split has only ~250 problems). */
  maxNumber?: number;
  /** Every value (numbers, results, target) lies in 1..maxValue. Default 30: about 600 distinct steps occur in the SFT data (with 1..9 and 50: 773, and a 2-layer base got 64% of its steps right after 1200 steps). */
  maxValue?: number;
  /** Target range (inclusive, within 1..maxValue). Default 10..maxValue. */
  minTarget?: number;
  maxTarget?: number;
  /** Keep only targets with at least this many step sequences that reach them. Default 2: every
   * problem has a real choice somewhere. */
  minSolutions?: number;
}

export interface StepsMeta {
  numbers: number[];
  target: number;
  maxValue: number;
  /** Distinct step sequences (as the reference writes them: + and * larger operand first). */
  solutionCount: number;
}

export interface StepsProblem {
  task: 'countdown-steps';
  prompt: string;
  answer: string;
  meta: StepsMeta;
}

export const STEPS_DEFAULTS = { count: 4, maxNumber: 15, maxValue: 30, minTarget: 10, minSolutions: 2 };
const MAX_COUNT = 6;

function resolve(cfg: StepsConfig) {
  const count = cfg.count ?? STEPS_DEFAULTS.count;
  const maxNumber = cfg.maxNumber ?? STEPS_DEFAULTS.maxNumber;
  const maxValue = cfg.maxValue ?? STEPS_DEFAULTS.maxValue;
  const minTarget = cfg.minTarget ?? Math.min(STEPS_DEFAULTS.minTarget, maxValue);
  const maxTarget = cfg.maxTarget ?? maxValue;
  const minSolutions = cfg.minSolutions ?? STEPS_DEFAULTS.minSolutions;
  const int = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!int(count, 2, MAX_COUNT)) throw new RangeError(`countdown-steps: count must be an integer in 2..${MAX_COUNT}, got ${count}`);
  if (!int(maxValue, 2, 1_000_000)) throw new RangeError(`countdown-steps: maxValue must be an integer in 2..1000000, got ${maxValue}`);
  if (!int(maxNumber, count, maxValue)) throw new RangeError(`countdown-steps: maxNumber must be an integer in ${count}..maxValue (${maxValue}) (numbers are distinct), got ${maxNumber}`);
  if (!int(minTarget, 1, maxValue) || !int(maxTarget, minTarget, maxValue)) {
    throw new RangeError(`countdown-steps: need integers 1 <= minTarget <= maxTarget <= maxValue (${maxValue}), got ${minTarget}..${maxTarget}`);
  }
  if (!int(minSolutions, 1, 1_000_000)) throw new RangeError(`countdown-steps: minSolutions must be an integer in 1..1000000, got ${minSolutions}`);
  return { count, maxNumber, maxValue, minTarget, maxTarget, minSolutions };
}

export type StepOp = '+' | '-' | '*' | '/';

/** a op b under the rule, or null when the step is not allowed (negative, zero, fractional, too large). */
export function applyStep(a: number, op: StepOp, b: number, maxValue: number): number | null {
  let r: number;
  switch (op) {
    case '+': r = a + b; break;
    case '-': r = a - b; break;
    case '*': r = a * b; break;
    case '/': r = b !== 0 && a % b === 0 ? a / b : NaN; break;
  }
  return Number.isInteger(r) && r >= 1 && r <= maxValue ? r : null;
}

interface Step { text: string; pool: number[] }

/** The steps the reference may write from a sorted pool: each unordered pair of values once, + and *
 * larger operand first, − and / as the rule allows; the pool after each, sorted. */
function nextSteps(pool: readonly number[], maxValue: number): Step[] {
  const out: Step[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < pool.length; i++) {
    for (let j = i + 1; j < pool.length; j++) {
      const [a, b] = pool[i] >= pool[j] ? [pool[i], pool[j]] : [pool[j], pool[i]];
      if (seen.has(`${a},${b}`)) continue; // equal values elsewhere in the pool: the same steps
      seen.add(`${a},${b}`);
      const rest = pool.filter((_, k) => k !== i && k !== j);
      for (const op of ['+', '-', '*', '/'] as const) {
        const r = applyStep(a, op, b, maxValue);
        if (r === null) continue;
        out.push({ text: `${a}${op}${b}=${r}`, pool: insertSorted(rest, r) });
      }
    }
  }
  return out;
}

function insertSorted(xs: readonly number[], x: number): number[] {
  const out = [...xs];
  let i = out.length;
  while (i > 0 && out[i - 1] > x) i--;
  out.splice(i, 0, x);
  return out;
}

/** For every pool reachable from the given numbers: how many step sequences end at each value.
 * Memoised on the sorted pool, so problems of up to MAX_COUNT numbers solve in milliseconds. */
class StepSolver {
  private memo = new Map<string, Map<number, number>>();
  constructor(readonly maxValue: number) {}

  get size(): number {
    return this.memo.size;
  }

  finals(pool: readonly number[]): Map<number, number> {
    const key = pool.join(',');
    let m = this.memo.get(key);
    if (m) return m;
    m = new Map();
    if (pool.length === 1) m.set(pool[0], 1);
    else {
      for (const s of nextSteps(pool, this.maxValue)) {
        for (const [v, c] of this.finals(s.pool)) m.set(v, (m.get(v) ?? 0) + c);
      }
    }
    this.memo.set(key, m);
    return m;
  }

  count(pool: readonly number[], target: number): number {
    return this.finals(pool).get(target) ?? 0;
  }

  /** One step sequence reaching target, uniform among all of them (each step weighted by the
   * number of completions after it). */
  draw(pool: readonly number[], target: number, rand: () => number): string {
    const steps: string[] = [];
    let cur = [...pool];
    while (cur.length > 1) {
      const options = nextSteps(cur, this.maxValue).map((s) => ({ s, w: this.count(s.pool, target) })).filter((o) => o.w > 0);
      const total = options.reduce((a, o) => a + o.w, 0);
      if (total === 0) throw new Error(`countdown-steps: ${cur.join(',')} cannot reach ${target}`);
      let u = Math.floor(rand() * total);
      const pick = options.find((o) => (u -= o.w) < 0)!;
      steps.push(pick.s.text);
      cur = pick.s.pool;
    }
    return steps.join(',');
  }
}

// Pools recur across problems (the same pairs, the same results), so generators share one solver
// per maxValue; its memo is a pure cache (dropped when large), so sharing changes no draw.
const solvers = new Map<number, StepSolver>();
const MEMO_LIMIT = 500_000;
function sharedSolver(maxValue: number): StepSolver {
  let s = solvers.get(maxValue);
  if (!s || s.size > MEMO_LIMIT) solvers.set(maxValue, (s = new StepSolver(maxValue)));
  return s;
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** Every step sequence (as the reference writes them) from `numbers` to `target`. Exhaustive; for
 * tests and small problems (the count grows fast with the number of numbers). */
export function solveSteps(numbers: readonly number[], target: number, maxValue = STEPS_DEFAULTS.maxValue): string[] {
  const out: string[] = [];
  const walk = (pool: number[], prefix: string[]) => {
    if (pool.length === 1) {
      if (pool[0] === target) out.push(prefix.join(','));
      return;
    }
    for (const s of nextSteps(pool, maxValue)) walk(s.pool, [...prefix, s.text]);
  };
  walk(sorted(numbers), []);
  return out;
}

/** How many step sequences reach target (memoised; equals solveSteps(...).length). */
export function countStepSolutions(numbers: readonly number[], target: number, maxValue = STEPS_DEFAULTS.maxValue): number {
  return new StepSolver(maxValue).count(sorted(numbers), target);
}

/** A uniformly random solution (for tests of the SFT data's distribution). */
export function drawStepSolution(numbers: readonly number[], target: number, rand: () => number, maxValue = STEPS_DEFAULTS.maxValue): string {
  return new StepSolver(maxValue).draw(sorted(numbers), target, rand);
}

export function stepsKey(numbers: readonly number[], target: number): string {
  return `countdown-steps:${sorted(numbers).join(',')};${target}`;
}

export function stepsPrompt(numbers: readonly number[], target: number): string {
  return `${numbers.join(',')};${target}=`;
}

/**
 * Draws distinct numbers, then a target uniformly among the values in range that at least
 * minSolutions step sequences reach (and whose key is in `split`), then the reference uniformly among
 * those sequences — so the same problem drawn twice may get different references, as a dataset of
 * all solutions would. Numbers appear in the prompt in the order drawn.
 */
export function sampleSteps(cfg: StepsConfig, rand: () => number, split: Split): StepsProblem {
  const { count, maxNumber, maxValue, minTarget, maxTarget, minSolutions } = resolve(cfg);
  const solver = sharedSolver(maxValue);
  for (let tries = 0; tries < 10_000; tries++) {
    const numbers: number[] = [];
    while (numbers.length < count) {
      const x = randInt(rand, 1, maxNumber);
      if (!numbers.includes(x)) numbers.push(x);
    }
    const pool = sorted(numbers);
    const targets = [...solver.finals(pool)]
      .filter(([t, c]) => t >= minTarget && t <= maxTarget && c >= minSolutions && splitOfKey(stepsKey(numbers, t)) === split)
      .map(([t]) => t)
      .sort((a, b) => a - b);
    if (targets.length === 0) continue;
    const target = targets[randInt(rand, 0, targets.length - 1)];
    return {
      task: 'countdown-steps',
      prompt: stepsPrompt(numbers, target),
      answer: solver.draw(pool, target, rand),
      meta: { numbers, target, maxValue, solutionCount: solver.count(pool, target) },
    };
  }
  throw new Error(`countdown-steps: no ${split} problem with ${minSolutions}+ solutions in 10000 draws; widen the ranges`);
}

const digitsOf = (x: number) => String(x).length;

export function stepsLengths(cfg: StepsConfig): { prompt: number; answer: number } {
  const { count, maxNumber, maxValue, maxTarget } = resolve(cfg);
  const d = digitsOf(maxValue);
  return {
    prompt: count * digitsOf(maxNumber) + (count - 1) + 1 + digitsOf(maxTarget) + 1,
    // count − 1 steps "a op b=c" of at most d digits each, count − 2 commas
    answer: (count - 1) * (3 * d + 2) + (count - 2),
  };
}

const PROMPT = /^([1-9][0-9]{0,6}(?:,[1-9][0-9]{0,6}){1,5});([1-9][0-9]{0,6})=$/;

/** Rebuilds a problem from its prompt ("3,7,12,5;24="), under the default maxValue unless given.
 * The reference and solution count are computed only with `solve`. Throws. */
export function parseStepsPrompt(prompt: string, solve = false, maxValue = STEPS_DEFAULTS.maxValue): StepsProblem {
  const m = prompt.length <= 100 ? PROMPT.exec(prompt) : null;
  if (!m) throw new Error(`countdown-steps: prompt ${JSON.stringify(clip(prompt))} is not of the form n1,n2,…;target= (2 to ${MAX_COUNT} positive numbers)`);
  const numbers = m[1].split(',').map(Number);
  const target = Number(m[2]);
  const solutions = solve ? solveSteps(numbers, target, maxValue) : null;
  return {
    task: 'countdown-steps',
    prompt,
    answer: solutions?.[0] ?? '',
    meta: { numbers, target, maxValue, solutionCount: solutions ? solutions.length : -1 },
  };
}

const STEP = /^(0|[1-9][0-9]{0,6})([-+*/])(0|[1-9][0-9]{0,6})=(0|[1-9][0-9]{0,6})$/;

/**
 * Correct iff the answer is count − 1 comma-separated steps "a op b=c" (no spaces, signs or leading
 * zeros), each taking a and b from the pool (the given numbers plus earlier results, each used
 * once), allowed by the rule (see applyStep), with c its exact result, the last result being the
 * target. Rejects anything else with the first reason found.
 */
export function verifySteps(problem: StepsProblem, text: string, opts?: VerifyOptions): VerifyResult {
  const part = answerPart(text);
  if ('fail' in part) return part.fail;
  const maxValue = problem.meta.maxValue;
  const pool = [...problem.meta.numbers];
  const steps = part.text.split(',');
  for (const [i, s] of steps.entries()) {
    const m = STEP.exec(s);
    if (!m) return fail(`parse-error: step ${i + 1} ${JSON.stringify(clip(s))} is not a op b=c`);
    const [a, op, b, c] = [Number(m[1]), m[2] as StepOp, Number(m[3]), Number(m[4])];
    const ia = pool.indexOf(a);
    if (ia < 0) return wrongButWellFormed(`not-in-pool: step ${i + 1} uses ${a}; the pool is ${pool.join(',') || 'empty'}`, opts);
    pool.splice(ia, 1);
    const ib = pool.indexOf(b);
    if (ib < 0) return wrongButWellFormed(`not-in-pool: step ${i + 1} uses ${b}; the pool without ${a} is ${pool.join(',') || 'empty'}`, opts);
    pool.splice(ib, 1);
    const r = applyStep(a, op, b, maxValue);
    if (r === null) return wrongButWellFormed(`not-allowed: step ${i + 1} ${a}${op}${b} is not a whole number in 1..${maxValue}`, opts);
    if (r !== c) return wrongButWellFormed(`wrong-result: step ${i + 1} ${a}${op}${b} is ${r}, not ${c}`, opts);
    pool.push(r);
  }
  if (pool.length > 1) return wrongButWellFormed(`unused: ${pool.join(',')} left after ${steps.length} steps`, opts);
  if (pool[0] !== problem.meta.target) return wrongButWellFormed(`wrong: got ${pool[0]}, expected ${problem.meta.target}`, opts);
  return ok();
}

export type StepRole = 'operand 1' | 'operator' | 'operand 2' | '=' | 'result' | ',' | 'EOS' | 'malformed step';

/**
 * The role of each character of an answer (and of a final EOS, written here as '\n'), for entropy
 * profiles: in each comma-separated part of the form "a op b=c", a's digits, the operator, b's
 * digits, '=', c's digits; any other part is 'malformed step'. Also counts the well-formed steps
 * whose c is a op b (plain arithmetic, ignoring the pool and the value range: is the arithmetic
 * right?), and separately the answer's last part when it is such a step: its result is the target
 * in every reference, so a wrong last step is mostly a plan that missed the target, not arithmetic.
 */
export function stepTokenRoles(text: string): { roles: StepRole[]; steps: number; right: number; last: { steps: number; right: number } } {
  const eos = text.endsWith('\n');
  const body = eos ? text.slice(0, -1) : text;
  const roles: StepRole[] = [];
  let steps = 0, right = 0;
  const last = { steps: 0, right: 0 };
  const parts = body.split(',');
  parts.forEach((part, i) => {
    if (i > 0) roles.push(',');
    const m = /^(\d+)([-+*/])(\d+)=(\d+)$/.exec(part);
    if (!m) {
      for (let k = 0; k < part.length; k++) roles.push('malformed step');
      return;
    }
    const spans: [StepRole, number][] = [['operand 1', m[1].length], ['operator', 1], ['operand 2', m[3].length], ['=', 1], ['result', m[4].length]];
    for (const [role, n] of spans) for (let k = 0; k < n; k++) roles.push(role);
    const [a, b, c] = [Number(m[1]), Number(m[3]), Number(m[4])];
    const r = m[2] === '+' ? a + b : m[2] === '-' ? a - b : m[2] === '*' ? a * b : a / b;
    steps++;
    if (r === c) right++;
    if (i === parts.length - 1) {
      last.steps++;
      if (r === c) last.right++;
    }
  });
  if (eos) roles.push('EOS');
  return { roles, steps, right, last };
}
