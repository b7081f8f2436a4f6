// The matmul's residual epilogue (matmul(..., { residual: x })) against float64 — C = op(A)·op(B)
// (+ bias) (+ old C) + residual to the dot-product bound with the residual counted as one more
// term — and bit for bit against what it replaces in the block: copy(x → C), then an accumulating
// matmul (the same additions in the same order).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matmul, matmulVariants, type MatmulForm } from '../kernels/matmul.js';
import { matmulRef } from '../kernels/matmul.ref.js';
import type { Runtime } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray } from './helpers.js';

const t = suite('matmul-residual');
const FORMS: MatmulForm[] = ['NN', 'NT', 'TN'];

async function check(rt: Runtime, form: MatmulForm, M: number, K: number, N: number, o: { variant: string; bias: boolean; accumulate: boolean }, seed: number): Promise<void> {
  const [ar, ac] = form === 'TN' ? [K, M] : [M, K];
  const [br, bc] = form === 'NT' ? [N, K] : [K, N];
  const a = randArray(ar * ac, seed), b = randArray(br * bc, seed + 1), r = randArray(M * N, seed + 4, 3);
  const bias = o.bias ? randArray(N, seed + 2, 2) : undefined, c0 = randArray(M * N, seed + 3, 2);
  const A = rt.upload(a, [ar, ac]), B = rt.upload(b, [br, bc]), C = rt.upload(c0, [M, N]), R = rt.upload(r, [M, N]);
  const Bias = bias ? rt.upload(bias, [N]) : undefined;
  matmul(rt, A, B, C, { form, bias: Bias, accumulate: o.accumulate, residual: R, variant: o.variant });
  const ref = matmulRef({ form, a, b, M, N, K, bias, c0, accumulate: o.accumulate, residual: r });
  const what = `${o.variant} ${form} M=${M} K=${K} N=${N}${o.bias ? ' +bias' : ''}${o.accumulate ? ' +=C' : ''} +residual`;
  assertWithin(await rt.readF32(C), ref.c, ref.c.map((_, i) => dotBound(ref.terms[i], ref.mag[i])), what);
  assert.equal(Array.from(await rt.readF32(R)), Array.from(Float32Array.from(r)), `${what}: the residual is only read`);
  for (const x of [A, B, C, R, Bias]) x?.buffer.destroy();
}

// odd sizes (scalar loads, masked K) and vec4-aligned ones
const SHAPES: [number, number, number][] = [[1, 1, 1], [33, 65, 7], [65, 127, 33], [36, 20, 68], [100, 8, 132]];

t('residual epilogue: every variant and form, odd and aligned sizes, with and without bias and accumulate', async () => {
  const rt = await testRuntime();
  let seed = 21;
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const form of FORMS)
      for (const [i, [M, K, N]] of SHAPES.entries()) await check(rt, form, M, K, N, { variant, bias: i !== 1, accumulate: i % 2 === 1 }, seed++);
});

t('residual epilogue with K = 0 writes bias + residual', async () => {
  const rt = await testRuntime();
  const variant = matmulVariants(rt).find((v) => v.eligible)!.name;
  await check(rt, 'NN', 5, 0, 7, { variant, bias: true, accumulate: false }, 99);
});

t('residual epilogue is bit for bit copy(x → C) + accumulating matmul (the block before the fusion)', async () => {
  const rt = await testRuntime();
  let seed = 301;
  // the block's projection shapes (rows × d → d) and odd ones
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const [M, K, N] of [[128 * 13, 64, 64], [256, 256, 64], [37, 65, 33], [8, 12, 20]] as [number, number, number][]) {
      const A = rt.upload(randArray(M * K, seed), [M, K]), W = rt.upload(randArray(K * N, seed + 1), [K, N]);
      const bias = rt.upload(randArray(N, seed + 2), [N]), x = rt.upload(randArray(M * N, seed + 3, 4), [M, N]);
      const fused = rt.empty([M, N]), twoStep = rt.empty([M, N]);
      matmul(rt, A, W, fused, { bias, residual: x, variant });
      rt.copy(x, twoStep);
      matmul(rt, A, W, twoStep, { bias, accumulate: true, variant });
      const [f, s] = await rt.readMany([fused, twoStep]);
      const fb = new Uint32Array(f.buffer), sb = new Uint32Array(s.buffer);
      let diff = 0;
      for (let i = 0; i < fb.length; i++) if (fb[i] !== sb[i]) diff++;
      assert.is(diff, 0, `${variant} M=${M} K=${K} N=${N}: ${diff} of ${fb.length} elements differ in their bits`);
      for (const tt of [A, W, bias, x, fused, twoStep]) tt.buffer.destroy();
      seed += 5;
    }
});

t('bad residual arguments are named', async () => {
  const rt = await testRuntime();
  const A = rt.empty([4, 4]), B = rt.empty([4, 4]), C = rt.empty([4, 4]);
  assert.throws(() => matmul(rt, A, B, C, { residual: rt.empty([3, 4]) }), /residual .* must be shaped like C/);
  assert.throws(() => matmul(rt, A, B, C, { residual: rt.empty([4, 4], 'u32') }), /residual .* must be f32/);
  assert.throws(() => matmul(rt, A, B, C, { residual: C.view(0, [4, 4]) }), /C .* and residual .* one buffer/);
  const pre = rt.empty([4, 4]);
  assert.throws(() => matmul(rt, A, B, C, { gelu: true, pre, residual: pre }), /pre .* and residual .* one buffer/);
  for (const x of [A, B, C, pre]) x.buffer.destroy();
});

t('readMany: tensors of mixed types and sizes (empty included) in one readback', async () => {
  const rt = await testRuntime();
  const a = rt.upload([1.5, -2, 3], [3]), u = rt.upload([7, 8, 9, 10, 11], [5], 'u32'), e = rt.empty([0]), big = rt.upload(randArray(1000, 5), [1000]);
  const before = rt.hostStats().readbacks;
  const [ra, ru, re, rb] = await rt.readMany([a, u, e, big.view(64, [100])]);
  assert.is(rt.hostStats().readbacks - before, 1);
  assert.equal(Array.from(ra), [1.5, -2, 3]);
  assert.ok(ru instanceof Uint32Array);
  assert.equal(Array.from(ru), [7, 8, 9, 10, 11]);
  assert.is(re.length, 0);
  assert.equal(Array.from(rb), Array.from(randArray(1000, 5).subarray(64, 164)));
  for (const x of [a, u, e, big]) x.buffer.destroy();
});

t.run();
