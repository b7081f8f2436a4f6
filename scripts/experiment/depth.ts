// The depth study (issue 16): one grid per model depth, each a normal grid folder <dir>/L<n>/
// (runs/*.jsonl, grid.json) made by scripts/experiment.ts --n_layer n, read together into one
// cross-depth report: <dir>/summary.md, <dir>/report.html and a README section between its own
// markers. Every number and sentence comes from the records through the grid's own summary and
// statistics (summarize, bySeed, computeMatched, tInterval); nothing here is typed in by hand but
// the study's plan (which depths, arms and seeds it asks for) and the seed's claims it is read against.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { paramCount, type GPTConfig } from '../../model/config.js';
import { align, fixed, pct } from '../../train/charts.js';
import { writeFileAtomic } from '../../train/files.js';
import { esc, jsonSafe, scriptSafe, uplotAssets } from '../../train/report.js';
import { arms as armList, type ArmId } from './arms.js';
import { jobs, type GridOptions } from './plan.js';
import type { EntropyRecord } from './records.js';
import {
  ARM_COLORS, BOOT, CSS, committedJobs, htmlTable, lineSeries, readMeta, type ChartSpec, type GridMeta, type SectionMarkers,
} from './report.js';
import { tInterval, significant, type Estimate } from './stats.js';
import {
  budgetTable, bySeed, comparisonSentence, computeMatched, computeMatchedNote, COMPUTE_AXES, estimateText, followSentence, markdownTable, phaseTable, reachTable, summarize,
  type ArmSummary, type Comparison, type ComputeAxis, type ComputeMatched, type Summary,
} from './summary.js';

export const DEPTH_BEGIN = '<!-- depth:begin -->';
export const DEPTH_END = '<!-- depth:end -->';
export const DEPTH_MARKERS: SectionMarkers = { begin: DEPTH_BEGIN, end: DEPTH_END, name: 'depth study' };

/** What the study asks for (issue 16): these depths, these arms at every depth (masked dense (b) on one), ≥ this many seeds. */
export interface StudyPlan { depths: number[]; arms: ArmId[]; seeds: number }
export const STUDY: StudyPlan = { depths: [2, 4, 8], arms: ['a', 'c', 'd'], seeds: 3 };
/** The arms the cross-depth tables have columns for. */
export const DEPTH_ARMS: readonly ArmId[] = ['a', 'b', 'c', 'd'];
/** The seed's picture, from the 80/20 paper: over half of the tokens below 0.01 nats, about 20% at or above the forking threshold. */
export const SEED_CLAIMS = { belowLow: 0.5, forking: 0.2 };

/** c and d against a (ratios paired by seed), the compute the sparse arms save. */
export type Ratios = Record<'backwardFlops' | 'stepFlops' | 'backwardSeconds' | 'stepSeconds', Partial<Record<'c' | 'd', Estimate>>>;

export interface Depth {
  folder: string;
  layers: number;
  /** from grid.json's model, null when the folder has no grid.json */
  params: number | null;
  meta: GridMeta | null;
  s: Summary;
  /** planned job names not finished, and notes on a plan below the study's */
  missing: string[];
  notes: string[];
  pass1: Partial<Record<ArmId, Estimate>>;
  /** paired by seed: fork-only − exact, exact − all tokens, masked dense − exact */
  diffs: { dc: Estimate | null; ca: Estimate | null; bc: Estimate | null };
  ratios: Ratios;
  cosine: Estimate | null;
  cm: ComputeMatched;
  entropy: EntropyRecord | null;
}

export interface DepthStudy { dir: string; plan: StudyPlan; depths: Depth[]; absent: number[]; tasks: string[] }

const FOLDER = /^L(\d+)$/;

/** The L<n> subfolders of dir, by depth. */
function depthFolders(dir: string): { folder: string; layers: number }[] {
  return readdirSync(dir)
    .filter((f) => FOLDER.test(f) && statSync(join(dir, f)).isDirectory())
    .map((f) => ({ folder: f, layers: Number(FOLDER.exec(f)![1]) }))
    .sort((x, y) => x.layers - y.layers);
}

const arm = (s: Summary, id: ArmId) => s.arms.find((a) => a.id === id) ?? null;
const pair = (x: ArmSummary | null, y: ArmSummary | null, pick: (v: ArmSummary) => number[], ratio: boolean) => (x && y ? bySeed(x, y, pick, ratio) : null);

function depth(dir: string, folder: string, layers: number, plan: StudyPlan): Depth {
  const out = join(dir, folder);
  const meta = readMeta(out);
  const s = summarize(committedJobs(out, 'depth-study'), meta?.jobs ?? null);
  const g = meta?.options as GridOptions | undefined;
  if (g?.model && g.model.nLayer !== layers) throw new Error(`${out}/grid.json says n_layer ${g.model.nLayer}, but the folder is named for ${layers} layers; rename the folder or rerun the grid with --n_layer ${layers}`);
  let params: number | null = null;
  try { params = g?.model ? paramCount(g.model as GPTConfig) : null; } catch { params = null; }
  const notes: string[] = [];
  let planned: string[];
  if (g) {
    planned = jobs(g).map((j) => j.name);
    const lacking = plan.arms.filter((a) => !g.arms.includes(a));
    if (lacking.length) notes.push(`its grid does not plan arm${lacking.length > 1 ? 's' : ''} ${lacking.map((a) => `(${a})`).join(', ')}`);
    if (g.seeds < plan.seeds) notes.push(`its grid plans ${g.seeds} seed${g.seeds === 1 ? '' : 's'}, the study ≥ ${plan.seeds}`);
  } else {
    // no grid.json: checked against the study's plan (the grid's seeds start at 1)
    notes.push(`no grid.json: checked against the study's plan (arms ${plan.arms.join('')}, seeds 1…${plan.seeds})`);
    planned = ['base', ...Array.from({ length: plan.seeds }, (_, i) => plan.arms.map((a) => `${a}-s${i + 1}`)).flat()];
  }
  const missing = planned.filter((n) => !s.jobs.has(n));
  const [a, b, c, d] = (['a', 'b', 'c', 'd'] as const).map((id) => arm(s, id));
  const p1 = (v: ArmSummary) => v.pass1;
  const ratio = (x: ArmSummary | null, pick: (v: ArmSummary) => number[]) => pair(x, a, pick, true) ?? undefined;
  const ratios = (pick: (v: ArmSummary) => number[]) => ({ c: ratio(c, pick), d: ratio(d, pick) });
  return {
    folder, layers, params, meta, s, missing, notes,
    pass1: Object.fromEntries(s.arms.map((x) => [x.id, tInterval(x.pass1, [0, 1])])),
    diffs: { dc: pair(d, c, p1, false), ca: pair(c, a, p1, false), bc: pair(b, c, p1, false) },
    ratios: {
      backwardFlops: ratios((v) => v.backwardFlops), stepFlops: ratios((v) => v.trainingFlops),
      backwardSeconds: ratios((v) => v.backwardSeconds), stepSeconds: ratios((v) => v.trainingSeconds),
    },
    cosine: d && d.gradCosine.length ? tInterval(d.gradCosine, [-1, 1]) : null,
    cm: computeMatched(s),
    entropy: s.base?.entropy ?? null,
  };
}

/**
 * Reads every L<n>/ folder of dir. Refuses a dir that does not exist or holds no records at all,
 * and (through committedJobs) a depth folder holding a report but not its records.
 */
export function depthStudy(dir: string, plan: StudyPlan = STUDY): DepthStudy {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`depth-study: ${dir}/ does not exist; the study's grids write into ${dir}/L<n>/ (npx tsx scripts/experiment.ts --n_layer <n> --out ${dir}/L<n> …)`);
  const folders = depthFolders(dir);
  const depths = folders.map((f) => depth(dir, f.folder, f.layers, plan));
  if (!depths.some((x) => x.s.finished)) {
    throw new Error(`depth-study: no records in ${dir}/ (${folders.length ? `${folders.map((f) => `${f.folder}/runs/`).join(', ')} hold no *.jsonl` : 'no L<n>/ folder'}); nothing was written. Run the grids first (npx tsx scripts/experiment.ts --n_layer <n> --out ${dir}/L<n> …), or commit their records`);
  }
  const tasks = [...new Set(depths.filter((x) => x.s.finished).map((x) => JSON.stringify(x.s.task)))];
  return { dir, plan, depths, absent: plan.depths.filter((n) => !folders.some((f) => f.layers === n)), tasks };
}

// ---- formatting ----

const pctPlain = (x: number) => (x * 100).toFixed(1);
const times = (x: number) => `${x.toFixed(3)}×`;
const layersText = (n: number) => `${n} layer${n === 1 ? '' : 's'}`;
const layerAdj = (n: number) => `${n}-layer`;
/** mean [lo, hi], or the mean with "no interval" when there are fewer than 2 values (never a zero-width interval). */
function cell(e: Estimate | null | undefined, f: (x: number) => string): string {
  if (!e || !e.n) return 'missing';
  return Number.isFinite(e.lo) ? `${f(e.mean)} [${f(e.lo)}, ${f(e.hi)}]` : `${f(e.mean)} (${e.n} seed${e.n === 1 ? '' : 's'}, no interval)`;
}
const ppCell = (e: Estimate | null) => (e ? estimateText(e, 'pp') : 'missing');
function sigCell(e: Estimate | null): string {
  if (!e) return '—';
  if (!Number.isFinite(e.lo)) return 'no interval';
  return significant(e) ? `yes (${e.mean > 0 ? 'higher' : 'lower'})` : 'no';
}

type Table = { head: string[]; rows: string[][] };

/** Depths, parameters, seeds finished and the final held-out pass@1 of each arm. */
export function accuracyTable(st: DepthStudy): Table {
  return {
    head: ['layers', 'parameters', ...DEPTH_ARMS.map((a) => `seeds (${a})`), 'SFT base pass@1 (%)', ...DEPTH_ARMS.map((a) => `pass@1 (${a}) (%)`)],
    rows: st.depths.map((d) => [String(d.layers), d.params === null ? 'not recorded' : d.params.toLocaleString('en-US'),
      ...DEPTH_ARMS.map((a) => { const x = arm(d.s, a); return x ? `${x.seeds.length} (${x.seeds.join(', ')})` : '0'; }),
      d.s.base?.final ? pctPlain(d.s.base.final.passAtK[0].passAtK) : 'missing',
      ...DEPTH_ARMS.map((a) => cell(d.pass1[a], pctPlain))]),
  };
}

/** The paired differences the issue asks for, per depth. */
export function differenceTable(st: DepthStudy): Table {
  return {
    head: ['layers', 'fork-only − exact (d − c)', 'significant', 'exact − all tokens (c − a)', 'significant', 'masked dense − exact (b − c)', 'significant'],
    rows: st.depths.map((d) => [String(d.layers), ppCell(d.diffs.dc), sigCell(d.diffs.dc), ppCell(d.diffs.ca), sigCell(d.diffs.ca), ppCell(d.diffs.bc), sigCell(d.diffs.bc)]),
  };
}

/** What (c) and (d) cost as a share of (a)'s, per depth, and the fork-only gradient's cosine. */
export function computeTable(st: DepthStudy): Table {
  const cols: [keyof Ratios, string][] = [['backwardFlops', 'backward FLOPs'], ['stepFlops', 'step FLOPs'], ['backwardSeconds', 'backward GPU time'], ['stepSeconds', 'step GPU time']];
  return {
    head: ['layers', ...cols.flatMap(([, l]) => [`${l} c/a`, `${l} d/a`]), 'fork-only gradient cosine to exact'],
    rows: st.depths.map((d) => [String(d.layers), ...cols.flatMap(([k]) => [cell(d.ratios[k].c, times), cell(d.ratios[k].d, times)]), cell(d.cosine, (x) => fixed(x, 3))]),
  };
}

const AXIS: Record<ComputeAxis, { unit: string; f: (x: number) => string }> = {
  flops: { unit: 'GFLOP', f: (x) => (x / 1e9).toFixed(1) },
  seconds: { unit: 'GPU s', f: (x) => x.toFixed(1) },
};

/** Per level: the arm whose seeds all reach it with the least mean compute (null: no arm on every seed). */
function cheapestToReach(cm: ComputeMatched, ax: ComputeAxis): { level: number; arm: ArmId | null; need: Estimate | null }[] {
  return cm.levels.map((level, i) => {
    let best: { arm: ArmId; need: Estimate } | null = null;
    for (const r of cm.reach) {
      const xs = r.need[ax][i];
      if (!xs.length || xs.some((x) => x === null)) continue;
      const e = tInterval(xs as number[], [0, Infinity]);
      if (!best || e.mean < best.need.mean) best = { arm: r.id, need: e };
    }
    return { level, arm: best?.arm ?? null, need: best?.need ?? null };
  });
}

/** Two rows per depth (FLOPs, GPU time): the cheapest arm's budget, each arm's pass@1 there, the cheapest arm to each level. */
export function matchedTable(st: DepthStudy): Table {
  const rows: string[][] = [];
  for (const d of st.depths) {
    if (!d.cm.budget) { rows.push([String(d.layers), '—', 'no arm finished', ...DEPTH_ARMS.map(() => 'missing'), '—']); continue; }
    for (const ax of COMPUTE_AXES) {
      const b = d.cm.budget[ax];
      const at = (id: ArmId) => { const r = d.cm.atBudget.find((x) => x.id === id); return r ? cell(tInterval(r.pass1[ax].filter(Number.isFinite), [0, 1]), pctPlain) : 'missing'; };
      const reach = cheapestToReach(d.cm, ax).map((x) => `${pctPlain(x.level)}%: ${x.arm ? `(${x.arm}) ${cell(x.need, AXIS[ax].f)}` : 'no arm on every seed'}`).join('; ');
      rows.push([String(d.layers), AXIS[ax].unit, `${AXIS[ax].f(b.value)} (${b.arm})`, ...DEPTH_ARMS.map(at), reach || 'no level: no arm improves on the base']);
    }
  }
  return { head: ['layers', 'compute', "budget: the cheapest arm's mean total", ...DEPTH_ARMS.map((a) => `pass@1 (${a}) at the budget (%)`), 'least compute to reach a pass@1 level (arm, mean [95% CI] over seeds)'], rows };
}

/** The SFT bases' entropy profile next to the seed's claims. */
export function entropyProfileTable(st: DepthStudy): Table {
  return {
    head: ['layers', 'answer tokens', `< low (seed: > ${pctPlain(SEED_CLAIMS.belowLow)}%)`, `≥ forking threshold (seed: ~${pctPlain(SEED_CLAIMS.forking)}%)`, 'threshold (nats)', 'P(next low | forking)', 'P(next low | other)', 'difference'],
    rows: st.depths.filter((d) => d.entropy).map((d) => {
      const e = d.entropy!;
      return [String(d.layers), String(e.tokens), `${pct(e.shareBelowLow)} (< ${e.low} nats)`, pct(e.shareForking), String(e.threshold), pct(e.follow.afterForking.p), pct(e.follow.afterOther.p), estimateText(e.follow.difference, 'pp')];
    }),
  };
}

// ---- sentences ----

/** What is missing: depths without a folder, planned jobs not finished, plans below the study's. */
export function missingLines(st: DepthStudy): string[] {
  const out: string[] = [];
  if (st.absent.length) out.push(`No grid folder for ${st.absent.map(layersText).join(', ')} (${st.absent.map((n) => `${st.dir}/L${n}/`).join(', ')}): not run yet.`);
  for (const d of st.depths) {
    const what = [...(d.missing.length ? [`${d.missing.length} planned job${d.missing.length === 1 ? '' : 's'} not finished (${d.missing.join(', ')})`] : []), ...d.notes];
    if (what.length) out.push(`${layersText(d.layers)} (${d.folder}/): ${what.join('; ')}.`);
    if (d.s.arms.length) {
      const few = DEPTH_ARMS.map((a) => arm(d.s, a)).filter((x): x is ArmSummary => x !== null && x.seeds.length < st.plan.seeds);
      if (few.length) out.push(`${layersText(d.layers)}: fewer than ${st.plan.seeds} seeds finished for ${few.map((x) => `(${x.id}) ${x.seeds.length}`).join(', ')}; their intervals are wider or absent.`);
    }
  }
  if (!st.depths.some((d) => arm(d.s, 'b'))) out.push('The masked dense arm (b) has not finished at any depth (the study asks for it at one).');
  if (st.tasks.length > 1) out.push(`The depths were run on different tasks (${st.tasks.join(', ')}): they are not comparable.`);
  return out;
}

/** How a ratio against (a) moves with depth: one sentence over the depths that have it. */
function trendSentence(st: DepthStudy, what: string, pick: (d: Depth) => Estimate | undefined): string | null {
  const pts = st.depths.map((d) => [d.layers, pick(d)] as const).filter((p): p is readonly [number, Estimate] => !!p[1] && p[1].n > 0);
  if (!pts.length) return null;
  // compared at the precision shown (0.1 pp), so float noise in equal savings reads as equal
  const saved = pts.map(([, e]) => Math.round((1 - e.mean) * 1000));
  const shape = pts.length < 2 ? '' : saved.every((x) => x === saved[0]) ? ': the same saving at every depth'
    : saved.every((x, i) => i === 0 || x < saved[i - 1]) ? ': the saving shrinks with depth'
      : saved.every((x, i) => i === 0 || x > saved[i - 1]) ? ': the saving grows with depth' : ': the saving does not move one way with depth';
  return `${what}: ${pts.map(([n, e]) => `${times(e.mean)} at ${layersText(n)} (${e.mean <= 1 ? `saves ${pctPlain(1 - e.mean)}%` : `costs ${pctPlain(e.mean - 1)}% more`})`).join(', ')}${shape}.`;
}

/** Generated sentences: the paired differences per depth, the savings across depths, the cosine, the compute-matched reading, the bases' entropy. */
export function studyLines(st: DepthStudy): string[] {
  const out: string[] = [];
  const comparison = (d: Depth, e: Estimate | null, a: ArmId, b: ArmId, what: string) => {
    if (!e) return;
    const c: Comparison = { what, a, b, metric: 'final held-out pass@1', estimate: e, unit: 'pp' };
    out.push(`At ${layersText(d.layers)}, ${what}: ${comparisonSentence(c)}`);
  };
  for (const d of st.depths) {
    comparison(d, d.diffs.dc, 'd', 'c', 'fork-only − exact');
    comparison(d, d.diffs.ca, 'c', 'a', 'exact − all tokens');
    comparison(d, d.diffs.bc, 'b', 'c', 'masked dense − exact');
  }
  const sig = st.depths.filter((d) => d.diffs.dc && significant(d.diffs.dc));
  const withDc = st.depths.filter((d) => d.diffs.dc && Number.isFinite(d.diffs.dc.lo));
  if (withDc.length) out.push(`Fork-only − exact differs significantly at ${sig.length ? sig.map((d) => `${layersText(d.layers)} (${d.diffs.dc!.mean > 0 ? 'fork-only higher' : 'fork-only lower'})`).join(', ') : 'no depth'} of the ${withDc.length} depth${withDc.length === 1 ? '' : 's'} with an interval (${withDc.map((d) => d.layers).join(', ')} layers).`);
  for (const [k, l] of [['backwardFlops', 'Backward FLOPs'], ['stepFlops', 'Whole-step FLOPs (rollout included)'], ['stepSeconds', 'Whole-step GPU time']] as const) {
    for (const [id, name] of [['c', 'exact sparse (c)'], ['d', 'fork-only (d)']] as const) {
      const s = trendSentence(st, `${l} of ${name} as a share of all tokens' (a)`, (d) => d.ratios[k][id]);
      if (s) out.push(s);
    }
  }
  // (a) and (b) run the same dense step on the same batch sizes (equal FLOPs), so their GPU-time
  // ratio measures how much the machine itself moved GPU time during the grid (other processes,
  // clock changes), the noise floor of every GPU-time comparison at that depth.
  for (const d of st.depths) {
    const [a, b] = [arm(d.s, 'a'), arm(d.s, 'b')];
    const same = pair(b, a, (v) => v.trainingSeconds, true);
    if (!same) continue;
    const flops = pair(b, a, (v) => v.trainingFlops, true);
    out.push(`At ${layersText(d.layers)}, (a) and (b) do the same dense work (training FLOPs b/a ${flops ? times(flops.mean) : '?'}), yet their training GPU time b/a is ${estimateText(same, 'ratio')}: GPU-time comparisons at this depth carry noise of that size from the machine; the FLOP ratios do not.`);
  }
  const cos = st.depths.filter((d) => d.cosine);
  if (cos.length) out.push(`The fork-only gradient's mean cosine to the exact gradient: ${cos.map((d) => `${fixed(d.cosine!.mean, 3)} at ${layersText(d.layers)}`).join(', ')}.`);
  for (const d of st.depths) {
    if (!d.cm.budget || d.s.arms.length < 2) continue;
    for (const ax of COMPUTE_AXES) {
      const b = d.cm.budget[ax];
      const at = d.cm.atBudget.map((r) => ({ id: r.id, e: tInterval(r.pass1[ax].filter(Number.isFinite), [0, 1]) })).filter((r) => r.e.n);
      if (!at.length) continue;
      const best = at.reduce((m, r) => (r.e.mean > m.e.mean ? r : m));
      out.push(`At ${layersText(d.layers)}, with the ${AXIS[ax].unit === 'GFLOP' ? 'training FLOPs' : 'training GPU time'} of the cheapest arm (${b.arm}), ${AXIS[ax].f(b.value)} ${AXIS[ax].unit}: ` +
        `${at.map((r) => `(${r.id}) ${pctPlain(r.e.mean)}%`).join(', ')} held-out pass@1 (means over seeds); the highest mean is (${best.id}).`);
    }
  }
  for (const d of st.depths) {
    const e = d.entropy;
    if (!e) continue;
    const below = e.shareBelowLow > SEED_CLAIMS.belowLow;
    out.push(`The ${layerAdj(d.layers)} SFT base: ${pct(e.shareBelowLow)} of sampled answer tokens below ${e.low} nats (the seed: over half — ${below ? 'holds' : 'does not hold'}); ` +
      `${pct(e.shareForking)} at or above the ${e.threshold}-nat forking threshold (the seed: ~${pctPlain(SEED_CLAIMS.forking)}%; ${pctPlain(Math.abs(e.shareForking - SEED_CLAIMS.forking))} pp ${e.shareForking >= SEED_CLAIMS.forking ? 'more' : 'fewer'}).`);
    out.push(followSentence(`The ${layerAdj(d.layers)} SFT base`, e));
  }
  return out;
}

// ---- outputs ----

const TITLE = 'forkgrad depth study: where does the cut hold as the model deepens?';

function describe(st: DepthStudy): string[] {
  const done = st.depths.filter((d) => d.s.finished);
  return [
    `Task: ${st.tasks.map((t) => `\`${t}\``).join(', ')}. Depths with records: ${done.map((d) => `${d.layers} (${d.s.finished}${d.meta ? ` of ${d.meta.jobs}` : ''} jobs)`).join(', ')}; the study asks for ${st.plan.depths.join(', ')} layers, arms ${st.plan.arms.join('')} at every depth and (b) at one, ≥ ${st.plan.seeds} seeds.`,
    `Arms: ${armList(0.2).filter((a) => DEPTH_ARMS.includes(a.id)).map((a) => `(${a.id}) ${st.depths.flatMap((d) => d.s.arms).find((x) => x.id === a.id)?.label ?? a.label}`).join('; ')}.`,
    'pass@1 is the final sampled held-out pass@1. Intervals: Student-t 95% over seeds, of the per-seed values or of the paired (same-seed) differences and ratios; "no interval" where fewer than two seeds pair up. Ratios are per seed against (a) of the same seed; a saving is 1 − ratio. Step FLOPs and GPU time cover whole RL steps (rollout, forward, backward, optimizer; the fork-only cosine diagnostic excluded), FLOPs counted, GPU time from timestamp queries.',
  ];
}

function depthDetailMd(d: Depth): string[] {
  const out = [`### ${layersText(d.layers)} (${d.folder}/)`, ''];
  if (!d.s.arms.length) return [...out, 'No arm finished yet.', ''];
  if (d.meta) out.push(`Command: \`${d.meta.command}\` on ${d.meta.adapter}.`, '');
  out.push(computeMatchedNote(d.cm), '');
  if (d.cm.levels.length) out.push(markdownTable(reachTable(d.cm, d.s)), '');
  const bt = budgetTable(d.cm, d.s);
  if (bt) out.push(markdownTable(bt), '');
  out.push('Compute per phase (means over seeds):', '', markdownTable(phaseTable(d.s)), '');
  return out;
}

export function renderDepthMd(st: DepthStudy): string {
  const miss = missingLines(st), ent = entropyProfileTable(st);
  return [`# ${TITLE}`, '',
    '_Generated by `scripts/depth-study.ts` from `L<n>/runs/*.jsonl`; every number and sentence below is computed from those records._', '',
    ...describe(st).flatMap((l) => [l, '']),
    '## Missing', '', ...(miss.length ? miss.map((l) => `- ${l}`) : ['Nothing: every planned depth, arm and seed has finished.']), '',
    '## Final held-out pass@1 per depth', '', markdownTable(accuracyTable(st)), '',
    '## Paired differences (pp, final held-out pass@1, paired by seed)', '', markdownTable(differenceTable(st)), '',
    '## Compute of the sparse arms against all tokens (ratios paired by seed)', '', markdownTable(computeTable(st)), '',
    '## Compute-matched comparison', '', markdownTable(matchedTable(st)), '',
    ...(ent.rows.length ? ['## The SFT bases\' entropy profile against the seed\'s claims', '', markdownTable(ent), ''] : []),
    '## What the numbers say', '', ...studyLines(st).map((l) => `- ${l}`), '',
    '## Per depth', '', ...st.depths.flatMap(depthDetailMd),
  ].join('\n');
}

function charts(st: DepthStudy): ChartSpec[] {
  const layered = { x: { time: false, distr: 3, log: 2 } };
  const opts = (yLabel: string, labels: [string, string, Record<string, unknown>?][]) => ({
    height: 300, scales: layered, legend: { live: true },
    series: [{ label: 'layers' }, ...labels.map(([l, c, extra]) => ({ ...lineSeries(l, c), ...(extra ?? {}) }))], axes: [{ label: 'layers' }, { label: yLabel, size: 60 }],
  });
  const present = DEPTH_ARMS.filter((a) => st.depths.some((d) => d.pass1[a]?.n));
  const label = (id: ArmId) => `(${id}) ${st.depths.flatMap((d) => d.s.arms).find((x) => x.id === id)?.label ?? id}`;
  const specs: ChartSpec[] = [{
    id: 'pass1-depth', title: 'Final held-out pass@1 per arm against depth', caption: 'Means over seeds (the tables give the intervals); layers on a log scale.',
    opts: opts('pass@1 (%)', present.map((a) => [label(a), ARM_COLORS[a]])),
    data: align(present.map((a) => st.depths.filter((d) => d.pass1[a]?.n).map((d) => [d.layers, 100 * d.pass1[a]!.mean] as [number, number]))),
  }];
  const kinds: [keyof Ratios, string, Record<string, unknown>][] = [['backwardFlops', 'backward FLOPs', {}], ['stepFlops', 'step FLOPs', { dash: [8, 4] }], ['stepSeconds', 'step GPU time', { dash: [2, 3] }]];
  const saved = kinds.flatMap(([k, l, extra]) => (['c', 'd'] as const).map((id) => ({ k, id, l, extra })));
  specs.push({
    id: 'saved-depth', title: 'Compute saved against all tokens, by depth', caption: 'Share of (a)\'s compute that (c) exact sparse and (d) fork-only save (1 − ratio, means of per-seed ratios): backward FLOPs (solid), whole-step FLOPs (dashed), whole-step GPU time (dotted).',
    opts: opts('saved (%)', saved.map((x) => [`(${x.id}) ${x.l}`, ARM_COLORS[x.id], x.extra])),
    data: align(saved.map((x) => st.depths.filter((d) => d.ratios[x.k][x.id]?.n).map((d) => [d.layers, 100 * (1 - d.ratios[x.k][x.id]!.mean)] as [number, number]))),
  });
  const diffs: [keyof Depth['diffs'], string, string][] = [['dc', 'fork-only − exact (d − c)', ARM_COLORS.d], ['ca', 'exact − all tokens (c − a)', ARM_COLORS.c], ['bc', 'masked dense − exact (b − c)', ARM_COLORS.b]];
  const shown = diffs.filter(([k]) => st.depths.some((d) => d.diffs[k]?.n));
  const bound = (k: keyof Depth['diffs'], side: 'lo' | 'hi') => st.depths.filter((d) => d.diffs[k] && Number.isFinite(d.diffs[k]![side])).map((d) => [d.layers, 100 * d.diffs[k]![side]] as [number, number]);
  specs.push({
    id: 'diff-depth', title: 'Paired differences of final pass@1, by depth', caption: 'Means of the per-seed differences (solid) and their 95% t-interval bounds (dashed, thin; none where fewer than two seeds pair up).',
    opts: opts('difference (pp)', shown.flatMap(([, l, c]) => [[l, c], [`${l}: 95% low`, c, { dash: [4, 4], width: 1 }], [`${l}: 95% high`, c, { dash: [4, 4], width: 1 }]] as [string, string, Record<string, unknown>?][])),
    data: align(shown.flatMap(([k]) => [st.depths.filter((d) => d.diffs[k]?.n).map((d) => [d.layers, 100 * d.diffs[k]!.mean] as [number, number]), bound(k, 'lo'), bound(k, 'hi')])),
  });
  return specs;
}

export function renderDepthPage(st: DepthStudy): string {
  const { js, css } = uplotAssets();
  const specs = charts(st);
  const miss = missingLines(st), ent = entropyProfileTable(st);
  const li = (xs: string[]) => `<ul>${xs.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`;
  const detail = (d: Depth) => {
    const h = `<h3>${esc(`${layersText(d.layers)} (${d.folder}/)`)}</h3>`;
    if (!d.s.arms.length) return `${h}<p>No arm finished yet.</p>`;
    const bt = budgetTable(d.cm, d.s);
    return h + (d.meta ? `<p class="sub">Command: <code>${esc(d.meta.command)}</code> on ${esc(d.meta.adapter)}.</p>` : '') + `<p>${esc(computeMatchedNote(d.cm))}</p>` +
      (d.cm.levels.length ? htmlTable(reachTable(d.cm, d.s)) : '') + (bt ? htmlTable(bt) : '') + `<p>Compute per phase (means over seeds):</p>${htmlTable(phaseTable(d.s))}`;
  };
  const body = [
    `<h1>${esc(TITLE)}</h1>`,
    `<p class="sub">${describe(st).map(esc).join('<br>')}</p>`,
    `<h2>Missing</h2>${miss.length ? li(miss) : '<p>Nothing: every planned depth, arm and seed has finished.</p>'}`,
    `<h2>Final held-out pass@1 per depth</h2>${htmlTable(accuracyTable(st))}`,
    `<h2>Paired differences (pp)</h2>${htmlTable(differenceTable(st))}`,
    `<h2>Compute of the sparse arms against all tokens</h2>${htmlTable(computeTable(st))}`,
    `<h2>Compute-matched comparison</h2>${htmlTable(matchedTable(st))}`,
    ent.rows.length ? `<h2>The SFT bases' entropy profile against the seed's claims</h2>${htmlTable(ent)}` : '',
    `<h2>What the numbers say</h2>${li(studyLines(st))}`,
    `<h2>Charts</h2>${specs.map((c) => `<figure><h3>${esc(c.title)}</h3><div class="chart" id="chart-${c.id}"></div><figcaption>${esc(c.caption)}</figcaption></figure>`).join('')}`,
    `<h2>Per depth</h2>${st.depths.map(detail).join('\n')}`,
  ].join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>forkgrad depth study</title><style>${css}</style><style>${CSS}</style></head>
<body>
${body}
<p class="sub">Raw records: L&lt;n&gt;/runs/*.jsonl; text: summary.md.</p>
<script type="application/json" id="chart-data">${jsonSafe(specs)}</script>
<script>${scriptSafe(js)}</script>
<script>${BOOT}</script>
</body></html>
`;
}

/** Rewrites <dir>/summary.md and <dir>/report.html from <dir>/L<n>/runs/; returns the study. */
export function writeDepthReport(dir: string, plan: StudyPlan = STUDY): DepthStudy {
  const st = depthStudy(dir, plan);
  writeFileAtomic(join(dir, 'summary.md'), renderDepthMd(st));
  writeFileAtomic(join(dir, 'report.html'), renderDepthPage(st));
  return st;
}

/** The README's depth-study section (between DEPTH_BEGIN and DEPTH_END), from <dir>. */
export function depthReadmeSection(dir: string, command: string, plan: StudyPlan = STUDY): string {
  const st = depthStudy(dir, plan);
  const miss = missingLines(st);
  return [DEPTH_BEGIN, '## Depth study: long answers at several depths', '',
    `Issue 16's study: the arms that matter on a long-answer task at ${plan.depths.join(', ')} layers, one grid per depth (\`scripts/experiment.ts --n_layer ${plan.depths[0]} --out ${dir}/L${plan.depths[0]}\` and so on). ` +
    `This section is generated from \`${dir}/\` by \`${command}\`; the full report is [\`${dir}/summary.md\`](${dir}/summary.md) (charts: [\`${dir}/report.html\`](${dir}/report.html)), the raw records ${plan.depths.map((n) => `\`${dir}/L${n}/runs/*.jsonl\``).join(', ')}.`, '',
    ...describe(st).flatMap((l) => [l, '']),
    ...(miss.length ? ['**Not finished yet:**', '', ...miss.map((l) => `- ${l}`), ''] : []),
    markdownTable(accuracyTable(st)), '', markdownTable(differenceTable(st)), '', markdownTable(computeTable(st)), '', markdownTable(matchedTable(st)), '',
    ...studyLines(st).map((l) => `- ${l}`),
    DEPTH_END].join('\n');
}
