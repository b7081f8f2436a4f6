import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { groupAdvantages, passAtK } from '../train/metrics.js';

const t = suite('metrics');

/** Brute force: the fraction of all k-subsets of n samples (c correct) that contain a correct one. */
function passAtKBrute(n: number, c: number, k: number): number {
  let hit = 0, total = 0;
  const rec = (start: number, left: number, any: boolean) => {
    if (left === 0) { total++; if (any) hit++; return; }
    for (let i = start; i <= n - left; i++) rec(i + 1, left - 1, any || i < c);
  };
  rec(0, k, false);
  return hit / total;
}

t('pass@k equals brute-force enumeration of k-subsets for all small n, c, k', () => {
  for (let n = 1; n <= 9; n++) for (let c = 0; c <= n; c++) for (let k = 1; k <= n; k++) {
    assert.ok(Math.abs(passAtK(n, c, k) - passAtKBrute(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}`);
  }
});

t('pass@k is stable for large n and rejects bad arguments', () => {
  assert.is(passAtK(1024, 0, 64), 0);
  assert.is(passAtK(1024, 1024, 64), 1);
  assert.ok(Math.abs(passAtK(1000, 1, 1) - 0.001) < 1e-12);
  assert.throws(() => passAtK(4, 1, 5), /k ≤ n/);
  assert.throws(() => passAtK(4, 5, 1), /c ≤ n/);
});

t('GRPO advantages: zero-mean, unit-std groups; Dr. GRPO skips the std; equal rewards give zeros', () => {
  const a = groupAdvantages([1, 0, 0, 1, 1, 0, 0, 0], true);
  assert.ok(Math.abs(a.reduce((x, y) => x + y, 0)) < 1e-12);
  const sd = Math.sqrt(a.reduce((x, y) => x + y * y, 0) / a.length);
  assert.ok(Math.abs(sd - 1) < 1e-5);
  assert.equal(groupAdvantages([1, 0], false), [0.5, -0.5]);
  assert.equal(groupAdvantages([1, 1, 1], true), [0, 0, 0]);
});

t.run();
