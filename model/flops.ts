// Analytic FLOPs of the GPT model (model/gpt.ts) and of a whole RL step (train/rl.ts), term by term
// as the kernels count them (multiply-add = 2; see each launcher's `flops`). The runtime counts the
// same terms per dispatch, plus the second stage of two-stage column sums (bias, LayerNorm γ/β and
// embedding gradients: partial sums added up, ≤ outputs·chunks), which depends on the kernel's
// chunking and is left out here; test/sparse.test.ts and test/flops-step.test.ts bound the difference.
//
// N = B·T rows, k selected rows, C = d_model, F = 4C, V = vocabulary, L = layers.
// Backward:
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
//
// Forward over n rows with P causal pairs (gpt.ts forward; decode steps count the same per row):
//   fwd(n, P) = n·C (embedding) + L·[8nC + 2nC·3C + 4C·P + 2nC² + 8nC + 2nC·F + 9nF + 2nF·C] + 8nC + 2nVC
// (matmul bias adds and residual copies are not counted by the kernels, so not here either.)
//
// Whole RL step (train/rl.ts; B = P·G sequences of L tokens, T = L − 1 training positions):
//   rollout   = fwd(B·T, B·T(T+1)/2) − [no capture] B·Q·(8C + 2VC) + 10·B·(T − Q)·V
//               (model/generate.ts: positions 0..Q−1, Q = the shortest prompt's length − 1, are
//               prefilled in one forward pass, which skips ln_f and the head unless the rollout
//               captures activations for reuse; then one decode step per column Q..L−2, each with
//               ln_f, the head and the sampler, 10 per logit. The block work sums to the forward's.
//               Each dynamic-sampling round adds one more rollout, never captured.)
//   forward   = fwd(N, P) + 5·N·V + 9·k·V                 (training forward, entropy, PG loss on k rows)
//   backward  = one of the three above
//   optimizer = 2·n + normScratchSize(n) + 14·n           (gradient norm, its finish, AdamW; n = the flat
//               parameter buffer's length, padding included)
// With rollout reuse (train/rl.ts reuseRollout, model/generate.ts capture) the decoder leaves the
// training forward's activations and logits, so the first pass's forward phase keeps only the
// entropy and the PG loss (the capture's copies count no FLOPs); with numIterations passes, each
// later pass runs the forward again and every pass its own backward and optimizer step. The exact
// backward also skips each sequence's causal tail (rows after its last selected row get no
// gradient: DenseTail; RlOptions.causalTail, on by default; the update reports its rows and pairs).
//
// Other shapes (the projection, scripts/project-flops.ts): a FlopShape generalises the GPT-2 shape
// to grouped KV heads (q width H·hd, k/v width Hkv·hd), a gated MLP (gate and up: a C×2F linear,
// then an elementwise product counted like GELU's, then F×C) and no biases. RMSNorm is counted as
// LayerNorm (a few FLOPs per element either way, far below the matmuls), RoPE and QK-norm are not
// counted. These are analytic only: no kernel here counts them.

import { GELU_GRAD_FLOPS } from '../kernels/elementwise.js';
import { normScratchSize } from '../kernels/optim.js';
import { rowAttentionFlops } from '../kernels/rowattn.js';
import { paramLayout, type GPTConfig } from './config.js';
import type { BackwardMode } from './gpt.js';

export interface FlopTerm {
  name: string;
  flops: number;
}

/** A decoder-only transformer's shape, as far as FLOPs see it. */
export interface FlopShape {
  nLayer: number;
  /** residual width C */
  dModel: number;
  /** query (and attention output) width: heads · head_dim */
  qDim: number;
  /** key and value width each: KV heads · head_dim */
  kvDim: number;
  /** MLP hidden width F */
  ffn: number;
  /** gated MLP (SwiGLU: gate and up projections) instead of GPT-2's GELU MLP */
  gated: boolean;
  vocabSize: number;
  /** linear layers carry biases (GPT-2) */
  bias: boolean;
  /** parameters the optimizer sweeps (the flat buffer's length for this code's model) */
  params: number;
}

/** GPT-2's FlopShape; `align` is the parameter buffer's view alignment (rt.viewAlign; 1 = no padding). */
export function gptFlopShape(cfg: GPTConfig, align = 1): FlopShape {
  const C = cfg.dModel;
  return { nLayer: cfg.nLayer, dModel: C, qDim: C, kvDim: C, ffn: 4 * C, gated: false, vocabSize: cfg.vocabSize, bias: true, params: paramLayout(cfg, align).size };
}

const shapeOf = (s: GPTConfig | FlopShape): FlopShape => ('qDim' in s ? s : gptFlopShape(s));

/** Rows (and their causal pairs) an exact backward's dense part covers when it skips each
 * sequence's causal tail: positions after a sequence's last selected row get no gradient in exact
 * mode (keys and values only feed later queries), so rows = Σ_b (last_b + 1), pairs = Σ_b (last_b +
 * 1)(last_b + 2)/2. Default: all B·T rows and B·T(T+1)/2 pairs. */
export interface DenseTail {
  rows: number;
  pairs: number;
}

/** The backward's FLOPs as named terms (their sum is predictBackwardFlops). */
export function backwardFlopTerms(cfg: GPTConfig | FlopShape, B: number, T: number, k: number, mode: BackwardMode, pairs?: number, tail?: DenseTail): FlopTerm[] {
  const s = shapeOf(cfg);
  const N0 = B * T, C = s.dModel, F = s.ffn, V = s.vocabSize, L = s.nLayer, Q = s.qDim;
  if (!(Number.isInteger(k) && k >= 0 && k <= N0)) throw new Error(`predictBackwardFlops: k is ${k}; it must be an integer in [0, B·T = ${N0}]`);
  if (tail && mode !== 'exact') throw new Error(`predictBackwardFlops: a causal tail applies to the exact backward only, not ${mode}`);
  const N = tail ? tail.rows : N0;
  const P = tail ? tail.pairs : (B * T * (T + 1)) / 2;
  const p = pairs ?? (k * (T + 1)) / 2;
  const head = (n: number) => 4 * n * V * C;
  const ln = (n: number, acc: number) => (10 + acc) * n * C + 5 * n * C;
  const linear = (n: number, i: number, o: number) => 4 * n * i * o + (s.bias ? n * o : 0);
  const act = (n: number) => GELU_GRAD_FLOPS * n * F;
  const attn = (q: number, pr: number) => 2 * Q * q + 8 * Q * pr;
  const forkAttn = (n: number, pr: number) => rowAttentionFlops(Q, N0, n, pr);
  const embed = (n: number) => 2 * n * C;
  const up = s.gated ? 2 * F : F;
  const block = (l: number, upper: number, low: number, core: number): FlopTerm[] => [
    { name: `h.${l}.mlp.c_proj`, flops: linear(upper, F, C) },
    { name: `h.${l}.mlp.gelu`, flops: act(upper) },
    { name: `h.${l}.mlp.c_fc`, flops: linear(upper, C, up) },
    { name: `h.${l}.ln_2`, flops: ln(upper, 1) },
    { name: `h.${l}.attn.c_proj`, flops: linear(upper, Q, C) },
    { name: `h.${l}.attn.core`, flops: core },
    { name: `h.${l}.attn.c_attn`, flops: linear(low, C, Q + 2 * s.kvDim) },
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
export function predictBackwardFlops(cfg: GPTConfig | FlopShape, B: number, T: number, k: number, mode: BackwardMode, pairs?: number, tail?: DenseTail): number {
  return backwardFlopTerms(cfg, B, T, k, mode, pairs, tail).reduce((s, t) => s + t.flops, 0);
}

/** Forward FLOPs over n rows whose attention covers `pairs` (query, key) pairs (see above): the
 * training forward (n = B·T, pairs = B·T(T+1)/2) or, summed over positions, a KV-cached decode. */
export function predictForwardFlops(cfg: GPTConfig | FlopShape, n: number, pairs: number): number {
  const s = shapeOf(cfg);
  const C = s.dModel, F = s.ffn, Q = s.qDim;
  const block = 8 * n * C + 2 * n * C * (Q + 2 * s.kvDim) + 4 * Q * pairs + 2 * n * Q * C + 8 * n * C + 2 * n * C * (s.gated ? 2 * F : F) + 9 * n * F + 2 * n * F * C;
  return n * C + s.nLayer * block + 8 * n * C + 2 * n * s.vocabSize * C;
}

/** The sampler's FLOPs per logit (kernels/sample.ts), the entropy's and the PG loss's (kernels/pgloss.ts). */
const SAMPLE_FLOPS = 10, ENTROPY_FLOPS = 5, PG_LOSS_FLOPS = 9;

export type StepPhase = 'rollout' | 'forward' | 'backward' | 'optimizer';

export interface StepShape {
  /** sequences per step (prompts × samples) */
  B: number;
  /** tokens per sequence, prompt included (train/evaluate.ts rolloutLength) */
  L: number;
  /** selected rows (the backward's k; all response tokens when ρ = 1) */
  k: number;
  mode: BackwardMode;
  /** causal pairs of the selected rows; default k·(T+1)/2, as attentionRows counts a GPU-built list */
  pairs?: number;
  /** rollouts this step (1 + dynamic-sampling rounds that ran); default 1 */
  rounds?: number;
  /** prompt positions prefilled per sequence (Decoder: the shortest prompt's length − 1); default 0,
   * every column decoded one step at a time */
  prefill?: number;
  /** the first rollout captured activations (RlOptions.reuseRollout !== false); default: reuse */
  capture?: boolean;
  /** rollout reuse (RlOptions.reuseRollout, on by default): the first pass takes the captured
   * rollout's activations and logits instead of a training forward; the entropy and the PG loss
   * still run (on the captured logits) */
  reuse?: boolean;
  /** optimisation passes over the rollout batch (RlOptions.numIterations, default 1): each runs the
   * entropy, PG loss, backward and optimizer, and each after the first a fresh training forward */
  passes?: number;
  /** exact mode's dense part restricted to each sequence's causal prefix (see DenseTail) */
  tail?: DenseTail;
  /** optimizer steps per pass (the projection's mini-batches: the forward and backward cover the
   * batch once either way); default 1 */
  updates?: number;
}

/** Analytic FLOPs of one RL step per phase, as train/rl.ts records them in RlStepMetrics.flops. */
export function predictStepFlops(cfg: GPTConfig | FlopShape, st: StepShape): Record<StepPhase, number> {
  const s = shapeOf(cfg);
  const { B, L, k, mode } = st;
  if (!(Number.isInteger(L) && L >= 2)) throw new Error(`predictStepFlops: L is ${L}; a rollout needs at least 2 tokens per sequence`);
  const T = L - 1, N = B * T, V = s.vocabSize, P = (B * T * (T + 1)) / 2;
  const rounds = st.rounds ?? 1, passes = st.passes ?? 1, Q = st.prefill ?? 0, capture = st.capture ?? !!st.reuse;
  if (!(Number.isInteger(passes) && passes >= 1)) throw new Error(`predictStepFlops: passes is ${passes}; it must be an integer ≥ 1`);
  if (!(Number.isInteger(Q) && Q >= 0 && Q < T)) throw new Error(`predictStepFlops: prefill is ${Q}; it must be an integer in [0, T = ${T})`);
  const forwards = passes - (st.reuse ? 1 : 0);
  const rollout = (captured: boolean) =>
    predictForwardFlops(s, N, P) - (captured ? 0 : B * Q * (8 * s.dModel + 2 * V * s.dModel)) + SAMPLE_FLOPS * B * (T - Q) * V;
  return {
    rollout: rollout(capture) + (rounds - 1) * rollout(false),
    forward: forwards * predictForwardFlops(s, N, P) + passes * (ENTROPY_FLOPS * N * V + PG_LOSS_FLOPS * k * V),
    backward: passes * predictBackwardFlops(s, B, T, k, mode, st.pairs, st.tail),
    optimizer: passes * (st.updates ?? 1) * (16 * s.params + normScratchSize(s.params)),
  };
}

export const stepTotal = (f: Record<StepPhase, number>): number => f.rollout + f.forward + f.backward + f.optimizer;
