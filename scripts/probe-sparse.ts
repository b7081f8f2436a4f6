// Backward time of the dense, exact and forkOnly modes (GPT.backward with rows) at RL shapes:
// per-dispatch GPU time (timestamp queries, summed over the backward), wall clock and process CPU
// time (lavapipe's workers run in this process; CPU time is the least inflated by other load) of the
// synced backward, median of REPS after warm-up and matmul autotuning, next to counted and analytic
// FLOPs; ratios to dense are per rep (modes interleaved), then the median. Other work on a shared CPU inflates single runs, so the minimum is shown next to the median.
// Usage: [SHAPE=0|1] [REPS=n] [PROFILE=1] [NOTUNE=1] npx tsx scripts/probe-sparse.ts [rho=0.2].
// Ends with one JSON line.
import { attentionRows } from '../kernels/attention.js';
import { rowMask } from '../kernels/rowattn.js';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { tunePendingMatmuls } from '../kernels/matmul.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { predictBackwardFlops } from '../model/flops.js';
import { GPT, type BackwardMode } from '../model/gpt.js';

const REPS = Number(process.env.REPS ?? 11), WARMUP = 3;
const rho = Number(process.argv[2] ?? 0.2);
const gpu = await getGpu();
const rt = new Runtime(gpu);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs: number[]) => Math.min(...xs);

const shapes: [string, GPTConfig, number, number][] = [
  ['2L d64 h4 (the default model), 64×16', { nLayer: 2, dModel: 64, nHead: 4, contextLength: 16, vocabSize: 22, tiedHead: true }, 64, 16],
  ['4L d128 h4, 64×32', { nLayer: 4, dModel: 128, nHead: 4, contextLength: 32, vocabSize: 22, tiedHead: true }, 64, 32],
];
const MODES: BackwardMode[] = ['dense', 'exact', 'forkOnly'];

const results: Record<string, unknown>[] = [];
const only = process.env.SHAPE ? [shapes[Number(process.env.SHAPE)]] : shapes;
for (const [label, cfg, B, T] of only) {
  const N = B * T, V = cfg.vocabSize, k = Math.ceil(rho * N);
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
  rt.write(model.tokensFor(B, T), Uint32Array.from({ length: N }, (_, i) => (i * 7919) % V));
  model.forward(B, T);
  // a fixed pseudo-random ρ·N subset, in scrambled order (as entropy ranking gives)
  const ids = Array.from({ length: N }, (_, i) => i).sort((a, b) => ((a * 2654435761) % 4093) - ((b * 2654435761) % 4093)).slice(0, k);
  const rows = attentionRows(rt, ids, { B, T });
  const dl = new Float32Array(N * V);
  for (const r of ids) for (let v = 0; v < V; v++) dl[r * V + v] = Math.sin(r * V + v) / k;
  const dlogits = rt.upload(dl, [N, V]);
  const run = (mode: BackwardMode) => {
    model.zeroGrad();
    rt.phase = 'backward';
    model.backward(dlogits, { rows, mode });
    rt.phase = 'default';
  };
  for (const mode of MODES) for (let i = 0; i < WARMUP; i++) run(mode);
  await rt.sync();
  // NOTUNE=1 (with FORKGRAD_AUTOTUNE_CACHE=off) keeps matmul's default variants: tuning under a
  // loaded CPU can pick different variants for the dense and gathered shape classes.
  if (!process.env.NOTUNE) await tunePendingMatmuls(rt);
  // Modes take turns within each rep, so load from other processes hits them alike; ratios are
  // taken within a rep, then the median over reps.
  const wall: Record<string, number[]> = {}, cpu: Record<string, number[]> = {}, gpuMs: Record<string, number[]> = {}, counted: Record<string, { flops: number; dispatches: number }> = {};
  for (let i = 0; i < REPS; i++) {
    for (const mode of MODES) {
      await rt.sync();
      const t0 = performance.now(), c0 = process.cpuUsage();
      run(mode);
      await rt.sync();
      (wall[mode] ??= []).push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      (cpu[mode] ??= []).push((c.user + c.system) / 1000);
      rt.resetStats();
      rt.setProfiling(true);
      run(mode);
      await rt.sync();
      rt.setProfiling(false);
      const s = rt.phaseStats().backward;
      (gpuMs[mode] ??= []).push(s.ms);
      counted[mode] = { flops: s.flops, dispatches: s.count };
    }
  }
  const ratio = (xs: Record<string, number[]>, m: BackwardMode) => median(xs[m].map((x, i) => x / xs.dense[i]));
  const row: Record<string, { gpu: number; gpuMin: number; wall: number; wallMin: number; cpu: number; gpuRatio: number; wallRatio: number; cpuRatio: number; flops: number; analytic: number; dispatches: number }> = {};
  for (const mode of MODES) {
    row[mode] = {
      gpu: median(gpuMs[mode]), gpuMin: min(gpuMs[mode]), wall: median(wall[mode]), wallMin: min(wall[mode]), cpu: median(cpu[mode]),
      gpuRatio: ratio(gpuMs, mode), wallRatio: ratio(wall, mode), cpuRatio: ratio(cpu, mode),
      ...counted[mode], analytic: predictBackwardFlops(cfg, B, T, k, mode, rows.pairs),
    };
  }
  if (process.env.PROFILE) {
    // per kernel label: the minimum over reps of its summed GPU time in one backward
    const best = new Map<string, Record<string, number>>();
    for (const mode of MODES) {
      for (let i = 0; i < REPS; i++) {
        rt.resetStats();
        rt.setProfiling(true);
        run(mode);
        await rt.sync();
        rt.setProfiling(false);
        for (const st of rt.kernelStats()) {
          const b = best.get(st.label) ?? {};
          b[mode] = Math.min(b[mode] ?? Infinity, st.ms);
          best.set(st.label, b);
        }
      }
    }
    const fmt = (x?: number) => (x === undefined ? '-' : x.toFixed(3));
    console.log(formatTable(['kernel', ...MODES.map((m) => `${m} min ms`)], [...best].map(([l, b]) => [l, ...MODES.map((m) => fmt(b[m]))])));
  }
  const d = row.dense;
  console.log(`\n${label}, k = ${k} of ${N} (ρ = ${rho})`);
  console.log(formatTable(
    ['mode', 'dispatches', 'GPU ms med', 'GPU ms min', 'wall ms med', 'wall ms min', 'CPU ms med', 'MFLOP counted', 'MFLOP analytic', 'FLOP ratio', 'GPU ratio', 'wall ratio', 'CPU ratio'],
    MODES.map((m) => {
      const r = row[m];
      return [m, String(r.dispatches), r.gpu.toFixed(2), r.gpuMin.toFixed(2), r.wall.toFixed(2), r.wallMin.toFixed(2), r.cpu.toFixed(2), (r.flops / 1e6).toFixed(2), (r.analytic / 1e6).toFixed(2),
        (r.analytic / d.analytic).toFixed(3), r.gpuRatio.toFixed(3), r.wallRatio.toFixed(3), r.cpuRatio.toFixed(3)];
    }),
  ));
  results.push({ shape: label, B, T, k, rho, ...row });
  for (const t of [dlogits, rows.list, rowMask(rows)]) t.buffer.destroy();
  model.destroy();
}
console.log(`adapter: ${describeAdapter(gpu.adapter)}, timing: ${rt.timingSource}`);
console.log(JSON.stringify({ probe: 'sparse-backward', results }));
rt.destroy();
gpu.destroy();
