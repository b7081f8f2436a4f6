// WGSL for a captured rollout's hand-over (model/generate.ts): activations written in another
// layout — the decode steps' time-major slabs (step t's [B, W] at element t·S, so a step writes
// through a plain view with no copy), or the prompt prefill's [B, P, W] — moved to rows b·T + t of
// the [B·T, W] buffer the training forward and backward use. One dispatch per tensor. A plain copy:
// no arithmetic, so the moved values are the decode's bits.

import { entryStrided, header, lanesWGSL } from './elementwise.wgsl.js';

/** For positions t in [t0, t0 + Tc): dst[(b·T + t)·W + c] = src[b·Sb + t·St + c]; index
 * i = (b·Tc + t − t0)·W + c < n = B·Tc·W (W, Sb, St in elements of T). */
export function unstageWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['n', 'W', 'Tc', 't0', 'T', 'Sb', 'St'] }, [{ name: 'src', elem: 'T' }, { name: 'dst', elem: 'T' }])}
${entryStrided('P.n', `
  let bt = i / P.W;
  let c = i % P.W;
  let b = bt / P.Tc;
  let t = P.t0 + bt % P.Tc;
  dst[(b * P.T + t) * P.W + c] = src[b * P.Sb + t * P.St + c];`)}`;
}
