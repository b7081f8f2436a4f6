// Analytic backward FLOPs of the GPT model (model/gpt.ts) for each backward mode, term by term as
// the kernels count them (multiply-add = 2; see each launcher's `flops`). The runtime counts the
// same terms per dispatch, plus the second stage of two-stage column sums (bias, LayerNorm γ/β and
// embedding gradients: partial sums added up, ≤ outputs·chunks), which depends on the kernel's
// chunking and is left out here; test/sparse.test.ts bounds the difference.
//
// N = B·T rows, k selected rows, C = d_model, F = 4C, V = vocabulary, L = layers.
//   head(n)         = 4·n·V·C                      (dX = dlogits·W, dW = dlogitsᵀ·lnf)
//   ln(n, acc)      = (10 + acc)·n·C + 5·n·C       (dx, then dγ and dβ)
//   linear(n, i, o) = 4·n·i·o + n·o                (dX, dW, db)
//   gelu(n)         = 19·n·F
//   attn(q, pairs)  = 2·C·q + 8·C·pairs            (attention.ts: D_i per query row; dp, dk, dv, dq per
//                                                   causal pair)
//   forkAttn(k, p)  = 2·C·k + 4·C·p + 4·C·s        (rowattn.ts: D_r; dp, dq per causal pair; dk, dv per
//                                                   selected pair, s = selectedPairs(k, N, p))
//   embed(n)        = 2·n·C                        (dwte, dwpe)
//   block(up, low, core) = linear(up, F, C) + gelu(up) + linear(up, C, F) + ln(up, 1)
//                        + linear(up, C, C) + core + linear(low, C, 3C) + ln(low, 1)
// dense    = head(N) + ln(N, 0) + L·block(N, N, attn(N, P)) + embed(N),      P = B·T(T+1)/2
// exact    = head(k) + ln(k, 0) + block(k, N, attn(k, p)) + (L−1)·block(N, N, attn(N, P)) + embed(N)
// forkOnly = head(k) + ln(k, 0) + L·block(k, k, forkAttn(k, p)) + embed(k)
// where p = Σ_{r∈R} (t_r + 1) are the causal pairs of the selected query rows (expected
// k·(T+1)/2 when unknown, which is what attentionRows counts for a list built on the GPU).

import { GELU_GRAD_FLOPS } from '../kernels/elementwise.js';
import { rowAttentionFlops } from '../kernels/rowattn.js';
import type { GPTConfig } from './config.js';
import type { BackwardMode } from './gpt.js';

export interface FlopTerm {
  name: string;
  flops: number;
}

/** The backward's FLOPs as named terms (their sum is predictBackwardFlops). */
export function backwardFlopTerms(cfg: GPTConfig, B: number, T: number, k: number, mode: BackwardMode, pairs?: number): FlopTerm[] {
  const N = B * T, C = cfg.dModel, F = 4 * C, V = cfg.vocabSize, L = cfg.nLayer;
  if (!(Number.isInteger(k) && k >= 0 && k <= N)) throw new Error(`predictBackwardFlops: k is ${k}; it must be an integer in [0, B·T = ${N}]`);
  const P = (B * T * (T + 1)) / 2;
  const p = pairs ?? (k * (T + 1)) / 2;
  const head = (n: number) => 4 * n * V * C;
  const ln = (n: number, acc: number) => (10 + acc) * n * C + 5 * n * C;
  const linear = (n: number, i: number, o: number) => 4 * n * i * o + n * o;
  const gelu = (n: number) => GELU_GRAD_FLOPS * n * F;
  const attn = (q: number, pr: number) => 2 * C * q + 8 * C * pr;
  const forkAttn = (n: number, pr: number) => rowAttentionFlops(C, N, n, pr);
  const embed = (n: number) => 2 * n * C;
  const block = (l: number, up: number, low: number, core: number): FlopTerm[] => [
    { name: `h.${l}.mlp.c_proj`, flops: linear(up, F, C) },
    { name: `h.${l}.mlp.gelu`, flops: gelu(up) },
    { name: `h.${l}.mlp.c_fc`, flops: linear(up, C, F) },
    { name: `h.${l}.ln_2`, flops: ln(up, 1) },
    { name: `h.${l}.attn.c_proj`, flops: linear(up, C, C) },
    { name: `h.${l}.attn.core`, flops: core },
    { name: `h.${l}.attn.c_attn`, flops: linear(low, C, 3 * C) },
    { name: `h.${l}.ln_1`, flops: ln(low, 1) },
  ];
  const sparse = mode !== 'dense';
  const top = sparse ? k : N;
  const terms: FlopTerm[] = [{ name: 'lm_head', flops: head(top) }, { name: 'ln_f', flops: ln(top, 0) }];
  for (let l = L - 1; l >= 0; l--) {
    if (mode === 'forkOnly') terms.push(...block(l, k, k, forkAttn(k, p)));
    else if (mode === 'exact' && l === L - 1) terms.push(...block(l, k, N, attn(k, p)));
    else terms.push(...block(l, N, N, attn(N, P)));
  }
  terms.push({ name: 'embedding', flops: embed(mode === 'forkOnly' ? k : N) });
  return terms;
}

/** Analytic backward FLOPs for B sequences of T positions with k selected rows (see above). */
export function predictBackwardFlops(cfg: GPTConfig, B: number, T: number, k: number, mode: BackwardMode, pairs?: number): number {
  return backwardFlopTerms(cfg, B, T, k, mode, pairs).reduce((s, t) => s + t.flops, 0);
}
