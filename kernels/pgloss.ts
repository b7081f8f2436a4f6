import type { Runtime, Tensor } from './runtime.js';
import { PG_STATS, PG_STATS_WIDTH, pgLossWGSL, tokenEntropyWGSL } from './pgloss.wgsl.js';

export { PG_STATS, PG_STATS_WIDTH };

export interface PgLossOptions {
  /** Logits are divided by this before the softmax (the sampling temperature, as TRL does). */
  temperature: number;
  /** DAPO clip range: ratio clipped to [1 − epsilon, 1 + epsilonHigh]. */
  epsilon: number;
  epsilonHigh: number;
  /** Entropy-shaped advantage (Cheng et al.): A + min(alpha·H, |A|/kappa). */
  entropyShaping: boolean;
  alpha: number;
  kappa: number;
  /** Multiplies every loss term and gradient: 1/(selected tokens) officially, 1/(all tokens) TRL-style. */
  scale: number;
}

const uniforms = (n: number, v: number, k: number, o: PgLossOptions) => ({
  params: [n, v, k, o.entropyShaping ? 1 : 0],
  fparams: [1 / o.temperature, o.epsilon, o.epsilonHigh, o.alpha, o.kappa, o.scale],
});

/** Entropy (nats) of softmax(logits/T) for every row of logits [n, v]. */
export function tokenEntropy(rt: Runtime, a: { logits: Tensor; entropy: Tensor }, temperature: number): void {
  const [n, v] = a.logits.shape;
  const k = rt.kernel({ name: 'token_entropy', code: tokenEntropyWGSL });
  const u = uniforms(n, v, 0, { temperature, epsilon: 0, epsilonHigh: 0, entropyShaping: false, alpha: 0, kappa: 1, scale: 1 });
  rt.dispatch(k, { ...u, tensors: [a.logits, a.entropy], groups: [Math.ceil(n / 64)], flops: n * v * 5 });
}

/**
 * Clipped policy-gradient loss over the `rows` list (k = rows.size): writes dlogits for exactly those
 * rows and per-row statistics into stats [k, PG_STATS_WIDTH] (columns PG_STATS: loss, ratio,
 * clipped, entropy). Other dlogits rows are untouched.
 */
export function pgLoss(
  rt: Runtime,
  a: { logits: Tensor; tokens: Tensor; oldLogprob: Tensor; advantages: Tensor; rows: Tensor; dlogits: Tensor; stats: Tensor },
  o: PgLossOptions,
): void {
  const [n, v] = a.logits.shape;
  const k = a.rows.size;
  if (!(o.temperature > 0)) throw new Error(`pgLoss: temperature must be > 0, got ${o.temperature}`);
  if (a.stats.size !== k * PG_STATS_WIDTH) throw new Error(`pgLoss: stats (${a.stats.label}) has ${a.stats.size} elements; it must be [k = ${k}, ${PG_STATS_WIDTH}]`);
  const kern = rt.kernel({ name: 'pg_loss', code: pgLossWGSL });
  rt.dispatch(kern, {
    ...uniforms(n, v, k, o),
    tensors: [a.logits, a.tokens, a.oldLogprob, a.advantages, a.rows, a.dlogits, a.stats],
    groups: [Math.ceil(k / 64)],
    flops: k * v * 9,
  });
}

/** Sums of the PG_STATS columns over the k rows of a read-back stats [k, PG_STATS_WIDTH]. */
export function sumPgStats(st: ArrayLike<number>, k: number): Record<keyof typeof PG_STATS, number> {
  const out = { loss: 0, ratio: 0, clipped: 0, entropy: 0 };
  for (let i = 0; i < k; i++) for (const c of Object.keys(PG_STATS) as (keyof typeof PG_STATS)[]) out[c] += st[i * PG_STATS_WIDTH + PG_STATS[c]];
  return out;
}
