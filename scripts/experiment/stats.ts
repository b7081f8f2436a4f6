// The experiment's statistics: confidence intervals over seeds (Student t, since a grid has only a
// few seeds per arm), over problems (normal, 200+ problems), by cluster bootstrap (tokens of one
// problem are not independent), and the entropy statistics of sampled completions.
import jstat from 'jstat';
import { meanCI, passAtK } from '../../train/metrics.js';
import { EOS, TOKENS, mulberry32 } from '../../verify/index.js';

/** A mean with its 95% interval [lo, hi] (NaN bounds when n < 2) and the number of values. */
export interface Estimate { mean: number; lo: number; hi: number; n: number }

/**
 * Mean and 95% Student-t interval over a few values (seeds): the normal 1.96 is far too narrow at
 * n = 3. `range` clips the interval to where the quantity can lie (a cosine, a ratio ≥ 0).
 */
export function tInterval(xs: readonly number[], range: [number, number] = [-Infinity, Infinity]): Estimate {
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  if (n < 2) return { mean, lo: NaN, hi: NaN, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = jstat.jStat.studentt.inv(0.975, n - 1) * sd / Math.sqrt(n);
  return { mean, lo: Math.max(range[0], mean - half), hi: Math.min(range[1], mean + half), n };
}

/** Paired differences a_i − b_i (same seed, or same problem) with a t interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): Estimate {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} values against ${b.length}`);
  return tInterval(a.map((x, i) => x - b[i]));
}

/** Mean and normal 95% interval over many independent values (problems). */
export function normalInterval(xs: readonly number[]): Estimate {
  const { mean, half } = meanCI(xs);
  return { mean, lo: mean - half, hi: mean + half, n: xs.length };
}

/** Whether an interval excludes zero (false when there is no interval). */
export const significant = (e: Estimate) => Number.isFinite(e.lo) && (e.lo > 0 || e.hi < 0);

/**
 * Percentile bootstrap over clusters (problems): resamples whole clusters with replacement, so
 * correlation between the tokens of one problem widens the interval as it should. Seeded.
 */
export function bootstrapInterval<C>(clusters: readonly C[], stat: (sample: readonly C[]) => number, reps: number, seed: number): Estimate {
  const mean = stat(clusters);
  if (clusters.length < 2 || reps < 2) return { mean, lo: NaN, hi: NaN, n: clusters.length };
  const rand = mulberry32(seed);
  const values: number[] = [];
  for (let r = 0; r < reps; r++) {
    const sample = Array.from({ length: clusters.length }, () => clusters[Math.floor(rand() * clusters.length)]);
    const v = stat(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((x, y) => x - y);
  if (values.length < 2) return { mean, lo: NaN, hi: NaN, n: clusters.length };
  return { mean, lo: quantileSorted(values, 0.025), hi: quantileSorted(values, 0.975), n: clusters.length };
}

/** Linear-interpolation quantile (type 7, as numpy's default) of an ascending array. */
export function quantileSorted(xs: ArrayLike<number>, q: number): number {
  if (xs.length === 0) return NaN;
  const h = (xs.length - 1) * q, i = Math.floor(h);
  return i + 1 < xs.length ? xs[i] + (h - i) * (xs[i + 1] - xs[i]) : xs[i];
}


/** Per-problem unbiased pass@k from correct counts out of n (the values a problem-level CI averages). */
export const perProblemPassAtK = (correct: readonly number[], n: number, k: number) => correct.map((c) => passAtK(n, c, k));

// ---- entropy statistics of sampled completions ----

/** One sampled completion: its problem's index, the prompt text, the answer ids and the entropy
 * (nats) of the distribution each answer token was drawn from — one more entry than ids when the
 * model chose EOS (that choice is an action too). */
export interface SampledAnswer { problem: number; prompt: string; ids: readonly number[]; entropy: readonly number[] }

export interface ForkingToken { token: string; count: number; share: number; contexts: string[] }

export interface EntropyStats {
  tokens: number;
  meanNats: number;
  /** share of tokens whose entropy is below `low` nats */
  shareBelowLow: number;
  low: number;
  p80: number;
  /** share of tokens at or above the forking threshold */
  shareForking: number;
  threshold: number;
  topForking: ForkingToken[];
  /**
   * Does a forking token start a low-entropy run? P(next token < low | this token forking) against
   * P(next token < low | this token not forking), their difference with a bootstrap interval over
   * problems, and the mean length of the low-entropy run that follows each kind of token.
   */
  follow: {
    afterForking: { n: number; low: number; p: number; meanRun: number };
    afterOther: { n: number; low: number; p: number; meanRun: number };
    difference: Estimate;
  };
}

const tokenText = (id: number) => (id === EOS ? '⏎' : (TOKENS[id] ?? '?'));

/** Entropy statistics of sampled completions (see EntropyStats). */
export function entropyStats(
  answers: readonly SampledAnswer[],
  o: { threshold: number; low: number; topTokens: number; contexts: number; bootstrapReps: number; seed: number },
): EntropyStats {
  const all: number[] = [];
  // Example contexts come from different problems, so they show where a token forks, not one problem's answers.
  const forks = new Map<string, { count: number; contexts: string[]; from: Set<number> }>();
  // Per problem: [forking with a successor, of those followed by low, other with a successor, followed by low]
  const perProblem = new Map<number, number[]>();
  const runs = { fork: [0, 0], other: [0, 0] }; // [sum of run lengths, count]
  for (const a of answers) {
    const H = a.entropy;
    const ids = [...a.ids];
    if (H.length > ids.length) ids.push(EOS);
    for (let i = 0; i < H.length; i++) {
      all.push(H[i]);
      const forking = H[i] >= o.threshold;
      if (forking) {
        const t = tokenText(ids[i]);
        const f = forks.get(t) ?? { count: 0, contexts: [], from: new Set<number>() };
        f.count++;
        if (f.contexts.length < o.contexts && !f.from.has(a.problem)) {
          f.contexts.push(`${a.prompt}${ids.slice(0, i).map(tokenText).join('')}[${t}]`);
          f.from.add(a.problem);
        }
        forks.set(t, f);
      }
      if (i + 1 < H.length) {
        const c = perProblem.get(a.problem) ?? [0, 0, 0, 0];
        const low = H[i + 1] < o.low ? 1 : 0;
        if (forking) { c[0]++; c[1] += low; } else { c[2]++; c[3] += low; }
        perProblem.set(a.problem, c);
        let run = 0;
        while (i + 1 + run < H.length && H[i + 1 + run] < o.low) run++;
        const r = forking ? runs.fork : runs.other;
        r[0] += run; r[1]++;
      }
    }
  }
  const sorted = Float64Array.from(all).sort();
  const nFork = [...forks.values()].reduce((s, f) => s + f.count, 0);
  const clusters = [...perProblem.values()];
  const diff = (cs: readonly number[][]) => {
    const s = cs.reduce((acc, c) => acc.map((x, j) => x + c[j]), [0, 0, 0, 0]);
    return s[1] / s[0] - s[3] / s[2];
  };
  const total = clusters.reduce((acc, c) => acc.map((x, j) => x + c[j]), [0, 0, 0, 0]);
  return {
    tokens: all.length,
    meanNats: all.reduce((a, b) => a + b, 0) / Math.max(1, all.length),
    shareBelowLow: all.filter((h) => h < o.low).length / Math.max(1, all.length),
    low: o.low,
    p80: quantileSorted(sorted, 0.8),
    shareForking: nFork / Math.max(1, all.length),
    threshold: o.threshold,
    topForking: [...forks.entries()]
      .sort((x, y) => y[1].count - x[1].count || (x[0] < y[0] ? -1 : 1))
      .slice(0, o.topTokens)
      .map(([token, f]) => ({ token, count: f.count, share: f.count / nFork, contexts: f.contexts })),
    follow: {
      afterForking: { n: total[0], low: total[1], p: total[1] / total[0], meanRun: runs.fork[0] / runs.fork[1] },
      afterOther: { n: total[2], low: total[3], p: total[3] / total[2], meanRun: runs.other[0] / runs.other[1] },
      difference: bootstrapInterval(clusters, diff, o.bootstrapReps, o.seed),
    },
  };
}

// ---- compute-matched reading of sampled curves ----

/** A point of a run's curve: cumulative compute x (FLOPs or GPU seconds) and held-out pass@1 y. */
export interface CurvePoint { x: number; y: number }

/**
 * The compute at which a piecewise-linear curve (x ascending) first reaches `level`, interpolated
 * linearly between the two sampled points that straddle it; null when no sampled point reaches it
 * (the run never got there: nothing is extrapolated).
 */
export function firstReach(pts: readonly CurvePoint[], level: number): number | null {
  for (let i = 0; i < pts.length; i++) {
    if (pts[i].y < level) continue;
    if (i === 0) return pts[0].x;
    const a = pts[i - 1], b = pts[i];
    return a.x + ((level - a.y) / (b.y - a.y)) * (b.x - a.x);
  }
  return null;
}

/**
 * pass@1 at compute `x` on a piecewise-linear curve (x ascending): interpolated between the sampled
 * points around x; a run that ended below x counts its last point (it reached that with less
 * compute); null when x lies before the first point.
 */
export function valueAt(pts: readonly CurvePoint[], x: number): number | null {
  if (!pts.length || x < pts[0].x) return null;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1], b = pts[i];
    if (x <= b.x) return b.x === a.x ? b.y : a.y + ((x - a.x) / (b.x - a.x)) * (b.y - a.y);
  }
  return pts[pts.length - 1].y;
}
