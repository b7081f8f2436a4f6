import type { Runtime, Tensor } from './runtime.js';
import { crossEntropyWGSL } from './loss.wgsl.js';

/**
 * Weighted softmax cross-entropy over rows of `logits` [n, v]:
 * losses[r] = scale·w[r]·(logsumexp(z_r) − z_r[t_r]) and dlogits = scale·w[r]·(softmax(z_r) − onehot(t_r)),
 * overwriting both. With scale = 1/Σw the losses sum to the weighted mean loss, whose gradient
 * dlogits is. Targets must be < v (callers validate; the kernel only clamps).
 */
export function crossEntropy(
  rt: Runtime,
  a: { logits: Tensor; targets: Tensor; weights: Tensor; losses: Tensor; dlogits: Tensor; scale: number },
): void {
  const [n, v] = a.logits.shape;
  const k = rt.kernel({ name: 'cross_entropy', code: crossEntropyWGSL });
  rt.dispatch(k, {
    params: [n, v],
    fparams: [a.scale],
    tensors: [a.logits, a.targets, a.weights, a.losses, a.dlogits],
    groups: [Math.ceil(n / 64)],
    flops: n * v * 6,
  });
}
