// Where a step's time goes: one SFT step (default SFT shape), one RL step (default RL options,
// rollout + update) and one decode step (a 256-row sampled rollout, per position), each with
// dispatches per step, host time outside the GPU (recording work, waiting for the GPU, readbacks)
// from unprofiled runs, and GPU time per kernel family from one profiled run (timestamp queries).
// Medians of --reps after warm-up. Tables, then one JSON line.
// Usage: npx tsx scripts/profile.ts [--reps n] [--checkpoint DIR]
import { Command } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { dawnPolling } from '../kernels/dawn-poll.js';
import { tunePendingMatmuls } from '../kernels/matmul.js';
import { Runtime, formatTable, type HostStats, type KernelStat } from '../kernels/runtime.js';
import { initParams, paramLayout } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { sftBatch, sftPositions, noisyTeacher } from '../train/data.js';
import { DEFAULT_RL, DEFAULT_SFT, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { complete, rolloutLength } from '../train/evaluate.js';
import { loadCheckpoint } from '../train/files.js';
import { RlTrainer } from '../train/rl.js';
import { sftStepWithNorm } from '../train/sft.js';
import { generate, sampler } from '../verify/index.js';

const opts = new Command('scripts/profile.ts')
  .option('--reps <n>', 'timed repetitions per workload', (v) => Number(v), 5)
  .option('--checkpoint <dir>', 'model to profile (default: GPT-2 init of the default SFT model)')
  .parse().opts();
if (!(Number.isInteger(opts.reps) && opts.reps >= 1)) throw new Error(`--reps is ${opts.reps}; it must be a whole number ≥ 1`);

const gpu = await getGpu();
const rt = new Runtime(gpu);
const ck = opts.checkpoint ? loadCheckpoint(opts.checkpoint, rt.viewAlign) : null;
const cfg = ck?.config ?? DEFAULT_SFT_MODEL;
const model = new GPT(rt, cfg, ck?.params ?? initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));

interface Workload {
  name: string;
  /** what one "step" is, for the per-step division */
  unit: string;
  steps: number;
  run(): Promise<void>;
  /** true when run() switches on profiling itself (the RL trainer always profiles its phases) */
  selfProfiled?: boolean;
}

// SFT: train/sft.ts's step as its loop runs it (loss and gradient norm in one readback)
const T = sftPositions(DEFAULT_SFT.task), B = DEFAULT_SFT.batchSize;
const next = sampler(DEFAULT_SFT.task, { seed: 1, split: 'train' });
const targets = rt.empty([B * T], 'u32'), weights = rt.empty([B * T]), losses = rt.empty([B * T]);
let sftN = 0;
const sft: Workload = {
  name: 'SFT step', unit: 'step', steps: 1,
  async run() {
    const batch = sftBatch(Array.from({ length: B }, () => noisyTeacher(next(), DEFAULT_SFT.labelNoise ?? 0, 1)), T);
    rt.write(model.tokensFor(B, T), batch.tokens);
    rt.write(targets, batch.targets);
    rt.write(weights, batch.weights);
    await sftStepWithNorm(model, B, T, targets, weights, losses, 1 / batch.count, 1e-4, ++sftN);
  },
};
// RL: the trainer's own step (rollout, update); it profiles its phases itself
const trainer = new RlTrainer(model, { ...DEFAULT_RL, evalProblems: 1 });
const rl: Workload = { name: 'RL step', unit: 'step', steps: 1, selfProfiled: true, async run() { await trainer.trainStep(); } };
// decode: one sampled rollout of the RL batch size through train/evaluate.ts, divided per position
const rows = DEFAULT_RL.numPrompts * DEFAULT_RL.numGenerations;
const L = rolloutLength(cfg, DEFAULT_RL.task);
const problems = generate(DEFAULT_RL.task, { seed: 7, split: 'heldout', count: rows });
let decodeSeed = 0;
const decode: Workload = {
  name: `decode (${rows} rows)`, unit: 'position', steps: L - 1,
  async run() { await complete(model, DEFAULT_RL.task, problems, { batch: rows, temperature: 1, seed: ++decodeSeed }); },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const family = (label: string) => label.split(/[ _]/)[0];
interface Result { name: string; unit: string; steps: number; wall: number; host: HostStats; otherMs: number; gpu: { family: string; calls: number; ms: number }[]; gpuMs: number; phases: Record<string, number> }
const results: Result[] = [];
for (const w of [sft, rl, decode]) {
  for (let i = 0; i < 2; i++) await w.run();
  await tunePendingMatmuls(rt);
  await w.run();
  await rt.sync();
  const walls: number[] = [], hosts: HostStats[] = [];
  for (let i = 0; i < opts.reps; i++) {
    rt.resetStats();
    const t0 = performance.now();
    await w.run();
    await rt.sync();
    walls.push(performance.now() - t0);
    hosts.push(rt.hostStats());
    if (w.selfProfiled) rt.setProfiling(false);
  }
  const host: HostStats = {
    dispatches: median(hosts.map((h) => h.dispatches)), submits: median(hosts.map((h) => h.submits)), copies: median(hosts.map((h) => h.copies)),
    readbacks: median(hosts.map((h) => h.readbacks)), readBytes: median(hosts.map((h) => h.readBytes)),
    encodeMs: median(hosts.map((h) => h.encodeMs)), waitMs: median(hosts.map((h) => h.waitMs)),
  };
  // one profiled run for GPU time per kernel family
  rt.resetStats();
  rt.setProfiling(true);
  await w.run();
  await rt.sync();
  rt.setProfiling(false);
  const fam = new Map<string, { family: string; calls: number; ms: number }>();
  const phases: Record<string, number> = {};
  for (const s of rt.kernelStats() as KernelStat[]) {
    const f = fam.get(family(s.label)) ?? { family: family(s.label), calls: 0, ms: 0 };
    f.calls += s.count;
    f.ms += s.ms;
    fam.set(f.family, f);
    phases[s.phase] = (phases[s.phase] ?? 0) + s.ms;
  }
  const gpuRows = [...fam.values()].sort((a, b) => b.ms - a.ms);
  const wall = median(walls);
  results.push({ name: w.name, unit: w.unit, steps: w.steps, wall, host, otherMs: wall - host.encodeMs - host.waitMs, gpu: gpuRows, gpuMs: gpuRows.reduce((a, r) => a + r.ms, 0), phases });
}

console.log(`adapter: ${describeAdapter(gpu.adapter)}; Dawn polling: ${dawnPolling()}; medians of ${opts.reps} unprofiled runs (the RL step always profiles its phases)`);
const per = (r: Result, x: number) => (x / r.steps).toFixed(r.steps > 1 ? 2 : 1);
console.log(formatTable(
  ['workload', 'per', 'wall ms', 'dispatches', 'copies', 'submits', 'readbacks', 'encode ms', 'wait GPU ms', 'other host ms', 'GPU ms (profiled)'],
  results.map((r) => [r.name, r.unit, per(r, r.wall), per(r, r.host.dispatches), per(r, r.host.copies), per(r, r.host.submits), per(r, r.host.readbacks), per(r, r.host.encodeMs), per(r, r.host.waitMs), per(r, r.otherMs), per(r, r.gpuMs)]),
));
for (const r of results) {
  console.log(`\n${r.name}: GPU time per kernel family, per ${r.unit} (one profiled run; timing: ${rt.timingSource})`);
  console.log(formatTable(['family', 'calls', 'GPU ms', '%'], r.gpu.map((g) => [g.family, per(r, g.calls), per(r, g.ms), ((100 * g.ms) / (r.gpuMs || 1)).toFixed(1)])));
}
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter), dawn_polling: dawnPolling(), reps: opts.reps,
  workloads: Object.fromEntries(results.map((r) => [r.name, {
    per: r.unit, steps: r.steps,
    wall_ms: +(r.wall / r.steps).toFixed(3),
    dispatches: +(r.host.dispatches / r.steps).toFixed(2),
    copies: +(r.host.copies / r.steps).toFixed(2),
    submits: +(r.host.submits / r.steps).toFixed(2),
    readbacks: +(r.host.readbacks / r.steps).toFixed(3),
    encode_ms: +(r.host.encodeMs / r.steps).toFixed(3),
    wait_ms: +(r.host.waitMs / r.steps).toFixed(3),
    other_host_ms: +(r.otherMs / r.steps).toFixed(3),
    gpu_ms: +(r.gpuMs / r.steps).toFixed(3),
    gpu_ms_by_family: Object.fromEntries(r.gpu.map((g) => [g.family, +(g.ms / r.steps).toFixed(3)])),
  }])),
}));
model.destroy();
for (const t of [targets, weights, losses]) t.buffer.destroy();
rt.destroy();
gpu.destroy();
