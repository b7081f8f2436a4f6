// countdown-steps (verify/steps.ts) against an independent brute force: every answer text that is a
// valid solution — any operand order, any step order — enumerated here from the rule's statement,
// not from the module's solver. The verifier must accept exactly those texts (on every solution and
// on thousands of near misses and random strings), the solver must count exactly the reference-form
// ones, the generator's references must be drawn uniformly among them, and every rejection carries
// its reason code.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  countStepSolutions, drawStepSolution, generate, maxLengths, mulberry32, parseProblem, solveSteps, STEPS_DEFAULTS, stepTokenRoles, verify, verifyTokens, encode, EOS,
  type StepsProblem,
} from '../verify/index.js';

const t = suite('steps');

/** All valid answer texts: from the pool, any ordered pair of positions, any operator whose result
 * is a whole number in 1..maxValue, until one number is left; kept when it is the target. */
function bruteForce(numbers: number[], target: number, maxValue: number): Set<string> {
  const out = new Set<string>();
  const walk = (pool: number[], steps: string[]) => {
    if (pool.length === 1) {
      if (pool[0] === target) out.add(steps.join(','));
      return;
    }
    for (let i = 0; i < pool.length; i++) {
      for (let j = 0; j < pool.length; j++) {
        if (i === j) continue;
        const a = pool[i], b = pool[j];
        const rest = pool.filter((_, k) => k !== i && k !== j);
        const results: [string, number][] = [['+', a + b], ['-', a - b], ['*', a * b], ['/', a / b]];
        for (const [op, r] of results) {
          if (!Number.isInteger(r) || r < 1 || r > maxValue) continue;
          walk([...rest, r], [...steps, `${a}${op}${b}=${r}`]);
        }
      }
    }
  };
  walk(numbers, []);
  return out;
}

/** The reference form: + and * written larger operand first. */
const referenceForm = (answer: string) => answer.split(',').every((s) => {
  const m = /^(\d+)([-+*/])(\d+)=/.exec(s)!;
  return (m[2] !== '+' && m[2] !== '*') || Number(m[1]) >= Number(m[3]);
});

const problem = (numbers: number[], target: number, maxValue = STEPS_DEFAULTS.maxValue): StepsProblem =>
  ({ task: 'countdown-steps', prompt: `${numbers.join(',')};${target}=`, answer: '', meta: { numbers, target, maxValue, solutionCount: -1 } });

// hand-made: equal values in the pool (5−3 = 2 beside a 2), a target equal to a given number, a
// small maxValue that forbids big products, and generated problems of the default config
const cases: StepsProblem[] = [
  problem([2, 3, 5], 4), problem([3, 7, 12, 5], 24), problem([1, 2, 3, 4], 4), problem([6, 4, 9], 15, 20),
  ...(generate({ task: 'countdown-steps' }, { seed: 3, count: 10 }) as StepsProblem[]),
];

t('the solver counts exactly the brute force solutions in reference form, and each verifies', () => {
  for (const p of cases) {
    const { numbers, target, maxValue } = p.meta;
    const all = bruteForce(numbers, target, maxValue);
    const ref = [...all].filter(referenceForm).sort();
    assert.equal([...solveSteps(numbers, target, maxValue)].sort(), ref, p.prompt);
    assert.is(countStepSolutions(numbers, target, maxValue), ref.length, p.prompt);
    if (p.meta.solutionCount >= 0) assert.is(p.meta.solutionCount, ref.length, `${p.prompt}: meta.solutionCount`);
    for (const a of all) assert.ok(verify(p, a).correct, `${p.prompt}${a}: ${verify(p, a).reason}`);
  }
});

t('generated problems: references verify, ≥ 2 solutions, disjoint splits, lengths within maxLengths', () => {
  const lim = maxLengths({ task: 'countdown-steps' });
  const keys = { train: new Set<string>(), heldout: new Set<string>() };
  for (const split of ['train', 'heldout'] as const) {
    for (const p of generate({ task: 'countdown-steps' }, { seed: 9, count: 300, split }) as StepsProblem[]) {
      assert.ok(verify(p, p.answer).correct, `${p.prompt}${p.answer}: ${verify(p, p.answer).reason}`);
      assert.ok(p.meta.solutionCount >= 2, `${p.prompt}: ${p.meta.solutionCount} solutions`);
      assert.ok(p.prompt.length <= lim.prompt && p.answer.length <= lim.answer, `${p.prompt}${p.answer} exceeds ${JSON.stringify(lim)}`);
      assert.is(p.answer.split(',').length, p.meta.numbers.length - 1);
      keys[split].add([...p.meta.numbers].sort((a, b) => a - b).join(',') + ';' + p.meta.target);
      const ids = [...encode(p.answer), EOS];
      assert.ok(verifyTokens(p, ids, { requireEos: true }).correct);
    }
  }
  for (const k of keys.heldout) assert.not.ok(keys.train.has(k), `${k} in both splits`);
});

t('fuzz: the verifier accepts exactly the brute force set, on near misses and random strings', () => {
  const rand = mulberry32(77);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const alphabet = '0123456789+-*/=,';
  let accepted = 0, rejected = 0;
  for (const p of cases) {
    const all = bruteForce(p.meta.numbers, p.meta.target, p.meta.maxValue);
    const valid = [...all];
    const candidates: string[] = [];
    for (let n = 0; n < 400; n++) {
      const base = valid.length ? pick(valid) : '1+1=2';
      const chars = [...base];
      const i = Math.floor(rand() * chars.length);
      switch (n % 8) {
        case 0: chars[i] = pick([...alphabet]); break; // substitute
        case 1: chars.splice(i, 1); break; // delete
        case 2: chars.splice(i, 0, pick([...alphabet])); break; // insert
        case 3: candidates.push(base.split(',').slice(0, -1).join(',')); continue; // drop the last step
        case 4: candidates.push(`${base},${pick(p.meta.numbers)}+1=${pick(p.meta.numbers) + 1}`); continue; // one step too many
        case 5: candidates.push(base.split(',').reverse().join(',')); continue; // steps out of order
        case 6: candidates.push(Array.from({ length: 1 + Math.floor(rand() * 30) }, () => pick([...alphabet])).join('')); continue;
        case 7: candidates.push(base); continue; // a valid one
      }
      candidates.push(chars.join(''));
    }
    for (const c of candidates) {
      const v = verify(p, c);
      assert.is(v.correct, all.has(c), `${p.prompt}${JSON.stringify(c)}: verifier ${v.correct} (${v.reason}), brute force ${all.has(c)}`);
      assert.ok(v.correct ? v.reason === 'ok' : /^[a-z-]+:?/.test(v.reason) && v.reason !== 'ok', v.reason);
      if (v.correct) accepted++; else rejected++;
    }
  }
  assert.ok(accepted > 100 && rejected > 1000, `${accepted} accepted, ${rejected} rejected: the fuzz must exercise both`);
});

t('every rejection names its reason', () => {
  const p = problem([3, 7, 12, 5], 24);
  const cases: [string, RegExp][] = [
    ['', /^empty/],
    ['12-7=5,5*3=15,15+5=20', /^wrong: got 20, expected 24/],
    ['12-7=5,5*3=15', /^unused: 5,15 left/],
    ['12-7=4,4*3=12,12*5=60', /^wrong-result: step 1 12-7 is 5, not 4/],
    ['12-7=5,5*3=15,15+9=24', /^not-in-pool: step 3 uses 9/],
    ['12-12=0,3*5=15,15+7=22', /^not-in-pool: step 1 uses 12; the pool without 12/],
    ['7-12=-5', /^parse-error: step 1/],
    ['3-7=4', /^not-allowed: step 1 3-7/],
    ['7/3=2', /^not-allowed: step 1 7\/3/],
    ['12 - 7=5', /^parse-error/],
    ['12-7=5,,5*3=15', /^parse-error: step 2/],
    ['012-7=5', /^parse-error/],
    ['12-7=5<eos>junk', /^unused/],
    ['1'.repeat(2000), /^too-long/],
  ];
  for (const [answer, want] of cases) {
    const v = verify(p, answer);
    assert.not.ok(v.correct, answer);
    assert.ok(want.test(v.reason), `${JSON.stringify(answer)}: reason "${v.reason}", want ${want}`);
  }
  const big = problem([9, 8, 2], 72, 50); // 9*8 = 72 exceeds maxValue 50
  assert.match(verify(big, '9*8=72,72*2=144').reason, /^not-allowed: step 1 9\*8 is not a whole number in 1..50/);
  assert.ok(verify(p, '12-7=5,5*3=15,15+5=20', { formatReward: 0.1 }).reward === 0.1, 'well-formed but wrong earns the format reward');
  assert.ok(verify(p, '12-7=5,,', { formatReward: 0.1 }).reward === 0, 'malformed earns nothing');
  assert.throws(() => parseProblem('countdown-steps', '3,7;24'), /not of the form/);
  assert.throws(() => generate({ task: 'countdown-steps', count: 9 }, { seed: 1, count: 1 }), /count must be an integer in 2\.\.6/);
  assert.throws(() => generate({ task: 'countdown-steps', maxNumber: 200 }, { seed: 1, count: 1 }), /maxNumber/);
});

t('references are drawn uniformly among all solutions (chi-square)', () => {
  // problems with several solutions: each drawn 200 × (solutions) times, under values up to 99 (fixed
  // here, so the check does not follow the task's default range)
  const rand = mulberry32(5), maxValue = 99;
  for (const [numbers, target] of [[[3, 7, 12, 5], 24], [[2, 3, 5], 4], [[4, 6, 9, 11], 30]] as [number[], number][]) {
    const sols = solveSteps(numbers, target, maxValue);
    assert.ok(sols.length >= 3, `${numbers};${target}: ${sols.length} solutions`);
    const counts = new Map(sols.map((s) => [s, 0]));
    const n = 200 * sols.length;
    for (let i = 0; i < n; i++) {
      const s = drawStepSolution(numbers, target, rand, maxValue);
      assert.ok(counts.has(s), `drew ${s}, not a solution`);
      counts.set(s, counts.get(s)! + 1);
    }
    const e = n / sols.length;
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - e) ** 2 / e, 0);
    // Wilson–Hilferty: the chi-square quantile at p = 1e-6 for k − 1 degrees of freedom (z = 4.75).
    // A draw weighted by anything but the completion counts (e.g. uniform per step) is far above it.
    const k = sols.length - 1, crit = k * (1 - 2 / (9 * k) + 4.75 * Math.sqrt(2 / (9 * k))) ** 3;
    assert.ok(chi2 < crit, `${numbers};${target}: chi² ${chi2.toFixed(1)} ≥ ${crit.toFixed(1)} over ${sols.length} solutions`);
  }
});

t('stepTokenRoles labels every character and checks the arithmetic', () => {
  const r = stepTokenRoles('12-7=5,5*3=16,x1\n');
  const want = ['operand 1', 'operand 1', 'operator', 'operand 2', '=', 'result', ',', 'operand 1', 'operator', 'operand 2', '=', 'result', 'result', ',', 'malformed step', 'malformed step', 'EOS'];
  assert.equal(r.roles, want);
  assert.is(r.roles.length, '12-7=5,5*3=16,x1\n'.length, 'one role per character');
  assert.equal([r.steps, r.right], [2, 1], '12-7=5 right, 5*3=16 wrong, x1 not a step');
  assert.equal(r.last, { steps: 0, right: 0 }, 'the last part x1 is not a step');
  assert.equal(stepTokenRoles('12-7=5,5*3=16\n').last, { steps: 1, right: 0 });
  assert.equal(stepTokenRoles('12-7=5,5*3=15').last, { steps: 1, right: 1 });
  assert.equal(stepTokenRoles('9/2=4').right, 0, 'no rounding');
  assert.equal(stepTokenRoles('').roles, ['malformed step'].slice(0, 0));
  const noEos = stepTokenRoles('3+4=7');
  assert.equal([noEos.roles.at(-1), noEos.steps, noEos.right], ['result', 1, 1]);
});

t.run();
