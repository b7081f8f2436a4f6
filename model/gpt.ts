// The GPT-2 model on the GPU, llm.c style: parameters, gradients and AdamW moments are each one
// flat buffer with named views; each layer is a forward/backward pair over plain activation
// buffers (one GPUBuffer each: WebGPU forbids reading and writing one buffer in a dispatch).
//
//   x0 = wte[tokens] + wpe[t]
//   per block: x = x + attn(ln_1(x)) ; x = x + mlp(ln_2(x))
//   logits = ln_f(x) · headᵀ        (head = wte when tied)
import { attentionBackward, attentionForward, savedShape, type RowSet } from '../kernels/attention.js';
import { embedding, embeddingBackward } from '../kernels/embedding.js';
import { rowAttentionBackward } from '../kernels/rowattn.js';
import { layernorm, layernormBackward } from '../kernels/layernorm.js';
import { matmul } from '../kernels/matmul.js';
import { AdamW, type AdamWHyper, type LossGuard } from '../kernels/optim.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { blockForward, type BlockBuffers } from './block.js';
import { paramLayout, validateConfig, type GPTConfig, type ParamLayout } from './config.js';

/** Activations of one block, saved by the forward for the backward. */
export interface BlockActs extends Required<BlockBuffers> {
  attSaved: Tensor; // the attention's logsumexp [B, H, T] (attention.ts SAVE_MODE)
}

/** Who wrote the activations, and under which weights: reuse needs both to match. */
interface Producer {
  kind: 'forward' | 'rollout';
  /** the capture's ticket (rollouts) */
  ticket: number;
  /** GPT.weightsVersion when they were written */
  version: number;
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
  producer: Producer | null;
}

/** What a captured rollout writes (model/generate.ts): the forward's buffers for B sequences of T
 * positions, rows b·T + t, and the tokens [B, T] the backward's embedding gradient reads. */
export type CaptureTarget = Pick<Acts, 'B' | 'T' | 'tokens' | 'x0' | 'blocks' | 'lnf' | 'lnfMean' | 'lnfRstd' | 'logits'>;

/**
 * How the backward treats the rows R the loss selected (dlogits is zero outside R):
 * - 'dense': the full backward over every row, as the masked-loss public code runs it.
 * - 'exact': the same gradients, with work restricted to R wherever the gradient is provably zero
 *   elsewhere (see GPT.backward); the default when rows are given.
 * - 'forkOnly': an approximation that stays on R all the way down (see GPT.backward for what it
 *   drops).
 */
export type BackwardMode = 'dense' | 'exact' | 'forkOnly';

export interface BackwardOptions {
  /** The rows R (flat b·T + t, distinct, in [0, B·T), any order) whose dlogits may be non-zero; all
   * others must be zero ('dense') or are never read ('exact', 'forkOnly'). Build it once per step
   * with attentionRows(rt, ids, { B, T }, k). */
  rows?: RowSet;
  /** Default: 'exact' with rows, 'dense' without. */
  mode?: BackwardMode;
  /** 'exact' only: every row at or before its sequence's last row of `rows` (causalTail builds
   * it). Rows after a sequence's last selected row get no gradient in any layer (attention is
   * causal), so the exact backward's dense part runs over these rows only: the same gradients. */
  tail?: RowSet;
}

/** The rows b·T + t with t ≤ the last selected position of sequence b (none for a sequence with no
 * selected row): where the exact backward's gradient can be non-zero. Host ids, ascending. */
export function causalTail(selected: ArrayLike<number>, B: number, T: number): number[] {
  const last = new Array<number>(B).fill(-1);
  for (let i = 0; i < selected.length; i++) {
    const r = selected[i];
    if (!(Number.isInteger(r) && r >= 0 && r < B * T)) throw new Error(`causalTail: row ${r} is outside [0, ${B * T})`);
    const b = Math.floor(r / T);
    last[b] = Math.max(last[b], r % T);
  }
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t <= last[b]; t++) out.push(b * T + t);
  return out;
}

export class GPT {
  readonly layout: ParamLayout;
  readonly params: Tensor;
  readonly grads: Tensor;
  readonly opt: AdamW;
  private readonly pv = new Map<string, Tensor>();
  private readonly gv = new Map<string, Tensor>();
  private acts: Acts | null = null;
  private gradsSaved: Tensor | null = null;
  /** Bumped whenever the weights change (step, loadParams): activations from before are stale. */
  private weightsVersion = 0;
  private tickets = 0;

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
      producer: null,
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
      x = blockForward(rt, x, (s) => this.w(`h.${l}.${s}`), b, (qkv, out) => attentionForward(rt, { qkv, out, saved: b.attSaved, B, T, H, hd }));
    });
    layernorm(rt, x, this.w('ln_f.weight'), this.w('ln_f.bias'), a.lnf, { mean: a.lnfMean, rstd: a.lnfRstd });
    matmul(rt, a.lnf, this.w(this.headName), a.logits, { form: 'NT' });
    a.producer = { kind: 'forward', ticket: 0, version: this.weightsVersion };
    return a.logits;
  }

  /**
   * For a Decoder capturing a rollout: the activation buffers of B sequences × T positions, which
   * the decode steps fill at rows b·T + t as forward() would, and a ticket. Until anything else
   * writes those buffers (a forward, another capture, a change of shape) or the weights change,
   * reuse(ticket) hands them to the update in place of a training forward.
   */
  captureActivations(B: number, T: number): { target: CaptureTarget; ticket: number } {
    const a = this.activations(B, T);
    const ticket = ++this.tickets;
    a.producer = { kind: 'rollout', ticket, version: this.weightsVersion };
    return { target: a, ticket };
  }

  /** The activation buffers as they stand (tests and diagnostics read them; null before any use). */
  activationBuffers(): CaptureTarget | null {
    return this.acts;
  }

  /**
   * The logits [B·T, V] of the rollout captured under `ticket`, with every activation the backward
   * reads, when they are still valid: nothing has overwritten them and the weights are the ones
   * that produced them. Otherwise null, and the caller runs forward().
   */
  reuse(ticket: number, B: number, T: number): Tensor | null {
    const a = this.acts, p = a?.producer;
    if (!a || !p || a.B !== B || a.T !== T || p.kind !== 'rollout' || p.ticket !== ticket || p.version !== this.weightsVersion) return null;
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

  /**
   * Backpropagates dlogits [B·T, V] from the last forward, adding every parameter's gradient.
   *
   * With rows R (mode 'exact', the default then), work is restricted to R wherever the gradient
   * is provably zero outside it, and dlogits outside R is never read:
   * - LM head, ln_f, and in the LAST block the MLP (c_proj, GELU, c_fc), ln_2 and attn.c_proj are
   *   row-wise, so they run on R only: NN/NT matmuls gather rows R and scatter into full-size
   *   buffers (only those rows are ever read back), TN matmuls and column sums reduce over R.
   * - The last block's attention backward runs for the query rows R only (attentionBackward with
   *   the RowSet); its dk/dv are non-zero at every earlier position of each sequence, so from there on
   *   the gradient is dense: that block's c_attn and ln_1 backward and every lower block run dense
   *   over a residual gradient that is zero outside R (cleared first). The q columns of that
   *   c_attn backward are still zero outside R; skipping them would need strided column blocks the
   *   matmul lacks, so they are computed dense (4·C² FLOPs per unselected row, counted in
   *   model/flops.ts).
   *
   * Mode 'forkOnly' keeps every block on R: each attention backward yields dqkv at rows R only
   * (rowattn.ts: dq exact, dk/dv from selected queries) and c_attn backward
   * gathers R, so every op below stays row-sparse down to the embedding. It DROPS exactly the
   * key/value gradients dk_j, dv_j at unselected positions j ∉ R, in every block: the paths by
   * which a selected token's loss reaches the parameters through earlier unselected positions'
   * hidden states (those positions are treated as constants). Everything at R is kept: dq, and
   * dk/dv from the selected queries at or after each row. Its float64 twin is reference.ts's
   * backward with { forkRows }.
   */
  backward(dlogits: Tensor, o: BackwardOptions = {}): void {
    const { rt, cfg } = this;
    const a = this.acts;
    if (!a) throw new Error('GPT.backward: no forward to backpropagate through');
    const { B, T } = a;
    const mode = o.mode ?? (o.rows ? 'exact' : 'dense');
    if (mode !== 'dense' && mode !== 'exact' && mode !== 'forkOnly') throw new Error(`GPT.backward: mode is ${mode}; it must be dense, exact or forkOnly`);
    if (mode !== 'dense' && !o.rows) throw new Error(`GPT.backward: mode ${mode} needs rows (the selected positions)`);
    const set = mode === 'dense' ? undefined : o.rows;
    if (o.tail && mode !== 'exact') throw new Error(`GPT.backward: a causal tail applies to the exact mode, not ${mode}`);
    const tail = o.tail;
    if (tail && (tail.B !== B || tail.T !== T || tail.distinct !== tail.count)) throw new Error(`GPT.backward: the tail must be distinct rows built for B=${B}, T=${T}`);
    if (set) {
      if (set.B !== B || set.T !== T) throw new Error(`GPT.backward: rows were built for B=${set.B}, T=${set.T}, the forward ran B=${B}, T=${T}`);
      // host-built sets know their distinct count; a repeat would count twice in the sums over R
      if (set.distinct !== set.count) throw new Error(`GPT.backward: rows list ${set.count - set.distinct} repeated ids; the selected rows must be distinct`);
    }
    const rows = set?.list.view(0, [set.count]);
    const tailRows = tail?.list.view(0, [tail.count]);
    const H = cfg.nHead, hd = cfg.dModel / H;
    const last = a.blocks.length ? a.blocks[a.blocks.length - 1].res2 : a.x0;
    // 'exact' turns dense below the last attention: residual rows outside R must be zero there.
    if (mode === 'exact') rt.zero(a.dres);

    // head and final LayerNorm (row-wise: rows R when sparse)
    matmul(rt, dlogits, this.w(this.headName), a.dln, rows ? { rows, scatter: true } : {});
    matmul(rt, dlogits, a.lnf, this.g(this.headName), { form: 'TN', accumulate: true, rows });
    layernormBackward(rt, { dout: a.dln, x: last, mean: a.lnfMean, rstd: a.lnfRstd, gamma: this.w('ln_f.weight'), dx: a.dres, dgamma: this.g('ln_f.weight'), dbeta: this.g('ln_f.bias'), rows });

    for (let l = a.blocks.length - 1; l >= 0; l--) {
      const b = a.blocks[l];
      const xin = l > 0 ? a.blocks[l - 1].res2 : a.x0;
      const w = (s: string) => this.w(`h.${l}.${s}`);
      const g = (s: string) => this.g(`h.${l}.${s}`);
      // rows for the ops above the attention core, and for c_attn/ln_1 below it
      // (the exact mode's dense part: the causal tail's rows when given, else all)
      const upper = mode === 'forkOnly' || (mode === 'exact' && l === a.blocks.length - 1) ? rows : tailRows;
      const lower = mode === 'forkOnly' ? rows : tailRows;
      // MLP: res2 = res1 + gelu(ln2·Wfc + bfc)·Wproj + bproj
      // (dfch comes out multiplied by gelu′(fch): the GELU's backward in the same dispatch)
      this.linearBackward(a.dres, b.fchGelu, w('mlp.c_proj.weight'), a.dfch, g('mlp.c_proj.weight'), g('mlp.c_proj.bias'), upper, b.fch);
      this.linearBackward(a.dfch, b.ln2, w('mlp.c_fc.weight'), a.dln, g('mlp.c_fc.weight'), g('mlp.c_fc.bias'), upper);
      layernormBackward(rt, { dout: a.dln, x: b.res1, mean: b.ln2Mean, rstd: b.ln2Rstd, gamma: w('ln_2.weight'), dx: a.dres, dgamma: g('ln_2.weight'), dbeta: g('ln_2.bias'), accumulate: true, rows: upper });
      // attention: res1 = x + attn(ln1)·Wproj + bproj
      this.linearBackward(a.dres, b.atty, w('attn.c_proj.weight'), a.datty, g('attn.c_proj.weight'), g('attn.c_proj.bias'), upper);
      const att = { qkv: b.qkv, out: b.atty, dout: a.datty, dqkv: a.dqkv, saved: b.attSaved, B, T, H, hd };
      if (mode === 'forkOnly') rowAttentionBackward(rt, { ...att, rows: set! });
      else attentionBackward(rt, { ...att, rows: upper === rows && upper ? set : tail });
      this.linearBackward(a.dqkv, b.ln1, w('attn.c_attn.weight'), a.dln, g('attn.c_attn.weight'), g('attn.c_attn.bias'), lower);
      layernormBackward(rt, { dout: a.dln, x: xin, mean: b.ln1Mean, rstd: b.ln1Rstd, gamma: w('ln_1.weight'), dx: a.dres, dgamma: g('ln_1.weight'), dbeta: g('ln_1.bias'), accumulate: true, rows: lower });
    }
    embeddingBackward(rt, { tokens: a.tokens, dout: a.dres, dwte: this.g('wte.weight'), dwpe: this.g('wpe.weight'), rows: mode === 'forkOnly' ? rows : tailRows });
  }

  /** y = x·W + b backward: dx = dy·Wᵀ, dW += xᵀ·dy, db += Σ dy; with rows, over those rows only
   * (dx written at them, its other rows untouched). With geluInput (x = gelu(geluInput)), dx is
   * carried on through the GELU: dx = (dy·Wᵀ)·gelu′(geluInput). */
  private linearBackward(dy: Tensor, x: Tensor, w: Tensor, dx: Tensor, gw: Tensor, gb: Tensor, rows?: Tensor, geluInput?: Tensor): void {
    const { rt } = this;
    matmul(rt, dy, w, dx, { form: 'NT', geluGrad: geluInput, ...(rows ? { rows, scatter: true } : {}) });
    matmul(rt, x, dy, gw, { form: 'TN', accumulate: true, rows, colSum: gb }); // db += Σ dy in the same pass
  }

  /**
   * Diagnostic for per-step logging: the cosine similarity between the gradients backward() left
   * in `grads` (e.g. a 'forkOnly' step's, right after zeroGrad + backward of this dlogits) and the
   * gradients of the same dlogits under `mode` (e.g. 'exact'). Runs one extra backward; `grads` is
   * restored afterwards, so the optimizer step still sees the original gradients.
   */
  async gradientCosine(dlogits: Tensor, rows: RowSet, mode: BackwardMode): Promise<number> {
    const { rt } = this;
    const saved = (this.gradsSaved ??= rt.empty([this.layout.size], 'f32', 'grads (saved for cosine)'));
    rt.copy(this.grads, saved);
    this.zeroGrad();
    this.backward(dlogits, { rows, mode });
    const other = await rt.readF32(this.grads);
    rt.copy(saved, this.grads);
    return cosineSimilarity(await rt.readF32(saved), other);
  }

  /** One AdamW step over all parameters (gradient clipping and the non-finite skip included;
   * `guard` names loss values whose non-finiteness skips the step too). */
  step(lr: number, stepNumber: number, guard?: LossGuard): void {
    this.opt.step(this.params, this.grads, lr, stepNumber, guard);
    this.weightsVersion++;
  }

  async readParams(): Promise<Float32Array> {
    return this.rt.readF32(this.params);
  }

  /** Replaces all parameters (e.g. from a checkpoint). */
  loadParams(flat: Float32Array): void {
    this.rt.write(this.params, flat);
    this.weightsVersion++;
  }

  destroy(): void {
    this.freeActivations();
    this.gradsSaved?.buffer.destroy();
    for (const t of [this.params, this.grads]) t.buffer.destroy();
    this.opt.destroy();
  }
}

/** cos∠(a, b) = a·b / (|a|·|b|) in float64 (e.g. two flat gradient buffers); 0 when either is zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: lengths ${a.length} and ${b.length} differ`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
