// The matmul's fused GELU epilogue (matmul(..., { gelu: true, pre })) against float64: pre is the
// matmul (+ bias, + old C) to the dot-product bound, C is gelu of it to the bound the input error
// moves gelu by (sup|gelu′|·Δ) plus the GELU kernel's own rounding (test/gelu-bounds.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { geluBackward } from '../kernels/elementwise.js';
import { geluRef } from '../kernels/elementwise.ref.js';
import { matmul, matmulVariants, type MatmulForm } from '../kernels/matmul.js';
import { matmulRef } from '../kernels/matmul.ref.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { GELU_SLOPE, geluBound } from './gelu-bounds.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, randInts } from './helpers.js';

const t = suite('matmul-gelu');

async function check(rt: Runtime, form: MatmulForm, M: number, K: number, N: number, o: { variant: string; accumulate: boolean; keepPre: boolean }, seed: number): Promise<void> {
  const [ar, ac] = form === 'TN' ? [K, M] : [M, K];
  const [br, bc] = form === 'NT' ? [N, K] : [K, N];
  // scale 3: pre-activations spread over gelu's curved part and both tails
  const a = randArray(ar * ac, seed, 3), b = randArray(br * bc, seed + 1), bias = randArray(N, seed + 2, 2), c0 = randArray(M * N, seed + 3, 2);
  const A = rt.upload(a, [ar, ac]), B = rt.upload(b, [br, bc]), C = rt.upload(c0, [M, N]), Bias = rt.upload(bias, [N]);
  const pre = o.keepPre ? rt.empty([M, N], 'f32', 'pre') : undefined;
  matmul(rt, A, B, C, { form, bias: Bias, accumulate: o.accumulate, gelu: true, pre, variant: o.variant });
  const ref = matmulRef({ form, a, b, M, N, K, bias, c0, accumulate: o.accumulate });
  const delta = ref.c.map((_, i) => dotBound(ref.terms[i], ref.mag[i]));
  const what = `${o.variant} ${form} M=${M} K=${K} N=${N}${o.accumulate ? ' +=C' : ''}`;
  if (pre) assertWithin(await rt.readF32(pre), ref.c, delta, `pre of ${what}`);
  const want = ref.c.map(geluRef);
  assertWithin(await rt.readF32(C), want, ref.c.map((v, i) => GELU_SLOPE * delta[i] + 1.01 * geluBound(v)), `gelu of ${what}`);
  for (const x of [A, B, C, Bias, pre]) x?.buffer.destroy();
}

// one odd class (scalar loads, masked K) and one vec4-aligned class, every variant and form
const SHAPES: [number, number, number][] = [[1, 1, 1], [33, 65, 7], [65, 127, 33], [36, 20, 68], [100, 8, 132]];

t('gelu epilogue: every variant and form, odd and aligned sizes, with and without pre and accumulate', async () => {
  const rt = await testRuntime();
  let seed = 11;
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const form of ['NN', 'NT', 'TN'] as MatmulForm[])
      for (const [i, [M, K, N]] of SHAPES.entries()) await check(rt, form, M, K, N, { variant, accumulate: i % 2 === 1, keepPre: i !== 2 }, seed++);
});

t('gelu epilogue with K = 0 applies gelu to bias (+ old C)', async () => {
  const rt = await testRuntime();
  const variant = matmulVariants(rt).find((v) => v.eligible)!.name;
  await check(rt, 'NN', 5, 0, 7, { variant, accumulate: true, keepPre: true }, 99);
});

// The backward's epilogue (geluGrad): dx = (dy·Wᵀ)·gelu′(x) in the NT matmul. It computes the same
// product and then the same multiplication as the two kernels it replaces (NT matmul, then
// geluBackward, which elementwise.test.ts checks against float64), so it must match them bit for
// bit, dense and over a row list (scatter: unlisted rows untouched).
t('gelu backward epilogue is bit for bit NT matmul + geluBackward (every variant, dense and scattered rows)', async () => {
  const rt = await testRuntime();
  const bitsOf = async (x: Tensor) => Array.from(new Uint32Array((await rt.readF32(x)).buffer));
  let seed = 801;
  for (const { name: variant } of matmulVariants(rt).filter((v) => v.eligible))
    for (const [M, K, N] of [[1664, 64, 256], [33, 65, 7], [36, 20, 68]] as [number, number, number][]) {
      const dy = rt.upload(randArray(M * K, seed++), [M, K]), w = rt.upload(randArray(N * K, seed++), [N, K]);
      const x = rt.upload(randArray(M * N, seed++, 3), [M, N]), c0 = randArray(M * N, seed++);
      const ids = Array.from(new Set(Array.from(randInts(Math.ceil(M / 3), M, seed++))));
      const rows = rt.upload(ids, [ids.length], 'u32');
      for (const scattered of [false, true]) {
        const fused = rt.upload(c0, [M, N]), twoStep = rt.upload(c0, [M, N]), tmp = rt.upload(c0, [M, N]);
        const gather = scattered ? { rows, scatter: true } : {};
        matmul(rt, dy, w, fused, { form: 'NT', variant, geluGrad: x, ...gather });
        matmul(rt, dy, w, tmp, { form: 'NT', variant, ...gather });
        geluBackward(rt, x, tmp, twoStep); // dense: unlisted rows get c0·gelu′(x), so compare listed rows only
        const [f, s2, t0] = [await bitsOf(fused), await bitsOf(twoStep), Array.from(new Uint32Array(c0.buffer))];
        const listed = new Set(scattered ? ids : Array.from({ length: M }, (_, r) => r));
        let diff = 0, touched = 0;
        for (let i = 0; i < f.length; i++) {
          if (listed.has(Math.floor(i / N))) diff += +(f[i] !== s2[i]);
          else touched += +(f[i] !== t0[i]);
        }
        const what = `${variant} M=${M} K=${K} N=${N}${scattered ? ` rows[${ids.length}]` : ''}`;
        assert.is(diff, 0, `${what}: ${diff} elements differ in their bits from NT matmul + geluBackward`);
        assert.is(touched, 0, `${what}: ${touched} unlisted elements changed`);
        for (const tt of [fused, twoStep, tmp]) tt.buffer.destroy();
      }
      for (const tt of [dy, w, x, rows]) tt.buffer.destroy();
    }
});

t('bad geluGrad arguments are named', async () => {
  const rt = await testRuntime();
  const A = rt.empty([4, 4]), B = rt.empty([4, 4]), C = rt.empty([4, 4]), x = rt.empty([4, 4]);
  assert.throws(() => matmul(rt, A, B, C, { geluGrad: rt.empty([3, 4]) }), /geluGrad .* must be shaped like C/);
  assert.throws(() => matmul(rt, A, B, C, { geluGrad: rt.empty([4, 4], 'u32') }), /geluGrad .* must be f32/);
  assert.throws(() => matmul(rt, A, B, C, { geluGrad: x, residual: rt.empty([4, 4]) }), /geluGrad .* excludes residual/);
  assert.throws(() => matmul(rt, A, B, C, { geluGrad: x, gelu: true }), /geluGrad .* excludes gelu/);
  assert.throws(() => matmul(rt, A, B, C, { geluGrad: C.view(0, [4, 4]) }), /C .* and geluGrad .* one buffer/);
  for (const tt of [A, B, C, x]) tt.buffer.destroy();
});

t('bad pre arguments are named', async () => {
  const rt = await testRuntime();
  const A = rt.empty([4, 4]), B = rt.empty([4, 4]), C = rt.empty([4, 4]);
  assert.throws(() => matmul(rt, A, B, C, { pre: rt.empty([4, 4]) }), /pre .* needs gelu: true/);
  assert.throws(() => matmul(rt, A, B, C, { gelu: true, pre: rt.empty([3, 4]) }), /pre .* must be shaped like C/);
  assert.throws(() => matmul(rt, A, B, C, { gelu: true, pre: A }), /pre .* and A .* one buffer/);
  assert.throws(() => matmul(rt, A, B, C, { gelu: true, pre: C.view(0, [4, 4]) }), /one buffer/);
  for (const x of [A, B, C]) x.buffer.destroy();
});

t.run();
