// float64 reference of the fused policy-gradient loss (see pgloss.wgsl.ts).
import type { PgLossOptions } from './pgloss.js';

export function rowStatsRef(row: ArrayLike<number>, temperature: number): { lse: number; entropy: number; probs: Float64Array } {
  const z = Array.from(row, (x) => x / temperature);
  const mx = Math.max(...z);
  const e = z.map((x) => Math.exp(x - mx));
  const s = e.reduce((a, b) => a + b, 0);
  const probs = Float64Array.from(e, (x) => x / s);
  const entropy = -probs.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
  return { lse: mx + Math.log(s), entropy, probs };
}

export function pgLossRef(
  logits: ArrayLike<number>, tokens: ArrayLike<number>, oldLogprob: ArrayLike<number>, adv: ArrayLike<number>,
  rows: ArrayLike<number>, v: number, o: PgLossOptions,
): { dlogits: Map<number, Float64Array>; loss: number[]; ratio: number[]; clipped: boolean[]; entropy: number[] } {
  const out = { dlogits: new Map<number, Float64Array>(), loss: [] as number[], ratio: [] as number[], clipped: [] as boolean[], entropy: [] as number[] };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const row = Array.from({ length: v }, (_, c) => logits[r * v + c]);
    const st = rowStatsRef(row, o.temperature);
    const t = tokens[r];
    const logp = row[t] / o.temperature - st.lse;
    let a = adv[r];
    if (o.entropyShaping) a += Math.min(o.alpha * st.entropy, Math.abs(a) / o.kappa);
    const ratio = Math.exp(logp - oldLogprob[r]);
    const unclipped = ratio * a;
    const clipped = Math.min(Math.max(ratio, 1 - o.epsilon), 1 + o.epsilonHigh) * a;
    const useClip = clipped < unclipped;
    const g = (useClip ? 0 : -ratio * a) * o.scale / o.temperature;
    out.dlogits.set(r, Float64Array.from(st.probs, (p, c) => g * ((c === t ? 1 : 0) - p)));
    out.loss.push(-Math.min(unclipped, clipped) * o.scale);
    out.ratio.push(ratio);
    out.clipped.push(useClip);
    out.entropy.push(st.entropy);
  }
  return out;
}
