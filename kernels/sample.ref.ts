// float64 reference of the sampling distribution (see sample.wgsl.ts).

/** Softmax of logits/temp (temp 0 → one-hot argmax, first on ties) with its entropy in nats. */
export function tempered(logits: ArrayLike<number>, temp: number): { probs: Float64Array; entropy: number } {
  const v = logits.length;
  const probs = new Float64Array(v);
  if (temp <= 0) {
    let best = 0;
    for (let c = 1; c < v; c++) if (logits[c] > logits[best]) best = c;
    probs[best] = 1;
    return { probs, entropy: 0 };
  }
  let mx = -Infinity;
  for (let c = 0; c < v; c++) mx = Math.max(mx, logits[c] / temp);
  let s = 0;
  for (let c = 0; c < v; c++) s += (probs[c] = Math.exp(logits[c] / temp - mx));
  let h = 0;
  for (let c = 0; c < v; c++) {
    probs[c] /= s;
    if (probs[c] > 0) h -= probs[c] * Math.log(probs[c]);
  }
  return { probs, entropy: h };
}

/** The temperature dual-temperature decoding uses for a row: decided by the entropy at T = 1. */
export function dualTemperature(logits: ArrayLike<number>, tempOther: number, tempFork: number, threshold: number): number {
  return tempered(logits, 1).entropy >= threshold ? tempFork : tempOther;
}
