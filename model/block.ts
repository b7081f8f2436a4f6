// One transformer block's forward, written once for the full-sequence forward (model/gpt.ts, rows
// b·T + t of [B·T, ·] buffers) and the KV-cache decode step (model/generate.ts, one row per
// sequence): the two differ only in the attention core and in the buffers, so they run the same
// kernels in the same order, and with the same matmul variants (`mm`) the same bits per row.
//
//   res1 = x + attn(ln_1(x))·Wproj + bproj
//   res2 = res1 + gelu(ln_2(res1)·Wfc + bfc)·Wmlp + bmlp
import { layernorm } from '../kernels/layernorm.js';
import { matmul, type MatmulOptions } from '../kernels/matmul.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';

/** A block's activations: what the forward leaves for the backward. The LayerNorm statistics are
 * optional (a decode step that is not captured does not need them). */
export interface BlockBuffers {
  ln1: Tensor; ln1Mean?: Tensor; ln1Rstd?: Tensor;
  qkv: Tensor; atty: Tensor;
  res1: Tensor; // x after the attention residual
  ln2: Tensor; ln2Mean?: Tensor; ln2Rstd?: Tensor;
  fch: Tensor; fchGelu: Tensor;
  res2: Tensor; // x after the MLP residual: the block's output
}

/** The per-row buffers of BlockBuffers in one fixed order (capture copies them in it). */
export const BLOCK_ROWS = ['ln1', 'ln1Mean', 'ln1Rstd', 'qkv', 'atty', 'res1', 'ln2', 'ln2Mean', 'ln2Rstd', 'fch', 'fchGelu', 'res2'] as const;

/** Which of the block's four linear layers a matmul is. */
export type BlockLinear = 'attn.c_attn' | 'attn.c_proj' | 'mlp.c_fc' | 'mlp.c_proj';

/** Records one linear layer's matmul; the decode step pins the variant the forward would use. */
export type LinearFn = (which: BlockLinear, A: Tensor, W: Tensor, C: Tensor, o: MatmulOptions) => void;

export const plainLinear = (rt: Runtime): LinearFn => (_which, A, W, C, o) => matmul(rt, A, W, C, o);

/**
 * Records block l's forward from x into `b`; `attend(qkv, out)` is the attention core (causal
 * full-sequence attention, or one decode step over the KV cache). Returns b.res2.
 */
export function blockForward(
  rt: Runtime, x: Tensor, w: (name: string) => Tensor, b: BlockBuffers, attend: (qkv: Tensor, out: Tensor) => void, mm: LinearFn = plainLinear(rt),
): Tensor {
  const stats = (mean?: Tensor, rstd?: Tensor) => (mean && rstd ? { mean, rstd } : undefined);
  layernorm(rt, x, w('ln_1.weight'), w('ln_1.bias'), b.ln1, stats(b.ln1Mean, b.ln1Rstd));
  mm('attn.c_attn', b.ln1, w('attn.c_attn.weight'), b.qkv, { bias: w('attn.c_attn.bias') });
  attend(b.qkv, b.atty);
  // the residual in the projection's epilogue: res1 = (atty·Wproj + bproj) + x, the additions of
  // copy(x → res1) + an accumulating matmul in the same order (same bits), without the copy
  mm('attn.c_proj', b.atty, w('attn.c_proj.weight'), b.res1, { bias: w('attn.c_proj.bias'), residual: x });
  layernorm(rt, b.res1, w('ln_2.weight'), w('ln_2.bias'), b.ln2, stats(b.ln2Mean, b.ln2Rstd));
  // one dispatch for fch = ln2·Wfc + bfc and fchGelu = gelu(fch) (kernels/matmul.ts's GELU epilogue:
  // the same arithmetic as matmul then gelu); fch is kept, the backward's gelu′ (in c_proj's dx) reads it
  mm('mlp.c_fc', b.ln2, w('mlp.c_fc.weight'), b.fchGelu, { bias: w('mlp.c_fc.bias'), gelu: true, pre: b.fch });
  mm('mlp.c_proj', b.fchGelu, w('mlp.c_proj.weight'), b.res2, { bias: w('mlp.c_proj.bias'), residual: b.res1 });
  return b.res2;
}

/** The A and C operands of a block's linear layer in `b` (for asking which variant it uses). */
export function linearOperands(b: BlockBuffers, which: BlockLinear): { A: Tensor; C: Tensor; pre?: Tensor } {
  switch (which) {
    case 'attn.c_attn': return { A: b.ln1, C: b.qkv };
    case 'attn.c_proj': return { A: b.atty, C: b.res1 };
    case 'mlp.c_fc': return { A: b.ln2, C: b.fchGelu, pre: b.fch };
    case 'mlp.c_proj': return { A: b.fchGelu, C: b.res2 };
  }
}
