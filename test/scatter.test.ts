// The decode step's capture copy: rows b of src land at rows b·T + pos of dst, nothing else moves.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { scatterPositionRef } from '../kernels/scatter.ref.js';
import { scatterPosition } from '../kernels/scatter.js';
import { testRuntime } from './gpu.js';
import { randArray } from './helpers.js';

const t = suite('scatter');

for (const [B, T, W] of [[1, 1, 1], [3, 7, 5], [4, 9, 8], [7, 33, 65]]) {
  t(`scatterPosition B=${B} T=${T} W=${W} (${W % 4 === 0 ? 'vec4' : 'scalar'}) at the first, a middle and the last position`, async () => {
    const rt = await testRuntime();
    const dst0 = randArray(B * T * W, 1);
    const dst = rt.upload(dst0, [B * T, W]);
    let want: Float64Array = Float64Array.from(dst0);
    const srcs = [];
    for (const pos of [...new Set([0, Math.floor(T / 2), T - 1])]) {
      const s = randArray(B * W, 10 + pos);
      const src = rt.upload(s, [B, W]);
      scatterPosition(rt, src, dst, { B, T, pos });
      want = scatterPositionRef(s, want, { B, T, W, pos });
      srcs.push(src);
    }
    assert.equal(Array.from(await rt.readF32(dst)), Array.from(want, Math.fround));
    for (const x of [dst, ...srcs]) x.buffer.destroy();
  });
}

t('scatterPosition rejects a position outside the rows and a mis-sized destination', async () => {
  const rt = await testRuntime();
  const src = rt.empty([2, 3]), dst = rt.empty([2 * 4, 3]), bad = rt.empty([2 * 4, 2]);
  assert.throws(() => scatterPosition(rt, src, dst, { B: 2, T: 4, pos: 4 }), /position 4 is outside 0..3/);
  assert.throws(() => scatterPosition(rt, src, bad, { B: 2, T: 4, pos: 0 }), /expected B·T·W/);
  for (const x of [src, dst, bad]) x.buffer.destroy();
});

t.run();
