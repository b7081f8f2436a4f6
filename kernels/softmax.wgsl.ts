// Row softmax, one invocation per row (no barriers, which are slow on lavapipe): a max pass, a
// sum-of-exponentials pass, and a pass that recomputes each exponential and normalises; recomputing
// costs an exp but saves writing and re-reading the row.

import { entry1d, header, lanesWGSL } from './elementwise.wgsl.js';

/** y = softmax(scale·x) per row, max-subtracted so exp never overflows. */
export function softmaxWGSL(v: 1 | 4): string {
  return `${lanesWGSL(v)}
${header({ u32: ['N', 'W'], f32: ['scale'] }, [{ name: 'x', elem: 'T' }, { name: 'y', elem: 'T' }])}
${entry1d('P.N', `
  let base = i * P.W;
  var mx = x[base] * P.scale;
  for (var q = 1u; q < P.W; q++) { mx = max(mx, x[base + q] * P.scale); }
  let m = hmax(mx);
  var s = T(0.0);
  for (var q = 0u; q < P.W; q++) { s += exp(x[base + q] * P.scale - m); }
  let inv = 1.0 / hsum(s);
  for (var q = 0u; q < P.W; q++) { y[base + q] = exp(x[base + q] * P.scale - m) * inv; }`)}`;
}

/** dx = scale·y ⊙ (dy − Σ dy·y) per row (the Jacobian of softmax(scale·x) applied to dy). */
export function softmaxBackwardWGSL(v: 1 | 4, accumulate: boolean): string {
  return `${lanesWGSL(v)}
${header({ u32: ['N', 'W'], f32: ['scale'] }, [{ name: 'y', elem: 'T' }, { name: 'dy', elem: 'T' }, { name: 'dx', elem: 'T' }])}
${entry1d('P.N', `
  let base = i * P.W;
  var d = T(0.0);
  for (var q = 0u; q < P.W; q++) { d += dy[base + q] * y[base + q]; }
  let dot = hsum(d);
  for (var q = 0u; q < P.W; q++) {
    dx[base + q] = ${accumulate ? 'dx[base + q] + ' : ''}P.scale * (y[base + q] * (dy[base + q] - dot));
  }`)}`;
}
