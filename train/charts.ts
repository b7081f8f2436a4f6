// Chart specs shared by the run report (train/report.ts) and the browser dashboard: plain functions
// from a run's metrics to uPlot options + aligned data arrays, plus the summary tables.
//
// The report inlines this file into an offline HTML page, bundled at build time by esbuild
// (scripts/build-charts.ts writes train/charts.bundle.js; the report test checks it is current).
// So nothing here may touch node: modules, and it builds its own bar paths instead of using
// uPlot.paths.bars (uPlot is the page's global, not bundled).
import type uPlot from 'uplot';
import { PHASES, type HeldOutEvalRecord, type Phase, type RlEvalMetrics, type RlStepRecord, type SftEvalRecord, type SftStepRecord } from './schema.js';

// ---- what the charts read of metrics.jsonl's records (train/schema.ts) ----

export { PHASES, type Phase };
/** An SFT step (runs from before gradNorm/skipped were logged have only these fields). */
export type SftStep = Pick<SftStepRecord, 'stage' | 'step' | 'loss' | 'lr' | 'tokens' | 'ms'>;
export type SftEval = SftEvalRecord;
/** An RL step without its rollout samples (the page's token view reads those, no chart does);
 * runs from before entropy histograms and the non-finite guard lack those fields. */
export type RlStep = Omit<RlStepRecord, 'samples' | 'entropyHistogram' | 'gradNorm' | 'skipped'> & Partial<Pick<RlStepRecord, 'entropyHistogram' | 'gradNorm' | 'skipped'>>;
/** A held-out evaluation during or after RL: the final (and base) records carry pass@k; those during
 * RL carry greedy accuracy and, since it was recorded, the sampled pass@1 (RlEvalMetrics). */
export type HeldOutEval = HeldOutEvalRecord & Pick<RlEvalMetrics, 'sampled'>;

/** A run's records, sorted by kind. Plain JSON, so the report can inline it as is. */
export interface RunData {
  sftSteps: SftStep[];
  sftEvals: SftEval[];
  rlSteps: RlStep[];
  /** held-out evaluations during/after RL, in file order */
  evals: HeldOutEval[];
  /** the SFT base's held-out numbers (the last sft-base-eval record) */
  baseEval: HeldOutEval | null;
  /** records of no known kind (counted, so the report can say so instead of dropping them silently) */
  unknown: number;
}

export function collectRun(records: readonly any[]): RunData {
  const run: RunData = { sftSteps: [], sftEvals: [], rlSteps: [], evals: [], baseEval: null, unknown: 0 };
  for (const r of records) {
    if (r?.stage === 'sft' && typeof r.loss === 'number') run.sftSteps.push(r);
    else if (r?.stage === 'sft' && typeof r.heldoutAccuracy === 'number') run.sftEvals.push(r);
    else if (r?.stage === 'rl' && typeof r.reward === 'number') {
      // The rollout samples (prompt, answer, per-token entropy) feed the page's token view, not a
      // chart: leaving them out keeps report.html from inlining every step's batch.
      const { samples: _samples, ...step } = r;
      run.rlSteps.push(step);
    }
    else if (r?.stage === 'eval') run.evals.push(r);
    else if (r?.stage === 'sft-base-eval') run.baseEval = r;
    else run.unknown++;
  }
  return run;
}

// ---- formatting ----

export const LN2 = Math.LN2;
const fin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const pct = (v: unknown, digits = 1) => (fin(v) ? `${(v * 100).toFixed(digits)}%` : '—');
export const fixed = (v: unknown, digits = 4) => (fin(v) ? v.toFixed(digits) : '—');
/** 1234567 → "1.23 M" */
export function si(v: unknown, unit = ''): string {
  if (!fin(v)) return '—';
  const a = Math.abs(v);
  const [d, p] = a >= 1e15 ? [1e15, 'P'] : a >= 1e12 ? [1e12, 'T'] : a >= 1e9 ? [1e9, 'G'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${+(v / d).toPrecision(3)} ${p}${unit}`.trim();
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + (fin(b) ? b : 0), 0);

// ---- chart specs ----

/** A drawable chart, or the note that replaces it when the run has no records of its kind. */
export interface Chart { id: string; title: string; caption: string; opts?: uPlot.Options; data?: uPlot.AlignedData; note?: string }

const COLORS = {
  reward: '#1f77b4', heldout: '#d62728', base: '#7f7f7f', sft: '#2ca02c', sampled: '#17becf',
  rollout: '#9467bd', forward: '#2ca02c', backward: '#ff7f0e', optimizer: '#8c564b', hist: '#4c78a8',
};
const W = 900, H = 280;
const xLinear = { x: { time: false } } as const;
const axis = (label: string, values?: (v: number) => string): uPlot.Axis => ({
  label, values: values ? (_u, splits) => splits.map((v) => (v == null ? '' : values(v))) : undefined,
});
/** Tick steps for integer axes (RL/SFT steps): uPlot would otherwise tick at 2.5, 7.5, … */
const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000];
const stepAxis = (label: string): uPlot.Axis => ({ label, incrs: INT_INCRS });
const line = (label: string, stroke: string, extra: Partial<uPlot.Series> = {}): uPlot.Series =>
  ({ label, stroke, width: 2, spanGaps: true, value: (_u, v) => fixed(v, 4), ...extra });

/** Sorted union of x values, and each series' y on it (null where a series has no point). */
export function align(series: [number, number | null][][]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.map(([x]) => x)))].sort((a, b) => a - b);
  const at = series.map((s) => new Map(s));
  return [xs, ...at.map((m) => xs.map((x) => (m.has(x) ? m.get(x)! : null)))];
}

/**
 * Filled rectangles for a bar series: bar i spans x0(i)..x1(i) (data units; by default centred on
 * x with 70% of the smallest spacing) and y from lower(i) to the series value (stacking).
 */
function barPaths(lower: (i: number) => number, span?: (i: number) => [number, number]): uPlot.Series.PathBuilder {
  return (u, sidx, i0, i1) => {
    const xs = u.data[0], ys = u.data[sidx];
    const scale = u.series[sidx].scale ?? 'y';
    let gap = Infinity;
    for (let i = i0 + 1; i <= i1; i++) gap = Math.min(gap, u.valToPos(xs[i], 'x', true) - u.valToPos(xs[i - 1], 'x', true));
    const w = Number.isFinite(gap) ? Math.max(1, 0.7 * gap) : 0.05 * u.bbox.width;
    const fill = new Path2D();
    for (let i = i0; i <= i1; i++) {
      const y = ys[i];
      if (y == null) continue;
      const [a, b] = span ? span(i).map((x) => u.valToPos(x, 'x', true)) : [u.valToPos(xs[i], 'x', true) - w / 2, u.valToPos(xs[i], 'x', true) + w / 2];
      const top = u.valToPos(y, scale, true), bottom = u.valToPos(lower(i), scale, true);
      fill.rect(a, Math.min(top, bottom), Math.max(1, b - a - 1), Math.abs(bottom - top));
    }
    return { stroke: fill, fill };
  };
}

/** x padded by half a step on each side so edge bars are not cut in half. */
const padX = (xs: number[]) => ({
  x: { time: false, range: (): uPlot.Range.MinMax => {
    const step = xs.length > 1 ? (xs[xs.length - 1] - xs[0]) / (xs.length - 1) : 1;
    return [xs[0] - step / 2, xs[xs.length - 1] + step / 2];
  } },
});

export function rlRewardChart(run: RunData): Chart {
  const c: Chart = { id: 'rl-reward', title: 'RL reward, held-out accuracy and sampled pass@1', caption: '' };
  if (!run.rlSteps.length) return { ...c, note: 'No RL step records (an SFT-only run): no reward to plot.' };
  const reward = run.rlSteps.map((r) => [r.step, r.reward] as [number, number | null]);
  const held = run.evals.map((e) => [e.step, e.greedyAccuracy] as [number, number | null]);
  const series: [number, number | null][][] = [reward, held];
  const s: uPlot.Series[] = [{ label: 'RL step' }, line('mean batch reward', COLORS.reward), line('held-out greedy accuracy', COLORS.heldout, { points: { show: true, size: 6 } })];
  if (run.baseEval) {
    // the base is one number: a flat dashed line across every step plotted
    series.push([...reward, ...held].map(([x]) => [x, run.baseEval!.greedyAccuracy]));
    s.push(line('SFT base held-out accuracy', COLORS.base, { dash: [6, 4], width: 1.5, points: { show: false } }));
  }
  // Sampled pass@1 at the same evaluations (greedy accuracy sits at its ceiling on the default task;
  // sampled pass@1 is what RL moves). Runs written before it existed have none: no series, no claim.
  const sampled = run.evals.flatMap((e) => (e.sampled ? [e.sampled] : []));
  if (sampled.length) {
    series.push(run.evals.flatMap((e) => (e.sampled ? [[e.step, e.sampled.pass1] as [number, number]] : [])));
    s.push(line('held-out sampled pass@1', COLORS.sampled, { points: { show: true, size: 6 } }));
    const base1 = run.baseEval?.passAtK?.find((p) => p.k === 1);
    if (base1) {
      series.push([...reward, ...held].map(([x]) => [x, base1.passAtK]));
      s.push(line('SFT base sampled pass@1', COLORS.sampled, { dash: [2, 3], width: 1.5, points: { show: false } }));
    }
  }
  const last = sampled[sampled.length - 1];
  c.caption = `Mean reward of each RL batch and greedy exact-match accuracy on held-out problems (${held.length} evaluations` +
    `${run.evals.length ? `, ${run.evals[run.evals.length - 1].problems} problems each` : ''})` +
    (last ? `; sampled pass@1 at the same steps from ${last.samples} samples on each of ${last.problems} problems at temperature ${last.temperature}` +
      `${run.baseEval?.passAtK?.length ? ` (the SFT base's from its ${run.baseEval.samples} pass@k samples)` : ''}.` : '.');
  return { ...c, data: align(series), opts: { width: W, height: H, scales: xLinear, series: s, axes: [stepAxis('RL step'), axis('reward / accuracy', (v) => v.toFixed(2))] } };
}

export function sftAccuracyChart(run: RunData): Chart {
  const c: Chart = { id: 'sft-accuracy', title: 'SFT held-out accuracy', caption: '' };
  if (!run.sftEvals.length) return { ...c, note: 'No SFT evaluation records (the SFT base was loaded, not trained, in this run).' };
  const last = run.sftEvals[run.sftEvals.length - 1];
  c.caption = `Greedy exact-match accuracy on ${last.problems} held-out problems during supervised training.`;
  return {
    ...c, data: align([run.sftEvals.map((e) => [e.step, e.heldoutAccuracy])]),
    opts: { width: W, height: H, scales: { ...xLinear, y: { range: [0, 1] } }, series: [{ label: 'SFT step' }, line('held-out greedy accuracy', COLORS.heldout, { points: { show: true, size: 6 } })], axes: [stepAxis('SFT step'), axis('accuracy', (v) => pct(v, 0))] },
  };
}

/** One line over SFT or RL steps, or a note when there are no points. */
function stepLineChart(c: Chart, stage: 'SFT' | 'RL', pts: [number, number][], label: string, color: string, yLabel: string, note: string): Chart {
  if (!pts.length) return { ...c, caption: '', note };
  return {
    ...c, data: align([pts]),
    opts: { width: W, height: H, scales: xLinear, series: [{ label: `${stage} step` }, line(label, color, { width: 1.5 })], axes: [stepAxis(`${stage} step`), axis(yLabel)] },
  };
}

export function sftLossChart(run: RunData): Chart {
  const c: Chart = { id: 'sft-loss', title: 'SFT loss', caption: 'Cross-entropy of the answer tokens (nats per token) at each supervised step.' };
  return stepLineChart(c, 'SFT', run.sftSteps.map((r) => [r.step, r.loss]), 'loss', COLORS.sft, 'loss (nats/token)',
    'No SFT step records (the SFT base was loaded, not trained, in this run).');
}

export function rlLossChart(run: RunData): Chart {
  const c: Chart = { id: 'rl-loss', title: 'RL loss', caption: 'Clipped policy-gradient loss of each RL step (its scale depends on the normalisation; the gradient, not the value, is what trains).' };
  return stepLineChart(c, 'RL', run.rlSteps.map((r) => [r.step, r.loss]), 'policy-gradient loss', COLORS.reward, 'loss', 'No RL step records (an SFT-only run).');
}

export function gradCosineChart(run: RunData): Chart {
  const c: Chart = { id: 'grad-cosine', title: 'Fork-only gradient: cosine to the exact gradient', caption: 'Each RL step, the fork-only backward\'s gradient (all parameters) against the exact sparse backward\'s on the same loss and batch; 1 = same direction.' };
  const pts = run.rlSteps.flatMap((r): [number, number][] => (r.gradCosine == null ? [] : [[r.step, r.gradCosine]]));
  return stepLineChart(c, 'RL', pts, 'cosine', COLORS.reward, 'cosine',
    'Not measured in this run (it needs --sparse_backward forkOnly --log_grad_cosine: one extra backward per step).');
}

export function entropyHistogramChart(run: RunData): Chart {
  const c: Chart = { id: 'entropy-histogram', title: 'Token entropy of the last rollout batch', caption: '' };
  const last = [...run.rlSteps].reverse().find((r) => r.entropyHistogram && r.entropyHistogram.counts.length);
  if (!last) return { ...c, note: 'No RL step record carries an entropy histogram.' };
  const h = last.entropyHistogram!;
  const edges = h.edges.map((e) => e / LN2); // people read bits; the run logs nats
  const thr = h.threshold / LN2;
  const total = sum(h.counts);
  c.caption = `Entropy of the next-token distribution at every response token of RL step ${last.step} (${total} tokens), in bits; ` +
    `the run logs nats (bits = nats / ln 2). Dashed line: the forking threshold, ${thr.toFixed(3)} bits = ${h.threshold.toFixed(3)} nats. ` +
    `That step trained on ${last.selected} of ${last.responseTokens} response tokens (${pct(last.selected / last.responseTokens)}); ` +
    `mean entropy ${fixed(last.entropyMean / LN2, 3)} bits (${fixed(last.entropyMean, 3)} nats).`;
  const counts = [...h.counts, null]; // the x data are the edges: one more than the bins
  const opts: uPlot.Options = {
    width: W, height: H,
    scales: { x: { time: false, range: [Math.min(edges[0], thr), Math.max(edges[edges.length - 1], thr * 1.05)] } },
    series: [
      { label: 'entropy from (bits)', value: (_u, v) => fixed(v, 3) },
      { label: 'tokens', stroke: COLORS.hist, fill: COLORS.hist + 'aa', points: { show: false }, paths: barPaths(() => 0, (i) => [edges[i], edges[i + 1]]), value: (_u, v) => (v == null ? '—' : String(v)) },
    ],
    axes: [axis('entropy (bits)', (v) => v.toFixed(2)), axis('tokens')],
    hooks: { draw: [(u) => drawThreshold(u, thr, `forking threshold ${thr.toFixed(2)} bits`)] },
  };
  return { ...c, data: [edges, counts], opts };
}

function drawThreshold(u: uPlot, x: number, label: string): void {
  const px = Math.round(u.valToPos(x, 'x', true));
  const dpr = (globalThis as any).devicePixelRatio || 1;
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = COLORS.heldout;
  ctx.lineWidth = 2 * dpr;
  ctx.setLineDash([6 * dpr, 4 * dpr]);
  ctx.beginPath();
  ctx.moveTo(px, u.bbox.top);
  ctx.lineTo(px, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.fillStyle = COLORS.heldout;
  ctx.font = `${12 * dpr}px sans-serif`;
  ctx.textAlign = 'left'; // uPlot leaves the axis labels' alignment on the shared context
  ctx.textBaseline = 'top';
  ctx.fillText(label, px + 6 * dpr, u.bbox.top + 4 * dpr);
  ctx.restore();
}

/** Backward FLOPs the run skipped, as a fraction of the analytic dense backward of the same batches. */
export function backwardSaved(run: RunData): { saved: number; backward: number; dense: number } {
  const backward = sum(run.rlSteps.map((r) => r.flops?.backward));
  const dense = sum(run.rlSteps.map((r) => r.denseBackwardFlops));
  return { saved: dense > 0 ? 1 - backward / dense : NaN, backward, dense };
}

/** Whole-step training FLOPs (all four phases) as a fraction of plain dense steps on the same batches
 * (RlStepRecord.denseStepFlops); NaN when the records predate that field. */
export function stepFlopsRatio(run: RunData): { ratio: number; measured: number; dense: number } {
  const steps = run.rlSteps.filter((r) => r.flops);
  if (!steps.length || steps.some((r) => !fin(r.denseStepFlops))) return { ratio: NaN, measured: NaN, dense: NaN };
  const measured = sum(steps.map((r) => PHASES.reduce((t, p) => t + r.flops[p], 0)));
  const dense = sum(steps.map((r) => r.denseStepFlops as number));
  return { ratio: dense > 0 ? measured / dense : NaN, measured, dense };
}

// Bottom to top: backward first, so the dense-backward line compares directly with its bar.
const STACK: readonly Phase[] = ['backward', 'forward', 'optimizer', 'rollout'];

function phaseChart(run: RunData, kind: 'flops' | 'ms'): Chart {
  const flops = kind === 'flops';
  const c: Chart = { id: flops ? 'flops' : 'gpu-time', title: flops ? 'FLOPs per phase per RL step' : 'GPU time per phase per RL step', caption: '' };
  const steps = run.rlSteps.filter((r) => r[kind]);
  if (!steps.length) return { ...c, note: `No RL step records with ${flops ? 'FLOP counts' : 'GPU times'}.` };
  const xs = steps.map((r) => r.step);
  const raw = STACK.map((p) => steps.map((r) => (fin(r[kind][p]) ? r[kind][p] : 0)));
  const tops: number[][] = [];
  raw.forEach((col, j) => tops.push(col.map((v, i) => v + (j ? tops[j - 1][i] : 0))));
  const fmt = (v: number) => (flops ? si(v, 'FLOP') : `${+v.toPrecision(3)} ms`);
  const series: uPlot.Series[] = [{ label: 'RL step' }];
  STACK.forEach((p, j) => series.push({
    label: p, stroke: COLORS[p], fill: COLORS[p] + 'cc', points: { show: false },
    paths: barPaths((i) => (j ? tops[j - 1][i] : 0)),
    value: (_u, _v, _s, i) => (i == null ? '—' : fmt(raw[j][i])), // the phase's own value, not the stack height
  }));
  const data: (number | null)[][] = [xs, ...tops];
  const totals = PHASES.map((p) => `${p} ${fmt(sum(steps.map((r) => r[kind][p])))}`).join(', ');
  if (flops) {
    const b = backwardSaved(run);
    series.push(line('backward if dense', COLORS.backward, { dash: [6, 4], width: 1.5, points: { show: false }, value: (_u, v) => fmt(v) }));
    data.push(steps.map((r) => (fin(r.denseBackwardFlops) ? r.denseBackwardFlops : null)));
    c.caption = `Stacked per step, backward at the bottom so the dashed line (analytic FLOPs of a dense backward on the same batch) compares with it directly. ` +
      `Backward FLOPs saved vs dense over the run: ${pct(b.saved)} (${si(b.backward, 'FLOP')} of ${si(b.dense, 'FLOP')}). ${wholeStepSentence(run)}Totals: ${totals}.`;
  } else {
    c.caption = `Stacked per step, GPU milliseconds per phase as the runtime measured them. Totals: ${totals}.`;
  }
  return { ...c, data: data as uPlot.AlignedData, opts: { width: W, height: H, scales: padX(xs), series, axes: [stepAxis('RL step'), { ...axis(flops ? 'FLOPs' : 'GPU ms', fmt), size: 70 }] } };
}
function wholeStepCell(run: RunData): string {
  const w = stepFlopsRatio(run);
  return fin(w.ratio) ? `${fixed(w.ratio, 3)}× (${si(w.measured, 'FLOP')} of ${si(w.dense, 'FLOP')}; rollout, forward, backward and optimizer)` : 'not recorded (a run from before whole-step accounting)';
}
function wholeStepSentence(run: RunData): string {
  const w = stepFlopsRatio(run);
  return fin(w.ratio) ? `Whole steps (rollout, forward, backward, optimizer): ${fixed(w.ratio, 3)}× the FLOPs of plain dense steps on the same batches (forward recomputed, dense backward). ` : '';
}
export const flopsChart = (run: RunData) => phaseChart(run, 'flops');
export const gpuTimeChart = (run: RunData) => phaseChart(run, 'ms');

export function passAtKChart(run: RunData): Chart {
  const c: Chart = { id: 'pass-at-k', title: 'pass@k on held-out problems', caption: '' };
  const final = [...run.evals].reverse().find((e) => e.passAtK?.length);
  const curves: [string, string, HeldOutEval][] = [];
  if (run.baseEval?.passAtK?.length) curves.push(['SFT base', COLORS.base, run.baseEval]);
  if (final) curves.push([`after RL (step ${final.step})`, COLORS.heldout, final]);
  if (!curves.length) return { ...c, note: 'No held-out evaluation with pass@k (eval or sft-base-eval records).' };
  const e = curves[curves.length - 1][2]; // intermediate evals are greedy-only: no passAtK, no samples
  c.caption = `Unbiased pass@k (Chen et al. 2021) from ${e.samples} samples per problem on ${e.problems} held-out problems; k on a log scale.`;
  return {
    ...c, data: align(curves.map(([, , ev]) => ev.passAtK.map((p) => [p.k, p.passAtK]))),
    opts: {
      width: W, height: H,
      scales: { x: { time: false, distr: 3, log: 2 }, y: { range: [0, 1] } },
      series: [{ label: 'k' }, ...curves.map(([label, color]) => line(label, color, { points: { show: true, size: 6 }, dash: color === COLORS.base ? [6, 4] : undefined }))],
      axes: [axis('k (log scale)', (v) => String(v)), axis('pass@k', (v) => pct(v, 0))],
    },
  };
}

// ---- drawing (shared by report.html and the browser page) ----

/**
 * Draws a chart into `el` at the element's width (uPlot's constructor is passed in: this file may
 * not import it at runtime, see above). Returns the plot, or null for a chart that is only a note.
 */
export function drawChart(UPlot: typeof uPlot, c: Chart, el: HTMLElement, height?: number): uPlot | null {
  if (!c.opts || !c.data) return null;
  return new UPlot({ ...c.opts, width: el.clientWidth || c.opts.width, height: height ?? c.opts.height }, c.data, el);
}

/** Keeps plots as wide as their elements when the window resizes. */
export function fitOnResize(plots: () => Iterable<[uPlot, HTMLElement]>): void {
  globalThis.addEventListener?.('resize', () => {
    for (const [u, el] of plots()) u.setSize({ width: el.clientWidth, height: u.height });
  });
}

/** Every chart in report order, in the five sections below. */
export const SECTIONS: { title: string; charts: ((run: RunData) => Chart)[] }[] = [
  { title: 'Reward and held-out accuracy', charts: [rlRewardChart, sftAccuracyChart] },
  { title: 'Loss per step', charts: [sftLossChart, rlLossChart] },
  { title: 'Forking tokens', charts: [entropyHistogramChart, gradCosineChart] },
  { title: 'Compute', charts: [flopsChart, gpuTimeChart] },
  { title: 'pass@k', charts: [passAtKChart] },
];

// ---- summary tables ----

export interface Table { title: string; head: string[]; rows: string[][] }

/** The final numbers, each computed from the records. */
export function summaryTables(run: RunData): Table[] {
  const out: Table[] = [];
  const final = run.evals[run.evals.length - 1];
  if (run.baseEval || final) {
    const b = run.baseEval, f = final;
    const ks = [...new Set([...(b?.passAtK ?? []), ...(f?.passAtK ?? [])].map((p) => p.k))].sort((x, y) => x - y);
    const pick = ks.length > 2 ? [ks[0], ks[ks.length - 1]] : ks;
    const pk = (e: HeldOutEval | undefined | null, k: number) => pct(e?.passAtK?.find((p) => p.k === k)?.passAtK);
    out.push({
      title: 'Held-out evaluation', head: ['', 'SFT base', f ? `final (RL step ${f.step})` : 'final'],
      rows: [
        ['greedy accuracy', pct(b?.greedyAccuracy), pct(f?.greedyAccuracy)],
        ...pick.map((k) => [`pass@${k}`, pk(b, k), pk(f, k)]),
        ['problems × samples', ...[b, f].map((e) => (e ? `${e.problems}${e.samples ? ` × ${e.samples}` : ' (greedy only)'}` : '—'))],
      ],
    });
  }
  if (run.sftSteps.length || run.sftEvals.length) {
    const s = run.sftSteps[run.sftSteps.length - 1], e = run.sftEvals[run.sftEvals.length - 1];
    out.push({
      title: 'SFT', head: ['', ''],
      rows: [
        ['steps', s ? String(s.step) : '—'],
        ['final loss', fixed(s?.loss)],
        ['final held-out accuracy', e ? `${pct(e.heldoutAccuracy)} on ${e.problems}` : '—'],
        ['tokens trained on', si(sum(run.sftSteps.map((r) => r.tokens)))],
      ],
    });
  }
  if (run.rlSteps.length) {
    const r = run.rlSteps, l = r[r.length - 1];
    const tail = r.slice(-Math.max(1, Math.ceil(r.length / 10)));
    const b = backwardSaved(run);
    const phaseSum = (k: 'flops' | 'ms') => PHASES.map((p) => `${p} ${k === 'flops' ? si(sum(r.map((x) => x.flops?.[p]))) : (sum(r.map((x) => x.ms?.[p])) / 1000).toFixed(1) + ' s'}`).join(', ');
    out.push({
      title: 'RL', head: ['', ''],
      rows: [
        ['steps', String(l.step)],
        ['final mean reward', `${fixed(l.reward, 3)} (last ${tail.length} steps: ${fixed(sum(tail.map((x) => x.reward)) / tail.length, 3)})`],
        ['final batch accuracy', pct(l.accuracy)],
        ['final mean token entropy', `${fixed(l.entropyMean / LN2, 3)} bits (${fixed(l.entropyMean, 3)} nats)`],
        ['tokens trained on / response tokens', `${sum(r.map((x) => x.selected))} / ${sum(r.map((x) => x.responseTokens))} (${pct(sum(r.map((x) => x.selected)) / sum(r.map((x) => x.responseTokens)))})`],
        ['backward FLOPs saved vs dense', pct(b.saved)],
        ['whole-step FLOPs vs plain dense steps', wholeStepCell(run)],
        ['FLOPs', phaseSum('flops')],
        ['GPU time', phaseSum('ms')],
      ],
    });
  }
  return out;
}
