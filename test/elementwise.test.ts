import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { add, addInto, gelu, geluBackward, scale } from '../kernels/elementwise.js';
import { geluGradRef, geluGradTanhRef, geluRef, geluTanhRef } from '../kernels/elementwise.ref.js';
import { geluBound, geluGradBound } from './gelu-bounds.js';
import { testRuntime } from './gpu.js';
import { assertWithin, dotBound, randArray, U32 } from './helpers.js';

const t = suite('elementwise');

// Multiples of 4 take the vec4 path, the rest the scalar one.
const SIZES = [1, 3, 7, 33, 64, 65, 127, 200, 4097];

for (const n of SIZES) {
  t(`add, addInto, scale: n=${n}`, async () => {
    const rt = await testRuntime();
    const a = randArray(n, n, 3), b = randArray(n, n + 1, 3);
    const ta = rt.upload(a), tb = rt.upload(b), out = rt.empty([n]);
    // Each is one float32 rounding of an exact result.
    const one = (r: ArrayLike<number>) => Float64Array.from(r, (v) => U32 * Math.abs(v));

    add(rt, ta, tb, out);
    const sum = Float64Array.from(a, (v, i) => v + b[i]);
    assertWithin(await rt.readF32(out), sum, one(sum), 'a + b');

    addInto(rt, out, ta); // out = (a + b) + a
    const got = await rt.readF32(out);
    const want = Float64Array.from(got, (_, i) => Math.fround(a[i] + b[i]) + a[i]);
    assertWithin(got, want, one(want), 'acc += a');

    add(rt, ta, tb, ta); // in place: a = a + b
    assertWithin(await rt.readF32(ta), sum, one(sum), 'a = a + b in place');

    scale(rt, tb, -0.375, out);
    const sc = Float64Array.from(b, (v) => -0.375 * v);
    assertWithin(await rt.readF32(out), sc, one(sc), 's·b');
    scale(rt, tb, 2.5, tb);
    const sc2 = Float64Array.from(b, (v) => 2.5 * v);
    assertWithin(await rt.readF32(tb), sc2, one(sc2), 'b = s·b in place');
  });

  t(`gelu forward and backward: n=${n}`, async () => {
    const rt = await testRuntime();
    // |x| up to 30 reaches the clamped exponent on both sides (|2u| > 80 from |x| ≈ 9.3).
    const x = randArray(n, 7 * n, n > 32 ? 30 : 4);
    const dy = randArray(n, 7 * n + 1, 2);
    const tx = rt.upload(x), tdy = rt.upload(dy), out = rt.empty([n]);

    gelu(rt, tx, out);
    const f = Float64Array.from(x, geluRef);
    assertWithin(await rt.readF32(out), f, Float64Array.from(x, geluBound), 'gelu');

    geluBackward(rt, tx, tdy, out);
    const g = Float64Array.from(x, (v, i) => dy[i] * geluGradRef(v));
    const gb = Float64Array.from(x, (v, i) => geluGradBound(v, dy[i]));
    const first = await rt.readF32(out);
    assertWithin(first, g, gb, 'dx = dy·gelu′(x)');

    geluBackward(rt, tx, tdy, out, true); // dx = g + g: the add is one more rounding
    const twice = Float64Array.from(g, (v) => 2 * v);
    assertWithin(await rt.readF32(out), twice, Float64Array.from(gb, (b, i) => 2 * b + U32 * Math.abs(twice[i])), 'dx += dy·gelu′(x)');

    gelu(rt, tx, tx); // in place
    assertWithin(await rt.readF32(tx), f, Float64Array.from(x, geluBound), 'gelu in place');
  });
}

t('gelu at the extremes: exact limits, no NaN', async () => {
  const rt = await testRuntime();
  const x = Float32Array.from([-1e6, -100, -30, -9.5, -9, 0, 1e-30, 9, 9.5, 30, 100, 1e6]);
  const out = rt.empty([x.length]);
  gelu(rt, rt.upload(x), out);
  const f = await rt.readF32(out);
  assertWithin(f, Float64Array.from(x, geluRef), Float64Array.from(x, geluBound), 'gelu');
  for (const [i, v] of x.entries()) if (v >= 9) assert.is(f[i], v, `gelu(${v}) is x`);
  geluBackward(rt, rt.upload(x), rt.upload(new Float32Array(x.length).fill(1)), out);
  const g = await rt.readF32(out);
  assertWithin(g, Float64Array.from(x, geluGradRef), Float64Array.from(x, (v) => geluGradBound(v, 1)), 'gelu′');
  assert.ok(g.every(Number.isFinite), 'finite gradients');
});

t('references: x·σ(2u) is GPT-2 tanh GELU', () => {
  for (let x = -6; x <= 6; x += 0.01) {
    assert.ok(Math.abs(geluRef(x) - geluTanhRef(x)) < 1e-14, `gelu(${x})`);
    assert.ok(Math.abs(geluGradRef(x) - geluGradTanhRef(x)) < 1e-14, `gelu′(${x})`);
  }
});

t('aliasing rules are checked on the host', async () => {
  const rt = await testRuntime();
  const buf = rt.empty([256]);
  const a = buf.view(0, [64]), b = buf.view(64, [64]), shifted = buf.view(32, [64]);
  assert.throws(() => add(rt, a, b, shifted), /overlap/);
  assert.throws(() => add(rt, a, rt.empty([63]), b), /63 elements/);
  add(rt, a, b, buf.view(128, [64])); // disjoint views of one buffer: fine
  // The same range twice as inputs, or as inputs and output, is bound once (doubling is exact).
  const x = randArray(64, 3);
  rt.write(a, x);
  add(rt, a, a, b);
  assert.equal([...(await rt.readF32(b))], [...x].map((v) => 2 * v), 'b = a + a');
  add(rt, a, a, a);
  assert.equal([...(await rt.readF32(a))], [...x].map((v) => 2 * v), 'a = a + a');
});

t.run();
