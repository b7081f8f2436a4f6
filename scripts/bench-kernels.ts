// Matmul GFLOP/s per shape, form and variant, the autotuner's pick, and gpu.js (webgpu mode, same
// adapter) on the square shapes. Each number is the median of --runs timings after a warm-up; a
// timing is wall clock from recording enough back-to-back dispatches to last ~30 ms to the end
// of rt.sync(), no readback inside. A variant over 5× slower than the best on its first timing is
// reported from that one timing ("~"). The autotuned column times matmul() without a variant,
// separately from the per-variant columns.
//
// Waiting costs no core: Dawn's polling is paced (kernels/dawn-poll.ts), so lavapipe's two workers
// keep both cores while a timing awaits the queue. The table also shows, per timing of the autotuned
// variant, GFLOP per CPU-second of the process's busiest non-main threads (lavapipe's workers)
// times 2: what two idle cores would deliver, which other processes' load cannot lower.
// A table, then one JSON line.
// Usage: npx tsx scripts/bench-kernels.ts [--runs 7] [--forms NN,NT,TN] [--variants a,b]
//        [--shapes 1024x1024x1024,2048x64x192] [--no-gpujs] [--no-tune]
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime, type Tensor } from '../kernels/runtime.js';
import { matmul, matmulVariants, tuneMatmul, type MatmulForm } from '../kernels/matmul.js';
import { randArray } from '../util/random.js';

const opt = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Math.max(5, Number(opt('runs') ?? 7));
const FORMS = (opt('forms') ?? 'NN,NT,TN').split(',') as MatmulForm[];
const SQUARE = [256, 512, 1024];
const MODEL = ['2048x64x192', '2048x64x256', '2048x256x64', '1024x128x512', '1024x512x128'];
const SHAPES = (opt('shapes')?.split(',') ?? [...SQUARE.map((s) => `${s}x${s}x${s}`), ...MODEL]).map((s) => s.split('x').map(Number));

const gpu = await getGpu();
const rt = new Runtime(gpu);
const adapter = describeAdapter(gpu.adapter);
const variants = matmulVariants(rt).filter((v) => v.eligible && (!opt('variants') || opt('variants')!.split(',').includes(v.name)));
const load0 = loadavg()[0];


/** On-CPU nanoseconds per thread of this process (Linux; empty elsewhere). */
function threadNs(): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const t of readdirSync('/proc/self/task')) m.set(t, Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]));
  } catch {
    // not Linux
  }
  return m;
}
/** CPU seconds of the two busiest threads other than the main one between two snapshots. */
function workerSeconds(a: Map<string, number>, b: Map<string, number>): number {
  const d = [...b].filter(([t]) => t !== String(process.pid)).map(([t, v]) => v - (a.get(t) ?? v));
  return d.sort((x, y) => y - x).slice(0, 2).reduce((x, y) => x + y, 0) / 1e9;
}

interface Timing {
  ms: number;
  rough: boolean;
  /** milliseconds of worker CPU per call, median over the timings */
  cpuMs: number;
}

/** ms per call: median of RUNS timings of `reps` back-to-back calls, after a warm-up. */
async function timeCall(call: () => void, bestSoFar: number): Promise<Timing> {
  call();
  await rt.sync();
  let first = Infinity, t0 = 0;
  for (let i = 0; i < 2 && (i === 0 || first > 5 * bestSoFar); i++) {
    // a second look before writing a variant off: one timing can catch another process's burst
    t0 = performance.now();
    call();
    await rt.sync();
    first = Math.min(first, performance.now() - t0);
  }
  if (first > 5 * bestSoFar) return { ms: first, rough: true, cpuMs: NaN };
  const reps = Math.max(1, Math.round(30 / Math.max(first, 0.05)));
  const ms: number[] = [], cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const s0 = threadNs();
    t0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    await rt.sync();
    const total = performance.now() - t0;
    ms.push(total / reps);
    cpu.push((1000 * workerSeconds(s0, threadNs())) / reps);
  }
  const med = (x: number[]) => x.sort((a, b) => a - b)[RUNS >> 1];
  return { ms: med(ms), rough: false, cpuMs: med(cpu) };
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
    const per: Record<string, Timing> = {};
    let best = Infinity;
    for (const v of variants) {
      per[v.name] = await timeCall(() => matmul(rt, A, B, C, { form, variant: v.name }), best);
      best = Math.min(best, per[v.name].ms);
    }
    const noTune = process.argv.includes('--no-tune');
    const pick = noTune
      ? Object.entries(per).sort((a, b) => a[1].ms - b[1].ms)[0][0]
      : await tuneMatmul(rt, A, B, C, { form });
    // the autotuned call itself, timed afresh (what callers get, and a second sample of the load)
    const t = await timeCall(() => matmul(rt, A, B, C, { form, variant: noTune ? pick : undefined }), Infinity);
    const shape = `${M}x${K}x${N}`;
    const auto = gf(flops, t.ms);
    const cpuEst = (2 * flops) / t.cpuMs / 1e6; // two cores' worth
    rows.push([shape, form, pick, auto.toFixed(1), Number.isFinite(cpuEst) ? cpuEst.toFixed(1) : '-',
      ...variants.map((v) => `${per[v.name].rough ? '~' : ''}${gf(flops, per[v.name].ms).toFixed(1)}`)]);
    result[`matmul_${shape}_${form}_gflops`] = +auto.toFixed(2);
    if (Number.isFinite(cpuEst)) result[`matmul_${shape}_${form}_cpu_est_gflops`] = +cpuEst.toFixed(2);
    if (MODEL.includes(shape)) minModel = Math.min(minModel, auto);
    for (const x of [A, B, C] as Tensor[]) x.buffer.destroy();
  }
}
const load1 = loadavg()[0];

console.log(`adapter: ${adapter}`);
console.log(`matmul GFLOP/s, M×K×N, median of ${RUNS} (wall clock; "~" = one rough timing, far off the best).`);
console.log(`"2-core est": GFLOP per lavapipe-worker CPU-second ×2. Load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end.`);
console.log(formatTable(['shape', 'form', 'autotuned', 'GFLOP/s', '2-core est', ...variants.map((v) => v.name)], rows));

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
    // flat indexing: gpu.js's 2D-array access measured ~1.5× slower here
    const fill = gj.createKernel(function (this: any, x: number[]) { return x[this.thread.x]; }, { output: [n * n], pipeline: true });
    const mm = gj.createKernel(
      function (this: any, a: number[], b: number[]) {
        let s = 0;
        for (let k = 0; k < this.constants.n; k++) s += a[this.thread.y * this.constants.n + k] * b[k * this.constants.n + this.thread.x];
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
    loadavg_start: +load0.toFixed(2),
    loadavg_end: +load1.toFixed(2),
    ...result,
  }),
);
rt.destroy();
gpu.destroy();
