// Progress without a terminal (train/progress.ts): a plain line about every interval with step,
// steps/s, the metrics and time left, computed from the steps and times seen. The clock and the
// interval are injected, so nothing here waits.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, PLAIN_INTERVAL_S, ProgressDisplay } from '../train/progress.js';

const t = suite('progress');

function plain(intervalS?: number) {
  let ms = 0;
  const lines: string[] = [];
  const p = new ProgressDisplay({
    stage: 'SFT', format: 'unused off a terminal', etaBuffer: 50, fields: { loss: 'loss', acc: 'held-out' },
    tty: false, write: (l) => lines.push(l), now: () => ms, intervalS,
  });
  return { p, lines, at: (s: number) => (ms = s * 1000) };
}

t('without a terminal: one line per interval, with step, steps/s, loss and time left', () => {
  const { p, lines, at } = plain();
  assert.is(PLAIN_INTERVAL_S, 30);
  at(0);
  p.start(2000, 0, { loss: '-', acc: '-' });
  for (let step = 1; step <= 59; step++) {
    at(step * 0.5); // 2 steps/s
    p.update(step, { loss: (1 / step).toFixed(4) });
  }
  assert.equal(lines, [], 'nothing before 30 s');
  at(30);
  p.update(60, { loss: '0.0167' });
  // 60 steps in 30 s; 1940 left at 2/s = 970 s
  assert.equal(lines, ['SFT step 60/2000 | 2.00 steps/s | loss 0.0167 | 16m 10s left']);
  at(45);
  p.update(90, { loss: '0.0111' });
  p.update({ acc: '97.5%' }); // a held-out evaluation between steps
  assert.is(lines.length, 1, 'not again before the next 30 s');
  at(62);
  p.update(100, { loss: '0.0100' });
  // 100 steps in 62 s: 1.61/s; 1900 left → 1178 s
  assert.is(lines[1], 'SFT step 100/2000 | 1.61 steps/s | loss 0.0100 | held-out 97.5% | 19m 38s left');
  p.stop();
  assert.is(lines.length, 2);
});

t('a resumed run counts its rate from the steps this process ran, and the interval is injectable', () => {
  const { p, lines, at } = plain(5);
  at(100);
  p.start(150, 40, { loss: '-', acc: '-' });
  at(104);
  p.update(44);
  assert.equal(lines, []);
  at(105);
  p.update(45);
  assert.equal(lines, ['SFT step 45/150 | 1.00 steps/s | 1m 45s left'], 'metrics still "-" are left out');
  at(111);
  p.update(45); // no step for 6 s: 5 steps in 11 s, 105 left → 231 s
  assert.is(lines[1], 'SFT step 45/150 | 0.45 steps/s | 3m 51s left');
});

t('no step yet: the time left is unknown, not infinite or NaN', () => {
  const { p, lines, at } = plain(1);
  at(0);
  p.start(10, 0);
  at(2);
  p.update(0, { loss: '2.3000' });
  assert.equal(lines, ['SFT step 0/10 | 0.00 steps/s | loss 2.3000 | ? left']);
});

t('durations read like the bar\'s', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(42.4), '42s');
  assert.is(formatDuration(185), '3m 05s');
  assert.is(formatDuration(3725), '1h 02m');
  assert.is(formatDuration(Infinity), '?');
  assert.throws(() => new ProgressDisplay({ stage: 'RL', format: '', etaBuffer: 1, fields: {}, tty: false, intervalS: 0 }), /interval is 0 s; it must be positive/);
});

t.run();
