// The runtime's contract: data round-trips, views address the right bytes, work is ordered, and
// every kind of mistake fails loudly with a message that names the kernel and the problem.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testRuntime } from './gpu.js';

const SCALE = `struct P { n: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { y[g.x] = x[g.x] * p.s; }
}`;

const t = suite('runtime');

t('upload/read round-trips f32, u32 and i32 exactly', async () => {
  const rt = await testRuntime();
  const f = new Float32Array([1.5, -0, 3.25e-30, -7e30, Math.PI]);
  assert.equal([...(await rt.read(rt.upload(f)))], [...f]);
  const u = new Uint32Array([0, 1, 0xffffffff, 12345]);
  assert.equal([...(await rt.read(rt.upload(u, [4], 'u32')))], [...u]);
  const i = new Int32Array([-1, 0, 2147483647, -2147483648]);
  assert.equal([...(await rt.read(rt.upload(i, [4], 'i32')))], [...i]);
  assert.is((await rt.read(rt.empty([0]))).length, 0);
});

t('dispatches run in order, with params, into views at aligned offsets', async () => {
  const rt = await testRuntime();
  const k = await rt.compile({ name: 'scale', code: SCALE });
  const a = rt.viewAlign;
  // One buffer may not be bound read-only and writable in the same dispatch (even at disjoint
  // ranges), so inputs come from separate buffers and each dispatch writes one view of `flat`.
  const flat = rt.empty([3 * a]);
  const y = flat.view(a, [5], 'y');
  const z = flat.view(2 * a, [5], 'z');
  const x = rt.upload([1, 2, 3, 4, 5]);
  const tmp = rt.empty([5]);
  rt.dispatch(k, { params: [5], fparams: [2], tensors: [x, y], groups: [1] });
  rt.copy(y, tmp);
  rt.dispatch(k, { params: [5], fparams: [-0.5], tensors: [tmp, z], groups: [1] });
  assert.equal([...(await rt.read(z))], [-1, -2, -3, -4, -5]);
  const all = await rt.read(flat);
  assert.is(all[a + 5], 0, 'no write past a view');
  assert.is(all[a + 1], 4);
});

t('two writable views of one buffer may share a dispatch (e.g. dgamma and dbeta in one grad buffer)', async () => {
  const rt = await testRuntime();
  const code = `@group(0) @binding(1) var<storage, read_write> u: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(1) fn main() { u[0] = 1.0; v[0] = 2.0; }`;
  const k = await rt.compile({ name: 'two_views', code });
  const flat = rt.empty([2 * rt.viewAlign]);
  rt.dispatch(k, { tensors: [flat.view(0, [1]), flat.view(rt.viewAlign, [1])], groups: [1] });
  const all = await rt.read(flat);
  assert.is(all[0], 1);
  assert.is(all[rt.viewAlign], 2);
});

t('write after recorded dispatches does not overtake them', async () => {
  const rt = await testRuntime();
  const k = await rt.compile({ name: 'scale', code: SCALE });
  const x = rt.upload([1, 1, 1]);
  const y = rt.empty([3]);
  rt.dispatch(k, { params: [3], fparams: [3], tensors: [x, y], groups: [1] });
  rt.write(x, [10, 10, 10]); // must land after the dispatch above read x
  assert.equal([...(await rt.read(y))], [3, 3, 3]);
});

t('zero and copy are ordered with dispatches', async () => {
  const rt = await testRuntime();
  const x = rt.upload([1, 2, 3]);
  const y = rt.upload([9, 9, 9]);
  rt.copy(x, y);
  rt.zero(x);
  assert.equal([...(await rt.read(y))], [1, 2, 3]);
  assert.equal([...(await rt.read(x))], [0, 0, 0]);
});

t('a WGSL syntax error names the kernel, the line and the source', async () => {
  const rt = await testRuntime();
  const bad = SCALE.replace('y[g.x] = x[g.x]', 'y[g.x] = = x[g.x]');
  try {
    await rt.compile({ name: 'broken_scale', code: bad });
    assert.unreachable('compile should have thrown');
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, 'kernel "broken_scale"');
    assert.match(msg, 'line 6');
    assert.match(msg, 'y[g.x] = = x[g.x]');
  }
});

t('a validation error (wrong bindings) fails loudly instead of leaving zeros', async () => {
  const rt = await testRuntime();
  const k = await rt.compile({ name: 'scale', code: SCALE });
  const x = rt.upload([1, 2]);
  rt.dispatch(k, { params: [2], fparams: [1], tensors: [x], groups: [1] });
  try {
    await rt.sync();
    assert.unreachable('sync should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /validation error in dispatches scale|did not match/);
  }
  await rt.sync(); // the error was reported once; the runtime stays usable
});

t('oversized tensors are rejected before allocation, naming the limit', async () => {
  const rt = await testRuntime();
  const limit = rt.device.limits.maxStorageBufferBindingSize;
  assert.throws(() => rt.empty([limit / 4 + 16], 'f32', 'huge'), (e: Error) => /huge/.test(e.message) && e.message.includes(String(limit)));
});

t('accounting: flops per phase and a profile with GPU time', async () => {
  const rt = await testRuntime();
  const k = await rt.compile({ name: 'scale', code: SCALE });
  const x = rt.upload(new Float32Array(256).fill(1));
  const y = rt.empty([256]);
  rt.resetStats();
  rt.setProfiling(true);
  rt.phase = 'forward';
  for (let i = 0; i < 3; i++) rt.dispatch(k, { params: [256], fparams: [2], tensors: [x, y], groups: [4], flops: 256 });
  rt.phase = 'backward';
  rt.dispatch(k, { params: [256], fparams: [2], tensors: [x, y], groups: [4], flops: 256, label: 'scale_bwd' });
  await rt.sync();
  rt.setProfiling(false);
  const ph = rt.phaseStats();
  assert.is(ph.forward.count, 3);
  assert.is(ph.forward.flops, 768);
  assert.is(ph.backward.flops, 256);
  assert.ok(ph.forward.ms > 0, 'GPU time measured');
  assert.match(rt.profileTable(), 'scale_bwd');
  rt.resetStats();
  rt.phase = 'default';
});

t.run();
