// Matmul GFLOP/s per shape, form and variant, the autotuner's pick, and gpu.js (webgpu mode, same
// adapter) on the square shapes. Each number is the median of --runs timings after a warm-up;
// a timing is wall clock around rt.sync() of enough back-to-back dispatches to last ~30 ms, no
// readback inside. A variant over 5× slower than the best on its first timing is reported from
// that one timing ("~"). A table, then one JSON line.
// Usage: npx tsx scripts/bench-kernels.ts [--runs 5] [--forms NN,NT,TN] [--variants a,b]
//        [--shapes 1024x1024x1024,2048x64x192] [--no-gpujs] [--no-tune]
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime, type Tensor } from '../kernels/runtime.js';
import { matmul, matmulVariants, tuneMatmul, type MatmulForm } from '../kernels/matmul.js';
import { randArray } from '../test/helpers.js';

const opt = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Math.max(5, Number(opt('runs') ?? 5));
const FORMS = (opt('forms') ?? 'NN,NT,TN').split(',') as MatmulForm[];
const SQUARE = [256, 512, 1024];
const MODEL = ['2048x64x192', '2048x64x256', '2048x256x64', '1024x128x512', '1024x512x128'];
const SHAPES = (opt('shapes')?.split(',') ?? [...SQUARE.map((s) => `${s}x${s}x${s}`), ...MODEL]).map((s) => s.split('x').map(Number));

const gpu = await getGpu();
const rt = new Runtime(gpu);
const adapter = describeAdapter(gpu.adapter);
const variants = matmulVariants(rt).filter((v) => v.eligible && (!opt('variants') || opt('variants')!.split(',').includes(v.name)));

/** ms per call: median of RUNS timings of `reps` back-to-back calls, after a warm-up. */
async function timeCall(call: () => void, flops: number, bestSoFar: number): Promise<{ ms: number; rough: boolean }> {
  call();
  await rt.sync();
  let t0 = performance.now();
  call();
  await rt.sync();
  const first = performance.now() - t0;
  if (first > 5 * bestSoFar) return { ms: first, rough: true };
  const reps = Math.max(1, Math.round(30 / Math.max(first, 0.05)));
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    t0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    await rt.sync();
    ms.push((performance.now() - t0) / reps);
  }
  return { ms: ms.sort((a, b) => a - b)[RUNS >> 1], rough: false };
}

const gf = (flops: number, ms: number) => flops / ms / 1e6;
const rows: string[][] = [];
const result: Record<string, number> = {};
let minModel = Infinity;

for (const [M, K, N] of SHAPES) {
  const flops = 2 * M * N * K;
  for (const form of FORMS) {
    const A = rt.upload(randArray(M * K, 1), form === 'TN' ? [K, M] : [M, K]);
    const B = rt.upload(randArray(K * N, 2), form === 'NT' ? [N, K] : [K, N]);
    const C = rt.empty([M, N]);
    const per: Record<string, number> = {};
    const cells: string[] = [];
    let best = Infinity;
    for (const v of variants) {
      const t = await timeCall(() => matmul(rt, A, B, C, { form, variant: v.name }), flops, best);
      per[v.name] = t.ms;
      best = Math.min(best, t.ms);
      cells.push(`${t.rough ? '~' : ''}${gf(flops, t.ms).toFixed(1)}`);
    }
    let pick = '-';
    let auto = NaN;
    if (!process.argv.includes('--no-tune')) {
      pick = await tuneMatmul(rt, A, B, C, { form });
      auto = per[pick] !== undefined ? gf(flops, per[pick]) : gf(flops, (await timeCall(() => matmul(rt, A, B, C, { form }), flops, Infinity)).ms);
    }
    const shape = `${M}x${K}x${N}`;
    rows.push([shape, form, pick, Number.isNaN(auto) ? '-' : auto.toFixed(1), ...cells]);
    const chosen = Number.isNaN(auto) ? gf(flops, best) : auto;
    result[`matmul_${shape}_${form}_gflops`] = +chosen.toFixed(2);
    if (MODEL.includes(shape)) minModel = Math.min(minModel, chosen);
    for (const t of [A, B, C] as Tensor[]) t.buffer.destroy();
  }
}

console.log(`adapter: ${adapter}\nmatmul GFLOP/s (M×K×N; median of ${RUNS}; "~" = one rough timing, far off the best)`);
console.log(formatTable(['shape', 'form', 'autotuned', 'GFLOP/s', ...variants.map((v) => v.name)], rows));

// ---------------------------------------------------------------------------------- gpu.js
const gpujs: Record<string, number> = {};
if (!process.argv.includes('--no-gpujs')) {
  try {
    for (const s of SQUARE) gpujs[s] = await gpujsGflops(s);
    console.log('\ngpu.js 2.24.1, webgpu mode, same adapter (own device), GPU-resident inputs and output:');
    console.log(formatTable(['shape', 'GFLOP/s'], SQUARE.map((s) => [`${s}x${s}x${s}`, gpujs[s].toFixed(2)])));
  } catch (err) {
    console.log(`\ngpu.js webgpu mode failed: ${(err as Error).message}`);
  }
}

/** gpu.js's own matmul kernel, timed like ours: inputs made GPU-resident first (pipeline mode),
 * then back-to-back calls with one readback at the end of each timing. gpu.js finds WebGPU at
 * navigator.gpu; in Node we hand it a second instance of the same Dawn module (its bundled
 * copy of `webgpu` needs a newer libstdc++ than this machine has). */
async function gpujsGflops(n: number): Promise<number> {
  const dawn: any = await import('webgpu' as string);
  const g = globalThis as any;
  const hadNavigator = 'navigator' in g;
  const navigatorBefore = g.navigator;
  let instance = dawn.create([]);
  Object.defineProperty(g, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
  const { GPU } = (await import('gpu.js')) as any;
  const gj = new GPU({ mode: 'webgpu' });
  try {
    const fill = gj.createKernel(function (this: any, x: number[]) { return x[this.thread.y * this.constants.n + this.thread.x]; }, { output: [n, n], pipeline: true, constants: { n } });
    const mm = gj.createKernel(
      function (this: any, a: number[][], b: number[][]) {
        let s = 0;
        for (let k = 0; k < this.constants.n; k++) s += a[this.thread.y][k] * b[k][this.thread.x];
        return s;
      },
      { output: [n, n], pipeline: true, constants: { n } },
    );
    const a = await fill(randArray(n * n, 3)), b = await fill(randArray(n * n, 4));
    const run = async (reps: number) => {
      let out: any;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) out = await mm(a, b);
      await out.toArray();
      return (performance.now() - t0) / reps;
    };
    const first = await run(1);
    const reps = Math.max(1, Math.round(100 / first));
    const ms: number[] = [];
    for (let r = 0; r < RUNS; r++) ms.push(await run(reps));
    return gf(2 * n ** 3, ms.sort((x, y) => x - y)[RUNS >> 1]);
  } finally {
    gj.destroy();
    const ctx = await import('gpu.js/src/backend/web-gpu/context.js' as string).catch(() => null);
    await ctx?.WebGPUContext?.destroy?.();
    instance = null;
    if (hadNavigator) g.navigator = navigatorBefore;
    else delete g.navigator;
  }
}

const sq = (s: number) => result[`matmul_${s}x${s}x${s}_NN_gflops`];
console.log(
  JSON.stringify({
    adapter,
    matmul_1024_gflops: sq(1024) ?? null,
    gpujs_1024_gflops: gpujs[1024] !== undefined ? +gpujs[1024].toFixed(2) : null,
    min_model_shape_gflops: Number.isFinite(minModel) ? +minModel.toFixed(2) : null,
    ...result,
  }),
);
rt.destroy();
gpu.destroy();
