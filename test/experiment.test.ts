// The experiment pipeline (scripts/experiment.ts): the --quick grid runs into a temp folder and
// every output is checked for its files, fields and well-formed numbers — not for its results.
// Resume is checked too (a rerun runs nothing; a deleted job file reruns only that job; a job file
// from other settings is refused), and the statistics against hand-computed references.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PHASES } from '../train/schema.js';
import { finishedJobs, runGrid, type GridRun } from '../scripts/experiment/grid.js';
import { jobs, quickGrid, type GridOptions } from '../scripts/experiment/plan.js';
import { readJob, type JobResult } from '../scripts/experiment/records.js';
import { readmeSection, replaceSection, writeReport, README_BEGIN, README_END } from '../scripts/experiment/report.js';
import { computeMatched, summarize, type ComputeAxis } from '../scripts/experiment/summary.js';
import { bootstrapInterval, entropyStats, firstReach, tInterval, valueAt } from '../scripts/experiment/stats.js';
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
  // the compute-matched comparison: in summary.md and the README section, its numbers well-formed
  assert.match(md, '## Compute-matched comparison');
  const levelsOf = /first reaches each level \(([^;]*);/.exec(md)?.[1];
  assert.ok(levelsOf, 'the note names the levels');
  // the quick grid's arms may not improve on its base; then there is no level to ask about, and the note says so
  if (!levelsOf.startsWith('none')) assert.match(md, /\| arm \| GFLOP to \d+\.\d% \| GPU s to \d+\.\d% \|/);
  assert.match(md, /pass@1 \(%\) at \d+\.\d GFLOP \(the total of \([a-g]\)\) \| pass@1 \(%\) at \d+\.\d GPU s \(the total of \([a-g]\)\)/);
  const s = summarize(new Map(jobs(grid()).map((j) => [j.name, readJob(join(out, 'runs', `${j.name}.jsonl`))])));
  // the records' own levels (none when the quick arms do not improve on their base), and levels
  // that some seed surely reaches: the lowest and the highest pass@1 any seed's curve has
  const ys = s.arms.flatMap((a) => a.seedCurves.flatMap((c) => c.flops.map((p) => p.y)));
  const cm = computeMatched(s, [Math.min(...ys), Math.max(...ys)]);
  assert.is(computeMatched(s).levels.length === 0, levelsOf.startsWith('none'), 'the note says "none" exactly when there are no levels');
  assert.ok(cm.reach.some((r) => r.need.flops[1].some((x) => x !== null)), 'the highest point is reached');
  assert.ok(cm.budget, 'a budget');
  const g = grid();
  for (const ax of ['flops', 'seconds'] as ComputeAxis[]) {
    const b = cm.budget![ax];
    const cheapest = s.arms.find((a) => a.id === b.arm)!;
    const totals = ax === 'flops' ? cheapest.trainingFlops : cheapest.trainingSeconds;
    assert.ok(finite(b.value) && b.value > 0 && Math.abs(b.value - totals.reduce((x, y) => x + y, 0) / totals.length) <= 1e-9 * b.value, `${ax}: budget is the cheapest arm's mean total`);
    for (const a of s.arms) {
      const own = ax === 'flops' ? a.trainingFlops : a.trainingSeconds;
      assert.ok(own.reduce((x, y) => x + y, 0) / own.length >= b.value * (1 - 1e-12), `${ax}: (${b.arm}) is the cheapest`);
    }
    for (const r of cm.reach) {
      assert.is(r.need[ax].length, cm.levels.length);
      for (const perSeed of r.need[ax]) {
        assert.is(perSeed.length, g.seeds);
        // a reached level costs between nothing and the run's total compute
        const arm = s.arms.find((a) => a.id === r.id)!;
        perSeed.forEach((x, i) => assert.ok(x === null || (finite(x) && x >= 0 && x <= arm.seedCurves[i][ax][arm.seedCurves[i][ax].length - 1].x * (1 + 1e-12)), `(${r.id}) ${ax}: ${x}`));
      }
    }
    for (const r of cm.atBudget) assert.ok(r.pass1[ax].length === g.seeds && r.pass1[ax].every(unit), `(${r.id}) ${ax}: pass@1 at the budget in [0, 1]`);
  }
  assert.ok(cm.levels.every(unit), 'levels are pass@1 values');
  const section = readmeSection(out, 'npm run experiment -- --readme');
  assert.match(section, '**Compute-matched comparison** (the same compute, which arm is best?). Compute is training compute');
  if (!levelsOf.startsWith('none')) assert.match(section, /\| arm \| GFLOP to /);
  assert.match(section, /\| arm \| pass@1 \(%\) at \d+\.\d GFLOP \(the total of \([a-g]\)\) \|/);
  assert.match(section, `raw records: the ${jobs(grid()).length} files of [\`${out}/runs/\`]`);
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

/** A finished arm job with the given curve (FLOPs; GPU ms = 100 × FLOPs) and total compute = its last point. */
function synthetic(arm: 'a' | 'd', seed: number, curve: [number, number][]): JobResult {
  const last = curve[curve.length - 1][0];
  const zero = { rollout: 0, forward: 0, backward: 0, optimizer: 0, diagnostic: 0 };
  return {
    job: { type: 'job', name: `${arm}-s${seed}`, key: '', arm, armLabel: arm, seed, rl: null, task: null, adapter: '', finishedAt: '' },
    steps: [], entropy: null, decoding: [],
    curve: curve.map(([flops, pass1], i) => ({ type: 'curve', step: i + 1, pass1, problems: 1, samples: 1, flops, backwardFlops: flops / 2, gpuMs: 100 * flops })),
    final: { type: 'final', step: curve.length, greedyAccuracy: 0, greedyProblems: 1, problems: 1, samples: 1, passAtK: [{ k: 1, passAtK: curve[curve.length - 1][1] }], correct: [0] },
    cost: { type: 'cost', flops: { ...zero, rollout: last }, gpuMs: { ...zero, rollout: 100 * last }, trainSeconds: 1, evalSeconds: 1 },
  };
}

t('compute-matched: compute to reach a level and pass@1 at the cheapest budget, against hand-computed values', () => {
  const pts = [{ x: 0, y: 0.5 }, { x: 10, y: 0.7 }, { x: 20, y: 0.9 }];
  assert.is(firstReach(pts, 0.4), 0);
  assert.ok(Math.abs(firstReach(pts, 0.65)! - 7.5) < 1e-12 && Math.abs(firstReach(pts, 0.85)! - 17.5) < 1e-12);
  assert.is(firstReach(pts, 0.95), null);
  assert.ok(Math.abs(valueAt(pts, 4)! - 0.58) < 1e-12 && valueAt(pts, 25) === 0.9 && valueAt(pts, -1) === null);
  // A curve that dips: the first crossing counts. (0, .5) (10, .8) (20, .6) (30, .9): 0.7 at 10·(0.2/0.3)
  assert.ok(Math.abs(firstReach([{ x: 0, y: 0.5 }, { x: 10, y: 0.8 }, { x: 20, y: 0.6 }, { x: 30, y: 0.9 }], 0.7)! - 20 / 3) < 1e-12);

  // SFT base pass@1 0.5 at zero compute. (a): seed 1 (10, .7) (20, .9); seed 2 (10, .6) (20, .8).
  // (d): seed 1 (2, .6) (4, .7); seed 2 (2, .7) (4, .8). GPU seconds are FLOPs / 10 throughout.
  const base: JobResult = { ...synthetic('a', 0, [[0, 0.5]]), job: { ...synthetic('a', 0, [[0, 0.5]]).job, name: 'base', arm: null, seed: null }, curve: [], cost: null };
  const all = [base, synthetic('a', 1, [[10, 0.7], [20, 0.9]]), synthetic('a', 2, [[10, 0.6], [20, 0.8]]), synthetic('d', 1, [[2, 0.6], [4, 0.7]]), synthetic('d', 2, [[2, 0.7], [4, 0.8]])];
  const s = summarize(new Map(all.map((r) => [r.job.name, r])));
  const cm = computeMatched(s, [0.65, 0.85]);
  const need = (id: string, ax: ComputeAxis) => cm.reach.find((r) => r.id === id)!.need[ax];
  const close = (got: (number | null)[][], want: (number | null)[][]) =>
    assert.ok(got.every((row, i) => row.every((x, j) => (x === null ? want[i][j] === null : Math.abs(x - want[i][j]!) < 1e-9))), `${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  // (a) seed 1: 0.65 at 7.5, 0.85 at 17.5; seed 2: 0.65 at 10 + 10·(0.05/0.2) = 12.5, never 0.85.
  close(need('a', 'flops'), [[7.5, 12.5], [17.5, null]]);
  close(need('a', 'seconds'), [[0.75, 1.25], [1.75, null]]);
  // (d) seed 1: 0.65 at 2 + 2·(0.05/0.1) = 3; seed 2: 2·(0.15/0.2) = 1.5; neither reaches 0.85.
  close(need('d', 'flops'), [[3, 1.5], [null, null]]);
  // cheapest: (d), 4 FLOPs (0.4 GPU s); at 4, (a) has 0.5 + 0.4·0.2 = 0.58 and 0.5 + 0.4·0.1 = 0.54.
  assert.equal(cm.budget, { flops: { arm: 'd', value: 4 }, seconds: { arm: 'd', value: 0.4 } });
  const at = (id: string, ax: ComputeAxis) => cm.atBudget.find((r) => r.id === id)!.pass1[ax];
  close([at('a', 'flops'), at('a', 'seconds'), at('d', 'flops')], [[0.58, 0.54], [0.58, 0.54], [0.7, 0.8]]);
  // the default levels: 50/75/90% of the way from 0.5 to the highest mean pass@1 on a curve (a's final: 0.85) → 0.675, 0.763 (0.7625 rounded), 0.815
  assert.equal(computeMatched(s).levels, [0.675, 0.763, 0.815]);
});

t('--readme and --report refuse a report folder without its records (RECORDS.md), and rewrite nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-norecords-'));
  try {
    writeFileSync(join(dir, 'summary.md'), 'committed numbers\n');
    writeFileSync(join(dir, 'RECORDS.md'), 'lost\n');
    assert.throws(() => readmeSection(dir, 'npm run experiment -- --readme'), /holds a report but not the records.*RECORDS\.md/);
    assert.throws(() => writeReport(dir), /--report: .*RECORDS\.md.*nothing was rewritten/);
    assert.is(readFileSync(join(dir, 'summary.md'), 'utf8'), 'committed numbers\n');
    assert.not.ok(existsSync(join(dir, 'report.html')));
    // an empty folder (no report yet) still renders "no results yet"
    const fresh = join(dir, 'fresh');
    mkdirSync(fresh);
    assert.match(readmeSection(fresh, 'x'), 'No grid results in');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
