// Evaluation statistics shared by training, the experiment and the report.

/**
 * Unbiased pass@k from n samples with c correct (Chen et al. 2021): 1 − C(n−c, k)/C(n, k),
 * computed as a running product so large n never overflows.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new Error(`passAtK: need integers 1 ≤ k ≤ n and 0 ≤ c ≤ n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1;
  let fail = 1; // C(n−c, k)/C(n, k) = Π_{i=n−c+1}^{n} (1 − k/i)
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/** Mean pass@k over problems, each given as [samples, correct]. */
export function meanPassAtK(results: readonly (readonly [number, number])[], k: number): number {
  if (results.length === 0) return NaN;
  return results.reduce((a, [n, c]) => a + passAtK(n, c, k), 0) / results.length;
}

/** GRPO advantages for one group of rewards: (r − mean)/(std + eps), or r − mean (Dr. GRPO). */
export function groupAdvantages(rewards: readonly number[], normalizeStd: boolean, eps = 1e-6): number[] {
  const g = rewards.length;
  const mean = rewards.reduce((a, b) => a + b, 0) / g;
  // Population std, as GRPO implementations compute it over the group.
  const std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / g);
  return rewards.map((r) => (normalizeStd ? (r - mean) / (std + eps) : r - mean));
}

/** Mean and a normal-approximation 95% confidence half-width of the mean. */
export function meanCI(xs: readonly number[]): { mean: number; half: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, half: NaN };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, half: (1.96 * sd) / Math.sqrt(n) };
}

/** The k of a pass@k curve from n samples per problem: 1, 2, 4, … ≤ n. */
export function passKs(n: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k <= n; k *= 2) ks.push(k);
  return ks;
}
