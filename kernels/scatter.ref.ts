// Float64-free reference for scatterPosition (a copy has nothing to round): what the GPU must write.

/** dst (length B·T·W) with rows b·T + pos replaced by src's rows b (src length B·W). */
export function scatterPositionRef(src: ArrayLike<number>, dst: ArrayLike<number>, d: { B: number; T: number; W: number; pos: number }): Float64Array {
  const out = Float64Array.from(dst);
  for (let b = 0; b < d.B; b++) for (let c = 0; c < d.W; c++) out[(b * d.T + d.pos) * d.W + c] = src[b * d.W + c];
  return out;
}
