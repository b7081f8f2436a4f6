// A captured rollout's hand-over: T time-major [B, W] slabs become rows b·T + t, bit for bit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { unstageRef } from '../kernels/unstage.ref.js';
import { stageStride, unstage } from '../kernels/unstage.js';
import { testRuntime } from './gpu.js';
import { randArray } from './helpers.js';

const t = suite('unstage');

for (const [B, T, W] of [[1, 1, 1], [3, 7, 5], [4, 9, 8], [7, 33, 65], [256, 3, 1]]) {
  t(`unstage B=${B} T=${T} W=${W}`, async () => {
    const rt = await testRuntime();
    for (const stride of [stageStride(rt, B, W), B * W + 3]) {
      const s = randArray((T - 1) * stride + B * W, B + T + W);
      const src = rt.upload(s), dst = rt.upload(randArray(B * T * W, 2), [B * T, W]);
      unstage(rt, src, dst, { B, T, stride });
      assert.equal(Array.from(await rt.readF32(dst)), Array.from(unstageRef(s, { B, T, W, stride }), Math.fround), `stride ${stride}`);
      for (const x of [src, dst]) x.buffer.destroy();
    }
  });
}

t('unstage rejects a short source and a stride shorter than a slab', async () => {
  const rt = await testRuntime();
  const src = rt.empty([10]), dst = rt.empty([2 * 3, 2]);
  assert.throws(() => unstage(rt, src, dst, { B: 2, T: 3, stride: 3 }), /shorter than a \[2, 2\] slab/);
  assert.throws(() => unstage(rt, src, dst, { B: 2, T: 3, stride: 4 + 2 }), /need 16/);
  for (const x of [src, dst]) x.buffer.destroy();
});

t.run();
