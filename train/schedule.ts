/** Linear warm-up to `lr`, then cosine decay to `minRatio`·lr at `total` steps (steps count from 1). */
export function learningRate(step: number, total: number, lr: number, warmup: number, minRatio = 0.1): number {
  if (step <= warmup) return (lr * step) / Math.max(1, warmup);
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return lr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
