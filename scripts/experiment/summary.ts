// From the finished jobs' records to the numbers the report states: per-arm results over seeds, the
// comparisons the issue asks about (each a difference or ratio with its 95% interval) and the
// sentences that say them. Nothing here is typed in by hand: every figure comes from the records.
import { fixed, pct, si } from '../../train/charts.js';
import { PHASES, type Phase } from '../../train/schema.js';
import type { ArmId } from './arms.js';
import type { JobResult } from './records.js';
import { normalInterval, pairedDifference, perProblemPassAtK, significant, tInterval, type Estimate } from './stats.js';

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
    if (base?.final) curve.unshift({ step: 0, pass1: base.final.passAtK[0].passAtK, flops: 0, backwardFlops: 0 });
    return {
      id, label: rs[0].job.armLabel ?? id, seeds: rs.map((r) => r.job.seed!),
      pass1: rs.map((r) => r.final!.passAtK[0].passAtK), greedy: rs.map((r) => r.final!.greedyAccuracy),
      backwardFlops: rs.map((r) => r.cost!.flops.backward), backwardSeconds: rs.map((r) => r.cost!.gpuMs.backward / 1000),
      trainingFlops: rs.map((r) => trainingPhases(r.cost!.flops)), trainingSeconds: rs.map((r) => trainingPhases(r.cost!.gpuMs) / 1000),
      wallSeconds: rs.map((r) => r.cost!.trainSeconds),
      phaseFlops: phase('flops', 1), phaseSeconds: phase('gpuMs', 1000),
      gradCosine: rs.map((r) => mean(r.steps.map((s) => s.gradCosine).filter((c): c is number => c !== null))).filter(Number.isFinite),
      passK: pk?.final ? { seed: pk.job.seed!, samples: pk.final.samples, curve: pk.final.passAtK, correct: pk.final.correct } : null,
      curve,
    };
  });
  const s: Summary = { finished: jobs.size, planned, task: [...jobs.values()][0]?.job.task ?? null, base, arms, comparisons: [], jobs };
  s.comparisons = comparisons(s);
  return s;
}

/** a − b over the seeds both arms finished, paired by seed. */
function bySeed(a: ArmSummary, b: ArmSummary, pick: (x: ArmSummary) => number[], ratio: boolean): Estimate {
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

// ---- text ----

const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} pp`;
const ratio = (x: number) => `${x.toFixed(3)}×`;
const interval = (e: Estimate, f: (x: number) => string) => (Number.isFinite(e.lo) ? `95% CI [${f(e.lo)}, ${f(e.hi)}]` : `no interval from ${e.n} value${e.n === 1 ? '' : 's'}`);
const estimateText = (e: Estimate, unit: Comparison['unit']) => (unit === 'pp' ? `${pp(e.mean)} (${interval(e, pp)})` : `${ratio(e.mean)} (${interval(e, ratio)})`);
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
