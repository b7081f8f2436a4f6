// Property-based tests of the exact verifiers (fast-check). Two claims:
// 1. On any input — random unicode, huge numbers, deep nesting, ÷ 0, unicode digits, control
//    characters, 1 MB strings, junk token ids — a verifier returns a well-formed verdict: it never
//    throws, never blames the problem, and finishes (a generous per-call bound guards against hangs;
//    it is not a speed claim).
// 2. On every well-formed input the verdict equals a brute-force evaluator's, written here
//    independently of verify/: schoolbook digit-string arithmetic for addition/multiplication, and
//    for countdown a string-rewriting evaluator (innermost parentheses first, then * / before + −,
//    left to right) over BigInt fractions.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type CountdownProblem, type Problem, type VerifyResult, EOS, MAX_ANSWER_CHARS, MAX_DEPTH, VOCAB_SIZE,
  makeArithmetic, parseProblem, verify, verifyTokens,
} from '../verify/index.js';

const t = suite('verify-fuzz');

/** A call that takes this long is a hang, not a slow machine: correct calls take microseconds. */
const HANG_MS = 2000;
/** Reason codes the verifiers may return for an answer (first word of `reason`). */
const CODES = new Set(['ok', 'wrong', 'empty', 'too-long', 'not-integer', 'leading-zero', 'parse-error', 'too-deep', 'not-given', 'reused', 'div-zero', 'bad-input']);
const TOKEN_CODES = new Set([...CODES, 'bad-token', 'no-eos']);

const problems: Problem[] = [
  parseProblem('addition', '123+456='),
  parseProblem('addition', '007+093=', { reverse: true }),
  parseProblem('multiplication', '99*99='),
  parseProblem('countdown', '3,7,12,5;24='),
  parseProblem('countdown', '1,2;0='),
];

function checkVerdict(r: VerifyResult, what: string, codes = CODES, formatReward = 0): void {
  assert.type(r.correct, 'boolean', what);
  assert.type(r.reason, 'string', what);
  const code = r.reason.split(/[: ]/)[0];
  assert.ok(codes.has(code), `${what}: unexpected reason "${r.reason.slice(0, 80)}"`);
  assert.ok(r.correct ? r.reward === 1 : r.reward === 0 || r.reward === formatReward, `${what}: reward ${r.reward}`);
  assert.is(r.correct, code === 'ok', `${what}: correct vs reason "${r.reason.slice(0, 80)}"`);
}

function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  const out = f();
  const ms = performance.now() - t0;
  assert.ok(ms < HANG_MS, `${what}: took ${ms.toFixed(0)} ms`);
  return out;
}

const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…(${s.length})` : s);

// ---------------------------------------------------------------- adversarial strings

const ALPHABET = [...'0123456789+-*/()', '<eos>'];
const UNICODE_DIGITS = [...'٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹０１２３４５６７８９', '𝟎', '𝟗', '߀', '०', '९', '²', '½', 'Ⅻ'];
const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).concat(['\u007f', '\u0085', '\u200b', '\u2028', '\ufeff', '\ud800', '\udfff']);

const adversarial: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 80 }),
  // huge numbers, alone and in expressions
  fc.integer({ min: 1, max: 4000 }).map((n) => '9'.repeat(n)),
  fc.tuple(fc.integer({ min: 1, max: 600 }), fc.constantFrom('+', '*', '/', '-')).map(([n, op]) => `${'7'.repeat(n)}${op}${'3'.repeat(n)}`),
  // deep nesting, balanced and not
  fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 })).map(([a, b]) => '('.repeat(a) + '3' + ')'.repeat(b)),
  fc.integer({ min: 1, max: 300 }).map((n) => '(3+'.repeat(n) + '7' + ')'.repeat(n)),
  // division by zero, direct and computed
  fc.constantFrom('3/0', '12/(7-7)', '3/(12-7-5)', '0/0', '(3-3)/(5-5)', '3*7/(12/12-1)'),
  // unicode digits and look-alikes, control characters
  fc.string({ unit: fc.constantFrom(...UNICODE_DIGITS, '3', '+', '7'), maxLength: 20 }),
  fc.tuple(fc.string({ unit: fc.constantFrom(...'0123456789+*'), maxLength: 10 }), fc.constantFrom(...CONTROL), fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 10 })).map(([a, c, b]) => a + c + b),
  // long chains: every operand once, a thousand times over
  fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => ['3', '7', '12', '5'][i % 4]).join('-')),
);

t('any string: a well-formed verdict, no throw, bounded time', () => {
  fc.assert(fc.property(adversarial, fc.constantFrom(...problems), fc.constantFrom(0, 0.1), (s, p, formatReward) => {
    const r = timed(`${p.prompt} ${show(s)}`, () => verify(p, s, { formatReward }));
    checkVerdict(r, `${p.prompt} ${show(s)}`, CODES, formatReward);
  }), { numRuns: 1500 });
});

t('1 MB inputs (with and without an early <eos>): a verdict, no throw, bounded time', () => {
  const mb = 1 << 20;
  const inputs = [
    '1'.repeat(mb), '('.repeat(mb), '3+'.repeat(mb / 2), '\u0000'.repeat(mb), '٣'.repeat(mb),
    '579<eos>' + 'x'.repeat(mb), '3*7+12/5<eos>' + '('.repeat(mb), 'x'.repeat(mb) + '<eos>',
  ];
  for (const p of problems) {
    for (const s of inputs) {
      const r = timed(`${p.prompt} ${show(s)}`, () => verify(p, s));
      checkVerdict(r, `${p.prompt} ${show(s)}`);
      if (!s.includes('<eos>') || s.indexOf('<eos>') > MAX_ANSWER_CHARS) assert.not.ok(r.correct);
    }
  }
  // an answer that ends early is judged on what precedes <eos>, whatever follows
  assert.ok(verify(problems[0], '579<eos>' + '\u0000'.repeat(mb)).correct);
});

t('any token ids (out of range, negative, fractional, NaN, huge arrays): a verdict, no throw', () => {
  const id = fc.oneof(
    fc.integer({ min: 0, max: VOCAB_SIZE - 1 }),
    fc.integer({ min: -5, max: VOCAB_SIZE + 5 }),
    fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 2 ** 53, -0),
  );
  fc.assert(fc.property(fc.array(id, { maxLength: 40 }), fc.constantFrom(...problems), fc.boolean(), (ids, p, requireEos) => {
    const r = timed(`${p.prompt} [${ids}]`, () => verifyTokens(p, ids, { requireEos }));
    checkVerdict(r, `${p.prompt} [${ids}]`, TOKEN_CODES);
  }), { numRuns: 1500 });
  const huge = new Array(1 << 20).fill(3); // a million '0' tokens, no EOS
  checkVerdict(timed('1M tokens', () => verifyTokens(problems[0], huge)), '1M tokens', TOKEN_CODES);
  checkVerdict(timed('1M tokens + EOS', () => verifyTokens(problems[0], [...huge.slice(0, 10), EOS])), '1M tokens + EOS', TOKEN_CODES);
});

// ---------------------------------------------------------------- arithmetic vs schoolbook

/** Schoolbook addition of decimal digit strings (no BigInt). */
function addDigits(a: string, b: string): string {
  let out = '', carry = 0;
  for (let i = a.length - 1, j = b.length - 1; i >= 0 || j >= 0 || carry; i--, j--) {
    const s = (i >= 0 ? +a[i] : 0) + (j >= 0 ? +b[j] : 0) + carry;
    out = String(s % 10) + out;
    carry = s >= 10 ? 1 : 0;
  }
  return out.replace(/^0+(?=.)/, '');
}

/** Schoolbook long multiplication of decimal digit strings (no BigInt). */
function mulDigits(a: string, b: string): string {
  const acc = new Array(a.length + b.length).fill(0);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const k = i + j + 1;
      const s = acc[k] + +a[i] * +b[j];
      acc[k] = s % 10;
      acc[k - 1] += Math.floor(s / 10);
    }
  }
  return acc.join('').replace(/^0+(?=.)/, '');
}

const digitString = (max: number) => fc.integer({ min: 1, max }).chain((n) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n })).map((s) => s.replace(/^0+(?=.)/, ''));

t('addition and multiplication agree with schoolbook arithmetic on every well-formed answer', () => {
  const candidate = (want: string) => fc.oneof(
    fc.constant(want),
    // one digit changed, one dropped, one added, a leading zero, another number altogether
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9 })).map(([i, d]) => {
      const k = i % want.length;
      return want.slice(0, k) + String((+want[k] + d) % 10) + want.slice(k + 1);
    }),
    fc.nat().map((i) => (want.length > 1 ? want.slice(0, i % want.length) + want.slice((i % want.length) + 1) : want + '1')),
    fc.integer({ min: 0, max: 9 }).map((d) => want + d),
    fc.constant('0' + want),
    digitString(70),
  );
  const arb = fc.record({ task: fc.constantFrom('addition' as const, 'multiplication' as const), a: digitString(60), b: digitString(60), reverse: fc.boolean() })
    .chain((x) => {
      const plain = x.task === 'addition' ? addDigits(x.a, x.b) : mulDigits(x.a, x.b);
      return fc.tuple(fc.constant({ ...x, plain }), candidate(plain));
    });
  fc.assert(fc.property(arb, ([x, written]) => {
    const p = makeArithmetic(x.task, x.a, x.b, x.reverse);
    // the model writes the digits in answer order; reversed answers are the plain number backwards
    const answer = x.reverse ? [...written].reverse().join('') : written;
    const r = verify(p, answer);
    const wellFormed = /^[0-9]+$/.test(written) && !(written.length > 1 && written[0] === '0');
    assert.is(r.correct, wellFormed && written === x.plain, `${p.prompt} ${answer}: ${r.reason}`);
    if (wellFormed && written !== x.plain) assert.ok(r.reason.startsWith('wrong'), `${p.prompt} ${answer}: ${r.reason}`);
    if (!wellFormed) assert.ok(r.reason.startsWith('leading-zero'), `${p.prompt} ${answer}: ${r.reason}`);
  }), { numRuns: 1500 });
});

// ---------------------------------------------------------------- countdown vs brute force

interface Frac { n: bigint; d: bigint }
const absB = (x: bigint) => (x < 0n ? -x : x);
function gcdB(a: bigint, b: bigint): bigint {
  a = absB(a); b = absB(b);
  while (b) [a, b] = [b, a % b];
  return a;
}
function frac(n: bigint, d: bigint): Frac {
  if (d < 0n) { n = -n; d = -d; }
  const g = gcdB(n, d) || 1n;
  return { n: n / g, d: d / g };
}

type Brute = { ok: true; value: Frac | 'div-zero'; literals: string[] } | { ok: false };

/**
 * Evaluates by rewriting: tokenise; while a '(' remains, evaluate the innermost parenthesised run
 * and splice its value in; then the flat run: all * and / left to right, then + and − left to
 * right. Any structural problem (empty run, operator next to operator, leading zero, depth over
 * MAX_DEPTH, unbalanced) is "not well-formed".
 */
function bruteEval(s: string): Brute {
  type Tok = { num: Frac; lit: string } | { op: string };
  const toks: Tok[] = [];
  const literals: string[] = [];
  let depth = 0;
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c >= '0' && c <= '9') {
      let j = i;
      while (j < s.length && s[j] >= '0' && s[j] <= '9') j++;
      const lit = s.slice(i, j);
      if (lit.length > 1 && lit[0] === '0') return { ok: false };
      toks.push({ num: frac(BigInt(lit), 1n), lit });
      literals.push(lit);
      i = j;
    } else if ('+-*/()'.includes(c)) {
      if (c === '(' && ++depth > MAX_DEPTH) return { ok: false };
      if (c === ')') depth--;
      toks.push({ op: c });
      i++;
    } else return { ok: false };
  }
  let divZero = false;
  const flat = (run: Tok[]): Frac | null => {
    // must alternate number, operator, number, …, number
    if (run.length % 2 === 0) return null;
    for (let i = 0; i < run.length; i++) if (('num' in run[i]) !== (i % 2 === 0)) return null;
    const vals = [(run[0] as any).num as Frac];
    const ops: string[] = [];
    for (let i = 1; i < run.length; i += 2) {
      const op = (run[i] as any).op as string, v = (run[i + 1] as any).num as Frac;
      if (op === '*' || op === '/') {
        const a = vals.pop()!;
        if (op === '/' && v.n === 0n) { divZero = true; vals.push(frac(0n, 1n)); } else vals.push(op === '*' ? frac(a.n * v.n, a.d * v.d) : frac(a.n * v.d, a.d * v.n));
      } else if (op === '+' || op === '-') {
        ops.push(op);
        vals.push(v);
      } else return null;
    }
    let acc = vals[0];
    ops.forEach((op, k) => {
      const v = vals[k + 1];
      acc = frac(op === '+' ? acc.n * v.d + v.n * acc.d : acc.n * v.d - v.n * acc.d, acc.d * v.d);
    });
    return acc;
  };
  for (;;) {
    const close = toks.findIndex((x) => 'op' in x && x.op === ')');
    if (close < 0) break;
    let open = close - 1;
    while (open >= 0 && !('op' in toks[open] && (toks[open] as any).op === '(')) open--;
    if (open < 0) return { ok: false };
    const v = flat(toks.slice(open + 1, close));
    if (!v) return { ok: false };
    toks.splice(open, close - open + 1, { num: v, lit: '' });
  }
  if (toks.some((x) => 'op' in x && x.op === '(')) return { ok: false };
  const v = flat(toks);
  if (!v) return { ok: false };
  return { ok: true, value: divZero ? 'div-zero' : v, literals };
}

/** The verdict code the rules imply: literals checked in order, then ÷ 0, then the value. */
function bruteVerdict(numbers: number[], target: number, s: string): string {
  if (s.length === 0) return 'empty';
  const b = bruteEval(s);
  if (!b.ok) return 'malformed';
  const left = new Map<string, number>();
  for (const x of numbers) left.set(String(x), (left.get(String(x)) ?? 0) + 1);
  for (const lit of b.literals) {
    const k = left.get(lit);
    if (k === undefined) return 'not-given';
    if (k === 0) return 'reused';
    left.set(lit, k - 1);
  }
  if (b.value === 'div-zero') return 'div-zero';
  return b.value.d === 1n && b.value.n === BigInt(target) ? 'ok' : 'wrong';
}

const MALFORMED = ['parse-error', 'too-deep', 'leading-zero'];

function countdownProblem(numbers: number[], target: number): CountdownProblem {
  return { task: 'countdown', prompt: `${numbers.join(',')};${target}=`, answer: '', meta: { numbers, target, solutionCount: -1 } };
}

function agree(numbers: number[], target: number, s: string): void {
  const want = bruteVerdict(numbers, target, s);
  const r = verify(countdownProblem(numbers, target), s);
  const code = r.reason.split(/[: ]/)[0];
  const what = `${numbers};${target}= ${show(s)}: verifier "${r.reason}", brute force "${want}"`;
  if (want === 'malformed') assert.ok(MALFORMED.includes(code), what);
  else assert.is(code, want, what);
  assert.is(r.correct, want === 'ok', what);
}

/** Distinct numbers 1..maxNumber, as countdown draws them. */
const numbersArb = fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 2, maxLength: 5 });

type Tree = { leaf: number } | { op: string; l: Tree; r: Tree };
/** A random expression over a shuffled subset of `numbers` (each at most once), then printed
 * with random extra parentheses — or, sometimes, a number reused or not given. */
function exprOver(numbers: number[]): fc.Arbitrary<string> {
  return fc.tuple(
    fc.shuffledSubarray(numbers, { minLength: 1 }),
    fc.array(fc.constantFrom('+', '-', '*', '/'), { minLength: 4, maxLength: 4 }),
    fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
    fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    fc.constantFrom('none', 'none', 'none', 'reuse', 'foreign'),
  ).map(([used, ops, splits, wrap, mutate]) => {
    const leaves = [...used];
    if (mutate === 'reuse') leaves.push(leaves[0]);
    if (mutate === 'foreign') leaves.push(101 + (splits[0] % 50));
    let k = 0;
    const build = (xs: number[]): Tree => {
      if (xs.length === 1) return { leaf: xs[0] };
      const cut = 1 + (splits[k % splits.length] % (xs.length - 1));
      const op = ops[k++ % ops.length];
      return { op, l: build(xs.slice(0, cut)), r: build(xs.slice(cut)) };
    };
    let w = 0;
    const print = (e: Tree, top: boolean): string => {
      if ('leaf' in e) return String(e.leaf);
      // a coin per operation decides its parentheses: a bare one changes the meaning by precedence,
      // which the brute force must then get right like the verifier
      const inner = `${print(e.l, false)}${e.op}${print(e.r, false)}`;
      const paren = wrap[w++ % wrap.length] && !(top && wrap[(w + 3) % wrap.length]);
      return paren ? `(${inner})` : inner;
    };
    return print(build(leaves), true);
  });
}

t('countdown agrees with a brute-force evaluator on generated expressions (incl. ÷ 0, reuse, foreign numbers)', () => {
  const arb = numbersArb.chain((numbers) => fc.tuple(fc.constant(numbers), exprOver(numbers), fc.integer({ min: 0, max: 200 })));
  let hits = 0;
  fc.assert(fc.property(arb, ([numbers, s, randomTarget]) => {
    // half the time the target is the expression's own value (when it is a whole number ≥ 0), so
    // correct answers are common
    const b = bruteEval(s);
    const own = b.ok && b.value !== 'div-zero' && b.value.d === 1n && b.value.n >= 0n ? Number(b.value.n) : null;
    const target = own !== null && randomTarget % 2 === 0 ? own : randomTarget;
    if (bruteVerdict(numbers, target, s) === 'ok') hits++;
    agree(numbers, target, s);
  }), { numRuns: 2000 });
  assert.ok(hits > 100, `only ${hits} correct answers generated: the property barely tests acceptance`);
});

t('countdown agrees with the brute-force evaluator on random strings over its alphabet', () => {
  const s = fc.string({ unit: fc.constantFrom(...'0123456789+-*/()'), maxLength: 14 });
  fc.assert(fc.property(numbersArb, s, fc.integer({ min: 0, max: 100 }), (numbers, x, target) => agree(numbers, target, x)), { numRuns: 3000 });
  // nesting at the limit is fine, one deeper is not
  const deep = (n: number) => '('.repeat(n) + '3+7' + ')'.repeat(n);
  agree([3, 7], 10, deep(MAX_DEPTH));
  agree([3, 7], 10, deep(MAX_DEPTH + 1));
  assert.ok(verify(countdownProblem([3, 7], 10), deep(MAX_DEPTH)).correct);
});

t.run();
