// Countdown: given a few numbers and a target, write an expression with + - * / and parentheses that
// uses each given number at most once and equals the target.
//
// Arithmetic rule: exact rationals. Intermediate values may be negative or fractional (7/2*4 = 14 is
// fine); only division by zero is invalid, anywhere in the expression. The generator's solver and the
// verifier apply this same rule, so "solvable" means "some answer verifies".
import {
  type CountdownProblem, type Split, type VerifyOptions, type VerifyResult,
  answerPart, clip, fail, ok, randInt, splitOfKey, wrongButWellFormed,
} from './common.js';
import { type Expr, type Op, evaluate, parseExpr, ratEq, ratToString, rat } from './expr.js';

export interface CountdownConfig {
  /** How many numbers: a fixed count or [min, max], uniform. Default [3, 4]. */
  count?: number | [number, number];
  /** Numbers are distinct, uniform in 1..maxNumber. Default 20. */
  maxNumber?: number;
  /** Target range (inclusive). Default 1..100. */
  minTarget?: number;
  maxTarget?: number;
  /**
   * Keep only targets with at least this many distinct solutions. Default 1 (every solvable target);
   * 2 guarantees the alternative solutions that make forks, at some extra generation time.
   */
  minSolutions?: number;
}

export const COUNTDOWN_DEFAULTS = { count: [3, 4] as [number, number], maxNumber: 20, minTarget: 1, maxTarget: 100, minSolutions: 1 };
const MAX_COUNT = 5;

function resolve(cfg: CountdownConfig) {
  const c = cfg.count ?? COUNTDOWN_DEFAULTS.count;
  const [minCount, maxCount] = typeof c === 'number' ? [c, c] : c;
  const maxNumber = cfg.maxNumber ?? COUNTDOWN_DEFAULTS.maxNumber;
  const minTarget = cfg.minTarget ?? COUNTDOWN_DEFAULTS.minTarget;
  const maxTarget = cfg.maxTarget ?? COUNTDOWN_DEFAULTS.maxTarget;
  const int = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!int(minCount, 2, MAX_COUNT) || !int(maxCount, minCount, MAX_COUNT)) {
    throw new RangeError(`countdown: count must be in 2..${MAX_COUNT} (a number or [min, max]), got ${JSON.stringify(c)}`);
  }
  if (!int(maxNumber, maxCount, 10_000)) {
    throw new RangeError(`countdown: maxNumber must be an integer in ${maxCount}..10000 (numbers are distinct), got ${maxNumber}`);
  }
  if ((maxNumber + 1) ** maxCount > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`countdown: (maxNumber + 1)^count must stay below 2^53 for exact solving, got ${maxNumber}, ${maxCount}`);
  }
  if (!int(minTarget, 0, 1e9) || !int(maxTarget, minTarget, 1e9)) {
    throw new RangeError(`countdown: need integers 0 <= minTarget <= maxTarget <= 1e9, got ${minTarget}..${maxTarget}`);
  }
  const minSolutions = cfg.minSolutions ?? COUNTDOWN_DEFAULTS.minSolutions;
  if (!int(minSolutions, 1, 1000)) throw new RangeError(`countdown: minSolutions must be an integer in 1..1000, got ${minSolutions}`);
  return { minCount, maxCount, maxNumber, minTarget, maxTarget, minSolutions };
}

// ---- Solver, on rationals held in doubles for speed. A value made from numbers x_i has
// |numerator| + denominator <= Π(x_i + 1) (true for each leaf, preserved by + − * /), and so does
// every cross product below; resolve() keeps that bound under 2^53, and q() re-checks, so all of
// this arithmetic is exact.
interface Q { n: number; d: number }
const qkey = (q: Q) => `${q.n}/${q.d}`;
function m(a: number, b: number): number {
  const p = a * b;
  if (!Number.isSafeInteger(p)) throw new RangeError('countdown: intermediate value exceeds 2^53; use smaller or fewer numbers');
  return p;
}
function q(n: number, d: number): Q {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(d)) {
    throw new RangeError('countdown: intermediate value exceeds 2^53; use smaller or fewer numbers');
  }
  if (d < 0) { n = -n; d = -d; }
  let a = Math.abs(n), b = d;
  while (b) [a, b] = [b, a % b];
  return a > 1 ? { n: n / a, d: d / a } : { n, d };
}
const add = (a: Q, b: Q) => q(m(a.n, b.d) + m(b.n, a.d), m(a.d, b.d));
const sub = (a: Q, b: Q) => q(m(a.n, b.d) - m(b.n, a.d), m(a.d, b.d));
const mul = (a: Q, b: Q) => q(m(a.n, b.n), m(a.d, b.d));
const div = (a: Q, b: Q) => q(m(a.n, b.d), m(a.d, b.n));

const popcount = (m: number) => { let c = 0; for (; m; m &= m - 1) c++; return c; };

/** Every value each subset of `numbers` can make: values[mask] maps qkey → value. */
function reachable(numbers: number[]): Map<string, Q>[] {
  const full = (1 << numbers.length) - 1;
  const values: Map<string, Q>[] = new Array(full + 1);
  const masks = Array.from({ length: full }, (_, i) => i + 1).sort((a, b) => popcount(a) - popcount(b));
  for (const mask of masks) {
    const out = new Map<string, Q>();
    const put = (v: Q) => out.set(qkey(v), v);
    if (popcount(mask) === 1) {
      put(q(numbers[31 - Math.clz32(mask)], 1));
    } else {
      for (let a = (mask - 1) & mask; a > 0; a = (a - 1) & mask) {
        const b = mask ^ a;
        if (a < b) continue; // each unordered split once; both operand orders are tried below
        for (const x of values[a].values()) {
          for (const y of values[b].values()) {
            put(add(x, y)); put(mul(x, y)); put(sub(x, y)); put(sub(y, x));
            if (y.n !== 0) put(div(x, y));
            if (x.n !== 0) put(div(y, x));
          }
        }
      }
    }
    values[mask] = out;
  }
  return values;
}

const bin = (op: Op, left: Expr, right: Expr): Expr => ({ kind: 'bin', op, left, right });

/**
 * Every expression tree over exactly the numbers in `mask` whose value is t, each once (+ and *
 * operands in one fixed order); callers merge associative variants through canonicalText.
 */
function* trees(numbers: number[], values: Map<string, Q>[], mask: number, t: Q): Generator<Expr> {
  if (!values[mask].has(qkey(t))) return;
  if (popcount(mask) === 1) {
    yield { kind: 'num', text: String(numbers[31 - Math.clz32(mask)]) };
    return;
  }
  const zero = t.n === 0;
  for (let a = (mask - 1) & mask; a > 0; a = (a - 1) & mask) {
    const b = mask ^ a;
    if (a < b) continue;
    const vb = values[b];
    // For each left value, the right value each operator needs; yields subtrees for both.
    function* pair(op: Op, x: Q, y: Q, swap: boolean): Generator<Expr> {
      if (!vb.has(qkey(y))) return;
      for (const l of trees(numbers, values, a, x)) {
        for (const r of trees(numbers, values, b, y)) yield swap ? bin(op, r, l) : bin(op, l, r);
      }
    }
    for (const x of values[a].values()) {
      yield* pair('+', x, sub(t, x), false);
      yield* pair('-', x, sub(x, t), false); // x − y = t
      yield* pair('-', x, add(t, x), true); //  y − x = t
      if (x.n !== 0) {
        yield* pair('*', x, div(t, x), false);
        yield* pair('/', x, mul(t, x), true); // y / x = t
        if (!zero) yield* pair('/', x, div(x, t), false); // x / y = t
      } else if (zero) {
        for (const y of vb.values()) {
          yield* pair('*', x, y, false);
          if (y.n !== 0) yield* pair('/', x, y, false);
        }
      }
    }
  }
}

// ---- Canonical form: flatten + − chains into signed terms and * / chains into numerator and
// denominator factors, then sort, so expressions equal up to commutativity and associativity
// (a+b-c = a-(c-b), a/(b/c) = a*c/b) print identically — with minimal parentheses.
interface Canon { text: string; value: number; sum: boolean }

function canon(e: Expr): Canon {
  if (e.kind === 'num') return { text: e.text, value: Number(e.text), sum: false };
  const additive = e.op === '+' || e.op === '-';
  const plus: Canon[] = [];
  const minus: Canon[] = [];
  const collect = (x: Expr, positive: boolean) => {
    if (x.kind === 'bin' && (x.op === '+' || x.op === '-') === additive) {
      collect(x.left, positive);
      collect(x.right, (x.op === '+' || x.op === '*') ? positive : !positive);
    } else {
      (positive ? plus : minus).push(canon(x));
    }
  };
  collect(e, true);
  const order = (p: Canon, r: Canon) => r.value - p.value || (p.text < r.text ? -1 : p.text > r.text ? 1 : 0);
  plus.sort(order);
  minus.sort(order);
  if (additive) {
    const value = plus.reduce((s, c) => s + c.value, 0) - minus.reduce((s, c) => s + c.value, 0);
    return { text: plus.map((c) => c.text).join('+') + minus.map((c) => '-' + c.text).join(''), value, sum: true };
  }
  const f = (c: Canon) => (c.sum ? `(${c.text})` : c.text);
  const value = plus.reduce((s, c) => s * c.value, 1) / minus.reduce((s, c) => s * c.value, 1);
  return { text: plus.map(f).join('*') + minus.map((c) => '/' + f(c)).join(''), value, sum: false };
}

/** The canonical text of an expression: equal for expressions equal up to commutativity/associativity. */
export function canonicalText(e: Expr): string {
  return canon(e).text;
}

/** Nicer reference answers first: fewer numbers, whole non-negative intermediates, shorter. */
function rank(text: string): [number, number, number] {
  const p = parseExpr(text);
  if (!p.ok) throw new Error(`countdown: canonical form ${text} does not parse: ${p.error}`);
  let whole = true;
  evaluate(p.expr, (v) => { if (v.d !== 1n || v.n < 0n) whole = false; });
  return [p.literals.length, whole ? 0 : 1, text.length];
}

/**
 * All solutions (each given number at most once, at least two used), distinct up to commutativity
 * and associativity, best reference first. Exhaustive: every subset, split, operator and order.
 */
export function solveCountdown(numbers: number[], target: number): string[] {
  if (numbers.length > MAX_COUNT) throw new RangeError(`countdown: at most ${MAX_COUNT} numbers`);
  return solveWith(numbers, reachable(numbers), target);
}

function solveWith(numbers: number[], values: Map<string, Q>[], target: number): string[] {
  const t = q(target, 1);
  const seen = new Set<string>();
  for (let mask = 1; mask < values.length; mask++) {
    if (popcount(mask) < 2) continue;
    for (const e of trees(numbers, values, mask, t)) seen.add(canonicalText(e));
  }
  const ranked = [...seen].map((s) => ({ s, r: rank(s) }));
  ranked.sort((x, y) => x.r[0] - y.r[0] || x.r[1] - y.r[1] || x.r[2] - y.r[2] || (x.s < y.s ? -1 : 1));
  return ranked.map((x) => x.s);
}

/** Key for the held-out rule: the number multiset and target, not the order the prompt shows. */
export function countdownKey(numbers: number[], target: number): string {
  return `countdown:${[...numbers].sort((a, b) => a - b).join(',')};${target}`;
}

export function countdownPrompt(numbers: number[], target: number): string {
  return `${numbers.join(',')};${target}=`;
}

/**
 * Draws distinct numbers, then a target uniformly among the integers in range that some subset of
 * two or more of them can make, excluding the numbers themselves (those would be trivial), targets
 * whose key falls in the other split and, if minSolutions > 1, targets with fewer solutions (then the
 * next target is drawn from those left). Numbers appear in the prompt in the order drawn.
 */
export function sampleCountdown(cfg: CountdownConfig, rand: () => number, split: Split): CountdownProblem {
  const { minCount, maxCount, maxNumber, minTarget, maxTarget, minSolutions } = resolve(cfg);
  for (let tries = 0; tries < 10_000; tries++) {
    const n = randInt(rand, minCount, maxCount);
    const numbers: number[] = [];
    while (numbers.length < n) {
      const x = randInt(rand, 1, maxNumber);
      if (!numbers.includes(x)) numbers.push(x);
    }
    const values = reachable(numbers);
    const targets = new Set<number>();
    for (let mask = 1; mask < values.length; mask++) {
      if (popcount(mask) < 2) continue;
      for (const v of values[mask].values()) {
        if (v.d === 1 && v.n >= minTarget && v.n <= maxTarget && !numbers.includes(v.n)) targets.add(v.n);
      }
    }
    const candidates = [...targets].filter((t) => splitOfKey(countdownKey(numbers, t)) === split).sort((a, b) => a - b);
    while (candidates.length > 0) {
      const [target] = candidates.splice(randInt(rand, 0, candidates.length - 1), 1);
      const solutions = solveWith(numbers, values, target);
      if (solutions.length < minSolutions) continue;
      return {
        task: 'countdown',
        prompt: countdownPrompt(numbers, target),
        answer: solutions[0],
        meta: { numbers, target, solutionCount: solutions.length },
      };
    }
  }
  throw new Error(`countdown: no ${split} problem with ${minSolutions}+ solutions in 10000 draws; widen the ranges`);
}

const digitsOf = (x: number) => String(x).length;

export function countdownLengths(cfg: CountdownConfig): { prompt: number; answer: number } {
  const { maxCount: n, maxNumber, maxTarget } = resolve(cfg);
  const numbers = n * digitsOf(maxNumber) + (n - 1);
  // A canonical answer parenthesizes only non-root sums with two or more numbers: at most n − 2 pairs.
  return { prompt: numbers + 1 + digitsOf(maxTarget) + 1, answer: numbers + 2 * (n - 2) };
}

const PROMPT = /^((?:0|[1-9][0-9]{0,14})(?:,(?:0|[1-9][0-9]{0,14})){0,7});(0|[1-9][0-9]{0,14})=$/;

/**
 * Rebuilds a problem from its prompt ("3,7,12,5;24="). The reference answer and solution count are
 * computed only when `solve` is set (answer '' and solutionCount −1 otherwise). Throws.
 */
export function parseCountdownPrompt(prompt: string, solve = false): CountdownProblem {
  const m = prompt.length <= 200 ? PROMPT.exec(prompt) : null;
  if (!m) throw new Error(`countdown: prompt ${JSON.stringify(clip(prompt))} is not of the form n1,n2,…;target=`);
  const numbers = m[1].split(',').map(Number);
  const target = Number(m[2]);
  const solutions = solve ? solveCountdown(numbers, target) : null;
  return {
    task: 'countdown',
    prompt,
    answer: solutions?.[0] ?? '',
    meta: { numbers, target, solutionCount: solutions ? solutions.length : -1 },
  };
}

/**
 * Correct iff the answer parses (see parseExpr: no spaces, unary signs or leading zeros), every number
 * in it is one of the given numbers and none is used more often than given, no division by zero
 * occurs, and the exact rational value equals the target.
 */
export function verifyCountdown(problem: CountdownProblem, text: string, opts?: VerifyOptions): VerifyResult {
  const part = answerPart(text);
  if ('fail' in part) return part.fail;
  const parsed = parseExpr(part.text);
  if (!parsed.ok) return fail(parsed.error);
  const left = new Map<string, number>();
  for (const x of problem.meta.numbers) left.set(String(x), (left.get(String(x)) ?? 0) + 1);
  for (const lit of parsed.literals) {
    const k = left.get(lit);
    if (k === undefined) return fail(`not-given: ${clip(lit)}`);
    if (k === 0) return fail(`reused: ${lit}`);
    left.set(lit, k - 1);
  }
  const value = evaluate(parsed.expr);
  if (value === null) return fail('div-zero');
  const target = rat(BigInt(problem.meta.target));
  if (ratEq(value, target)) return ok();
  return wrongButWellFormed(`wrong: got ${ratToString(value)}, expected ${problem.meta.target}`, opts);
}
