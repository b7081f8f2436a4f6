// A captured rollout's hand-over: staged or prefill layouts become rows b·T + t, bit for bit, and
// rows outside the copied positions stay as they were.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { unstageRef } from '../kernels/unstage.ref.js';
import { stageStride, unstage, unstageMany } from '../kernels/unstage.js';
import { testRuntime } from './gpu.js';
import { randArray } from './helpers.js';

const t = suite('unstage');

for (const [B, T, W] of [[1, 1, 1], [3, 7, 5], [4, 9, 8], [7, 33, 65], [256, 3, 1]]) {
  t(`unstage B=${B} T=${T} W=${W}: time-major slabs (aligned and odd strides) and a [B, P, W] prefix`, async () => {
    const rt = await testRuntime();
    const P = Math.max(1, Math.floor(T / 2));
    const layouts = [
      { from: 0, count: T, strideB: W, strideT: stageStride(rt, B, W) },
      { from: T - 1, count: 1, strideB: W, strideT: B * W + 3 },
      { from: 0, count: P, strideB: P * W, strideT: W },
    ];
    for (const L of layouts) {
      const s = randArray((B - 1) * L.strideB + (L.from + L.count - 1) * L.strideT + W, B + T + W);
      const d0 = randArray(B * T * W, 2);
      const src = rt.upload(s), dst = rt.upload(d0, [B * T, W]);
      unstage(rt, src, dst, { B, T, ...L });
      assert.equal(Array.from(await rt.readF32(dst)), Array.from(unstageRef(s, d0, { B, T, W, ...L }), Math.fround), JSON.stringify(L));
      for (const x of [src, dst]) x.buffer.destroy();
    }
  });
}

t('unstageMany moves six tensors of different widths and layouts (two dispatches) as six unstage calls would', async () => {
  const rt = await testRuntime();
  const B = 5, T = 6, from = 2, count = 3;
  const shapes = [1, 4, 7, 8, 16, 3].map((W, k) => ({ W, strideB: k % 2 ? W : count * W + 1, strideT: k % 2 ? stageStride(rt, B, W) : W }));
  const srcs = shapes.map((sh, k) => randArray((B - 1) * sh.strideB + (T - 1) * sh.strideT + sh.W, 30 + k));
  const dsts = shapes.map((sh, k) => randArray(B * T * sh.W, 40 + k));
  const pairs = shapes.map((sh, k) => ({ src: rt.upload(srcs[k]), dst: rt.upload(dsts[k], [B * T, sh.W]), strideB: sh.strideB, strideT: sh.strideT }));
  unstageMany(rt, pairs, { B, T, from, count });
  for (const [k, p] of pairs.entries()) {
    const want = unstageRef(srcs[k], dsts[k], { B, T, W: shapes[k].W, from, count, strideB: shapes[k].strideB, strideT: shapes[k].strideT });
    assert.equal(Array.from(await rt.readF32(p.dst)), Array.from(want, Math.fround), `tensor ${k} (W ${shapes[k].W})`);
  }
  for (const p of pairs) { p.src.buffer.destroy(); p.dst.buffer.destroy(); }
});

t('unstage rejects a source too short for its layout and positions outside the rows', async () => {
  const rt = await testRuntime();
  const src = rt.empty([10]), dst = rt.empty([2 * 3, 2]);
  assert.throws(() => unstage(rt, src, dst, { B: 2, T: 3, strideT: 6 }), /the layout reaches 16/);
  assert.throws(() => unstage(rt, src, dst, { B: 2, T: 3, from: 2, count: 2 }), /positions \[2, 4\) are outside/);
  for (const x of [src, dst]) x.buffer.destroy();
});

t.run();
