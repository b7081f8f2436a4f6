import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type CountdownProblem, type Problem, type VerifyResult, EOS, HELDOUT_MOD, MAX_ANSWER_CHARS, PAD, TASK_NAMES,
  canonicalText, encode, evaluate, formatExpr, generate, mulberry32, parseExpr, parseProblem, problemKey,
  ratEq, sampler, solveCountdown, splitOf, splitOfKey, verify, verifyTokens, type Expr, type TaskConfig,
} from '../verify/index.js';

const t = suite('verify');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function expectReason(r: VerifyResult, code: string, what: string): void {
  assert.is(r.correct, false, `${what}: should fail`);
  assert.is(r.reward, 0, `${what}: reward`);
  assert.ok(r.reason.startsWith(code), `${what}: reason "${r.reason}" should start with "${code}"`);
}

const add = parseProblem('addition', '123+456=');
const addRev = parseProblem('addition', '123+456=', { reverse: true });
const mul = parseProblem('multiplication', '99*99=');
const cd = parseProblem('countdown', '3,7,12,5;24=') as CountdownProblem;

// ---- generators

t('generators are deterministic by seed and differ across seeds and splits', () => {
  const cfgs: TaskConfig[] = [{ task: 'addition' }, { task: 'multiplication', minDigits: 1 }, { task: 'countdown' }];
  for (const cfg of cfgs) {
    const a = generate(cfg, { seed: 42, count: 50 });
    assert.equal(generate(cfg, { seed: 42, count: 50 }), a, `${cfg.task}: same seed`);
    assert.not.equal(generate(cfg, { seed: 43, count: 50 }), a, `${cfg.task}: other seed`);
    assert.not.equal(generate(cfg, { seed: 42, count: 50, split: 'heldout' }), a, `${cfg.task}: other split`);
    const next = sampler(cfg, { seed: 42 });
    assert.equal(Array.from({ length: 50 }, next), a, `${cfg.task}: sampler matches generate`);
  }
});

t('held-out and train never share a problem, whatever the seeds', () => {
  const cases: [TaskConfig, number][] = [
    [{ task: 'addition', digits: 2 }, 3000], // a small space, so overlap would show
    [{ task: 'multiplication', digits: 2 }, 3000],
    [{ task: 'countdown', count: 3, maxNumber: 10, maxTarget: 30 }, 1000],
  ];
  for (const [cfg, n] of cases) {
    const train = generate(cfg, { seed: 1, count: n });
    const held = generate(cfg, { seed: 1, count: 300, split: 'heldout' });
    const trainKeys = new Set(train.map(problemKey));
    for (const p of held) {
      assert.is(splitOf(p), 'heldout');
      assert.not.ok(trainKeys.has(problemKey(p)), `${cfg.task}: ${p.prompt} is in both splits`);
    }
    for (const p of train) assert.is(splitOf(p), 'train');
    // a+b and b+a are one problem: the mirror of a held-out problem is held out too.
    const swapped = held.filter((p) => p.task !== 'countdown').map((p: any) => parseProblem(p.task, `${p.meta.b}${p.prompt.includes('+') ? '+' : '*'}${p.meta.a}=`));
    for (const p of swapped) assert.is(splitOf(p), 'heldout');
  }
});

t('the held-out share of a problem space is about 1/HELDOUT_MOD', () => {
  let held = 0, total = 0;
  for (let a = 0; a < 300; a++) {
    for (let b = a; b < 300; b++, total++) if (splitOfKey(`addition:${a}+${b}`) === 'heldout') held++;
  }
  const share = held / total, p = 1 / HELDOUT_MOD;
  const sd = Math.sqrt((p * (1 - p)) / total);
  assert.ok(Math.abs(share - p) < 5 * sd, `held-out share ${share} vs ${p}`);
});

t('unique generation has no repeats; a too-small space is reported, not looped on', () => {
  const ps = generate({ task: 'addition', digits: 2 }, { seed: 5, count: 400, unique: true, split: 'heldout' });
  assert.is(new Set(ps.map(problemKey)).size, 400);
  assert.throws(() => generate({ task: 'addition', digits: 1 }, { seed: 5, count: 60, unique: true }), /too small/);
});

t('arithmetic problems: operand ranges, answers, reversal', () => {
  for (const p of generate({ task: 'addition', digits: 3 }, { seed: 9, count: 500 })) {
    const { a, b } = p.meta as { a: string; b: string };
    assert.ok(+a <= 999 && +b <= 999);
    assert.is(p.answer, String(+a + +b));
    assert.is(p.prompt, `${a.padStart(3, '0')}+${b.padStart(3, '0')}=`, 'operands zero-padded to the digit count by default');
  }
  for (const p of generate({ task: 'addition', digits: 3, pad: false }, { seed: 9, count: 50 })) {
    const m = p.meta as { a: string; b: string };
    assert.is(p.prompt, `${m.a}+${m.b}=`, "pad: false writes operands as they are");
  }
  const lens = new Set<number>();
  for (const p of generate({ task: 'multiplication', digits: 5, minDigits: 2, reverse: true }, { seed: 9, count: 500 })) {
    const { a, b } = p.meta as { a: string; b: string };
    lens.add(a.length);
    assert.ok(a.length >= 2 && a.length <= 5 && a[0] !== '0');
    assert.is(p.answer, [...(BigInt(a) * BigInt(b)).toString()].reverse().join(''));
    assert.is(verify(p, p.answer).correct, true);
  }
  assert.equal([...lens].sort(), [2, 3, 4, 5]);
  const long = generate({ task: 'addition', digits: 30 }, { seed: 1, count: 5 });
  for (const p of long) assert.is(verify(p, p.answer).reason, 'ok');
  assert.throws(() => generate({ task: 'addition', digits: 0 }, { seed: 1, count: 1 }), /digits/);
  assert.throws(() => generate({ task: 'countdown', count: 7 }, { seed: 1, count: 1 }), /count/);
  assert.throws(() => generate({ task: 'nope' } as any, { seed: 1, count: 1 }), /unknown task/);
});

t('countdown problems: valid numbers, target not given, reference verifies, count is exact', () => {
  const ps = generate('countdown', { seed: 11, count: 400 }) as CountdownProblem[];
  for (const p of ps) {
    const { numbers, target, solutionCount } = p.meta;
    assert.ok(numbers.length === 3 || numbers.length === 4);
    assert.is(new Set(numbers).size, numbers.length);
    assert.ok(numbers.every((x) => x >= 1 && x <= 20) && target >= 1 && target <= 100);
    assert.not.ok(numbers.includes(target));
    assert.is(verify(p, p.answer).reason, 'ok', `${p.prompt}${p.answer}`);
    assert.is(solveCountdown(numbers, target).length, solutionCount);
  }
  const multi = ps.filter((p) => p.meta.solutionCount >= 2).length / ps.length;
  const multi4 = ps.filter((p) => p.meta.numbers.length === 4);
  assert.ok(multi >= 0.3, `${multi} of problems have 2+ solutions`);
  assert.ok(multi4.filter((p) => p.meta.solutionCount >= 2).length / multi4.length >= 0.5);
  for (const p of generate({ task: 'countdown', minSolutions: 2 }, { seed: 2, count: 100 })) {
    assert.ok((p as CountdownProblem).meta.solutionCount >= 2);
  }
});

/** Every fully parenthesized expression over every ordered subset (2+) of the numbers. */
function bruteForce(numbers: number[]): string[] {
  const out: string[] = [];
  const trees = (xs: number[]): string[] => {
    if (xs.length === 1) return [String(xs[0])];
    const r: string[] = [];
    for (let i = 1; i < xs.length; i++) {
      for (const l of trees(xs.slice(0, i))) for (const rt of trees(xs.slice(i))) for (const op of '+-*/') r.push(`(${l})${op}(${rt})`);
    }
    return r;
  };
  const perms = (left: number[], chosen: number[]) => {
    if (chosen.length >= 2) out.push(...trees(chosen));
    left.forEach((x, i) => perms([...left.slice(0, i), ...left.slice(i + 1)], [...chosen, x]));
  };
  perms(numbers, []);
  return out;
}

t('the solver finds exactly the brute-force solutions (up to commutativity/associativity)', () => {
  const ps = [
    ...generate({ task: 'countdown', count: 3 }, { seed: 21, count: 12 }),
    ...generate({ task: 'countdown', count: 4 }, { seed: 21, count: 6 }),
    parseProblem('countdown', '3,7,12,5;24='),
    parseProblem('countdown', '1,2,3,4;0='), // zero targets and zero-valued parts take special paths
    parseProblem('countdown', '2,3,5,6;1='),
  ] as CountdownProblem[];
  for (const p of ps) {
    const found = new Set<string>();
    for (const s of bruteForce(p.meta.numbers)) {
      if (verify(p, s).correct) {
        const e = parseExpr(s);
        if (e.ok) found.add(canonicalText(e.expr));
      }
    }
    assert.equal(solveCountdown(p.meta.numbers, p.meta.target).sort(), [...found].sort(), p.prompt);
  }
});

t('canonical forms merge commutative/associative variants only', () => {
  const c = (s: string) => { const e = parseExpr(s); if (!e.ok) throw new Error(e.error); return canonicalText(e.expr); };
  assert.is(c('5+7+12'), c('12+(7+5)'));
  assert.is(c('12-(7-5)'), c('12+5-7'));
  assert.is(c('12/(6/3)'), c('3*12/6'));
  assert.is(c('(3-5)*(2-7)'), c('(2-7)*(3-5)'));
  assert.is.not(c('12-7-5'), c('12-(7-5)'));
  assert.is.not(c('12*3/6'), c('12/(3*6)'));
  assert.equal(solveCountdown([3, 7, 12, 5], 24), ['12+7+5', '12*(5-3)', '12*(7-5)', '12*3-7-5', '(7+5)*3-12', '12*(7+3)/5']);
});

// ---- verifiers

t('arithmetic: right, wrong and format', () => {
  assert.equal(verify(add, '579'), { correct: true, reward: 1, reason: 'ok' });
  expectReason(verify(add, '578'), 'wrong', 'off by one');
  assert.equal(verify(add, '578', { formatReward: 0.1 }), { correct: false, reward: 0.1, reason: 'wrong: got 578, expected 579' });
  expectReason(verify(add, '0579', { formatReward: 0.1 }), 'leading-zero', 'leading zero gets no format reward');
  assert.is(verify(parseProblem('addition', '0+0='), '0').correct, true);
  expectReason(verify(parseProblem('addition', '0+0='), '00'), 'leading-zero', '00');
  assert.is(verify(addRev, '975').correct, true);
  expectReason(verify(addRev, '579'), 'wrong', 'plain answer for reversed problem');
  assert.is(verify(parseProblem('addition', '50+50=', { reverse: true }), '001').correct, true);
  expectReason(verify(parseProblem('addition', '50+50=', { reverse: true }), '0010'), 'leading-zero', 'reversed trailing zero');
  assert.is(verify(mul, '9801').correct, true);
  expectReason(verify(mul, '9800'), 'wrong', 'mul wrong');
  assert.is(verify(add, '579<eos>123junk×').correct, true, 'junk after EOS is ignored');
  expectReason(verify(add, '5793<eos>'), 'wrong', 'junk before EOS counts');
});

t('arithmetic: malformed and adversarial answers never throw', () => {
  const cases: [string, string][] = [
    ['', 'empty'], ['<eos>579', 'empty'], ['+579', 'not-integer'], ['579 ', 'not-integer'], [' 579', 'not-integer'],
    ['-0', 'not-integer'], ['5_79', 'not-integer'], ['579.0', 'not-integer'], ['5e2', 'not-integer'],
    ['５７９', 'not-integer'], ['٥٧٩', 'not-integer'], ['579\u0000', 'not-integer'], ['\u200b579', 'not-integer'],
    ['579\n', 'not-integer'], ['\ud800', 'not-integer'], ['0x243', 'not-integer'], ['9'.repeat(1000), 'wrong'],
    ['9'.repeat(MAX_ANSWER_CHARS + 1), 'too-long'], ['1'.repeat(1 << 20), 'too-long'],
    ['1'.repeat(1 << 20) + '<eos>', 'too-long'],
  ];
  for (const [s, code] of cases) expectReason(verify(add, s), code, JSON.stringify(s.slice(0, 20)));
  expectReason(verify(add, 579 as any), 'bad-input', 'number instead of text');
  expectReason(verify(add, null as any), 'bad-input', 'null');
  expectReason(verify({} as any, '1'), 'bad-problem', 'empty problem');
  expectReason(verify({ task: 'addition', meta: { a: 'x', b: '1' } } as any, '1'), 'bad-problem', 'broken meta');
});

t('countdown: right answers, any bracketing, exact rationals', () => {
  for (const s of ['12+7+5', '12*(7-5)', '(12*(7-5))', '((12))+((7)+5)', '5+7+12', '12*(7+3)/5', '12*3-7-5']) {
    assert.equal(verify(cd, s), { correct: true, reward: 1, reason: 'ok' }, s);
  }
  assert.is(verify(parseProblem('countdown', '7,2,4;14='), '7/2*4').correct, true, 'fractional intermediate');
  assert.is(verify(parseProblem('countdown', '1,49,98;2='), '1/49*98').correct, true, 'exact where doubles are not');
  assert.is(verify(parseProblem('countdown', '2,2,3;7='), '2+2+3').correct, true, 'a number given twice may be used twice');
  expectReason(verify(parseProblem('countdown', '2,2,3;8='), '2+2+2+2'), 'reused', 'but not three times');
});

t('countdown: wrong, malformed and adversarial answers never throw', () => {
  const deep = '('.repeat(40) + '12+7+5' + ')'.repeat(40);
  const cases: [string, string][] = [
    ['12+7+3', 'wrong'], ['12*7/5', 'wrong: got 84/5'], ['3/(12-7-5)', 'div-zero'], ['12+7+5+3/(12-7-5)', 'reused'],
    ['12+12', 'reused'], ['24', 'not-given'], ['8*3', 'not-given'], ['12+7+5+0', 'not-given'],
    ['99999999999999999999999999999999', 'not-given'], ['012+7+5', 'leading-zero'],
    ['(12+7+5', 'parse-error: missing'], ['12+7+5)', 'parse-error: unmatched'], ['((12)', 'parse-error'], ['()', 'parse-error'],
    ['-3+27', 'parse-error'], ['12+-7', 'parse-error'], ['12+7+5=', 'parse-error'], ['12 + 7 + 5', 'parse-error'],
    ['12+7+', 'parse-error'], ['12..7', 'parse-error'], ['1e3', 'parse-error'], ['12×2', 'parse-error'],
    ['１２+7+5', 'parse-error'], ['12+7+5\u0000', 'parse-error'], ['\u202e12+7+5', 'parse-error'],
    ['', 'empty'], [deep, 'too-deep'], ['('.repeat(MAX_ANSWER_CHARS + 1), 'too-long'],
    ['(12+'.repeat(1 << 18), 'too-long'], ['12+7+5<eos>', 'ok'], ['12+7+5<eos>))((', 'ok'],
  ];
  for (const [s, code] of cases) {
    const r = verify(cd, s);
    if (code === 'ok') assert.is(r.correct, true, s);
    else expectReason(r, code, JSON.stringify(s.slice(0, 30)));
  }
  assert.is(verify(cd, '12+7+3', { formatReward: 0.1 }).reward, 0.1);
  assert.is(verify(cd, '12+12', { formatReward: 0.1 }).reward, 0, 'reuse is not well-formed');
  assert.is(verify(cd, '(12+7+5', { formatReward: 0.1 }).reward, 0);
});

t('random garbage never throws and earns 0 or 1', () => {
  const rand = mulberry32(77);
  const alphabet = [...'0123456789+-*/()=,;', ' ', '×', '\u0000', '٣', '<eos>'];
  const problems: Problem[] = [add, addRev, mul, cd];
  for (let i = 0; i < 4000; i++) {
    const len = Math.floor(rand() * 24);
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
    for (const p of problems) {
      const r = verify(p, s);
      assert.ok(r.reward === 0 || r.reward === 1, s);
      assert.is(r.correct, r.reward === 1);
      assert.type(r.reason, 'string');
    }
  }
});

t('verifyTokens: EOS ends the answer; stray specials and bad ids fail', () => {
  assert.is(verifyTokens(add, [...encode('579'), EOS, ...encode('12'), PAD]).correct, true);
  assert.is(verifyTokens(add, encode('579')).correct, true);
  expectReason(verifyTokens(add, encode('579'), { requireEos: true }), 'no-eos', 'requireEos');
  expectReason(verifyTokens(add, [...encode('57'), PAD, ...encode('9'), EOS]), 'bad-token', 'PAD inside');
  expectReason(verifyTokens(add, [...encode('57'), 99]), 'bad-token', 'bad id');
  expectReason(verifyTokens(add, [EOS]), 'empty', 'only EOS');
  expectReason(verifyTokens(add, new Int32Array(1 << 20).fill(5)), 'too-long', '1M tokens');
  assert.is(verifyTokens(cd, new Uint32Array([...encode('12*(7-5)'), EOS])).correct, true);
});

t('parseProblem rebuilds generated problems from their prompts', () => {
  for (const task of TASK_NAMES) {
    for (const p of generate({ task, reverse: true } as TaskConfig, { seed: 4, count: 20 })) {
      const reverse = p.task !== 'countdown' && p.task !== 'countdown-steps' && p.meta.reverse;
      const q = parseProblem(task, p.prompt, { reverse, solve: true });
      // countdown-steps draws its reference at random among all solutions; the rebuilt one is the first
      assert.equal(p.task === 'countdown-steps' ? { ...q, answer: p.answer } : q, p);
    }
  }
  for (const [task, prompt] of [['addition', '1+2'], ['addition', '1+-2='], ['addition', '1*2='], ['countdown', '1,2;3'],
    ['countdown', ';3='], ['countdown', '1,,2;3='], ['multiplication', '']] as const) {
    assert.throws(() => parseProblem(task, prompt), /prompt/);
  }
});

t('expr: formatExpr keeps values and drops only redundant parentheses', () => {
  const rand = mulberry32(5);
  const tree = (d: number): Expr => d === 0 || rand() < 0.3
    ? { kind: 'num', text: String(1 + Math.floor(rand() * 20)) }
    : { kind: 'bin', op: '+-*/'[Math.floor(rand() * 4)] as any, left: tree(d - 1), right: tree(d - 1) };
  for (let i = 0; i < 500; i++) {
    const e = tree(4);
    const s = formatExpr(e);
    const p = parseExpr(s);
    assert.ok(p.ok, s);
    const a = evaluate(e), b = p.ok ? evaluate(p.expr) : null;
    assert.ok(a === null ? b === null : b !== null && ratEq(a, b), s);
  }
  const f = (s: string) => { const p = parseExpr(s); if (!p.ok) throw new Error(p.error); return formatExpr(p.expr); };
  assert.is(f('((1+2))*(3)'), '(1+2)*3');
  assert.is(f('1-(2-3)'), '1-(2-3)');
  assert.is(f('1+(2-3)'), '1+2-3');
  assert.is(f('8/(4/2)'), '8/(4/2)');
  assert.is(f('8*(4/2)'), '8*4/2');
});

// ---- CLI

t('check.ts: one output line per input line, malformed lines included, exit 0', () => {
  const lines = [
    { task: 'addition', problem: '123+456=', answer: '579' },
    { problem: { task: 'addition', prompt: '123+456=', answer: '975', meta: { a: '123', b: '456', reverse: true } }, answer: '975' },
    { task: 'countdown', problem: cd, answer: '12*(7-5)<eos>xx' },
    { task: 'countdown', problem: '3,7,12,5;24=', answer: '3/(12-7-5)' },
    { task: 'multiplication', problem: '99*99=', answer: '9800', options: { formatReward: 0.1 } },
  ].map((x) => JSON.stringify(x));
  const bad = ['not json', '', '[1,2]', '{"task":"division","problem":"1/2=","answer":"0"}',
    '{"task":"addition","problem":"1+1","answer":"2"}', '{"task":"addition","problem":"1+1="}',
    '{"task":"countdown","problem":{"task":"addition","prompt":"1+1="},"answer":"2"}', '{"task":"addition","problem":null,"answer":"2"}'];
  const input = [...lines, ...bad].join('\n') + '\n';
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'verify/check.ts'], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  assert.is(run.status, 0, run.stderr);
  const out = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(out.length, lines.length + bad.length);
  assert.equal(out.slice(0, 5), [
    { correct: true, reward: 1, reason: 'ok' },
    { correct: true, reward: 1, reason: 'ok' },
    { correct: true, reward: 1, reason: 'ok' },
    { correct: false, reward: 0, reason: 'div-zero' },
    { correct: false, reward: 0.1, reason: 'wrong: got 9800, expected 9801' },
  ]);
  for (const r of out.slice(5)) {
    assert.is(r.correct, false);
    assert.ok(r.reason.startsWith('bad-input'), r.reason);
  }
});

t.run();
