// Reference for unstage (a copy has nothing to round): dst with rows b·T + t, t in [from, from + count),
// replaced by src[b·strideB + t·strideT + c].

export function unstageRef(
  src: ArrayLike<number>, dst: ArrayLike<number>,
  d: { B: number; T: number; W: number; from: number; count: number; strideB: number; strideT: number },
): Float64Array {
  const out = Float64Array.from(dst);
  for (let b = 0; b < d.B; b++) {
    for (let t = d.from; t < d.from + d.count; t++) for (let c = 0; c < d.W; c++) out[(b * d.T + t) * d.W + c] = src[b * d.strideB + t * d.strideT + c];
  }
  return out;
}
