// WGSL for the decode step's capture: a [B, W] tensor of one position's rows (one per sequence)
// copied into rows b·T + pos of a [B·T, W] activation buffer, the layout the training forward and
// backward use. A plain copy: no arithmetic, so the captured values are the decode's bits.

import { entryStrided, header, lanesWGSL } from './elementwise.wgsl.js';

/** dst[(b·T + pos)·W + c] = src[b·W + c] for i = b·W + c < n = B·W (W in elements of T). */
export function scatterPositionWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['n', 'W', 'T', 'pos'] }, [{ name: 'src', elem: 'T' }, { name: 'dst', elem: 'T' }])}
${entryStrided('P.n', `
  let b = i / P.W;
  dst[(b * P.T + P.pos) * P.W + i % P.W] = src[i];`)}`;
}
