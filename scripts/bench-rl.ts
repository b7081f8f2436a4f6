// The compute the forking-token sparse backward saves, measured on one fixed rollout batch of the
// default RL configuration: the update phases (training forward, backward, optimizer) replayed on
// that batch with ρ = 1 (dense), ρ = 0.2 exact sparse and ρ = 0.2 fork-only, modes interleaved,
// median of REPS; GPU time from timestamp queries, FLOPs counted from every dispatch's shape, and
// the analytic FLOP ratio of the exact mode for this batch. A table, then one JSON line.
// Usage: npx tsx scripts/bench-rl.ts [--checkpoint DIR] [--reps n]
import { Command } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { selectedCount } from '../kernels/select.js';
import { initParams, paramLayout } from '../model/config.js';
import { predictBackwardFlops } from '../model/flops.js';
import { GPT, type BackwardMode } from '../model/gpt.js';
import { DEFAULT_RL, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { loadCheckpoint } from '../train/files.js';
import { RlTrainer, type RlOptions } from '../train/rl.js';

const cli = new Command('scripts/bench-rl.ts')
  .option('--checkpoint <dir>', 'policy to roll out (default: GPT-2 init of the default SFT model)')
  .option('--reps <n>', 'timed repetitions per mode', (v) => Number(v), 7)
  .parse();
const opts = cli.opts();
const gpu = await getGpu();
const rt = new Runtime(gpu);
const ck = opts.checkpoint ? loadCheckpoint(opts.checkpoint, rt.viewAlign) : null;
const cfg = ck?.config ?? DEFAULT_SFT_MODEL;
const model = new GPT(rt, cfg, ck?.params ?? initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
const trainer = new RlTrainer(model, { ...DEFAULT_RL, evalProblems: 1 });

rt.resetStats();
rt.setProfiling(true);
const { rollout } = await trainer.collect(1);
await rt.sync(); // the rollout's timestamp readings land at a sync
const rolloutMs = rt.phaseStats().rollout?.ms ?? 0;
const B = DEFAULT_RL.numPrompts * DEFAULT_RL.numGenerations, T = rollout.L - 1;
const responseTokens = rollout.end.reduce((a, e, b) => a + e - rollout.promptLength[b], 0);

const RHO = DEFAULT_RL.topEntropyQuantile;
const arms: [string, BackwardMode, number][] = [['full (ρ = 1)', 'dense', 1], [`exact (ρ = ${RHO})`, 'exact', RHO], [`fork-only (ρ = ${RHO})`, 'forkOnly', RHO]];
const runs = arms.map(() => ({ forward: [] as number[], backward: [] as number[], optimizer: [] as number[], flops: 0, k: 0 }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let rep = -2; rep < opts.reps; rep++) {
  for (const [i, [, mode, rho]] of arms.entries()) {
    const o: RlOptions = { ...DEFAULT_RL, topEntropyQuantile: rho, backward: mode };
    rt.resetStats();
    rt.setProfiling(true);
    const m = await trainer.update(rollout, 0, rep + 3, o);
    if (rep < 0) continue; // warm-up: pipelines compiled, matmul shapes met
    runs[i].forward.push(m.ms.forward);
    runs[i].backward.push(m.ms.backward);
    runs[i].optimizer.push(m.ms.optimizer);
    runs[i].flops = m.flops.backward;
    runs[i].k = m.selected;
  }
}
const k = selectedCount(RHO, responseTokens);
const analytic = predictBackwardFlops(cfg, B, T, k, 'exact') / predictBackwardFlops(cfg, B, T, responseTokens, 'dense');
const full = median(runs[0].backward);
console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
console.log(`batch: ${B} rollouts × ${T} positions, ${responseTokens} response tokens, k = ${k} selected at ρ = ${RHO}; rollout ${rolloutMs.toFixed(1)} GPU ms`);
console.log(formatTable(
  ['backward', 'rows', 'fwd ms', 'bwd ms', 'opt ms', 'bwd GFLOP', 'bwd time / full', 'bwd FLOP / full'],
  arms.map(([label], i) => [
    label, String(runs[i].k), median(runs[i].forward).toFixed(2), median(runs[i].backward).toFixed(2), median(runs[i].optimizer).toFixed(2),
    (runs[i].flops / 1e9).toFixed(3), (median(runs[i].backward) / full).toFixed(3), (runs[i].flops / runs[0].flops).toFixed(3),
  ]),
));
console.log(`exact mode analytic backward FLOP ratio: ${analytic.toFixed(3)} (GPU ms medians of ${opts.reps}, timestamp queries)`);
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter),
  batch: { rollouts: B, positions: T, responseTokens, selected: k },
  rollout_ms: +rolloutMs.toFixed(3),
  forward_ms: +median(runs[0].forward).toFixed(3),
  optimizer_ms: +median(runs[0].optimizer).toFixed(3),
  backward_ms_full: +full.toFixed(3),
  backward_ms_exact: +median(runs[1].backward).toFixed(3),
  backward_ms_forkonly: +median(runs[2].backward).toFixed(3),
  backward_flops_full: runs[0].flops,
  backward_flops_exact: runs[1].flops,
  backward_flops_forkonly: runs[2].flops,
  exact_analytic_flop_ratio: +analytic.toFixed(4),
  exact_time_ratio: +(median(runs[1].backward) / full).toFixed(4),
  forkonly_time_ratio: +(median(runs[2].backward) / full).toFixed(4),
}));
trainer.destroy();
model.destroy();
rt.destroy();
gpu.destroy();
