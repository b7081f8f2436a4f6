// Reference for unstage (a copy has nothing to round): the [B·T, W] rows the GPU must write.

export function unstageRef(src: ArrayLike<number>, d: { B: number; T: number; W: number; stride: number }): Float64Array {
  const out = new Float64Array(d.B * d.T * d.W);
  for (let b = 0; b < d.B; b++) for (let t = 0; t < d.T; t++) for (let c = 0; c < d.W; c++) out[(b * d.T + t) * d.W + c] = src[t * d.stride + b * d.W + c];
  return out;
}
