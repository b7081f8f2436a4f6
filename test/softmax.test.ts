import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { softmax, softmaxBackward } from '../kernels/softmax.js';
import { softmaxBackwardRef, softmaxRef } from '../kernels/softmax.ref.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, U32 } from './helpers.js';

const t = suite('softmax');
// WGSL lets a driver flush subnormals to zero: an exp or a product below 2^−126 may lose all of itself.
const FTZ = 2 * 2 ** -126;

/**
 * Per element. The kernel's exponent a_i = fl(fl(s·x_i) − m) errs by u|s·x_i| (the product; exact
 * for s = 1) plus u|a_i| (the subtraction); the max m is itself one of the fl(s·x_j), a shift
 * softmax ignores. exp adds WGSL's 3 + 2|a_i| ulp. The row sum adds γ_C plus its terms' errors
 * weighted by y_j; 1/S and the final product round once each. 1% margin for second-order terms.
 */
function forwardBounds(x: Float32Array, N: number, C: number, s: number): Float64Array {
  const y = softmaxRef(x, N, C, s);
  const b = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, s * x[r * C + c]);
    const relE = (c: number) => {
      const z = s * x[r * C + c], a = Math.abs(z - m);
      return (3 + 2 * a) * U32 + (s === 1 ? 0 : U32 * Math.abs(z)) + U32 * a;
    };
    let relS = dotBound(C, 1, 0);
    for (let c = 0; c < C; c++) relS += y[r * C + c] * relE(c);
    for (let c = 0; c < C; c++) b[r * C + c] = 1.01 * y[r * C + c] * (relE(c) + relS + 2 * U32) + FTZ;
  }
  return b;
}

async function checkForward(x: Float32Array, N: number, C: number, scale: number, what: string) {
  const rt = await testRuntime();
  const y = rt.empty([N, C]);
  softmax(rt, rt.upload(x, [N, C]), y, scale);
  const got = await rt.readF32(y);
  assertWithin(got, softmaxRef(x, N, C, scale), forwardBounds(x, N, C, scale), what);
  return got;
}

for (const N of [1, 7, 33, 65, 127]) {
  for (const C of [1, 3, 33, 64, 65, 127, 200]) {
    t(`forward: ${N}×${C}`, async () => {
      const x = randArray(N * C, N * 31 + C, 4);
      const got = await checkForward(x, N, C, 1, 'softmax(x)');
      if (C === 1) assert.ok(got.every((v) => v === 1), 'one column: exactly 1');
      await checkForward(x, N, C, 0.125, 'softmax(x/8)');
    });
  }
}

t('forward at large magnitudes: no overflow, no NaN', async () => {
  const N = 9, C = 67;
  // Rows of ±1e4 spread (exp(−2e4) underflows to 0), rows shifted by ±3e5 (a ±50 spread still
  // resolves to 1/32 there), and a negative scale.
  const big = randArray(N * C, 5, 1e4);
  const shifted = Float32Array.from(randArray(N * C, 6, 50), (v, i) => v + (Math.floor(i / C) % 2 ? 1e30 : -1e30));
  for (const [x, s, what] of [[big, 1, '±1e4'], [big, -3, '±1e4, scale −3'], [shifted, 1, 'shifted by ±3e5']] as const) {
    const got = await checkForward(x, N, C, s, what);
    assert.ok(got.every(Number.isFinite), `${what}: finite`);
  }
  const flat = new Float32Array(65).fill(3e38); // equal logits: uniform, whatever their size
  await checkForward(flat, 1, 65, 1, 'constant row');
});

/**
 * dx_i = s·y_i·(dy_i − d): d = Σ dy·y is a C-term dot product of exact float32 inputs (γ_C·Σ|dy·y|),
 * then the subtraction, the product with y and the scale round once each.
 */
function backwardBounds(y: Float32Array, dy: Float32Array, N: number, C: number, s: number) {
  const ref = softmaxBackwardRef(y, dy, N, C, s);
  const b = Float64Array.from(ref.dx, (_, i) => {
    const r = Math.floor(i / C), tt = dy[i] - ref.dot[r];
    return 1.01 * Math.abs(s) * y[i] * (dotBound(C, ref.absDot[r], 0) + U32 * Math.abs(tt)) + 2 * U32 * Math.abs(s * y[i] * tt);
  });
  return { ref: ref.dx, b };
}

for (const [N, C] of [[1, 1], [7, 3], [33, 64], [65, 65], [127, 200]] as const) {
  t(`backward: ${N}×${C}`, async () => {
    const rt = await testRuntime();
    for (const s of [1, 0.125]) {
      const y = Float32Array.from(softmaxRef(randArray(N * C, N + C, 3), N, C, s));
      const dy = randArray(N * C, N * C, 2);
      const dx = rt.empty([N, C]), ty = rt.upload(y, [N, C]), tdy = rt.upload(dy, [N, C]);
      softmaxBackward(rt, ty, tdy, dx, { scale: s });
      const { ref, b } = backwardBounds(y, dy, N, C, s);
      assertWithin(await rt.readF32(dx), ref, b, `dx, scale ${s}`);

      const prior = randArray(N * C, 9, 1);
      rt.write(dx, prior);
      softmaxBackward(rt, ty, tdy, dx, { scale: s, accumulate: true });
      const want = Float64Array.from(ref, (v, i) => v + prior[i]);
      assertWithin(await rt.readF32(dx), want, Float64Array.from(b, (e, i) => e + U32 * Math.abs(want[i])), `dx +=, scale ${s}`);
    }
  });
}

t('aliasing is caught on the host', async () => {
  const rt = await testRuntime();
  const x = rt.empty([4, 8]);
  assert.throws(() => softmax(rt, x, x), /overlap/);
  assert.throws(() => softmaxBackward(rt, x, rt.empty([4, 8]), x), /overlap/);
});

t.run();
