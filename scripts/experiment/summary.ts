// From the finished jobs' records to the numbers the report states: per-arm results over seeds, the
// comparisons the issue asks about (each a difference or ratio with its 95% interval) and the
// sentences that say them. Nothing here is typed in by hand: every figure comes from the records.
import { fixed, pct, si } from '../../train/charts.js';
import { PHASES, type Phase } from '../../train/schema.js';
import type { ArmId } from './arms.js';
import type { JobResult } from './records.js';
import { firstReach, normalInterval, pairedDifference, perProblemPassAtK, significant, tInterval, valueAt, type CurvePoint, type Estimate } from './stats.js';

export interface ArmSummary {
  id: ArmId;
  label: string;
  seeds: number[];
  /** per seed, in `seeds` order */
  pass1: number[]; greedy: number[];
  backwardFlops: number[]; backwardSeconds: number[];
  trainingFlops: number[]; trainingSeconds: number[]; wallSeconds: number[];
  phaseFlops: Record<Phase, number[]>; phaseSeconds: Record<Phase, number[]>;
  /** mean fork-only-vs-exact gradient cosine of each seed's run (fork-only arm only) */
  gradCosine: number[];
  /** the first seed with the full pass@k: its curve and correct counts */
  passK: { seed: number; samples: number; curve: { k: number; passAtK: number }[]; correct: number[] } | null;
  /** mean over seeds of pass@1 and cumulative training FLOPs at each evaluated step */
  curve: { step: number; pass1: number; flops: number; backwardFlops: number }[];
  /** per seed (in `seeds` order): its sampled pass@1 against cumulative training FLOPs and GPU
   * seconds (all four phases, rollout included), from the SFT base (0 compute) when there is one */
  seedCurves: { flops: CurvePoint[]; seconds: CurvePoint[] }[];
}

export interface Comparison { what: string; a: ArmId | 'base'; b: ArmId | 'base'; metric: string; estimate: Estimate; unit: 'pp' | 'ratio' }

export interface Summary {
  finished: number;
  planned: number | null;
  task: unknown;
  base: JobResult | null;
  arms: ArmSummary[];
  comparisons: Comparison[];
  jobs: Map<string, JobResult>;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const trainingPhases = (r: Record<string, number>) => PHASES.reduce((s, p) => s + (r[p] ?? 0), 0);

export function summarize(jobs: Map<string, JobResult>, planned: number | null = null): Summary {
  const byArm = new Map<ArmId, JobResult[]>();
  for (const r of jobs.values()) {
    if (!r.job.arm || !r.final || !r.cost) continue;
    byArm.set(r.job.arm, [...(byArm.get(r.job.arm) ?? []), r]);
  }
  const base = jobs.get('base') ?? null;
  const arms: ArmSummary[] = [...byArm.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([id, rs]) => {
    rs.sort((x, y) => x.job.seed! - y.job.seed!);
    const phase = (k: 'flops' | 'gpuMs', scale: number) =>
      Object.fromEntries(PHASES.map((p) => [p, rs.map((r) => r.cost![k][p] / scale)])) as Record<Phase, number[]>;
    const pk = rs.find((r) => r.entropy) ?? null; // pass@k jobs are the ones with entropy statistics
    const steps = [...new Set(rs.flatMap((r) => r.curve.map((c) => c.step)))].sort((a, b) => a - b);
    const curve = steps.map((step) => {
      const at = rs.map((r) => r.curve.find((c) => c.step === step)).filter((c) => c !== undefined);
      return { step, pass1: mean(at.map((c) => c.pass1)), flops: mean(at.map((c) => c.flops)), backwardFlops: mean(at.map((c) => c.backwardFlops)) };
    });
    const base0 = base?.final ? base.final.passAtK[0].passAtK : null;
    if (base0 !== null) curve.unshift({ step: 0, pass1: base0, flops: 0, backwardFlops: 0 });
    const seedCurves = rs.map((r) => {
      const pts = (x: (c: JobResult['curve'][number]) => number) => [...(base0 !== null ? [{ x: 0, y: base0 }] : []), ...r.curve.map((c) => ({ x: x(c), y: c.pass1 }))];
      return { flops: pts((c) => c.flops), seconds: pts((c) => c.gpuMs / 1000) };
    });
    return {
      id, label: rs[0].job.armLabel ?? id, seeds: rs.map((r) => r.job.seed!),
      pass1: rs.map((r) => r.final!.passAtK[0].passAtK), greedy: rs.map((r) => r.final!.greedyAccuracy),
      backwardFlops: rs.map((r) => r.cost!.flops.backward), backwardSeconds: rs.map((r) => r.cost!.gpuMs.backward / 1000),
      trainingFlops: rs.map((r) => trainingPhases(r.cost!.flops)), trainingSeconds: rs.map((r) => trainingPhases(r.cost!.gpuMs) / 1000),
      wallSeconds: rs.map((r) => r.cost!.trainSeconds),
      phaseFlops: phase('flops', 1), phaseSeconds: phase('gpuMs', 1000),
      gradCosine: rs.map((r) => mean(r.steps.map((s) => s.gradCosine).filter((c): c is number => c !== null))).filter(Number.isFinite),
      passK: pk?.final ? { seed: pk.job.seed!, samples: pk.final.samples, curve: pk.final.passAtK, correct: pk.final.correct } : null,
      curve, seedCurves,
    };
  });
  const s: Summary = { finished: jobs.size, planned, task: [...jobs.values()][0]?.job.task ?? null, base, arms, comparisons: [], jobs };
  s.comparisons = comparisons(s);
  return s;
}

/** a − b over the seeds both arms finished, paired by seed (a/b per seed with `ratio`). */
export function bySeed(a: ArmSummary, b: ArmSummary, pick: (x: ArmSummary) => number[], ratio: boolean): Estimate {
  const seeds = a.seeds.filter((x) => b.seeds.includes(x));
  const va = seeds.map((x) => pick(a)[a.seeds.indexOf(x)]), vb = seeds.map((x) => pick(b)[b.seeds.indexOf(x)]);
  return ratio ? tInterval(va.map((x, i) => x / vb[i]), [0, Infinity]) : pairedDifference(va, vb);
}

function comparisons(s: Summary): Comparison[] {
  const arm = (id: ArmId) => s.arms.find((x) => x.id === id);
  const out: Comparison[] = [];
  const pairs: [ArmId, ArmId, string][] = [
    ['c', 'b', 'exact sparse vs masked dense backward (same tokens, same gradient)'],
    ['d', 'c', 'fork-only vs exact sparse backward'],
    ['b', 'a', 'top-ρ tokens vs all tokens'],
    ['e', 'a', 'bottom tokens only vs all tokens'],
    ['e', 'b', 'bottom tokens vs top tokens'],
    ['f', 'a', 'entropy-shaped advantage, all tokens'],
    ['g', 'c', 'entropy-shaped advantage, top-ρ tokens (exact backward)'],
  ];
  for (const [x, y, what] of pairs) {
    const a = arm(x), b = arm(y);
    if (!a || !b) continue;
    out.push({ what, a: x, b: y, metric: 'held-out pass@1', estimate: bySeed(a, b, (v) => v.pass1, false), unit: 'pp' });
    if ((x === 'c' && y === 'b') || (x === 'd' && y === 'c')) {
      out.push({ what, a: x, b: y, metric: 'backward FLOPs', estimate: bySeed(a, b, (v) => v.backwardFlops, true), unit: 'ratio' });
      out.push({ what, a: x, b: y, metric: 'backward GPU time', estimate: bySeed(a, b, (v) => v.backwardSeconds, true), unit: 'ratio' });
      out.push({ what, a: x, b: y, metric: 'training GPU time (all phases)', estimate: bySeed(a, b, (v) => v.trainingSeconds, true), unit: 'ratio' });
    }
  }
  // pass@k at large k on the same problems: paired per problem (one seed per arm has the samples).
  const base = s.base?.final;
  for (const a of s.arms) {
    if (!a.passK || !base || base.samples !== a.passK.samples) continue;
    const k = a.passK.curve[a.passK.curve.length - 1].k;
    const ref = perProblemPassAtK(base.correct, base.samples, k);
    const d = perProblemPassAtK(a.passK.correct, a.passK.samples, k).map((v, i) => v - ref[i]);
    out.push({ what: `after RL vs the SFT base (seed ${a.passK.seed}, per problem)`, a: a.id, b: 'base', metric: `pass@${k}`, estimate: normalInterval(d), unit: 'pp' });
  }
  return out;
}

// ---- compute-matched comparison ----

export type ComputeAxis = 'flops' | 'seconds';
export const COMPUTE_AXES: readonly ComputeAxis[] = ['flops', 'seconds'];

export interface ComputeMatched {
  /** the pass@1 levels asked about, and how they were chosen */
  levels: number[]; levelRule: string;
  /** per arm: per axis, per level, per seed (in the arm's `seeds` order) the compute its curve needs
   * to reach the level (interpolated), null where that seed's run never reaches it */
  reach: { id: ArmId; seeds: number[]; need: Record<ComputeAxis, (number | null)[][]> }[];
  /** per axis: the arm with the smallest mean total training compute, and that total */
  budget: Record<ComputeAxis, { arm: ArmId; value: number }> | null;
  /** per arm: per axis, per seed the pass@1 its curve has at the budget (interpolated) */
  atBudget: { id: ArmId; seeds: number[]; pass1: Record<ComputeAxis, number[]> }[];
}

/**
 * The levels asked about when none are given: 50%, 75% and 90% of the way from the SFT base's pass@1
 * to the highest mean pass@1 any arm's curve reaches (rounded to 0.1 pp), so every level is one some
 * arm reaches on average; none when no arm improves on the base.
 */
export function defaultLevels(s: Summary): number[] {
  const peaks = s.arms.map((a) => Math.max(...a.curve.map((c) => c.pass1))).filter((x): x is number => Number.isFinite(x));
  if (!peaks.length) return [];
  const best = Math.max(...peaks);
  const from = s.base?.final ? s.base.final.passAtK[0].passAtK : Math.min(...s.arms.map((a) => a.curve[0]?.pass1 ?? best));
  if (!(best > from)) return [];
  return [...new Set([0.5, 0.75, 0.9].map((f) => Math.round((from + f * (best - from)) * 1000) / 1000))].filter((l) => l > from);
}

/**
 * For the same compute, which arm is best? Per arm and seed: the training compute (FLOPs and GPU
 * time, whole steps, rollout included) its sampled pass@1 curve needs to reach each level, and the
 * pass@1 it has at the cheapest arm's mean total budget. Intervals are taken over seeds by the text.
 */
export function computeMatched(s: Summary, given?: readonly number[]): ComputeMatched {
  const levels = given ?? defaultLevels(s);
  const levelRule = given ? 'given' : "50%, 75% and 90% of the way from the SFT base to the highest mean pass@1 an arm reaches";
  const reach = s.arms.map((a) => ({
    id: a.id, seeds: a.seeds,
    need: Object.fromEntries(COMPUTE_AXES.map((ax) => [ax, levels.map((l) => a.seedCurves.map((c) => firstReach(c[ax], l)))])) as Record<ComputeAxis, (number | null)[][]>,
  }));
  if (!s.arms.length) return { levels: [...levels], levelRule, reach, budget: null, atBudget: [] };
  const totals = (a: ArmSummary, ax: ComputeAxis) => mean(ax === 'flops' ? a.trainingFlops : a.trainingSeconds);
  const cheapest = (ax: ComputeAxis) => s.arms.reduce((m, a) => (totals(a, ax) < totals(m, ax) ? a : m));
  const budget = Object.fromEntries(COMPUTE_AXES.map((ax) => [ax, { arm: cheapest(ax).id, value: totals(cheapest(ax), ax) }])) as ComputeMatched['budget'] & {};
  const atBudget = s.arms.map((a) => ({
    id: a.id, seeds: a.seeds,
    pass1: Object.fromEntries(COMPUTE_AXES.map((ax) => [ax, a.seedCurves.map((c) => valueAt(c[ax], budget[ax].value) ?? NaN)])) as Record<ComputeAxis, number[]>,
  }));
  return { levels: [...levels], levelRule, reach, budget, atBudget };
}

const AXIS_TEXT: Record<ComputeAxis, { unit: string; f: (x: number) => string }> = {
  flops: { unit: 'GFLOP', f: (x) => (x / 1e9).toFixed(1) },
  seconds: { unit: 'GPU s', f: (x) => x.toFixed(1) },
};

/** "mean ± half-width" over the seeds that reach the level; says how many never do. */
function reachCell(xs: (number | null)[], f: (x: number) => string): string {
  const got = xs.filter((x): x is number => x !== null);
  if (!got.length) return `never (0/${xs.length} seeds)`;
  return got.length === xs.length ? ci(got, f) : `${ci(got, f)} (${got.length}/${xs.length} seeds; the others never)`;
}

/** Compute to reach each level: one row per arm, a FLOPs and a GPU-time column per level. */
export function reachTable(cm: ComputeMatched, s: Summary): { head: string[]; rows: string[][] } {
  const label = (id: ArmId) => `(${id}) ${s.arms.find((a) => a.id === id)?.label ?? ''}`;
  return {
    head: ['arm', ...cm.levels.flatMap((l) => COMPUTE_AXES.map((ax) => `${AXIS_TEXT[ax].unit} to ${pctPlain(l)}%`))],
    rows: cm.reach.map((r) => [label(r.id), ...cm.levels.flatMap((_, i) => COMPUTE_AXES.map((ax) => reachCell(r.need[ax][i], AXIS_TEXT[ax].f)))]),
  };
}

/** pass@1 at the cheapest arm's budget: one row per arm, a column per axis. */
export function budgetTable(cm: ComputeMatched, s: Summary): { head: string[]; rows: string[][] } | null {
  if (!cm.budget) return null;
  const b = cm.budget;
  const label = (id: ArmId) => `(${id}) ${s.arms.find((a) => a.id === id)?.label ?? ''}`;
  return {
    head: ['arm', ...COMPUTE_AXES.map((ax) => `pass@1 (%) at ${AXIS_TEXT[ax].f(b[ax].value)} ${AXIS_TEXT[ax].unit} (the total of (${b[ax].arm}))`)],
    rows: cm.atBudget.map((r) => [label(r.id), ...COMPUTE_AXES.map((ax) => ci(r.pass1[ax].filter(Number.isFinite), pctPlain))]),
  };
}

/** What the two tables measure, in one paragraph. */
export function computeMatchedNote(cm: ComputeMatched): string {
  return 'Compute is training compute up to that point (whole RL steps: rollout, forward, backward, optimizer; evaluation and the fork-only cosine diagnostic excluded), FLOPs counted and GPU time from timestamp queries. ' +
    `Each seed's held-out pass@1 curve (its sampled evaluations, starting from the SFT base at zero compute) is interpolated linearly between evaluations: the compute at which it first reaches each level ` +
    `(${cm.levels.map((l) => `${pctPlain(l)}%`).join(', ') || 'none: no arm improves on the base'}; ${cm.levelRule}), and its pass@1 at the cheapest arm's mean total compute ` +
    '(a run that ended below that budget counts its final pass@1). Means over seeds ± 95% t-interval half-widths; a level a seed never reaches is not extrapolated, and the table says how many seeds reach it.';
}

// ---- text ----

const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} pp`;
const ratio = (x: number) => `${x.toFixed(3)}×`;
const interval = (e: Estimate, f: (x: number) => string) => (Number.isFinite(e.lo) ? `95% CI [${f(e.lo)}, ${f(e.hi)}]` : `no interval from ${e.n} value${e.n === 1 ? '' : 's'}`);
export const estimateText = (e: Estimate, unit: Comparison['unit']) => (unit === 'pp' ? `${pp(e.mean)} (${interval(e, pp)})` : `${ratio(e.mean)} (${interval(e, ratio)})`);
const ci = (xs: number[], f: (x: number) => string) => {
  const e = tInterval(xs);
  return Number.isFinite(e.lo) ? `${f(e.mean)} ± ${f((e.hi - e.lo) / 2)}` : xs.length ? f(e.mean) : '—';
};
const pctPlain = (x: number) => (x * 100).toFixed(1);

/** What an estimate says: a direction, "no significant difference", or that there is no interval. */
function verdict(e: Estimate, unit: Comparison['unit'], who: string): string {
  if (!Number.isFinite(e.lo)) return 'no verdict without an interval';
  if (unit === 'ratio') return e.hi < 1 ? 'lower' : e.lo > 1 ? 'higher' : 'no significant difference from 1';
  return significant(e) ? `${who} is ${e.mean > 0 ? 'higher' : 'lower'}` : 'no significant difference';
}

/** One sentence per comparison: the difference with its interval and what it says. */
export function comparisonSentence(c: Comparison): string {
  const who = `(${c.a}) vs (${c.b === 'base' ? 'SFT base' : c.b})`;
  const e = c.estimate;
  const over = c.b === 'base' ? `${e.n} problems` : `${e.n} seed${e.n === 1 ? '' : 's'}, paired`;
  return `${who}, ${c.metric}: ${estimateText(e, c.unit)} over ${over} — ${verdict(e, c.unit, `(${c.a})`)}.`;
}

/** The headline: does (c) keep (b)'s accuracy within the seed-to-seed spread, at lower backward cost? */
export function headline(s: Summary): string[] {
  const b = s.arms.find((x) => x.id === 'b'), c = s.arms.find((x) => x.id === 'c'), d = s.arms.find((x) => x.id === 'd');
  const out: string[] = [];
  if (b && c) {
    const acc = bySeed(c, b, (v) => v.pass1, false);
    const spread = tInterval(b.pass1), sd = b.pass1.length > 1 ? Math.sqrt(b.pass1.reduce((a, x) => a + (x - spread.mean) ** 2, 0) / (b.pass1.length - 1)) : NaN;
    const spreadText = Number.isFinite(sd)
      ? `${Math.abs(acc.mean) <= sd ? 'within' : 'beyond'} the seed-to-seed standard deviation of (b) (${(sd * 100).toFixed(1)} pp)`
      : 'with one seed there is no seed-to-seed spread to compare with';
    const fl = bySeed(c, b, (v) => v.backwardFlops, true), tm = bySeed(c, b, (v) => v.backwardSeconds, true);
    out.push(`Exact sparse backward (c) against the masked dense backward (b): held-out pass@1 differs by ${estimateText(acc, 'pp')}${Number.isFinite(acc.lo) ? `, ${verdict(acc, 'pp', '(c)')}` : ''}, ` +
      `${spreadText}; ` +
      `backward FLOPs ${estimateText(fl, 'ratio')} and backward GPU time ${estimateText(tm, 'ratio')} of (b)'s.`);
  }
  if (c && d) {
    const acc = bySeed(d, c, (v) => v.pass1, false);
    const fl = bySeed(d, c, (v) => v.backwardFlops, true), tm = bySeed(d, c, (v) => v.backwardSeconds, true);
    const cos = tInterval(d.gradCosine, [-1, 1]);
    out.push(`Fork-only backward (d) against exact (c): pass@1 ${estimateText(acc, 'pp')}${Number.isFinite(acc.lo) ? `, ${verdict(acc, 'pp', '(d)')}` : ''}; ` +
      `backward FLOPs ${estimateText(fl, 'ratio')}, backward GPU time ${estimateText(tm, 'ratio')}; ` +
      `its gradient's cosine to the exact gradient averages ${fixed(cos.mean, 3)}${Number.isFinite(cos.lo) ? ` (95% CI [${fixed(cos.lo, 3)}, ${fixed(cos.hi, 3)}] over ${cos.n} seeds)` : ''}.`);
  }
  return out;
}

/** The main table: one row per arm, means ± 95% t-interval half-widths over seeds. */
export function armTable(s: Summary): { head: string[]; rows: string[][] } {
  const head = ['arm', 'seeds', 'held-out pass@1 (%)', 'greedy (%)', 'pass@k (first seed)', 'backward GFLOP', 'backward GPU s', 'training GFLOP', 'training GPU s', 'wall s'];
  const g = (x: number) => (x / 1e9).toFixed(1), sec = (x: number) => x.toFixed(1);
  const rows = s.arms.map((a) => {
    const pk = a.passK ? a.passK.curve.filter((p, i, xs) => p.k === 1 || p.k === 16 || i === xs.length - 1).map((p) => `@${p.k} ${pct(p.passAtK)}`).join(', ') : '—';
    return [`(${a.id}) ${a.label}`, String(a.seeds.length), ci(a.pass1, pctPlain), ci(a.greedy, pctPlain), pk,
      ci(a.backwardFlops, g), ci(a.backwardSeconds, sec), ci(a.trainingFlops, g), ci(a.trainingSeconds, sec), ci(a.wallSeconds, sec)];
  });
  if (s.base?.final) {
    const f = s.base.final;
    const pk = f.passAtK.filter((p, i, xs) => p.k === 1 || p.k === 16 || i === xs.length - 1).map((p) => `@${p.k} ${pct(p.passAtK)}`).join(', ');
    rows.unshift(['SFT base (no RL)', '—', pctPlain(f.passAtK[0].passAtK), pctPlain(f.greedyAccuracy), pk, '—', '—', '—', '—', '—']);
  }
  return { head, rows };
}

export function markdownTable(t: { head: string[]; rows: string[][] }): string {
  const esc = (x: string) => x.replace(/\|/g, '\\|');
  return [`| ${t.head.map(esc).join(' | ')} |`, `|${t.head.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Per-phase FLOPs and GPU seconds (means over seeds). */
export function phaseTable(s: Summary): { head: string[]; rows: string[][] } {
  return {
    head: ['arm', ...PHASES.map((p) => `${p} FLOPs`), ...PHASES.map((p) => `${p} GPU s`)],
    rows: s.arms.map((a) => [`(${a.id})`, ...PHASES.map((p) => si(mean(a.phaseFlops[p]))), ...PHASES.map((p) => mean(a.phaseSeconds[p]).toFixed(2))]),
  };
}

export function decodingTable(s: Summary): { head: string[]; rows: string[][]; source: string } | null {
  const job = [...s.jobs.values()].find((r) => r.decoding.length);
  if (!job) return null;
  return {
    source: `${job.job.name} (${job.job.armLabel}), ${job.decoding[0].problems} problems × ${job.decoding[0].samples} samples, forking threshold ${job.decoding[0].forkThreshold} nats`,
    head: ['T_other', 'T_fork', 'pass@1', 'pass@16'],
    rows: job.decoding.map((d) => [String(d.temperature), String(d.forkTemperature), pct(d.pass1), d.pass16 === null ? '—' : pct(d.pass16)]),
  };
}

export function entropyTable(s: Summary): { head: string[]; rows: string[][] } {
  const models = [['SFT base', s.base] as const, ...s.arms.map((a) => [`(${a.id}) seed ${a.passK?.seed ?? '—'}`, [...s.jobs.values()].find((r) => r.job.arm === a.id && r.entropy) ?? null] as const)];
  return {
    head: ['model', 'tokens', 'mean nats', '< 0.01 nats', '80th pct (nats)', '≥ fork threshold', 'P(next low | forking)', 'P(next low | other)', 'difference (95% CI, bootstrap over problems)', 'low run after forking / other'],
    rows: models.filter(([, r]) => r?.entropy).map(([name, r]) => {
      const e = r!.entropy!, f = e.follow;
      return [name, String(e.tokens), fixed(e.meanNats, 3), pct(e.shareBelowLow), fixed(e.p80, 3), pct(e.shareForking), pct(f.afterForking.p), pct(f.afterOther.p),
        estimateText(f.difference, 'pp'), `${fixed(f.afterForking.meanRun, 2)} / ${fixed(f.afterOther.meanRun, 2)}`];
    }),
  };
}

/** The measured answer to "are high-entropy tokens followed by low-entropy runs?" for one model. */
export function followSentence(name: string, e: NonNullable<JobResult['entropy']>): string {
  const f = e.follow, d = f.difference;
  const verdict = !Number.isFinite(d.lo) ? 'no interval, so no verdict' : d.lo > 0 ? 'yes: forking tokens are followed by low-entropy tokens more often than other tokens are'
    : d.hi < 0 ? 'no: forking tokens are followed by low-entropy tokens less often than other tokens are' : 'no significant difference';
  return `${name}: after a forking token (≥ ${e.threshold} nats) the next token is below ${e.low} nats ${pct(f.afterForking.p)} of the time (${f.afterForking.n} cases), ` +
    `after any other token ${pct(f.afterOther.p)} (${f.afterOther.n}); difference ${estimateText(d, 'pp')} — ${verdict}. ` +
    `Mean low-entropy run that follows: ${fixed(f.afterForking.meanRun, 2)} tokens after a forking token, ${fixed(f.afterOther.meanRun, 2)} after another.`;
}
