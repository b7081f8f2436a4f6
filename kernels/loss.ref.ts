// float64 reference of the weighted softmax cross-entropy (see loss.wgsl.ts).

export function crossEntropyRef(
  logits: ArrayLike<number>, targets: ArrayLike<number>, weights: ArrayLike<number>, n: number, v: number, scale: number,
): { losses: Float64Array; dlogits: Float64Array; lse: Float64Array } {
  const losses = new Float64Array(n), dlogits = new Float64Array(n * v), lse = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = Array.from({ length: v }, (_, c) => logits[r * v + c]);
    const mx = Math.max(...row);
    lse[r] = mx + Math.log(row.reduce((a, z) => a + Math.exp(z - mx), 0));
    const w = weights[r] * scale;
    if (w === 0) continue;
    losses[r] = w * (lse[r] - row[targets[r]]);
    for (let c = 0; c < v; c++) dlogits[r * v + c] = w * (Math.exp(row[c] - lse[r]) - (c === targets[r] ? 1 : 0));
  }
  return { losses, dlogits, lse };
}
