// Float64 reference for column sums. Also returns Σ|terms| per column, the scale of the float32
// rounding error any summation order can make (γ_k·Σ|terms|).

export interface SumRef {
  sum: Float64Array;
  abs: Float64Array;
  /** Terms summed per column (the k of γ_k). */
  count: number;
}

/** rowsOrder: the rows to sum (repeats count again), default 0..N−1. term(r, c) gives each term. */
export function columnSumRef(N: number, C: number, term: (r: number, c: number) => number, rowsOrder?: ArrayLike<number>): SumRef {
  const sum = new Float64Array(C), abs = new Float64Array(C);
  const rows = rowsOrder ?? Array.from({ length: N }, (_, r) => r);
  let count = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    if (r >= N) continue;
    count++;
    for (let c = 0; c < C; c++) {
      const v = term(r, c);
      sum[c] += v;
      abs[c] += Math.abs(v);
    }
  }
  return { sum, abs, count };
}

export function colSumRef(x: ArrayLike<number>, N: number, C: number, rows?: ArrayLike<number>): SumRef {
  return columnSumRef(N, C, (r, c) => x[r * C + c], rows);
}
