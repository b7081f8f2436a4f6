// WGSL for fork-only's attention backward: only the selected query rows R carry an upstream
// gradient dO, and only the rows of R get gradients. For r ∈ R at position t of its sequence, head h:
//   dq_r = scale·Σ_{j≤t} dS_rj·k_j                 (every key: exact)
//   dk_r = scale·Σ_{i∈R, i≥t} dS_ir·q_i,  dv_r = Σ_{i∈R, i≥t} P_ir·dO_i
// with P_ij recomputed from the forward's logsumexp (or read from saved P), dS_ij = P_ij·(dO_i·v_j − D_i)
// and D_i = dO_i·y_i: queries outside R contribute nothing, as their dO is zero. dk/dv at unselected
// positions, the terms fork-only drops, are never computed, and rows outside R are not written.
// One invocation per (list slot, head), lanes being consecutive heads of one row; every sum runs in
// increasing position: deterministic. (Exact mode needs dk/dv at every position: attentionBackward
// with rows, whose subgroup-shared loads beat per-lane gathers there.)

import { entry1d, header } from './elementwise.wgsl.js';
import type { SaveMode } from './attention.js';

const each = (n: number, f: (d: number) => string, sep = '\n  ') => Array.from({ length: n }, (_, d) => f(d)).join(sep);

export function rowAttentionBackwardWGSL(hd: number, mode: SaveMode): string {
  const W = hd % 4 === 0 ? 4 : 1;
  const V = W === 4 ? 'vec4<f32>' : 'f32';
  const HV = hd / W;
  const dot = (a: (d: number) => string, b: (d: number) => string) => each(HV, (d) => (W === 4 ? `dot(${a(d)}, ${b(d)})` : `${a(d)} * ${b(d)}`), ' + ');
  // P_ij for query row i (position `qi` in the sequence) and key position `kj`, given s_ij
  const prob = (s: string, qi: string, kj: string) => (mode === 'lse' ? `exp(${s} - saved[bh * T + ${qi}])` : `saved[(bh * T + ${qi}) * T + ${kj}]`);
  return `alias V = ${V};
const HV = ${HV}u;
${header({ u32: ['H', 'T', 'count', 'BT'], f32: ['scale'] }, [
    { name: 'list', elem: 'u32' }, { name: 'mask', elem: 'u32' }, { name: 'qkv', elem: 'V' }, { name: 'y', elem: 'V' },
    { name: 'dout', elem: 'V' }, { name: 'saved', elem: 'f32' }, { name: 'dqkv', elem: 'V' },
  ])}
${entry1d('P.count * P.H', `
  let H = P.H;
  let T = P.T;
  let CV = H * HV;
  let C3 = 3u * CV;
  let r = list[i / H];
  let h = i % H;
  if (r >= P.BT) { return; }
  let t = r % T;
  let seq = r - t;
  let bh = (seq / T) * H + h;
  let qo = r * C3 + h * HV;
  ${each(HV, (d) => `let k${d} = qkv[qo + CV + ${d}u];\n  let v${d} = qkv[qo + 2u * CV + ${d}u];\n  var dq${d} = V();\n  var dk${d} = V();\n  var dv${d} = V();`)}
  let go = r * CV + h * HV;
  ${each(HV, (d) => `let q${d} = qkv[qo + ${d}u];\n  let g${d} = dout[go + ${d}u];`)}
  let D = ${dot((d) => `g${d}`, (d) => `y[go + ${d}u]`)};
  for (var j = 0u; j <= t; j++) {
    let ko = (seq + j) * C3 + CV + h * HV;
    ${each(HV, (d) => `let kj${d} = qkv[ko + ${d}u];`, '\n    ')}
    let s = (${dot((d) => `q${d}`, (d) => `kj${d}`)}) * P.scale;
    let ds = ${prob('s', 't', 'j')} * ((${dot((d) => `g${d}`, (d) => `qkv[ko + CV + ${d}u]`)}) - D);
    ${each(HV, (d) => `dq${d} = fma(V(ds), kj${d}, dq${d});`, '\n    ')}
  }
  for (var i2 = t; i2 < T; i2++) {
    if (mask[seq + i2] == 0u) { continue; }
    let qi = (seq + i2) * C3 + h * HV;
    let gi = (seq + i2) * CV + h * HV;
    ${each(HV, (d) => `let qi${d} = qkv[qi + ${d}u];\n    let gi${d} = dout[gi + ${d}u];`, '\n    ')}
    let Di = ${dot((d) => `gi${d}`, (d) => `y[gi + ${d}u]`)};
    let s = (${dot((d) => `qi${d}`, (d) => `k${d}`)}) * P.scale;
    let pr = ${prob('s', 'i2', 't')};
    let ds = pr * ((${dot((d) => `gi${d}`, (d) => `v${d}`)}) - Di);
    ${each(HV, (d) => `dk${d} = fma(V(ds), qi${d}, dk${d});\n    dv${d} = fma(V(pr), gi${d}, dv${d});`, '\n    ')}
  }
  ${each(HV, (d) => `dqkv[qo + ${d}u] = dq${d} * P.scale;\n  dqkv[qo + CV + ${d}u] = dk${d} * P.scale;\n  dqkv[qo + 2u * CV + ${d}u] = dv${d};`)}`)}`;
}
