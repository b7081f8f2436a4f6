// Float64 softmax reference.

/** y = softmax(scale·x) per row of C. */
export function softmaxRef(x: ArrayLike<number>, N: number, C: number, scale = 1): Float64Array {
  const y = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, scale * x[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += (y[r * C + c] = Math.exp(scale * x[r * C + c] - m));
    for (let c = 0; c < C; c++) y[r * C + c] /= s;
  }
  return y;
}

/** dx = scale·y ⊙ (dy − Σ dy·y) per row; also each row's Σ dy·y and Σ|dy·y| (for error bounds). */
export function softmaxBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>, N: number, C: number, scale = 1) {
  const dx = new Float64Array(N * C), dot = new Float64Array(N), absDot = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < C; c++) {
      dot[r] += dy[r * C + c] * y[r * C + c];
      absDot[r] += Math.abs(dy[r * C + c] * y[r * C + c]);
    }
    for (let c = 0; c < C; c++) dx[r * C + c] = scale * y[r * C + c] * (dy[r * C + c] - dot[r]);
  }
  return { dx, dot, absDot };
}
