// Float64 CPU reference for the matmul family, with the magnitudes a tolerance needs.
import type { GatherMode, MatmulForm } from './matmul.js';

export interface MatmulRefArgs {
  form: MatmulForm;
  /** NN/NT: A is [Ma, K]; TN: A is [Ka, M] (Ma, Ka: full row counts, before gathering) */
  a: ArrayLike<number>;
  /** NN/TN: B is [K(a), N]; NT: B is [N, K] */
  b: ArrayLike<number>;
  /** M: output columns' partner dim (NN/NT: rows of A; TN: columns of A); K: reduction length of
   * the ungathered problem (NN/NT: columns of A; TN: rows of A and B). */
  M: number;
  N: number;
  K: number;
  bias?: ArrayLike<number>;
  /** C's contents before the call: added when accumulating, kept in unlisted rows when scattering */
  c0?: ArrayLike<number>;
  accumulate?: boolean;
  /** added after the bias and old C, at the output's index (the residual epilogue) */
  residual?: ArrayLike<number>;
  rows?: ArrayLike<number>;
  gather?: GatherMode;
}

export interface MatmulRef {
  /** expected C (row-major, the shape the kernel writes: [R, N] when compact) */
  c: Float64Array;
  /** per element Σ|a·b| + |bias| + |old C| + |residual|: what rounding errors scale with */
  mag: Float64Array;
  /** per element number of float32 additions that produced it (reduction length + bias + old C + residual) */
  terms: Uint32Array;
}

export function matmulRef(x: MatmulRefArgs): MatmulRef {
  const { form, a, b, M, N, K } = x;
  const gather = x.gather ?? 'none';
  const rows = x.rows ?? [];
  // a(m, k) and b(k, n) in logical (ungathered) coordinates
  const av = form === 'TN' ? (m: number, k: number) => a[k * M + m] : (m: number, k: number) => a[m * K + k];
  const bv = form === 'NT' ? (k: number, n: number) => b[n * K + k] : (k: number, n: number) => b[k * N + n];
  const outRows = gather === 'compact' ? rows.length : M;
  const c = new Float64Array(outRows * N);
  const mag = new Float64Array(outRows * N);
  const terms = new Uint32Array(outRows * N);
  if (x.c0 && gather === 'scatter') for (let i = 0; i < c.length; i++) c[i] = x.c0[i];

  const ks: number[] = gather === 'reduce' ? Array.from(rows) : Array.from({ length: K }, (_, k) => k);
  const one = (m: number, n: number, out: number) => {
    let s = 0, sa = 0;
    for (const k of ks) {
      const p = av(m, k) * bv(k, n);
      s += p;
      sa += Math.abs(p);
    }
    let t = ks.length;
    if (x.bias) {
      s += x.bias[n];
      sa += Math.abs(x.bias[n]);
      t++;
    }
    if (x.accumulate && x.c0) {
      s += x.c0[out];
      sa += Math.abs(x.c0[out]);
      t++;
    }
    if (x.residual) {
      s += x.residual[out];
      sa += Math.abs(x.residual[out]);
      t++;
    }
    c[out] = s;
    mag[out] = sa;
    terms[out] = t;
  };
  if (gather === 'compact' || gather === 'scatter') {
    for (let i = 0; i < rows.length; i++) {
      const m = rows[i];
      const orow = gather === 'compact' ? i : m;
      for (let n = 0; n < N; n++) one(m, n, orow * N + n);
    }
  } else {
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) one(m, n, m * N + n);
  }
  return { c, mag, terms };
}
