// The run report: a fixture metrics.jsonl in the documented schema → report.html, checked for the
// inlined uPlot, the data, every chart title, no external URL, and the notes that replace charts
// an SFT-only run has no records for. The pages are also loaded in headless Chromium, where every
// chart must have mounted (skipped, and counted as skipped, without Chromium; CI=true fails instead).
// The inlined chart bundle must be what scripts/build-charts.ts builds from train/charts.ts now.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backwardSaved, collectRun, pct, rlRewardChart, SECTIONS } from '../train/charts.js';
import { writeReport } from '../train/report.js';
import { chartsBundle, CHARTS_BUNDLE } from '../scripts/build-charts.js';
import { chromiumTest, dumpDom } from './chromium.js';
import { rng } from './helpers.js';

const t = suite('run report');
const uplotJs = readFileSync(join(createRequire(import.meta.url).resolve('uplot/package.json'), '..', 'dist/uPlot.iife.min.js'), 'utf8');

function sftRecords(steps: number): object[] {
  const out: object[] = [];
  for (let s = 1; s <= steps; s++) {
    out.push({ stage: 'sft', step: s, loss: 2.5 * Math.exp(-s / 8) + 0.1, lr: 1e-3, tokens: 512, ms: 40 });
    if (s % 5 === 0) out.push({ stage: 'sft', step: s, heldoutAccuracy: Math.min(0.9, s / 25), problems: 200 });
  }
  return out;
}

const passAtK = (base: number) => [1, 2, 4, 8, 16, 32, 64].map((k) => ({ k, passAtK: 1 - (1 - base) ** k }));

function rlRecords(steps: number): object[] {
  const r = rng(3);
  const out: object[] = [{ stage: 'sft-base-eval', step: 0, greedyAccuracy: 0.41, passAtK: passAtK(0.35), samples: 64, problems: 100 }];
  const edges = Array.from({ length: 21 }, (_, i) => (i * Math.log(22)) / 20); // 0 … ln V nats
  for (let s = 1; s <= steps; s++) {
    const dense = 3.0e9;
    out.push({
      stage: 'rl', step: s, reward: 0.4 + (0.3 * s) / steps + 0.05 * r(), accuracy: 0.4 + (0.3 * s) / steps, loss: 0.01 * (r() - 0.5),
      entropyMean: 0.35, selected: 120, responseTokens: 600, zeroSignalGroups: 2, clipFraction: 0.01, gradCosine: s % 2 ? 0.97 : null,
      flops: { rollout: 5.1e9, forward: 1.5e9, backward: 0.25 * dense + 1e6 * s, optimizer: 2.0e6 },
      ms: { rollout: 120 + 10 * r(), forward: 30, backward: 12, optimizer: 2 },
      denseBackwardFlops: dense,
      entropyHistogram: { edges, counts: edges.slice(1).map((_, i) => Math.round(400 * Math.exp(-i / 2)) + (s === steps ? 7 : 0)), threshold: 0.672 },
    });
    if (s % 10 === 0) out.push({ stage: 'eval', step: s, greedyAccuracy: 0.41 + s / 200, passAtK: passAtK(0.35 + s / 400), samples: 64, problems: 100 });
  }
  return out;
}

const dirs: string[] = [];
t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fixture(records: object[], runJson?: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-report-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'metrics.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  if (runJson) writeFileSync(join(dir, 'run.json'), JSON.stringify(runJson));
  return dir;
}

const embedded = (html: string) => JSON.parse(html.match(/<script type="application\/json" id="run-data">([\s\S]*?)<\/script>/)![1]);

function checkSelfContained(html: string): void {
  assert.ok(html.includes(uplotJs.slice(2000, 2400)), 'uPlot code inlined');
  assert.ok(html.includes('.uplot'), 'uPlot CSS inlined');
  assert.not.match(html, /https?:\/\//, 'no external URL');
  assert.not.match(html, /<(script|link|img)[^>]+(src|href)=/i, 'nothing loaded from a file');
}

/** Runs the page's scripts in a bare VM context: the transpiled chart specs evaluate without a DOM. */
function specsFromPage(html: string): any {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  const ctx: any = {};
  runInNewContext(`${scripts[1]}; this.ForkCharts = ForkCharts;`, ctx);
  return ctx.ForkCharts;
}


/** Report folders the Chromium checks load: the RL run's (every chart) and the SFT-only run's. */
const pages: { rl?: string; sft?: string } = {};

t('the committed chart bundle is current (else: npx tsx scripts/build-charts.ts)', () => {
  assert.ok(readFileSync(CHARTS_BUNDLE, 'utf8') === chartsBundle(), 'train/charts.bundle.js differs from a fresh build of train/charts.ts: run npx tsx scripts/build-charts.ts and commit the bundle');
});

t('RL run: every chart, the data, the numbers, offline', () => {
  const records = [...sftRecords(20), ...rlRecords(40)];
  const dir = fixture(records, { argv: ['--stage', 'all'], options: { stage: 'all', rl: { steps: 40, rho: 0.2 } }, adapter: { vendor: 'mesa', description: 'llvmpipe', isSoftware: true } });
  const html = readFileSync(writeReport(dir), 'utf8');
  checkSelfContained(html);
  const run = collectRun(records);
  assert.equal(embedded(html), JSON.parse(JSON.stringify(run)), 'the data, inlined as JSON');
  for (const s of SECTIONS) {
    assert.ok(html.includes(`<h2>${s.title}</h2>`), s.title);
    for (const spec of s.charts) {
      const c = spec(run);
      assert.ok(c.opts, `${c.id} drawn`);
      assert.ok(html.includes(`<h3>${c.title}</h3>`) && html.includes(`id="chart-${c.id}"`), c.title);
    }
  }
  const saved = backwardSaved(run).saved;
  assert.ok(saved > 0.7 && saved < 0.75);
  assert.ok(html.includes(`Backward FLOPs saved vs dense over the run: ${pct(saved)}`), 'saved fraction in the caption');
  assert.ok(html.includes('forking threshold, 0.969 bits = 0.672 nats'), 'threshold in bits and nats');
  assert.ok(html.includes('<td>41.0%</td>') && html.includes('final (RL step 40)'), 'base vs final table');
  assert.ok(html.includes('rl.rho') && html.includes('train/run.ts --stage all'), 'run settings');
  assert.ok(!html.includes('<p class="note">'), 'no chart omitted');

  // The inlined specs are the same code: same charts, same data arrays.
  const F = specsFromPage(html);
  const inPage = F.SECTIONS.flatMap((s: any) => s.charts.map((f: any) => f(embedded(html))));
  const inNode = SECTIONS.flatMap((s) => s.charts.map((f) => f(run)));
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)); // the VM's arrays are another realm's
  assert.equal(plain(inPage.map((c: any) => [c.id, c.data])), plain(inNode.map((c) => [c.id, c.data])));

  pages.rl = dir;
});

t('RL run: sampled pass@1 during RL is charted beside greedy accuracy; a run recorded before it has no such series', () => {
  const sampled = (step: number) => ({ pass1: 0.3 + step / 100, samples: 4, problems: 100, temperature: 1 });
  // greedy evaluations during RL as train/rl.ts emits them, each with the pipeline's sampled pass@1
  const records = rlRecords(40).flatMap((r: any) => (r.stage === 'eval' && r.step < 40
    ? [{ stage: 'eval', step: r.step, greedyAccuracy: r.greedyAccuracy, problems: 100, sampled: sampled(r.step) }] : [r]));
  records.push({ stage: 'eval', step: 40, greedyAccuracy: 0.6, problems: 100, sampled: sampled(40) });
  const c = rlRewardChart(collectRun(records));
  const labels = (c.opts!.series as { label?: string }[]).map((x) => x.label);
  const i = labels.indexOf('held-out sampled pass@1');
  assert.ok(i > 0, `series: ${labels.join(', ')}`);
  const xs = c.data![0] as number[], ys = c.data![i] as (number | null)[];
  assert.equal(xs.flatMap((x, j) => (ys[j] === null ? [] : [[x, ys[j]]])), [10, 20, 30, 40].map((s) => [s, sampled(s).pass1]));
  // the base's pass@1 (k = 1 of its pass@k) as a flat reference line
  const b = labels.indexOf('SFT base sampled pass@1');
  assert.ok(b > 0 && (c.data![b] as number[]).every((y) => y === passAtK(0.35)[0].passAtK));
  assert.match(c.caption, 'sampled pass@1 at the same steps from 4 samples on each of 100 problems at temperature 1');
  const dir = fixture(records);
  assert.ok(readFileSync(writeReport(dir), 'utf8').includes('held-out sampled pass@1'), 'in the page');
  // records written before the field existed: no sampled series, and the caption claims none
  const old = rlRewardChart(collectRun(rlRecords(40)));
  assert.not.ok((old.opts!.series as { label?: string }[]).some((x) => x.label?.includes('sampled')));
  assert.not.match(old.caption, 'sampled');
});

chromiumTest(t, 'RL run: every chart mounts in Chromium', () => {
  assert.ok(pages.rl, 'the RL report was written');
  const dom = dumpDom(join(pages.rl!, 'report.html'));
  const ids = SECTIONS.flatMap((s) => s.charts.map((f) => f(collectRun([...sftRecords(20), ...rlRecords(40)])).id));
  for (const id of ids) assert.match(dom, new RegExp(`id="chart-${id}"><div class="uplot`), `${id} mounted in Chromium`);
});

t('SFT-only run: loss and accuracy, notes for the rest', () => {
  const dir = fixture(sftRecords(30));
  const html = readFileSync(writeReport(dir), 'utf8');
  checkSelfContained(html);
  for (const id of ['sft-loss', 'sft-accuracy']) assert.ok(html.includes(`id="chart-${id}"`), id);
  for (const id of ['rl-reward', 'rl-loss', 'entropy-histogram', 'flops', 'gpu-time', 'pass-at-k']) {
    assert.not.ok(html.includes(`id="chart-${id}"`), `${id} omitted`);
    assert.match(html, new RegExp(`id="fig-${id}"><h3>[^<]*</h3><p class="note">`), `${id} note`);
  }
  assert.ok(html.includes('No run.json'), 'missing run.json noted');
  pages.sft = dir;
});

chromiumTest(t, 'SFT-only run: the SFT charts mount in Chromium', () => {
  assert.ok(pages.sft, 'the SFT report was written');
  assert.match(dumpDom(join(pages.sft!, 'report.html')), /id="chart-sft-loss"><div class="uplot/, 'SFT loss mounted in Chromium');
});

t('a torn last line is noted and left out; a bad middle line throws naming it', () => {
  const dir = fixture(sftRecords(5));
  appendFileSync(join(dir, 'metrics.jsonl'), '{"stage":"sft","st');
  const html = readFileSync(writeReport(dir), 'utf8');
  assert.match(html, /note: line 7 \(the last\) is not complete JSON/);
  writeFileSync(join(dir, 'metrics.jsonl'), '{"stage":"sft"}\nnot json\n{"stage":"sft"}\n');
  assert.throws(() => writeReport(dir), /metrics\.jsonl line 2 is not JSON/);
});

t.run();
