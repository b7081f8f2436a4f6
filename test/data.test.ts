import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { noisyTeacher } from '../train/data.js';
import { generate, verify } from '../verify/index.js';

const t = suite('data');
const problems = generate({ task: 'addition', digits: 3 }, { seed: 5, count: 4000 });

t('noisy teacher: rate 0 returns the clean demonstration itself', () => {
  for (const p of problems.slice(0, 50)) assert.is(noisyTeacher(p, 0, 1), p);
});

t('noisy teacher: about `rate` of the demonstrations change, each in one character of its kind, and all of those are wrong', () => {
  for (const rate of [0.1, 0.5]) {
    let changed = 0;
    for (const p of problems) {
      const q = noisyTeacher(p, rate, 3);
      assert.is(q.prompt, p.prompt);
      if (q.answer === p.answer) continue;
      changed++;
      assert.is(q.answer.length, p.answer.length);
      const diff = [...p.answer].flatMap((ch, i) => (ch === q.answer[i] ? [] : [i]));
      assert.is(diff.length, 1, `${p.answer} → ${q.answer}`);
      assert.match(q.answer[diff[0]], /[0-9]/);
      assert.not.ok(verify(p, q.answer).correct, `${p.prompt}${q.answer} should be wrong`);
    }
    // Binomial: 4 standard deviations of the share over 4000 draws.
    const sd = Math.sqrt((rate * (1 - rate)) / problems.length);
    assert.ok(Math.abs(changed / problems.length - rate) < 4 * sd, `rate ${rate}: changed ${changed} of ${problems.length}`);
  }
});

t('noisy teacher: a pure function of (problem, seed) — a fixed dataset — and another seed picks other problems', () => {
  const a = problems.map((p) => noisyTeacher(p, 0.5, 7).answer);
  const b = problems.map((p) => noisyTeacher(p, 0.5, 7).answer);
  const c = problems.map((p) => noisyTeacher(p, 0.5, 8).answer);
  assert.equal(a, b);
  assert.ok(a.some((x, i) => x !== c[i]));
});

t('noisy teacher: countdown operators are swapped for other operators', () => {
  const cd = generate({ task: 'countdown' }, { seed: 2, count: 400 });
  let ops = 0;
  for (const p of cd) {
    const q = noisyTeacher(p, 1, 4);
    const i = [...p.answer].findIndex((ch, j) => ch !== q.answer[j]);
    assert.ok(i >= 0, `${p.answer} unchanged at rate 1`);
    const kind = (ch: string) => (/[0-9]/.test(ch) ? 'digit' : /[-+*/]/.test(ch) ? 'op' : 'other');
    assert.is(kind(q.answer[i]), kind(p.answer[i]));
    if (kind(p.answer[i]) === 'op') ops++;
  }
  assert.ok(ops > 0);
});

t.run();
