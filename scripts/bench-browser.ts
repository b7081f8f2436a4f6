// The peer training step (2 layers, d 64, 4 heads, T 32, vocab 16, batch 32) timed inside headless
// Chromium's WebGPU (SwiftShader on a machine without a GPU), next to the same step in Node (Dawn)
// on this machine, plus how long the dashboard's main thread ever stalled during a short training
// run (the page yields between steps; a long stall would be a frozen tab).
// The step code is train/step-timing.ts in both places; the page is web/bench.html.
//
//   npx tsx scripts/bench-browser.ts [--reps 15] [--warmup 5] [--no-node] [--no-dashboard]
// Prints a table, the browser's per-kernel profile, then one JSON line {"browser_peer_step_ms": …}.
import { parseArgs } from 'node:util';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import { PEER_BATCH, PEER_MODEL, PEER_POSITIONS, timeTrainingStep, type BrowserBench } from '../train/step-timing.js';
import { buildAndServe, launchChromium } from './chromium.js';

let args;
try {
  args = parseArgs({ options: { reps: { type: 'string', default: '15' }, warmup: { type: 'string', default: '5' }, 'no-node': { type: 'boolean' }, 'no-dashboard': { type: 'boolean' } } }).values;
} catch (e) {
  console.error(`error: ${(e as Error).message}; usage: npx tsx scripts/bench-browser.ts [--reps 15] [--warmup 5] [--no-node] [--no-dashboard]`);
  process.exit(1);
}
const reps = Number(args.reps), warmup = Number(args.warmup);
if (!(Number.isInteger(reps) && reps >= 1 && Number.isInteger(warmup) && warmup >= 0)) {
  console.error(`error: --reps must be a whole number ≥ 1 and --warmup ≥ 0 (got ${args.reps}, ${args.warmup})`);
  process.exit(1);
}

const served = await buildAndServe();
const browser = await launchChromium();
let bench: BrowserBench;
let stall: { longest: number; ticks: number; seconds: number } | null = null;
try {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${served.url}bench.html?reps=${reps}&warmup=${warmup}`);
  await page.waitForFunction(() => (window as any).forkgradBench, null, { timeout: 600_000, polling: 250 });
  const r = await page.evaluate(() => (window as any).forkgradBench);
  if (r.error || errors.length) throw new Error(`the benchmark page failed: ${r.error ?? errors.join('; ')}`);
  bench = r;
  await page.close();

  if (!args['no-dashboard']) {
    // A short run in the dashboard with a 10 ms timer on the page: its longest gap is the longest
    // the tab could not react (paint, input) while training.
    const dash = await browser.context.newPage();
    await dash.addInitScript(() => {
      const w = window as any;
      w.stall = { longest: 0, ticks: 0, t0: 0, last: 0 };
      setInterval(() => {
        const now = performance.now();
        if (w.stall.last && document.body.dataset.state !== 'idle') {
          w.stall.longest = Math.max(w.stall.longest, now - w.stall.last);
          w.stall.ticks++;
          w.stall.t0 ||= now;
        }
        w.stall.last = now;
      }, 10);
    });
    await dash.goto(served.url);
    await dash.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: 60_000 });
    const tiny = { sft_steps: '20', sft_batch: '32', sft_eval_every: '10', eval_problems: '64', rl_steps: '5', prompts: '8', samples: '4', rl_eval_every: '5' };
    for (const [id, v] of Object.entries(tiny)) await dash.fill(`#${id}`, v);
    await dash.click('#start');
    await dash.waitForFunction(() => ['done', 'failed'].includes(document.body.dataset.state ?? ''), null, { timeout: 600_000, polling: 250 });
    const s = await dash.evaluate(() => ({ ...(window as any).stall, state: document.body.dataset.state, now: performance.now() }));
    if (s.state !== 'done') throw new Error(`the dashboard run ended ${s.state}: ${await dash.textContent('#error-text')}`);
    stall = { longest: s.longest, ticks: s.ticks, seconds: (s.now - s.t0) / 1000 };
    await dash.close();
  }
} finally {
  await browser.close();
  await served.close();
}

let node: { median: number; min: number; flops: number; adapter: string } | null = null;
if (!args['no-node']) {
  const gpu = await getGpu();
  const rt = new Runtime(gpu);
  const t = await timeTrainingStep(rt, PEER_MODEL, PEER_BATCH, PEER_POSITIONS, { reps, warmup });
  node = { median: t.median, min: t.min, flops: t.flops, adapter: describeAdapter(gpu.adapter) };
  rt.destroy();
  gpu.destroy();
}

console.log(`browser: ${bench.userAgent}`);
// each side's own FLOP count (from its dispatches), so a difference in what ran would show
const row = (where: string, r: { adapter: string; median: number; min: number; flops: number }) =>
  [where, r.adapter, r.median.toFixed(2), r.min.toFixed(2), (PEER_BATCH * PEER_POSITIONS / r.median * 1000).toFixed(0), (r.flops / r.median / 1e6).toFixed(2)];
console.log(formatTable(['where', 'adapter', 'median ms', 'min ms', 'tokens/s', 'GFLOP/s'], [
  row('Chromium', bench),
  ...(node ? [row('Node (Dawn)', node)] : []),
]));
console.log(`(peer step: ${bench.params} parameters, batch ${PEER_BATCH} × ${PEER_POSITIONS}; median of ${reps} after ${warmup} warm-up steps)`);
if (stall) console.log(`dashboard: longest main-thread stall ${stall.longest.toFixed(0)} ms over ${stall.seconds.toFixed(1)} s of SFT + RL (a 10 ms timer, ${stall.ticks} ticks)`);
console.log(`\nper-kernel GPU profile of one peer step in Chromium:\n${bench.profile}\n`);
console.log(JSON.stringify({
  browser_peer_step_ms: +bench.median.toFixed(3),
  browser_adapter: bench.adapter,
  node_peer_step_ms: node ? +node.median.toFixed(3) : null,
  node_adapter: node?.adapter ?? null,
  dashboard_longest_stall_ms: stall ? +stall.longest.toFixed(1) : null,
}));
