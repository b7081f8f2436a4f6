// What forking-token training saves per RL step, measured on one fixed rollout batch of the default
// RL configuration. Arms (modes interleaved, median of REPS after two warm-ups):
//   dense             ρ = 1, the training forward recomputed (today's public-code baseline)
//   exact / fork-only ρ = RHO, the forward recomputed
//   exact / fork-only ρ = RHO, the forward reused from the rollout (model/generate.ts capture)
//   exact + causal tail ρ = RHO, reused, the dense part over each sequence's causal prefix only
// Every replay starts from the same weights and AdamW state (restored before each; a step moves
// both) and the same problem-stream position, and runs its own rollout, which is then the same
// batch: same weights, same seed. The rollout of the reuse arms captures activations (its extra
// copies are rollout cost); the recompute arms' rollouts do not. GPU time from timestamp queries
// per phase, wall-clock per step (rollout + update, readbacks included), FLOPs counted from every
// dispatch's shape. A table, then one JSON line.
// Usage: npx tsx scripts/bench-rl.ts [--checkpoint DIR] [--reps n]
import { Command } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { initParams, paramLayout } from '../model/config.js';
import { GPT, type BackwardMode } from '../model/gpt.js';
import { DEFAULT_RL, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { loadCheckpoint } from '../train/files.js';
import { RlTrainer, type RlOptions } from '../train/rl.js';

const cli = new Command('scripts/bench-rl.ts')
  .option('--checkpoint <dir>', 'policy to roll out (default: GPT-2 init of the default SFT model)')
  .option('--reps <n>', 'timed repetitions per arm', (v) => Number(v), 5)
  .parse();
const opts = cli.opts();
if (!(Number.isInteger(opts.reps) && opts.reps >= 1)) throw new Error(`--reps is ${opts.reps}; it must be a positive integer`);
const gpu = await getGpu();
const rt = new Runtime(gpu);
const ck = opts.checkpoint ? loadCheckpoint(opts.checkpoint, rt.viewAlign) : null;
const cfg = ck?.config ?? DEFAULT_SFT_MODEL;
const model = new GPT(rt, cfg, ck?.params ?? initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
const RHO = DEFAULT_RL.topEntropyQuantile;

interface Arm { key: string; label: string; backward: BackwardMode; rho: number; reuse: boolean; tail?: boolean }
const ARMS: Arm[] = [
  { key: 'dense', label: 'dense, ρ = 1, forward recomputed', backward: 'dense', rho: 1, reuse: false },
  { key: 'exact', label: `exact, ρ = ${RHO}, forward recomputed`, backward: 'exact', rho: RHO, reuse: false },
  { key: 'forkonly', label: `fork-only, ρ = ${RHO}, forward recomputed`, backward: 'forkOnly', rho: RHO, reuse: false },
  { key: 'exact_reuse', label: `exact, ρ = ${RHO}, forward reused`, backward: 'exact', rho: RHO, reuse: true },
  { key: 'forkonly_reuse', label: `fork-only, ρ = ${RHO}, forward reused`, backward: 'forkOnly', rho: RHO, reuse: true },
  { key: 'exact_reuse_tail', label: `exact + causal tail, ρ = ${RHO}, reused`, backward: 'exact', rho: RHO, reuse: true, tail: true },
];

// one trainer per reuse setting: each has its decoder, capturing or not
const trainers = new Map<boolean, RlTrainer>();
for (const reuse of [false, true]) trainers.set(reuse, new RlTrainer(model, { ...DEFAULT_RL, evalProblems: 1, reuseRollout: reuse }));
const start = trainers.get(false)!.position;
const weights = await model.readParams();
const optState = await model.opt.readState();

type Sample = { rollout: number; forward: number; backward: number; optimizer: number; update: number; step: number; wall: number };
const runs = ARMS.map(() => ({ samples: [] as Sample[], flops: { rollout: 0, forward: 0, backward: 0, optimizer: 0 }, k: 0, responseTokens: 0, B: 0, T: 0, tail: undefined as { rows: number; pairs: number } | undefined }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let firstReward: number | null = null;

for (let rep = -2; rep < opts.reps; rep++) {
  for (const [i, arm] of ARMS.entries()) {
    const trainer = trainers.get(arm.reuse)!;
    model.loadParams(weights);
    model.opt.loadState(optState);
    trainer.restore(start);
    const o: RlOptions = { ...trainer.o, topEntropyQuantile: arm.rho, backward: arm.backward, reuseRollout: arm.reuse, causalTail: !!arm.tail };  // tail only in its own arm (rl.ts's default is on)
    await rt.sync();
    rt.resetStats();
    rt.setProfiling(true);
    const t0 = performance.now();
    const { rollout, zeroSignal } = await trainer.collect(1);
    const m = await trainer.update(rollout, zeroSignal, 1, o);
    const wall = performance.now() - t0;
    // the same batch in every replay, and the reuse arms really reused it
    firstReward ??= m.reward;
    if (m.reward !== firstReward) throw new Error(`bench-rl: replay ${rep} of ${arm.key} rolled out a different batch (reward ${m.reward} vs ${firstReward})`);
    if (m.update.reuse !== (arm.reuse ? 'reused' : 'off')) throw new Error(`bench-rl: ${arm.key} ran with reuse '${m.update.reuse}'`);
    if (rep < 0) continue; // warm-up: pipelines compiled, matmul shapes met
    const update = m.ms.forward + m.ms.backward + m.ms.optimizer;
    runs[i].samples.push({ ...m.ms, update, step: update + m.ms.rollout, wall });
    runs[i].flops = m.flops;
    runs[i].k = m.selected;
    runs[i].tail = m.update.tail;
    runs[i].responseTokens = m.responseTokens;
    runs[i].B = rollout.tokens.length / rollout.L;
    runs[i].T = rollout.L - 1;
  }
}

const med = (i: number, f: keyof Sample) => median(runs[i].samples.map((s) => s[f]));
const at = (key: string) => ARMS.findIndex((a) => a.key === key);
const D = at('dense');
const totalFlops = (i: number) => Object.values(runs[i].flops).reduce((a, b) => a + b, 0);
console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
console.log(`batch: ${runs[D].B} rollouts × ${runs[D].T} positions, ${runs[D].responseTokens} response tokens, k = ${runs[at('exact')].k} selected at ρ = ${RHO}; ${ck ? `checkpoint ${opts.checkpoint}` : 'GPT-2 init'}`);
console.log(formatTable(
  ['arm', 'rollout ms', 'fwd ms', 'bwd ms', 'opt ms', 'update ms', 'update / dense', 'step ms', 'step / dense', 'step wall ms', 'wall / dense', 'step GFLOP'],
  ARMS.map((a, i) => [
    a.label, med(i, 'rollout').toFixed(1), med(i, 'forward').toFixed(1), med(i, 'backward').toFixed(1), med(i, 'optimizer').toFixed(2),
    med(i, 'update').toFixed(1), (med(i, 'update') / med(D, 'update')).toFixed(3),
    med(i, 'step').toFixed(1), (med(i, 'step') / med(D, 'step')).toFixed(3),
    med(i, 'wall').toFixed(0), (med(i, 'wall') / med(D, 'wall')).toFixed(3), (totalFlops(i) / 1e9).toFixed(3),
  ]),
));
console.log(`GPU ms medians of ${opts.reps} replays (timestamp queries); wall-clock includes readbacks and host work. update = forward + backward + optimizer phases (with reuse the forward phase is only entropy, selection and the PG loss).`);
const r4 = (x: number) => +x.toFixed(4);
const json: Record<string, unknown> = {
  adapter: describeAdapter(gpu.adapter),
  checkpoint: opts.checkpoint ?? null,
  reps: opts.reps,
  batch: { rollouts: runs[D].B, positions: runs[D].T, responseTokens: runs[D].responseTokens, selected: runs[at('exact')].k, rho: RHO },
};
for (const [i, a] of ARMS.entries()) {
  json[`update_ms_${a.key}`] = r4(med(i, 'update'));
  json[`step_ms_${a.key}`] = r4(med(i, 'step'));
  json[`step_wall_ms_${a.key}`] = r4(med(i, 'wall'));
  json[`rollout_ms_${a.key}`] = r4(med(i, 'rollout'));
  json[`flops_${a.key}`] = runs[i].flops;
}
const FR = at('forkonly_reuse'), ER = at('exact_reuse'), ET = at('exact_reuse_tail');
json.causal_tail = { ...runs[ET].tail, of_rows: runs[ET].B * runs[ET].T, backward_flops_saved: r4(1 - runs[ET].flops.backward / runs[ER].flops.backward) };
console.log(`causal tail: the exact backward's dense part covered ${runs[ET].tail?.rows} of ${runs[ET].B * runs[ET].T} rows; backward FLOPs ${(100 * (1 - runs[ET].flops.backward / runs[ER].flops.backward)).toFixed(1)}% below exact without it`);
json.ratios = {
  update_forkonly_reuse_over_dense: r4(med(FR, 'update') / med(D, 'update')),
  update_exact_reuse_over_dense: r4(med(ER, 'update') / med(D, 'update')),
  step_forkonly_reuse_over_dense: r4(med(FR, 'step') / med(D, 'step')),
  step_exact_reuse_over_dense: r4(med(ER, 'step') / med(D, 'step')),
  update_exact_reuse_tail_over_dense: r4(med(ET, 'update') / med(D, 'update')),
  step_wall_forkonly_reuse_over_dense: r4(med(FR, 'wall') / med(D, 'wall')),
};
console.log(JSON.stringify(json));
for (const t of trainers.values()) t.destroy();
model.destroy();
rt.destroy();
gpu.destroy();
