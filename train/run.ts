// `npx tsx train/run.ts`: the main job. Validates every flag first (nothing is written on a bad
// one), then SFT warm start (reused from the cache when one matches) → ... → a run folder.
import { existsSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { paramCount } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { parseRunOptions, type RunOptions } from './cli.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from './files.js';
import { warmStart } from './warmstart.js';
import { RlTrainer, PHASES } from './rl.js';
import { greedyAccuracy, passAtKCurve } from './evaluate.js';
import { predictBackwardFlops } from '../model/flops.js';
import { formatTable } from '../kernels/runtime.js';
import { generate } from '../verify/index.js';
import { writeReport } from './report.js';

const PASS_KS = [1, 2, 4, 8, 16, 32, 64];
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

let opts: RunOptions;
try {
  opts = parseRunOptions(process.argv.slice(2));
} catch (e: any) {
  if (String(e.code).startsWith('commander.help')) process.exit(0);
  console.error(`error: ${e.message}`);
  console.error('run with --help for every option');
  process.exit(1);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const runDir = opts.out ?? join('runs', `${opts.stage}-${opts.task.task}-${stamp}`);
if (opts.checkpoint && !existsSync(opts.checkpoint)) {
  console.error(`error: --checkpoint ${opts.checkpoint} does not exist; pass a folder written by train/run.ts`);
  process.exit(1);
}

let stopRequested = false;
process.on('SIGINT', () => {
  if (stopRequested) process.exit(130);
  stopRequested = true;
  console.error('\nstopping after this step (Ctrl-C again to abort without saving)…');
});

const gpu = await getGpu();
const rt = new Runtime(gpu);
console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
mkdirSync(runDir, { recursive: true });
writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ argv: process.argv.slice(2), options: opts, adapter: gpu.adapter }, null, 2));
const metricsPath = join(runDir, 'metrics.jsonl');
const log = (rec: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(rec) + '\n');

const cfg = opts.model;
let model: GPT;

if (opts.checkpoint) {
  const ck = loadCheckpoint(opts.checkpoint, rt.viewAlign);
  model = new GPT(rt, ck.config, ck.params);
  console.log(`loaded ${opts.checkpoint}`);
} else {
  const bar = new cliProgress.SingleBar({
    format: 'SFT [{bar}] {value}/{total} | loss {loss} | held-out {acc} | {eta_formatted} left',
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const ws = await warmStart(rt, cfg, opts.sft, {
    cacheRoot: opts.cacheDir,
    noCache: opts.noCache,
    saveTo: join(runDir, 'sft'),
    adapter: gpu.adapter.description,
    onTrainStart: () => {
      console.log(`SFT: ${opts.task.task}, ${paramCount(cfg)} parameters, ${opts.sft.steps} steps of ${opts.sft.batchSize} sequences`);
      bar.start(opts.sft.steps, 0, { loss: '-', acc: '-' });
    },
    hooks: {
      shouldStop: () => stopRequested,
      onStep: (m) => {
        log({ stage: 'sft', ...m });
        bar.update(m.step, { loss: m.loss.toFixed(4) });
      },
      onEval: (m) => {
        log({ stage: 'sft', ...m });
        bar.update({ acc: `${(m.heldoutAccuracy * 100).toFixed(1)}%` });
        if (!process.stdout.isTTY) console.log(`SFT step ${m.step}: held-out greedy accuracy ${(m.heldoutAccuracy * 100).toFixed(1)}% on ${m.problems}`);
      },
    },
  });
  model = ws.model;
  if (ws.trained) {
    bar.stop();
    const t = ws.trained;
    console.log(`SFT done: ${t.steps} steps in ${t.seconds.toFixed(0)} s, loss ${t.lastLoss.toFixed(4)}, held-out greedy exact match ${pct(ws.heldoutAccuracy)}`);
  } else {
    console.log(`SFT warm start reused from ${ws.cacheDir} (held-out accuracy ${pct(ws.heldoutAccuracy)})`);
  }
}

const summary: Record<string, unknown> = { runDir, task: opts.task };
if (opts.stage === 'all' && !stopRequested) {
  const ro = opts.rl;
  const evalCfg = { batch: 256 };
  console.log(`RL: ${ro.maxSteps} steps × ${ro.numPrompts} prompts × ${ro.numGenerations} samples, ρ = ${ro.topEntropyQuantile} (${ro.selection}), ${ro.backward} backward`);
  const heldoutProblems = generate(opts.task, { seed: opts.seed + 1, split: 'heldout', count: opts.rl.evalProblems, unique: true });
  const baseAcc = await greedyAccuracy(model, opts.task, heldoutProblems, evalCfg.batch);
  const passProblems = heldoutProblems.slice(0, opts.passK.problems);
  const basePass = await passAtKCurve(model, opts.task, passProblems, opts.passK.samples, PASS_KS, { temperature: opts.passK.temperature, seed: opts.seed + 7 });
  log({ stage: 'sft-base-eval', step: 0, greedyAccuracy: baseAcc, passAtK: basePass, samples: opts.passK.samples, problems: passProblems.length });
  console.log(`SFT base: held-out greedy ${(baseAcc * 100).toFixed(1)}%, pass@1 ${(basePass[0].passAtK * 100).toFixed(1)}%`);

  const trainer = new RlTrainer(model, ro);
  const bar = new cliProgress.SingleBar({
    format: 'RL  [{bar}] {value}/{total} | reward {reward} | held-out {acc} | {eta_formatted} left',
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  bar.start(ro.maxSteps, 0, { reward: '-', acc: '-' });
  const totals: Record<string, { flops: number; ms: number }> = {};
  let denseBackward = 0;
  const t0 = performance.now();
  const r = await trainer.train({
    shouldStop: () => stopRequested,
    onStep: (m) => {
      const dense = predictBackwardFlops(model.cfg, ro.numPrompts * ro.numGenerations, trainer.positions, m.selected, 'dense');
      denseBackward += dense;
      for (const p of PHASES) {
        const t = (totals[p] ??= { flops: 0, ms: 0 });
        t.flops += m.flops[p];
        t.ms += m.ms[p];
      }
      log({ ...m, denseBackwardFlops: dense });
      bar.update(m.step, { reward: m.reward.toFixed(3) });
    },
    onEval: (m) => {
      log(m);
      bar.update({ acc: `${(m.greedyAccuracy * 100).toFixed(1)}%` });
      if (!process.stdout.isTTY) console.log(`RL step ${m.step}: held-out greedy accuracy ${(m.greedyAccuracy * 100).toFixed(1)}%`);
    },
  });
  bar.stop();
  trainer.destroy();
  const rlSecs = (performance.now() - t0) / 1000;
  const params = await model.readParams();
  saveCheckpoint(join(runDir, 'checkpoint'), model.cfg, model.layout, params, { task: opts.task, stage: 'rl', steps: r.steps, heldoutAccuracy: r.finalAccuracy, rl: ro });
  let finalPass = basePass;
  if (!stopRequested) {
    finalPass = await passAtKCurve(model, opts.task, passProblems, opts.passK.samples, PASS_KS, { temperature: opts.passK.temperature, seed: opts.seed + 7 });
    log({ stage: 'eval', step: r.steps, greedyAccuracy: r.finalAccuracy, passAtK: finalPass, samples: opts.passK.samples, problems: passProblems.length });
  }
  Object.assign(summary, {
    baseGreedyAccuracy: baseAcc, finalGreedyAccuracy: r.finalAccuracy,
    basePassAtK: basePass, finalPassAtK: finalPass,
    rlSteps: r.steps, rlSeconds: rlSecs, phases: totals,
    backwardFlopsSaved: denseBackward > 0 ? 1 - (totals.backward?.flops ?? 0) / denseBackward : 0,
  });
  const pk = (xs: typeof basePass, k: number) => xs.find((x) => x.k === k)?.passAtK ?? NaN;
  console.log(formatTable(['held-out', 'SFT base', 'after RL'], [
    ['greedy accuracy', pct(baseAcc), pct(r.finalAccuracy)],
    ...[1, 8, 64].map((k) => [`pass@${k}`, pct(pk(basePass, k)), pct(pk(finalPass, k))]),
  ]));
  console.log(formatTable(['phase', 'GFLOP', 'GPU s'], PHASES.map((p) => [p, ((totals[p]?.flops ?? 0) / 1e9).toFixed(2), ((totals[p]?.ms ?? 0) / 1000).toFixed(2)])));
  console.log(`backward FLOPs saved by the ${ro.backward} sparse backward vs dense: ${pct(summary.backwardFlopsSaved as number)}`);
}

writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({ ...summary, stopped: stopRequested }, null, 2));
console.log(`report: ${writeReport(runDir)}`);
console.log(`run folder: ${runDir}${stopRequested ? ' (stopped early; checkpoint saved)' : ''}`);
model.destroy();
rt.destroy();
gpu.destroy();
