// Float64 embedding reference.

import { columnSumRef, type SumRef } from './reduce.ref.js';

export function embeddingRef(tokens: ArrayLike<number>, wte: ArrayLike<number>, wpe: ArrayLike<number>, B: number, T: number, C: number, pos0 = 0): Float64Array {
  const out = new Float64Array(B * T * C);
  for (let i = 0; i < B * T; i++) {
    for (let c = 0; c < C; c++) out[i * C + c] = wte[tokens[i] * C + c] + wpe[(pos0 + i % T) * C + c];
  }
  return out;
}

/**
 * dwte and dwpe sums (without any prior contents), rows flattened to [V·C] and [T·C], with
 * per-element Σ|terms| and term counts for error bounds. rows: listed flat positions (repeats
 * count again, entries ≥ B·T skipped), default all.
 */
export function embeddingBackwardRef(tokens: ArrayLike<number>, dout: ArrayLike<number>, B: number, T: number, V: number, C: number, rows?: ArrayLike<number>) {
  const N = B * T;
  const list = Array.from(rows ?? Array.from({ length: N }, (_, i) => i)).filter((r) => r < N);
  const per = (O: number, key: (i: number) => number): SumRef[] =>
    Array.from({ length: O }, (_, o) => columnSumRef(N, C, (i, c) => dout[i * C + c], list.filter((i) => key(i) === o)));
  const flat = (refs: SumRef[]) => ({
    sum: Float64Array.from(refs.flatMap((r) => [...r.sum])),
    abs: Float64Array.from(refs.flatMap((r) => [...r.abs])),
    count: Float64Array.from(refs.flatMap((r) => Array(C).fill(r.count))),
  });
  return { dwte: flat(per(V, (i) => tokens[i])), dwpe: flat(per(T, (i) => i % T)) };
}
