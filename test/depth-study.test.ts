// The depth study's cross-depth report (scripts/experiment/depth.ts, scripts/depth-study.ts) on
// synthetic grid folders written the way records.ts writes them: L2 with grid.json (arms abcd,
// 3 seeds, b-s3 unfinished), L4 without grid.json and one seed per arm, L8 absent. Checked: the
// paired differences and ratios against hand computation, a single seed shown as "no interval"
// (never as a zero-width one), what is missing, identical files on regeneration, the README
// section between its own markers, the page's charts mounting in Chromium (skipped without it), and the refusals (no folder, no records, a report without records).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { paramCount } from '../model/config.js';
import { DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { writeFileAtomic } from '../train/files.js';
import { EXPERIMENT_SCHEMA, PHASES, type Phase } from '../train/schema.js';
import { arms, type ArmId } from '../scripts/experiment/arms.js';
import { DEPTH_BEGIN, DEPTH_END, DEPTH_MARKERS, depthReadmeSection, depthStudy, writeDepthReport } from '../scripts/experiment/depth.js';
import { fullGrid, jobs, type GridOptions } from '../scripts/experiment/plan.js';
import { writeJob, type ExperimentRecord } from '../scripts/experiment/records.js';
import { README_BEGIN, README_END, replaceSection } from '../scripts/experiment/report.js';
import { chromiumTest, dumpDom } from './chromium.js';

const t = suite('depth-study');
const root = mkdtempSync(join(tmpdir(), 'forkgrad-depth-'));
t.after(() => rmSync(root, { recursive: true, force: true }));

// Student t 0.975 quantiles (tables): 2 and 1 degrees of freedom
const T2 = 4.302652729911275, T1 = 12.706204736174707;
const handCI = (xs: number[], t975: number) => {
  const n = xs.length, m = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
  return { mean: m, lo: m - (t975 * sd) / Math.sqrt(n), hi: m + (t975 * sd) / Math.sqrt(n) };
};
const close = (x: number, y: number, what: string) => assert.ok(Math.abs(x - y) <= 1e-9, `${what}: ${x} vs ${y}`);

const TASK = { task: 'countdown-steps' };
const BACKWARD: Record<string, number> = { a: 100e9, b: 100e9, c: 40e9, d: 10e9 };
const BACKWARD_MS: Record<string, number> = { a: 1000, b: 1000, c: 500, d: 200 };
/** rollout grows with the seed, so the step ratios differ per seed and pairing by seed matters */
const phases = (id: string, seed: number, unit: 'flops' | 'ms'): Record<Phase, number> => unit === 'flops'
  ? { rollout: 100e9 * (1 + 0.1 * seed), forward: 50e9, backward: BACKWARD[id], optimizer: 1e9 }
  : scaled(id === 'b' ? 1.5 : 1, { rollout: 1000, forward: 500, backward: BACKWARD_MS[id], optimizer: 10 }); // (b): its GPU time as on a busier machine
const scaled = (f: number, r: Record<Phase, number>) => Object.fromEntries(PHASES.map((p) => [p, r[p] * f])) as Record<Phase, number>;
const total = (r: Record<Phase, number>) => PHASES.reduce((a, p) => a + r[p], 0);

function armJob(id: ArmId, seed: number, pass1: number): ExperimentRecord[] {
  const flops = phases(id, seed, 'flops'), ms = phases(id, seed, 'ms');
  const half = (r: Record<Phase, number>) => Object.fromEntries(PHASES.map((p) => [p, r[p] / 2])) as Record<Phase, number>;
  const step = (n: number, f: Record<Phase, number>, m: Record<Phase, number>) => ({
    type: 'step' as const, step: n, reward: 0.5, accuracy: 0.5, loss: 0.01, entropyMean: 0.3, selected: 10, responseTokens: 50, zeroSignalGroups: 0, clipFraction: 0,
    gradCosine: id === 'd' ? (n === 1 ? 0.4 : 0.5) : null, flops: f, ms: m, wallMs: 100,
  });
  const mid = 0.3 + (pass1 - 0.3) / 2;
  return [
    { type: 'job', schema: EXPERIMENT_SCHEMA, name: `${id}-s${seed}`, key: 'test', arm: id, armLabel: arms(0.2).find((a) => a.id === id)!.label, seed, rl: null, task: TASK, adapter: 'test', finishedAt: '2026-11-30T00:00:00.000Z' },
    step(1, half(flops), half(ms)), step(2, half(flops), half(ms)),
    { type: 'curve', step: 1, pass1: mid, problems: 10, samples: 4, flops: total(flops) / 2, backwardFlops: flops.backward / 2, gpuMs: total(ms) / 2 },
    { type: 'final', step: 2, greedyAccuracy: 0.9, greedyProblems: 10, problems: 2, samples: 4, passAtK: [{ k: 1, passAtK: pass1 }, { k: 4, passAtK: Math.min(1, pass1 + 0.2) }], correct: [2, 1] },
    { type: 'curve', step: 2, pass1, problems: 10, samples: 4, flops: total(flops), backwardFlops: flops.backward, gpuMs: total(ms) },
    { type: 'cost', flops: { ...flops, diagnostic: 0 }, gpuMs: { ...ms, diagnostic: 0 }, trainSeconds: 2, evalSeconds: 1 },
  ];
}

function baseJob(entropy: boolean): ExperimentRecord[] {
  const zero = { rollout: 0, forward: 0, backward: 0, optimizer: 0, diagnostic: 0 };
  return [
    { type: 'job', schema: EXPERIMENT_SCHEMA, name: 'base', key: 'test', arm: null, armLabel: null, seed: null, rl: null, task: TASK, adapter: 'test', finishedAt: '2026-11-30T00:00:00.000Z' },
    { type: 'final', step: 0, greedyAccuracy: 0.8, greedyProblems: 10, problems: 2, samples: 4, passAtK: [{ k: 1, passAtK: 0.3 }, { k: 4, passAtK: 0.6 }], correct: [1, 1] },
    ...(entropy ? [{
      type: 'entropy' as const, temperature: 1, tokens: 1000, meanNats: 0.2, shareBelowLow: 0.62, low: 0.01, p80: 0.4, shareForking: 0.18, threshold: 0.672, topForking: [],
      follow: { afterForking: { n: 100, low: 60, p: 0.6, meanRun: 3 }, afterOther: { n: 800, low: 400, p: 0.5, meanRun: 2 }, difference: { mean: 0.1, lo: 0.02, hi: 0.18, n: 50 } },
    }] : []),
    { type: 'cost', flops: zero, gpuMs: zero, trainSeconds: 0, evalSeconds: 1 },
  ];
}

const L2: Record<string, number[]> = { a: [0.40, 0.44, 0.42], b: [0.46, 0.45], c: [0.45, 0.47, 0.46], d: [0.43, 0.47, 0.44] };
const L4: Record<string, number[]> = { a: [0.35], c: [0.38], d: [0.36] };

/** A study folder: L2 (grid.json, b-s3 unfinished), L4 (no grid.json, one seed), no L8. */
function makeStudy(dir: string): void {
  const g: GridOptions = { ...fullGrid(), out: join(dir, 'L2'), arms: ['a', 'b', 'c', 'd'], seeds: 3, passKSeeds: 0, decodingArm: null, model: { ...DEFAULT_SFT_MODEL, nLayer: 2 } };
  writeFileAtomic(join(dir, 'L2', 'grid.json'), JSON.stringify({ command: 'npx tsx scripts/experiment.ts --n_layer 2', adapter: 'test', options: g, jobs: jobs(g).length, invocations: [] }, null, 2));
  writeJob(join(dir, 'L2'), baseJob(true));
  for (const [id, xs] of Object.entries(L2)) xs.forEach((p, i) => writeJob(join(dir, 'L2'), armJob(id as ArmId, i + 1, p)));
  writeJob(join(dir, 'L4'), baseJob(false));
  for (const [id, xs] of Object.entries(L4)) xs.forEach((p, i) => writeJob(join(dir, 'L4'), armJob(id as ArmId, i + 1, p)));
}

const dir = join(root, 'steps');
makeStudy(dir);

t('paired differences and ratios per depth match a hand computation', () => {
  const st = depthStudy(dir);
  assert.equal(st.depths.map((d) => d.layers), [2, 4]);
  assert.equal(st.absent, [8]);
  const [d2, d4] = st.depths;
  const sub = (x: number[], y: number[]) => x.slice(0, y.length).map((v, i) => v - y[i]).slice(0, Math.min(x.length, y.length));
  for (const [e, want, what] of [
    [d2.diffs.dc!, handCI(sub(L2.d, L2.c), T2), 'L2 d − c'],
    [d2.diffs.ca!, handCI(sub(L2.c, L2.a), T2), 'L2 c − a'],
    [d2.diffs.bc!, handCI(sub(L2.b, L2.c), T1), 'L2 b − c (seeds 1, 2)'],
  ] as const) {
    close(e.mean, want.mean, `${what} mean`); close(e.lo, want.lo, `${what} lo`); close(e.hi, want.hi, `${what} hi`);
  }
  assert.is(d2.diffs.bc!.n, 2);
  // by hand: d − c = (−2, 0, −2) pp → mean −1.333 pp; c − a = (5, 3, 4) pp → 4 ± 4.3027·1/√3 pp
  close(d2.diffs.dc!.mean, -0.04 / 3, 'd − c');
  close(d2.diffs.ca!.lo, 0.04 - (T2 * 0.01) / Math.sqrt(3), 'c − a lo');
  // L4: one seed per arm → a mean and no interval
  assert.is(d4.diffs.dc!.n, 1);
  close(d4.diffs.dc!.mean, 0.36 - 0.38, 'L4 d − c');
  assert.ok(Number.isNaN(d4.diffs.dc!.lo) && Number.isNaN(d4.diffs.dc!.hi));
  assert.is(d4.diffs.bc, null, 'no (b) at 4 layers');
  // ratios against (a), per seed: backward FLOPs constant, step FLOPs depend on the seed's rollout
  close(d2.ratios.backwardFlops.c!.mean, 0.4, 'c/a backward FLOPs');
  close(d2.ratios.backwardFlops.d!.mean, 0.1, 'd/a backward FLOPs');
  const step = (id: string) => [1, 2, 3].map((s) => total(phases(id, s, 'flops')) / total(phases('a', s, 'flops')));
  const want = handCI(step('c'), T2);
  close(d2.ratios.stepFlops.c!.mean, want.mean, 'c/a step FLOPs mean'); close(d2.ratios.stepFlops.c!.lo, want.lo, 'c/a step FLOPs lo');
  close(d2.ratios.stepSeconds.d!.mean, 1710 / 2510, 'd/a step GPU time');
  close(d2.ratios.backwardSeconds.c!.mean, 0.5, 'c/a backward GPU time');
  close(d2.cosine!.mean, 0.45, 'mean fork-only cosine');
  assert.is(d2.params, paramCount({ ...DEFAULT_SFT_MODEL, nLayer: 2 }));
  assert.is(d4.params, null, 'no grid.json: parameters not recorded');
  // compute-matched: the cheapest arm by total training FLOPs is (d)
  assert.is(d2.cm.budget!.flops.arm, 'd');
});

t('summary.md says what the numbers are, and a single seed has no interval (not a zero-width one)', () => {
  const st = writeDepthReport(dir);
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  assert.not.match(md, /NaN|undefined|Infinity/);
  assert.match(md, '| 2 | −1.3 pp (95% CI [−4.2 pp, +1.5 pp]) | no |');
  assert.match(md, '+4.0 pp (95% CI [+1.5 pp, +6.5 pp]) | yes (higher) |');
  assert.match(md, '| 4 | −2.0 pp (no interval from 1 value) | no interval |');
  assert.match(md, '36.0 (1 seed, no interval)');
  assert.not.match(md, /\[36\.0, 36\.0\]|36\.0 ± 0\.0/);
  assert.match(md, '0.400× [0.400×, 0.400×]');
  assert.match(md, `| 2 | ${paramCount({ ...DEFAULT_SFT_MODEL, nLayer: 2 }).toLocaleString('en-US')} | 3 (1, 2, 3) | 2 (1, 2) |`);
  assert.match(md, 'The 2-layer SFT base: 62.0% of sampled answer tokens below 0.01 nats (the seed: over half — holds)');
  assert.match(md, '18.0% at or above the 0.672-nat forking threshold (the seed: ~20.0%; 2.0 pp fewer)');
  assert.match(md, /Backward FLOPs of exact sparse \(c\) as a share of all tokens' \(a\): 0\.400× at 2 layers \(saves 60\.0%\), 0\.400× at 4 layers \(saves 60\.0%\): the same saving at every depth\./);
  // L4's seed-1 rollout is smaller than L2's mean over seeds 1–3, so (c)'s whole-step saving is larger at 4 layers
  assert.match(md, /Whole-step FLOPs \(rollout included\) of exact sparse \(c\) as a share of all tokens' \(a\): 0\.778× at 2 layers \(saves 22\.2%\), 0\.770× at 4 layers \(saves 23\.0%\): the saving grows with depth\./);
  assert.match(md, 'The fork-only gradient\'s mean cosine to the exact gradient: 0.450 at 2 layers, 0.450 at 4 layers.');
  // (a) and (b) do the same FLOPs; (b)'s GPU time is 1.5× (a)'s in every seed: the noise sentence says so, only where (b) ran
  assert.match(md, 'At 2 layers, (a) and (b) do the same dense work (training FLOPs b/a 1.000×), yet their training GPU time b/a is 1.500× (95% CI [1.500×, 1.500×]): GPU-time comparisons at this depth carry noise');
  assert.not.match(md, 'At 4 layers, (a) and (b) do the same');
  assert.ok(st.depths[0].s.finished === 12 && st.depths[1].s.finished === 4);
});

t('missing depths, arms and seeds are named', () => {
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  assert.match(md, `No grid folder for 8 layers (${dir}/L8/): not run yet.`);
  assert.match(md, '2 layers (L2/): 1 planned job not finished (b-s3).');
  assert.match(md, '4 layers (L4/): 6 planned jobs not finished (a-s2, c-s2, d-s2, a-s3, c-s3, d-s3); no grid.json: checked against the study\'s plan (arms acd, seeds 1…3).');
  assert.match(md, '2 layers: fewer than 3 seeds finished for (b) 2;');
  assert.match(md, '4 layers: fewer than 3 seeds finished for (a) 1, (c) 1, (d) 1;');
  // a depth without (b): its cells say missing, its b − c is absent
  assert.match(md, /\| 4 \| not recorded \| 1 \(1\) \| 0 \| 1 \(1\) \| 1 \(1\) \| 30\.0 \| 35\.0 \(1 seed, no interval\) \| missing \|/);
});

t('regenerating gives identical files; the README section has its own markers', () => {
  const read = () => [readFileSync(join(dir, 'summary.md'), 'utf8'), readFileSync(join(dir, 'report.html'), 'utf8')];
  writeDepthReport(dir);
  const first = read();
  writeDepthReport(dir);
  assert.equal(read(), first);
  const html = first[1];
  const specs = JSON.parse(html.match(/<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/)![1]);
  assert.equal(specs.map((s: { id: string }) => s.id), ['pass1-depth', 'saved-depth', 'diff-depth']);
  for (const s of specs) assert.is(s.data.length, s.opts.series.length, `${s.id}: one data row per series`);
  assert.equal(specs[0].data[0], [2, 4], 'x: the depths');
  assert.not.match(html, /https?:\/\//);
  const readme = `# x\n\n${README_BEGIN}\nresults stay\n${README_END}\n\nend\n`;
  const section = depthReadmeSection(dir, 'npx tsx scripts/depth-study.ts --readme');
  assert.ok(section.startsWith(DEPTH_BEGIN) && section.endsWith(DEPTH_END));
  const once = replaceSection(readme, section, DEPTH_MARKERS);
  assert.match(once, `${README_BEGIN}\nresults stay\n${README_END}`);
  assert.match(once, '−1.3 pp (95% CI [−4.2 pp, +1.5 pp])');
  assert.is(replaceSection(once, depthReadmeSection(dir, 'npx tsx scripts/depth-study.ts --readme'), DEPTH_MARKERS), once, 'rewriting changes nothing');
  assert.throws(() => replaceSection(`${DEPTH_END}\n${DEPTH_BEGIN}`, section, DEPTH_MARKERS), /broken depth study section/);
});

chromiumTest(t, 'report.html: every chart mounts in Chromium', () => {
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const specs = JSON.parse(html.match(/<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/)![1]);
  assert.is((dumpDom(join(dir, 'report.html')).match(/class="uplot/g) ?? []).length, specs.length, 'every chart mounted');
});

t('refuses a missing folder, a folder with no records, and a depth holding a report without records', () => {
  assert.throws(() => depthStudy(join(root, 'nowhere')), /does not exist/);
  const empty = join(root, 'empty');
  mkdirSync(join(empty, 'L2'), { recursive: true });
  assert.throws(() => writeDepthReport(empty), /no records in .*L2\/runs\/ hold no \*\.jsonl.*nothing was written/);
  mkdirSync(join(root, 'bare'));
  assert.throws(() => writeDepthReport(join(root, 'bare')), /no L<n>\/ folder/);
  const lost = join(root, 'lost');
  mkdirSync(join(lost, 'L2'), { recursive: true });
  writeFileSync(join(lost, 'L2', 'summary.md'), '# a report\n');
  assert.throws(() => writeDepthReport(lost), /holds a report but not the records/);
  assert.is(readFileSync(join(lost, 'L2', 'summary.md'), 'utf8'), '# a report\n');
});

t('the CLI writes the report and the README section, and refuses an empty folder with exit 1', () => {
  const readme = join(root, 'README.md');
  writeFileSync(readme, '# x\n');
  execFileSync('npx', ['tsx', 'scripts/depth-study.ts', '--report', dir, '--readme', readme], { stdio: 'pipe' });
  assert.match(readFileSync(readme, 'utf8'), `${DEPTH_BEGIN}\n## Depth study`);
  let err = '';
  try {
    execFileSync('npx', ['tsx', 'scripts/depth-study.ts', '--report', join(root, 'bare')], { stdio: 'pipe' });
  } catch (e: any) {
    err = String(e.stderr);
    assert.is(e.status, 1);
  }
  assert.match(err, /error: depth-study: no records/);
});

t.run();
