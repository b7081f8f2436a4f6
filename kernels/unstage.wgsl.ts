// WGSL for a captured rollout's hand-over (model/generate.ts): the decode steps write each
// activation time-major, step t's [B, W] slab at element t·stride of a staging buffer (contiguous,
// so a step writes it through a plain view, with no copy per step), and one dispatch per tensor
// then moves it to rows b·T + t of the [B·T, W] buffer the training forward and backward use.
// A plain copy: no arithmetic, so the moved values are the decode's bits.

import { entryStrided, header, lanesWGSL } from './elementwise.wgsl.js';

/** dst[(b·T + t)·W + c] = src[t·S + b·W + c] for i = (b·T + t)·W + c < n = B·T·W (W and the slab
 * stride S in elements of T). */
export function unstageWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['n', 'W', 'T', 'S'] }, [{ name: 'src', elem: 'T' }, { name: 'dst', elem: 'T' }])}
${entryStrided('P.n', `
  let bt = i / P.W;
  let b = bt / P.T;
  let t = bt % P.T;
  dst[i] = src[t * P.S + b * P.W + i % P.W];`)}`;
}
