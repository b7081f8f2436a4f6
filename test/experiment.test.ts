// The experiment pipeline (scripts/experiment.ts): the --quick grid runs into a temp folder and
// every output is checked for its files, fields and well-formed numbers — not for its results.
// Resume is checked too (a rerun runs nothing; a deleted job file reruns only that job; a job file
// from other settings is refused), and the statistics against hand-computed references.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PHASES } from '../train/schema.js';
import { finishedJobs, runGrid, type GridRun } from '../scripts/experiment/grid.js';
import { jobs, quickGrid, type GridOptions } from '../scripts/experiment/plan.js';
import { readJob, type JobResult } from '../scripts/experiment/records.js';
import { readmeSection, replaceSection, README_BEGIN, README_END } from '../scripts/experiment/report.js';
import { bootstrapInterval, entropyStats, tInterval } from '../scripts/experiment/stats.js';
import { passKs } from '../train/metrics.js';
import { encode } from '../verify/index.js';
import { chromiumTest, dumpDom } from './chromium.js';
import { testRuntime } from './gpu.js';

const t = suite('experiment');
const out = mkdtempSync(join(tmpdir(), 'forkgrad-experiment-'));
t.after(() => rmSync(out, { recursive: true, force: true }));

// Its own SFT cache: the test trains the quick base itself and writes nothing into the working tree.
const grid = (): GridOptions => ({ ...quickGrid(), out, cacheRoot: join(out, 'cache') });
const meta = { command: 'test', adapter: 'test', invocations: [] };
const quiet = { log: () => {} };
let first: GridRun;

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const unit = (x: unknown) => finite(x) && (x as number) >= 0 && (x as number) <= 1;

t('--quick runs every job of the grid and writes runs/, summary.md, report.html, grid.json', async () => {
  const rt = await testRuntime();
  const g = grid();
  first = await runGrid(rt, g, meta, quiet);
  const names = jobs(g).map((j) => j.name);
  assert.is(names.length, 1 + 7 * g.seeds);
  assert.equal(first.ran, names);
  assert.equal(readdirSync(join(out, 'runs')).sort(), names.map((n) => `${n}.jsonl`).sort());
  for (const f of ['summary.md', 'report.html', 'grid.json']) assert.ok(existsSync(join(out, f)), f);
  assert.is(JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')).jobs, names.length);
});

t('every arm job has its steps, curve, final pass@k, cost; first seeds add entropy; (c) the decoding study', () => {
  const g = grid();
  for (const job of jobs(g)) {
    const r: JobResult = readJob(join(out, 'runs', `${job.name}.jsonl`));
    assert.is(r.job.name, job.name);
    assert.ok(r.final && r.cost, `${job.name}: final and cost records`);
    const f = r.final!;
    assert.equal(f.passAtK.map((p) => p.k), passKs(f.samples));
    assert.ok(f.passAtK.every((p) => unit(p.passAtK)), `${job.name}: pass@k in [0, 1]`);
    assert.ok(f.passAtK.every((p, i, xs) => i === 0 || p.passAtK >= xs[i - 1].passAtK - 1e-12), `${job.name}: pass@k non-decreasing in k`);
    assert.is(f.correct.length, g.problems);
    assert.ok(f.correct.every((c) => Number.isInteger(c) && c >= 0 && c <= f.samples));
    assert.ok(unit(f.greedyAccuracy) && f.greedyProblems === g.greedyProblems);
    if (job.kind === 'base') {
      assert.is(f.samples, g.passKSamples);
      assert.ok(r.entropy, 'the base has entropy statistics');
      continue;
    }
    assert.is(r.job.arm, job.arm.id);
    assert.is(r.steps.length, g.steps);
    for (const s of r.steps) {
      assert.ok(PHASES.every((p) => finite(s.flops[p]) && s.flops[p] >= 0 && finite(s.ms[p])), `${job.name} step ${s.step}: FLOPs and ms per phase`);
      assert.ok(unit(s.reward) && finite(s.entropyMean) && s.selected > 0 && s.selected <= s.responseTokens);
      if (job.arm.id === 'd') assert.ok(finite(s.gradCosine) && Math.abs(s.gradCosine!) <= 1 + 1e-6, `(d) logs the gradient cosine`);
      else assert.is(s.gradCosine, null);
    }
    // ρ = 1 arms train on every response token; the top-ρ arms on ⌈ρ·n⌉; bottom on the rest.
    const s0 = r.steps[0];
    const top = Math.ceil(g.rho * s0.responseTokens - 1e-9);
    const want = { a: s0.responseTokens, f: s0.responseTokens, e: s0.responseTokens - top }[job.arm.id as 'a' | 'f' | 'e'] ?? top;
    assert.is(s0.selected, want, `${job.name}: selected rows`);
    assert.equal(r.curve.map((c) => c.step), [g.evalEvery, g.steps]);
    assert.ok(r.curve.every((c) => unit(c.pass1) && c.flops > 0 && c.backwardFlops > 0 && c.backwardFlops < c.flops));
    assert.ok(r.curve[0].flops < r.curve[1].flops, 'cumulative FLOPs grow');
    const total = PHASES.reduce((a, p) => a + r.cost!.flops[p], 0);
    assert.ok(Math.abs(total - r.curve[1].flops) <= 1e-6 * total, 'the last curve point carries the run\'s training FLOPs');
    assert.ok(r.cost!.trainSeconds > 0 && r.cost!.evalSeconds > 0);
    assert.is(f.samples, job.passK ? g.passKSamples : g.finalSamples);
    assert.is(!!r.entropy, job.passK);
    assert.is(r.decoding.length, job.decoding ? g.forkTemperatures.length * g.otherTemperatures.length : 0);
    for (const d of r.decoding) assert.ok(unit(d.pass1) && (d.pass16 === null || unit(d.pass16)));
    if (r.entropy) {
      const e = r.entropy;
      assert.ok(e.tokens > 0 && unit(e.shareBelowLow) && unit(e.shareForking) && finite(e.p80) && e.p80 >= 0);
      assert.ok(e.topForking.every((x) => x.count > 0 && unit(x.share) && x.contexts.length > 0));
    }
  }
  // The sparse backward does less backward work than the masked dense one on the same tokens.
  const cost = (n: string) => readJob(join(out, 'runs', `${n}.jsonl`)).cost!.flops.backward;
  assert.ok(cost('c-s1') < cost('b-s1') && cost('d-s1') < cost('c-s1'), 'backward FLOPs: fork-only < exact < dense');
});

t('summary.md, report.html and the README section are generated from the records', () => {
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  for (const id of 'abcdefg') assert.match(md, `| (${id}) `);
  assert.match(md, '## Headline');
  assert.match(md, /Exact sparse backward \(c\) against the masked dense backward \(b\): held-out pass@1 differs by [+−]\d+\.\d pp \(95% CI \[/);
  assert.match(md, /backward FLOPs 0\.\d+× \(95% CI/);
  assert.not.match(md, /NaN|undefined/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const specs = JSON.parse(html.match(/<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/)![1]);
  assert.equal(specs.map((s: { id: string }) => s.id), ['curve', 'pareto', 'pareto-backward', 'pass-at-k', 'backward-ms', 'cosine']);
  for (const s of specs) assert.is(s.data.length, s.opts.series.length, `${s.id}: one data row per series`);
  assert.not.match(html, /https?:\/\//);
  const section = readmeSection(out, 'npm run experiment -- --readme');
  assert.ok(section.startsWith(README_BEGIN) && section.endsWith(README_END));
  assert.match(section, '| (c) top-20%, exact sparse backward |');
  const readme = `# x\n\ntext\n\n${README_BEGIN}\nold\n${README_END}\n\nmore\n`;
  assert.is(replaceSection(readme, section), `# x\n\ntext\n\n${section}\n\nmore\n`);
  assert.is(replaceSection('# x\n', section), `# x\n\n${section}\n`);
  assert.throws(() => replaceSection(`${README_END}\n${README_BEGIN}`, section), /markers/);
});

chromiumTest(t, 'report.html: every chart mounts in Chromium', () => {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const specs = JSON.parse(html.match(/<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/)![1]);
  const dom = dumpDom(join(out, 'report.html'));
  assert.is((dom.match(/class="uplot/g) ?? []).length, specs.length, 'every chart mounted in Chromium');
});

t('resume: a rerun runs nothing; a deleted job reruns alone; a job file from other settings is refused', async () => {
  const rt = await testRuntime();
  const g = grid();
  const path = join(out, 'runs', 'c-s2.jsonl');
  const before = statSync(path).mtimeMs;
  assert.equal((await runGrid(rt, g, meta, quiet)).ran, []);
  assert.is(statSync(path).mtimeMs, before);
  rmSync(join(out, 'runs', 'g-s2.jsonl'));
  assert.equal((await runGrid(rt, g, meta, quiet)).ran, ['g-s2']);
  assert.throws(() => finishedJobs({ ...g, steps: g.steps + 1 }), /a-s1\.jsonl was made by a grid with other settings.*--out/);
});

t('statistics: t interval, bootstrap, entropy statistics against hand-computed values', () => {
  // mean 2, sd 1, t(0.975, 2) = 4.302653: half-width 4.302653/√3
  const e = tInterval([1, 2, 3]);
  assert.ok(Math.abs(e.hi - 2 - 4.302653 / Math.sqrt(3)) < 1e-5 && Math.abs(e.lo - 2 + 4.302653 / Math.sqrt(3)) < 1e-5);
  assert.ok(Number.isNaN(tInterval([5]).lo));
  assert.equal(tInterval([0.9, 1], [-1, 1]).hi, 1);
  const b = bootstrapInterval([1, 2, 3, 4, 5, 6, 7, 8], (xs) => xs.reduce((a, x) => a + x, 0) / xs.length, 400, 3);
  assert.ok(b.mean === 4.5 && b.lo < 4.5 && b.hi > 4.5 && b.lo >= 1 && b.hi <= 8);
  // Two answers: "12" (H 0.9, 0.001, EOS 0.005) and "3" (H 0.001, EOS 0.8); threshold 0.672, low 0.01.
  const s = entropyStats([
    { problem: 0, prompt: '1+1=', ids: encode('12'), entropy: [0.9, 0.001, 0.005] },
    { problem: 1, prompt: '1+2=', ids: encode('3'), entropy: [0.001, 0.8] },
  ], { threshold: 0.672, low: 0.01, topTokens: 8, contexts: 3, bootstrapReps: 50, seed: 1 });
  assert.is(s.tokens, 5);
  assert.ok(Math.abs(s.shareBelowLow - 3 / 5) < 1e-12 && Math.abs(s.shareForking - 2 / 5) < 1e-12);
  assert.ok(Math.abs(s.p80 - 0.82) < 1e-12, `80th percentile of [0.001, 0.001, 0.005, 0.8, 0.9] (linear interpolation) is 0.82, got ${s.p80}`);
  assert.equal(s.topForking.map((x) => [x.token, x.count, x.contexts[0]]), [['1', 1, '1+1=[1]'], ['⏎', 1, '1+2=3[⏎]']]);
  // Successors: after the forking '1' comes a low token (run of 2: '2', EOS); after '2' a low EOS
  // (run 1); after '3' (low) the forking EOS (run 0).
  assert.equal([s.follow.afterForking.n, s.follow.afterForking.low, s.follow.afterForking.meanRun], [1, 1, 2]);
  assert.equal([s.follow.afterOther.n, s.follow.afterOther.low, s.follow.afterOther.meanRun], [2, 1, 0.5]);
  assert.ok(Math.abs(s.follow.difference.mean - 0.5) < 1e-12);
});

t.run();
