// `npx tsx train/run.ts`: the main job. Validates every flag first (nothing is written on a bad
// one), then SFT warm start (reused from the cache when one matches) → ... → a run folder.
import { createHash } from 'node:crypto';
import { existsSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { initParams, paramCount, paramLayout } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { parseRunOptions, type RunOptions } from './cli.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from './files.js';
import { trainSft } from './sft.js';

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
const key = createHash('sha256').update(JSON.stringify({ model: cfg, sft: opts.sft, v: 1 })).digest('hex').slice(0, 12);
const cached = join(opts.cacheDir, key);
let model: GPT;

if (opts.checkpoint) {
  const ck = loadCheckpoint(opts.checkpoint, rt.viewAlign);
  model = new GPT(rt, ck.config, ck.params);
  console.log(`loaded ${opts.checkpoint}`);
} else if (!opts.noCache && existsSync(join(cached, 'config.json'))) {
  const ck = loadCheckpoint(cached, rt.viewAlign);
  model = new GPT(rt, ck.config, ck.params);
  console.log(`SFT warm start reused from ${cached} (held-out accuracy ${((ck.info.heldoutAccuracy as number) * 100).toFixed(1)}%)`);
} else {
  model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), opts.seed));
  console.log(`SFT: ${opts.task.task}, ${paramCount(cfg)} parameters, ${opts.sft.steps} steps of ${opts.sft.batchSize} sequences`);
  const bar = new cliProgress.SingleBar({
    format: 'SFT [{bar}] {value}/{total} | loss {loss} | held-out {acc} | {eta_formatted} left',
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  bar.start(opts.sft.steps, 0, { loss: '-', acc: '-' });
  const t0 = performance.now();
  const r = await trainSft(model, opts.sft, {
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
  });
  bar.stop();
  const secs = (performance.now() - t0) / 1000;
  const params = await model.readParams();
  const info = { task: opts.task, stage: 'sft', steps: r.steps, heldoutAccuracy: r.finalAccuracy, seconds: secs, adapter: gpu.adapter.description };
  saveCheckpoint(join(runDir, 'sft'), cfg, model.layout, params, info);
  if (!stopRequested) saveCheckpoint(cached, cfg, model.layout, params, info);
  console.log(`SFT done: ${r.steps} steps in ${secs.toFixed(0)} s, loss ${r.lastLoss.toFixed(4)}, held-out greedy exact match ${(r.finalAccuracy * 100).toFixed(1)}%`);
}

writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({ runDir, stopped: stopRequested }, null, 2));
console.log(`run folder: ${runDir}`);
model.destroy();
rt.destroy();
gpu.destroy();
