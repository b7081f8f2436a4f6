// How forkgrad waits for the GPU: SFT steps at the default SFT shape (forward, loss, backward,
// AdamW, the loss and gradient-norm readbacks, as train/sft.ts runs them) with Dawn's polling paced
// (kernels/dawn-poll.ts) and with the binding's own busy loop, in alternating rounds in one process,
// so load from other processes hits both alike. Per step: wall ms, process CPU ms (all threads,
// lavapipe's included), main-thread CPU ms, GC ms. Median over rounds, a table, one JSON line.
// Usage: npx tsx scripts/bench-wait.ts [--rounds n] [--steps n]
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { Command } from 'commander';
import { setDawnPolling, type DawnPolling } from '../kernels/dawn-poll.js';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { tunePendingMatmuls } from '../kernels/matmul.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { initParams, paramLayout } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { sftPositions } from '../train/data.js';
import { DEFAULT_SFT, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { sftStep } from '../train/sft.js';

const opts = new Command('scripts/bench-wait.ts')
  .option('--rounds <n>', 'alternating rounds per mode', (v) => Number(v), 5)
  .option('--steps <n>', 'SFT steps per round', (v) => Number(v), 20)
  .parse().opts();

let gcMs = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcMs += e.duration; }).observe({ entryTypes: ['gc'] });
/** CPU ms of this process's main thread (Linux /proc; NaN elsewhere). */
function mainThreadCpuMs(): number {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

const gpu = await getGpu();
const rt = new Runtime(gpu);
const cfg = DEFAULT_SFT_MODEL, B = DEFAULT_SFT.batchSize, T = sftPositions(DEFAULT_SFT.task);
const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
let seed = 1;
const r = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
rt.write(model.tokensFor(B, T), Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)));
const targets = rt.upload(Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)), [B * T], 'u32');
const weights = rt.upload(new Float32Array(B * T).fill(1));
const losses = rt.empty([B * T]);
let step = 0;
const run = async () => {
  step++;
  await sftStep(model, B, T, targets, weights, losses, 1 / (B * T), 1e-4, step);
  await model.opt.readNorm();
};
for (let i = 0; i < 5; i++) await run();
await tunePendingMatmuls(rt);
for (let i = 0; i < 3; i++) await run();

const modes: DawnPolling[] = ['paced', 'spin'];
const rows = new Map(modes.map((m) => [m, { wall: [] as number[], cpu: [] as number[], main: [] as number[], gc: [] as number[] }]));
for (let round = 0; round < opts.rounds; round++) {
  for (const m of round % 2 ? [...modes].reverse() : modes) {
    setDawnPolling(m);
    await run(); // one step to settle into the mode
    gcMs = 0;
    const c0 = process.cpuUsage(), m0 = mainThreadCpuMs(), t0 = performance.now();
    for (let i = 0; i < opts.steps; i++) await run();
    const wall = performance.now() - t0, c = process.cpuUsage(c0), n = opts.steps;
    const row = rows.get(m)!;
    row.wall.push(wall / n);
    row.cpu.push((c.user + c.system) / 1000 / n);
    row.main.push((mainThreadCpuMs() - m0) / n);
    row.gc.push(gcMs / n);
  }
}
setDawnPolling('paced');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const med = (m: DawnPolling) => {
  const x = rows.get(m)!;
  return { wall: median(x.wall), cpu: median(x.cpu), main: median(x.main), gc: median(x.gc) };
};
const p = med('paced'), s = med('spin');
console.log(`adapter: ${describeAdapter(gpu.adapter)}; default SFT shape ${B}×${T}, ${opts.rounds} alternating rounds of ${opts.steps} steps, medians per step`);
console.log(formatTable(
  ['polling', 'mode', 'wall ms', 'process CPU ms', 'main-thread CPU ms', 'GC ms'],
  modes.map((m) => { const x = med(m); return [m, m === 'paced' ? 'setTimeout' : 'setImmediate', x.wall.toFixed(1), x.cpu.toFixed(1), x.main.toFixed(1), x.gc.toFixed(2)]; }),
));
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter), rounds: opts.rounds, steps: opts.steps,
  paced: p, spin: s,
  wall_ratio_paced_over_spin: +(p.wall / s.wall).toFixed(3),
  cpu_ratio_paced_over_spin: +(p.cpu / s.cpu).toFixed(3),
  main_cpu_ratio_paced_over_spin: +(p.main / s.main).toFixed(3),
}));
model.destroy();
for (const t of [targets, weights, losses]) t.buffer.destroy();
rt.destroy();
gpu.destroy();
