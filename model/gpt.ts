// The GPT-2 model on the GPU, llm.c style: parameters, gradients and AdamW moments are each one
// flat buffer with named views; each layer is a forward/backward pair over plain activation
// buffers (one GPUBuffer each: WebGPU forbids reading and writing one buffer in a dispatch).
//
//   x0 = wte[tokens] + wpe[t]
//   per block: x = x + attn(ln_1(x)) ; x = x + mlp(ln_2(x))
//   logits = ln_f(x) · headᵀ        (head = wte when tied)
import { attentionBackward, attentionForward, savedShape, type RowSet } from '../kernels/attention.js';
import { embedding, embeddingBackward } from '../kernels/embedding.js';
import { gelu, geluBackward } from '../kernels/elementwise.js';
import { layernorm, layernormBackward } from '../kernels/layernorm.js';
import { matmul } from '../kernels/matmul.js';
import { AdamW, type AdamWHyper } from '../kernels/optim.js';
import { colSum } from '../kernels/reduce.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { paramLayout, validateConfig, type GPTConfig, type ParamLayout } from './config.js';

/** Activations of one block, saved by the forward for the backward. */
interface BlockActs {
  ln1: Tensor; ln1Mean: Tensor; ln1Rstd: Tensor;
  qkv: Tensor; attSaved: Tensor; atty: Tensor;
  res1: Tensor; // x after the attention residual
  ln2: Tensor; ln2Mean: Tensor; ln2Rstd: Tensor;
  fch: Tensor; fchGelu: Tensor;
  res2: Tensor; // x after the MLP residual: the block's output
}

interface Acts {
  B: number; T: number;
  tokens: Tensor;
  x0: Tensor;
  blocks: BlockActs[];
  lnf: Tensor; lnfMean: Tensor; lnfRstd: Tensor;
  logits: Tensor;
  // backward scratch
  dres: Tensor; dln: Tensor; datty: Tensor; dqkv: Tensor; dfch: Tensor;
  dlogits?: Tensor;
}

export interface BackwardOptions {
  /** Rows (flat b·T + t) whose dlogits may be non-zero; all others must be zero. Reserved for the
   * sparse backward of the RL step; without it the backward is dense. */
  rows?: RowSet;
}

export class GPT {
  readonly layout: ParamLayout;
  readonly params: Tensor;
  readonly grads: Tensor;
  readonly opt: AdamW;
  private readonly pv = new Map<string, Tensor>();
  private readonly gv = new Map<string, Tensor>();
  private acts: Acts | null = null;

  constructor(readonly rt: Runtime, readonly cfg: GPTConfig, init: Float32Array, hyper: Partial<AdamWHyper> = {}) {
    validateConfig(cfg);
    this.layout = paramLayout(cfg, rt.viewAlign);
    if (init.length !== this.layout.size) {
      throw new Error(`GPT: initial parameters have ${init.length} elements, the layout for this config needs ${this.layout.size} (align ${rt.viewAlign})`);
    }
    this.params = rt.upload(init, [this.layout.size], 'f32', 'params');
    this.grads = rt.empty([this.layout.size], 'f32', 'grads');
    for (const p of this.layout.params) {
      this.pv.set(p.name, this.params.view(p.offset, p.shape, p.name));
      this.gv.set(p.name, this.grads.view(p.offset, p.shape, `d ${p.name}`));
    }
    this.opt = new AdamW(rt, this.layout.size, this.layout.params.map((p) => ({ offset: p.offset, size: p.size, decay: p.decay })), hyper);
  }

  /** Parameter view by GPT-2 name (e.g. 'h.0.attn.c_attn.weight'). */
  w(name: string): Tensor {
    const t = this.pv.get(name);
    if (!t) throw new Error(`GPT: no parameter named ${name}`);
    return t;
  }
  /** Gradient view by GPT-2 name. */
  g(name: string): Tensor {
    return this.gv.get(name) ?? (() => { throw new Error(`GPT: no gradient named ${name}`); })();
  }
  get headName(): string {
    return this.cfg.tiedHead ? 'wte.weight' : 'lm_head.weight';
  }

  /** Activation buffers for batches of B sequences of T positions, reused while the shape holds. */
  private activations(B: number, T: number): Acts {
    if (this.acts && this.acts.B === B && this.acts.T === T) return this.acts;
    this.freeActivations();
    const { rt, cfg } = this;
    const N = B * T, C = cfg.dModel, H = cfg.nHead, hd = C / H, V = cfg.vocabSize;
    const f = (shape: number[], label: string) => rt.empty(shape, 'f32', label);
    const blocks: BlockActs[] = [];
    for (let l = 0; l < cfg.nLayer; l++) {
      const n = (s: string) => `h.${l}.${s}`;
      blocks.push({
        ln1: f([N, C], n('ln1')), ln1Mean: f([N], n('ln1 mean')), ln1Rstd: f([N], n('ln1 rstd')),
        qkv: f([N, 3 * C], n('qkv')), attSaved: f(savedShape({ B, T, H, hd }), n('att saved')), atty: f([N, C], n('atty')),
        res1: f([N, C], n('res1')),
        ln2: f([N, C], n('ln2')), ln2Mean: f([N], n('ln2 mean')), ln2Rstd: f([N], n('ln2 rstd')),
        fch: f([N, 4 * C], n('fch')), fchGelu: f([N, 4 * C], n('fch gelu')),
        res2: f([N, C], n('res2')),
      });
    }
    this.acts = {
      B, T,
      tokens: rt.empty([B, T], 'u32', 'tokens'),
      x0: f([N, C], 'x0'), blocks,
      lnf: f([N, C], 'lnf'), lnfMean: f([N], 'lnf mean'), lnfRstd: f([N], 'lnf rstd'),
      logits: f([N, V], 'logits'),
      dres: f([N, C], 'dres'), dln: f([N, C], 'dln'), datty: f([N, C], 'datty'), dqkv: f([N, 3 * C], 'dqkv'), dfch: f([N, 4 * C], 'dfch'),
    };
    return this.acts;
  }

  private freeActivations(): void {
    if (!this.acts) return;
    const seen = new Set<GPUBuffer>();
    const visit = (v: unknown) => {
      if (v && typeof v === 'object' && 'buffer' in (v as any)) seen.add((v as Tensor).buffer);
    };
    Object.values(this.acts).forEach(visit);
    this.acts.blocks.forEach((b) => Object.values(b).forEach(visit));
    seen.forEach((b) => b.destroy());
    this.acts = null;
  }

  /** The token tensor [B, T] the next forward reads; fill it with rt.write or on the GPU. */
  tokensFor(B: number, T: number): Tensor {
    if (T > this.cfg.contextLength) throw new Error(`sequence length ${T} exceeds the model's context of ${this.cfg.contextLength}; raise context_length`);
    return this.activations(B, T).tokens;
  }

  /** Forward over the tokens in tokensFor(B, T); returns logits [B·T, V]. */
  forward(B: number, T: number): Tensor {
    const { rt, cfg } = this;
    const a = this.activations(B, T);
    const H = cfg.nHead, hd = cfg.dModel / H;
    embedding(rt, a.tokens, this.w('wte.weight'), this.w('wpe.weight'), a.x0);
    let x = a.x0;
    a.blocks.forEach((b, l) => {
      const w = (s: string) => this.w(`h.${l}.${s}`);
      layernorm(rt, x, w('ln_1.weight'), w('ln_1.bias'), b.ln1, { mean: b.ln1Mean, rstd: b.ln1Rstd });
      matmul(rt, b.ln1, w('attn.c_attn.weight'), b.qkv, { bias: w('attn.c_attn.bias') });
      attentionForward(rt, { qkv: b.qkv, out: b.atty, saved: b.attSaved, B, T, H, hd });
      rt.copy(x, b.res1);
      matmul(rt, b.atty, w('attn.c_proj.weight'), b.res1, { bias: w('attn.c_proj.bias'), accumulate: true });
      layernorm(rt, b.res1, w('ln_2.weight'), w('ln_2.bias'), b.ln2, { mean: b.ln2Mean, rstd: b.ln2Rstd });
      matmul(rt, b.ln2, w('mlp.c_fc.weight'), b.fch, { bias: w('mlp.c_fc.bias') });
      gelu(rt, b.fch, b.fchGelu);
      rt.copy(b.res1, b.res2);
      matmul(rt, b.fchGelu, w('mlp.c_proj.weight'), b.res2, { bias: w('mlp.c_proj.bias'), accumulate: true });
      x = b.res2;
    });
    layernorm(rt, x, this.w('ln_f.weight'), this.w('ln_f.bias'), a.lnf, { mean: a.lnfMean, rstd: a.lnfRstd });
    matmul(rt, a.lnf, this.w(this.headName), a.logits, { form: 'NT' });
    return a.logits;
  }

  /** The dlogits buffer to fill for backward (same shape as the logits). */
  dlogitsBuffer(): Tensor {
    if (!this.acts) throw new Error('GPT: run forward before asking for dlogits');
    return (this.acts.dlogits ??= this.rt.empty(this.acts.logits.shape, 'f32', 'dlogits'));
  }

  /** Clears the gradient buffer; backward adds into it (so micro-batches accumulate). */
  zeroGrad(): void {
    this.rt.zero(this.grads);
  }

  /** Backpropagates dlogits [B·T, V] from the last forward, adding every parameter's gradient. */
  backward(dlogits: Tensor, _o: BackwardOptions = {}): void {
    const { rt, cfg } = this;
    const a = this.acts;
    if (!a) throw new Error('GPT.backward: no forward to backpropagate through');
    const { B, T } = a;
    const H = cfg.nHead, hd = cfg.dModel / H;
    const last = a.blocks.length ? a.blocks[a.blocks.length - 1].res2 : a.x0;

    // head and final LayerNorm
    matmul(rt, dlogits, this.w(this.headName), a.dln);
    matmul(rt, dlogits, a.lnf, this.g(this.headName), { form: 'TN', accumulate: true });
    layernormBackward(rt, { dout: a.dln, x: last, mean: a.lnfMean, rstd: a.lnfRstd, gamma: this.w('ln_f.weight'), dx: a.dres, dgamma: this.g('ln_f.weight'), dbeta: this.g('ln_f.bias') });

    for (let l = a.blocks.length - 1; l >= 0; l--) {
      const b = a.blocks[l];
      const xin = l > 0 ? a.blocks[l - 1].res2 : a.x0;
      const w = (s: string) => this.w(`h.${l}.${s}`);
      const g = (s: string) => this.g(`h.${l}.${s}`);
      // MLP: res2 = res1 + gelu(ln2·Wfc + bfc)·Wproj + bproj
      matmul(rt, a.dres, w('mlp.c_proj.weight'), a.dfch, { form: 'NT' });
      matmul(rt, b.fchGelu, a.dres, g('mlp.c_proj.weight'), { form: 'TN', accumulate: true });
      colSum(rt, a.dres, g('mlp.c_proj.bias'), { accumulate: true });
      geluBackward(rt, b.fch, a.dfch, a.dfch);
      matmul(rt, a.dfch, w('mlp.c_fc.weight'), a.dln, { form: 'NT' });
      matmul(rt, b.ln2, a.dfch, g('mlp.c_fc.weight'), { form: 'TN', accumulate: true });
      colSum(rt, a.dfch, g('mlp.c_fc.bias'), { accumulate: true });
      layernormBackward(rt, { dout: a.dln, x: b.res1, mean: b.ln2Mean, rstd: b.ln2Rstd, gamma: w('ln_2.weight'), dx: a.dres, dgamma: g('ln_2.weight'), dbeta: g('ln_2.bias'), accumulate: true });
      // attention: res1 = x + attn(ln1)·Wproj + bproj
      matmul(rt, a.dres, w('attn.c_proj.weight'), a.datty, { form: 'NT' });
      matmul(rt, b.atty, a.dres, g('attn.c_proj.weight'), { form: 'TN', accumulate: true });
      colSum(rt, a.dres, g('attn.c_proj.bias'), { accumulate: true });
      attentionBackward(rt, { qkv: b.qkv, out: b.atty, dout: a.datty, dqkv: a.dqkv, saved: b.attSaved, B, T, H, hd });
      matmul(rt, a.dqkv, w('attn.c_attn.weight'), a.dln, { form: 'NT' });
      matmul(rt, b.ln1, a.dqkv, g('attn.c_attn.weight'), { form: 'TN', accumulate: true });
      colSum(rt, a.dqkv, g('attn.c_attn.bias'), { accumulate: true });
      layernormBackward(rt, { dout: a.dln, x: xin, mean: b.ln1Mean, rstd: b.ln1Rstd, gamma: w('ln_1.weight'), dx: a.dres, dgamma: g('ln_1.weight'), dbeta: g('ln_1.bias'), accumulate: true });
    }
    embeddingBackward(rt, { tokens: a.tokens, dout: a.dres, dwte: this.g('wte.weight'), dwpe: this.g('wpe.weight') });
  }

  /** One AdamW step over all parameters (gradient clipping and the non-finite skip included). */
  step(lr: number, stepNumber: number): void {
    this.opt.step(this.params, this.grads, lr, stepNumber);
  }

  async readParams(): Promise<Float32Array> {
    return this.rt.readF32(this.params);
  }

  /** Replaces all parameters (e.g. from a checkpoint). */
  loadParams(flat: Float32Array): void {
    this.rt.write(this.params, flat);
  }

  destroy(): void {
    this.freeActivations();
    for (const t of [this.params, this.grads, this.opt.m, this.opt.v, this.opt.norm, this.opt.skipped, this.opt.decay]) t.buffer.destroy();
  }
}
