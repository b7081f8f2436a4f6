// WGSL for a captured rollout's hand-over (model/generate.ts): activations written in another
// layout — the decode steps' time-major slabs (step t's [B, W] at element t·S, so a step writes
// through a plain view with no copy), or the prompt prefill's [B, P, W] — moved to rows b·T + t of
// the [B·T, W] buffer the training forward and backward use. One dispatch per tensor. A plain copy:
// no arithmetic, so the moved values are the decode's bits.

import { entry1d, header, lanesWGSL } from './elementwise.wgsl.js';

/** For positions t in [t0, t0 + Tc): dst[(b·T + t)·W + c] = src[b·Sb + t·St + c] (W, Sb, St in
 * elements of T). One invocation per row (b, t), walking its W elements: the row's division is
 * done once, not per element (integer division is a scalar loop per lane on CPU drivers). */
export function unstageWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['rows', 'W', 'Tc', 't0', 'T', 'Sb', 'St'] }, [{ name: 'src', elem: 'T' }, { name: 'dst', elem: 'T' }])}
${entry1d('P.rows', `
  let b = i / P.Tc;
  let t = P.t0 + i % P.Tc;
  let d = (b * P.T + t) * P.W;
  let s = b * P.Sb + t * P.St;
  for (var c = 0u; c < P.W; c++) { dst[d + c] = src[s + c]; }`)}`;
}
