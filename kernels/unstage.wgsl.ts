// WGSL for a captured rollout's hand-over (model/generate.ts): activations written in another
// layout — the decode steps' time-major slabs (step t's [B, W] at element t·S, so a step writes
// through a plain view with no copy), or the prompt prefill's [B, P, W] — moved to rows b·T + t of
// the [B·T, W] buffers the training forward and backward use. Up to UNSTAGE_PAIRS tensors per
// dispatch (WebGPU guarantees 8 storage bindings). A plain copy: no arithmetic, so the moved values
// are the decode's bits.

import { entry1d } from './elementwise.wgsl.js';

export const UNSTAGE_PAIRS = 4;

/** For positions t in [t0, t0 + Tc) and each pair k: dstk[(b·T + t)·Wk + c] = srck[b·Sbk + t·Stk + c]
 * (Wk, Sbk, Stk in elements of pair k's vector width vs[k]). One invocation per row (b, t), walking
 * each pair's Wk elements: the row's integer division is done once, not per element (on CPU drivers
 * u32 division is a scalar loop per lane). */
export function unstageWGSL(vs: readonly (1 | 4)[]): string {
  const ty = (v: 1 | 4) => (v === 4 ? 'vec4<f32>' : 'f32');
  const fields = ['rows', 'Tc', 't0', 'T', ...vs.flatMap((_, k) => [`W${k}`, `Sb${k}`, `St${k}`])];
  const bindings = vs.flatMap((v, k) => [
    `@group(0) @binding(${2 * k + 1}) var<storage, read_write> src${k}: array<${ty(v)}>;`,
    `@group(0) @binding(${2 * k + 2}) var<storage, read_write> dst${k}: array<${ty(v)}>;`,
  ]);
  return `struct Params { ${fields.map((f) => `${f}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> P: Params;
${bindings.join('\n')}
${entry1d('P.rows', `
  let b = i / P.Tc;
  let t = P.t0 + i % P.Tc;
  let row = b * P.T + t;
${vs.map((_, k) => `  {
    let d = row * P.W${k};
    let s = b * P.Sb${k} + t * P.St${k};
    for (var c = 0u; c < P.W${k}; c++) { dst${k}[d + c] = src${k}[s + c]; }
  }`).join('\n')}`)}`;
}
