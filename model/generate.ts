// Batched generation with a KV cache: every sequence advances one position per step, all on the
// GPU (the sampler writes each next token where the following step reads it), so a whole rollout is
// recorded without a single readback. Prompts of different lengths share the loop: while a row is
// inside its prompt the sampler keeps the prompt token (teacher forcing) instead of sampling.
// The positions every prompt covers (all but the last of the shortest prompt's) are prefilled in one
// pass instead: the forward's block over [B, P] (attentionForward) fills the KV cache at once
// (attentionPrefill), and decoding starts at position P — the same tokens, log-probs and entropies
// (the prefill computes what the decode steps would, bit for bit where the matmul variants agree).
//
// A captured rollout (GenerateOptions.capture) also leaves what a training forward over its tokens
// would leave, for the RL update to reuse instead of recomputing it (GPT.reuse): each decode step
// writes its activations time-major into staging buffers (step pos's [B, ·] slab is a plain view,
// so a step costs no extra dispatch), the attention writes its logsumexp straight into the model's
// [B, H, T] buffer, and after the last step a few copy dispatches (kernels/unstage.ts) move every
// slab to rows b·T + pos of the model's activation buffers. The block is model/block.ts's, as the
// forward's, and each matmul runs the variant the forward would pick for its [B·T, ·] shape, so the
// captured values are the forward's bits (test/reuse.test.ts checks every buffer). The staging
// holds one more copy of the activations while a capturing decoder lives.
import { attentionDecode, attentionForward, attentionPrefill, createKVCache, type KVCache } from '../kernels/attention.js';
import { embedding } from '../kernels/embedding.js';
import { layernorm } from '../kernels/layernorm.js';
import { matmul, matmulChoice } from '../kernels/matmul.js';
import type { Tensor } from '../kernels/runtime.js';
import { sampleNext, type SampleOptions } from '../kernels/sample.js';
import { stageStride, unstageMany, type UnstagePair } from '../kernels/unstage.js';
import { BLOCK_ROWS, blockForward, linearOperands, plainLinear, type BlockBuffers, type LinearFn } from './block.js';
import type { CaptureTarget, GPT } from './gpt.js';

export interface GenerateOptions extends SampleOptions {
  /** Total sequence length to produce (prompt included), ≤ the model's context. */
  length: number;
  eos: number;
  pad: number;
  /** Debug/test: also return the logits of every step, [length − 1, B, V]. */
  keepLogits?: boolean;
  /** Leave the training forward's activations for these B sequences of length − 1 positions in the
   * model (GPT.captureActivations); Generation.ticket then names them for GPT.reuse. */
  capture?: boolean;
  /** Prefill the positions every prompt covers in one pass (default true; off with keepLogits). */
  prefill?: boolean;
}

export interface Generation {
  B: number;
  length: number;
  /** [B, length]: prompt, then sampled tokens, then pad after EOS */
  tokens: Uint32Array;
  /** [B, length]: log-prob of the token at each column under the distribution it was drawn from (0 in prompts) */
  logprob: Float32Array;
  /** [B, length]: entropy (nats) of that distribution (0 in prompts) */
  entropy: Float32Array;
  promptLength: number[];
  logits?: Float32Array;
  /** with `capture`: the ticket GPT.reuse takes */
  ticket?: number;
}

/** Time-major staging of a capture: per tensor, T slabs of [B, W] (stageStride apart). */
interface Staging {
  T: number;
  x0: Tensor;
  blocks: Required<BlockBuffers>[];
  lnf: Tensor; lnfMean: Tensor; lnfRstd: Tensor;
  logits: Tensor;
}

/** The prompt prefill's buffers: P positions of B sequences, [B·P, ·] as the forward's. */
interface Prefill {
  P: number;
  tokens: Tensor;
  x0: Tensor;
  blocks: (Required<BlockBuffers> & { lse: Tensor })[];
  lnf: Tensor; lnfMean: Tensor; lnfRstd: Tensor;
  logits: Tensor;
}

/** Reusable decode buffers for B sequences of up to Tmax positions. */
export class Decoder {
  private staging: Staging | null = null;
  private pre: Prefill | null = null;
  private caches: KVCache[];
  private x0: Tensor;
  /** one position's block activations, shared by the layers (a capture copies each layer's out) */
  private blk: Required<BlockBuffers>;
  private lnf: Tensor; private lnfMean: Tensor; private lnfRstd: Tensor;
  private logits: Tensor;
  readonly seq: Tensor; readonly finished: Tensor; readonly logprob: Tensor; readonly entropy: Tensor;
  private promptLen: Tensor; private next: Tensor;

  constructor(private model: GPT, readonly B: number, readonly Tmax: number) {
    const { rt, cfg } = model;
    if (Tmax > cfg.contextLength) throw new Error(`generation length ${Tmax} exceeds the model's context of ${cfg.contextLength}`);
    const C = cfg.dModel, H = cfg.nHead, hd = C / H;
    const f = (shape: number[], l: string) => rt.empty(shape, 'f32', `decode ${l}`);
    this.caches = Array.from({ length: cfg.nLayer }, (_, l) => createKVCache(rt, { B, H, hd, Tmax }, `h.${l} kv`));
    this.x0 = f([B, C], 'x0');
    this.blk = {
      ln1: f([B, C], 'ln1'), ln1Mean: f([B], 'ln1 mean'), ln1Rstd: f([B], 'ln1 rstd'),
      qkv: f([B, 3 * C], 'qkv'), atty: f([B, C], 'atty'), res1: f([B, C], 'res1'),
      ln2: f([B, C], 'ln2'), ln2Mean: f([B], 'ln2 mean'), ln2Rstd: f([B], 'ln2 rstd'),
      fch: f([B, 4 * C], 'fch'), fchGelu: f([B, 4 * C], 'fch gelu'), res2: f([B, C], 'res2'),
    };
    this.lnf = f([B, C], 'lnf'); this.lnfMean = f([B], 'lnf mean'); this.lnfRstd = f([B], 'lnf rstd');
    this.logits = f([B, cfg.vocabSize], 'logits');
    this.seq = rt.empty([B, Tmax], 'u32', 'decode seq');
    this.finished = rt.empty([B], 'u32', 'decode finished');
    this.logprob = f([B, Tmax], 'logprob');
    this.entropy = f([B, Tmax], 'entropy');
    this.promptLen = rt.empty([B], 'u32', 'decode prompt length');
    this.next = rt.empty([B, 1], 'u32', 'decode next');
  }

  /** The staging of a capture of T steps (allocated on first use, kept while T holds). */
  private stagingFor(T: number): Staging {
    if (this.staging?.T === T) return this.staging;
    this.freeStaging();
    const { rt, cfg } = this.model;
    const B = this.B, C = cfg.dModel;
    const f = (W: number, l: string) => rt.empty([T * stageStride(rt, B, W)], 'f32', `decode staging ${l}`);
    this.staging = {
      T,
      x0: f(C, 'x0'),
      blocks: Array.from({ length: cfg.nLayer }, (_, l) => ({
        ln1: f(C, `h.${l}.ln1`), ln1Mean: f(1, `h.${l}.ln1 mean`), ln1Rstd: f(1, `h.${l}.ln1 rstd`),
        qkv: f(3 * C, `h.${l}.qkv`), atty: f(C, `h.${l}.atty`), res1: f(C, `h.${l}.res1`),
        ln2: f(C, `h.${l}.ln2`), ln2Mean: f(1, `h.${l}.ln2 mean`), ln2Rstd: f(1, `h.${l}.ln2 rstd`),
        fch: f(4 * C, `h.${l}.fch`), fchGelu: f(4 * C, `h.${l}.fch gelu`), res2: f(C, `h.${l}.res2`),
      })),
      lnf: f(C, 'lnf'), lnfMean: f(1, 'lnf mean'), lnfRstd: f(1, 'lnf rstd'),
      logits: f(cfg.vocabSize, 'logits'),
    };
    return this.staging;
  }

  private freeStaging(): void {
    if (!this.staging) return;
    const s = this.staging;
    for (const t of [s.x0, ...s.blocks.flatMap((b) => Object.values(b)), s.lnf, s.lnfMean, s.lnfRstd, s.logits]) t.buffer.destroy();
    this.staging = null;
  }

  private prefillFor(P: number): Prefill {
    if (this.pre?.P === P) return this.pre;
    this.freePrefill();
    const { rt, cfg } = this.model;
    const N = this.B * P, C = cfg.dModel, H = cfg.nHead;
    const f = (shape: number[], l: string) => rt.empty(shape, 'f32', `prefill ${l}`);
    this.pre = {
      P,
      tokens: rt.empty([this.B, P], 'u32', 'prefill tokens'),
      x0: f([N, C], 'x0'),
      blocks: Array.from({ length: cfg.nLayer }, (_, l) => ({
        ln1: f([N, C], `h.${l}.ln1`), ln1Mean: f([N], `h.${l}.ln1 mean`), ln1Rstd: f([N], `h.${l}.ln1 rstd`),
        qkv: f([N, 3 * C], `h.${l}.qkv`), atty: f([N, C], `h.${l}.atty`), res1: f([N, C], `h.${l}.res1`),
        ln2: f([N, C], `h.${l}.ln2`), ln2Mean: f([N], `h.${l}.ln2 mean`), ln2Rstd: f([N], `h.${l}.ln2 rstd`),
        fch: f([N, 4 * C], `h.${l}.fch`), fchGelu: f([N, 4 * C], `h.${l}.fch gelu`), res2: f([N, C], `h.${l}.res2`),
        lse: f([this.B, H, P], `h.${l}.lse`),
      })),
      lnf: f([N, C], 'lnf'), lnfMean: f([N], 'lnf mean'), lnfRstd: f([N], 'lnf rstd'),
      logits: f([N, cfg.vocabSize], 'logits'),
    };
    return this.pre;
  }

  private freePrefill(): void {
    if (!this.pre) return;
    const p = this.pre;
    for (const t of [p.tokens, p.x0, ...p.blocks.flatMap((b) => Object.values(b)), p.lnf, p.lnfMean, p.lnfRstd, p.logits]) t.buffer.destroy();
    this.pre = null;
  }

  /**
   * Positions 0..P−1 of every sequence (all inside every prompt) in one pass of the forward's block,
   * filling the KV caches; with `cap`, also every activation and the logits, moved to rows b·T + t.
   */
  private prefill(prompts: readonly (readonly number[])[], P: number, cap: CaptureTarget | null): void {
    const { rt, cfg } = this.model;
    const m = this.model;
    const B = this.B, H = cfg.nHead, hd = cfg.dModel / H;
    const pre = this.prefillFor(P);
    rt.write(pre.tokens, Uint32Array.from({ length: B * P }, (_, i) => prompts[Math.floor(i / P)][i % P]));
    embedding(rt, pre.tokens, m.w('wte.weight'), m.w('wpe.weight'), pre.x0);
    const mm = cap ? forwardVariants(m, cap) : plainLinear(rt);
    let x = pre.x0;
    pre.blocks.forEach((b, l) => {
      x = blockForward(rt, x, (s) => m.w(`h.${l}.${s}`), b, (qkv, out) => {
        attentionForward(rt, { qkv, out, saved: cap ? b.lse : undefined, B, T: P, H, hd });
        attentionPrefill(rt, { qkv, cache: this.caches[l], T: P });
      }, mm);
    });
    if (!cap) return; // sampling starts at position P: no logits needed before it
    layernorm(rt, x, m.w('ln_f.weight'), m.w('ln_f.bias'), pre.lnf, { mean: pre.lnfMean, rstd: pre.lnfRstd });
    matmul(rt, pre.lnf, m.w(m.headName), pre.logits, { form: 'NT', variant: matmulChoice(rt, cap.lnf, m.w(m.headName), cap.logits, { form: 'NT' }) });
    // [B, P, W] → rows b·T + t, t < P
    const C = cfg.dModel;
    const rows = (src: Tensor, dst: Tensor, W: number): UnstagePair => ({ src, dst, strideB: P * W, strideT: W });
    unstageMany(rt, [
      rows(pre.x0, cap.x0, C),
      ...pre.blocks.flatMap((b, l) => BLOCK_ROWS.map((k) => rows(b[k], cap.blocks[l][k], rowWidth(C, k)))),
      rows(pre.lnf, cap.lnf, C), rows(pre.lnfMean, cap.lnfMean, 1), rows(pre.lnfRstd, cap.lnfRstd, 1), rows(pre.logits, cap.logits, cfg.vocabSize),
    ], { B, T: cap.T, from: 0, count: P });
    // lse [B, H, P] → [B, H, T]: rows (b, h) of P and T positions
    unstageMany(rt, pre.blocks.map((b, l) => ({ src: b.lse, dst: cap.blocks[l].attSaved, strideB: P, strideT: 1 })), { B: B * H, T: cap.T, from: 0, count: P });
  }

  /** Runs the model on `next` at position pos and leaves the logits of position pos + 1's token;
   * with `cap`, every activation lands in step pos's slab of the staging (and the attention's
   * logsumexp in the capture target). */
  private step(pos: number, cap: CaptureTarget | null): Tensor {
    const { rt, cfg } = this.model;
    const m = this.model;
    const B = this.B;
    const st = cap ? this.stagingFor(cap.T) : null;
    // step pos's [B, W] slab of a staging tensor, or the shared one-position buffer
    const slab = (t: Tensor, W: number) => t.view(pos * stageStride(rt, B, W), W === 1 ? [B] : [B, W]);
    const C = cfg.dModel;
    const x0 = st ? slab(st.x0, C) : this.x0;
    embedding(rt, this.next, m.w('wte.weight'), m.w('wpe.weight'), x0, pos);
    const mm = cap ? forwardVariants(m, cap) : plainLinear(rt);
    let x = x0;
    for (let l = 0; l < cfg.nLayer; l++) {
      const b = st ? (Object.fromEntries(BLOCK_ROWS.map((k) => [k, slab(st.blocks[l][k], rowWidth(C, k))])) as Required<BlockBuffers>) : this.blk;
      const lse = cap ? { saved: cap.blocks[l].attSaved, T: cap.T } : undefined;
      x = blockForward(rt, x, (s) => m.w(`h.${l}.${s}`), b, (qkv, out) => attentionDecode(rt, { qkv, cache: this.caches[l], out, pos, lse }), mm);
    }
    const lnf = st ? slab(st.lnf, C) : this.lnf;
    const logits = st ? slab(st.logits, cfg.vocabSize) : this.logits;
    layernorm(rt, x, m.w('ln_f.weight'), m.w('ln_f.bias'), lnf, st ? { mean: slab(st.lnfMean, 1), rstd: slab(st.lnfRstd, 1) } : undefined);
    const head = cap ? matmulChoice(rt, cap.lnf, m.w(m.headName), cap.logits, { form: 'NT' }) : undefined;
    matmul(rt, lnf, m.w(m.headName), logits, { form: 'NT', variant: head });
    return logits;
  }

  /** Moves the staged slabs of a finished capture (positions from..T−1) to rows b·T + t of the
   * model's buffers. */
  private unstageInto(cap: CaptureTarget, from: number): void {
    if (from >= cap.T) return;
    const { rt } = this.model;
    const st = this.stagingFor(cap.T);
    const d = { B: this.B, T: cap.T, from };
    unstageMany(rt, [
      { src: st.x0, dst: cap.x0 },
      ...st.blocks.flatMap((b, l) => BLOCK_ROWS.map((k) => ({ src: b[k], dst: cap.blocks[l][k] }))),
      ...(['lnf', 'lnfMean', 'lnfRstd', 'logits'] as const).map((k) => ({ src: st[k], dst: cap[k] })),
    ], d);
  }

  /** Generates continuations of `prompts` (token ids, BOS included), one row each. */
  async generate(prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Generation> {
    const { rt } = this.model;
    const B = this.B, L = o.length;
    if (prompts.length !== B) throw new Error(`Decoder holds ${B} sequences, got ${prompts.length} prompts`);
    if (L > this.Tmax) throw new Error(`generation length ${L} exceeds this decoder's ${this.Tmax} positions`);
    const seq = new Uint32Array(B * this.Tmax).fill(o.pad);
    const plen = prompts.map((p, b) => {
      if (p.length < 1 || p.length > L) throw new Error(`prompt ${b} has ${p.length} tokens; it needs 1..${L}`);
      seq.set(p, b * this.Tmax);
      return p.length;
    });
    rt.write(this.seq, seq);
    rt.write(this.promptLen, plen);
    // positions every prompt covers, before its last token (whose logits sample the first answer token)
    const P = o.prefill === false || o.keepLogits ? 0 : Math.min(...plen) - 1;
    rt.zero(this.finished);
    rt.zero(this.logprob);
    rt.zero(this.entropy);
    const V = this.model.cfg.vocabSize;
    const kept = o.keepLogits ? rt.empty([L - 1, B, V], 'f32', 'decode kept logits') : null;
    if (o.capture && L < 2) throw new Error(`Decoder: a captured rollout needs length ≥ 2, got ${L}`);
    const cap = o.capture ? this.model.captureActivations(B, L - 1) : null;
    if (P > 0) this.prefill(prompts, P, cap?.target ?? null);
    rt.write(this.next, prompts.map((p) => p[P]));
    for (let pos = P; pos < L - 1; pos++) {
      const logits = this.step(pos, cap?.target ?? null);
      if (kept) rt.copy(logits, kept.view(pos * B * V, [B, V]));
      sampleNext(rt, {
        logits, seq: this.seq, finished: this.finished, logprob: this.logprob, entropy: this.entropy,
        promptLen: this.promptLen, next: this.next, pos, eos: o.eos, pad: o.pad,
      }, { ...o, seed: o.seed });
    }
    if (cap) this.unstageInto(cap.target, P);
    const trim = <A extends Uint32Array | Float32Array>(x: A): A => {
      const out = new (x.constructor as any)(B * L) as A;
      for (let b = 0; b < B; b++) out.set(x.subarray(b * this.Tmax, b * this.Tmax + L), b * L);
      return out;
    };
    // one readback for everything the caller gets (one staging buffer, one GPU round trip)
    const [tokens, logprob, entropy, logitsKept] = await rt.readMany(kept ? [this.seq, this.logprob, this.entropy, kept] : [this.seq, this.logprob, this.entropy]);
    const gen: Generation = {
      B, length: L,
      tokens: trim(tokens as Uint32Array),
      logprob: trim(logprob as Float32Array),
      entropy: trim(entropy as Float32Array),
      promptLength: plen,
    };
    if (cap) {
      // the backward's embedding gradient reads the input tokens: columns 0..L−2 of each row
      const T = L - 1, inputs = new Uint32Array(B * T);
      for (let b = 0; b < B; b++) inputs.set(gen.tokens.subarray(b * L, b * L + T), b * T);
      rt.write(cap.target.tokens, inputs);
      gen.ticket = cap.ticket;
    }
    if (kept) {
      gen.logits = logitsKept as Float32Array;
      kept.buffer.destroy();
    }
    return gen;
  }

  destroy(): void {
    this.freeStaging();
    this.freePrefill();
    for (const c of this.caches) { c.k.buffer.destroy(); c.v.buffer.destroy(); }
    for (const t of [this.x0, ...Object.values(this.blk), this.lnf, this.lnfMean, this.lnfRstd, this.logits, this.seq, this.finished, this.logprob, this.entropy, this.promptLen, this.next]) t.buffer.destroy();
  }
}

/** Row width of a block activation (model width C). */
function rowWidth(C: number, k: (typeof BLOCK_ROWS)[number]): number {
  return { ln1: C, ln1Mean: 1, ln1Rstd: 1, qkv: 3 * C, atty: C, res1: C, ln2: C, ln2Mean: 1, ln2Rstd: 1, fch: 4 * C, fchGelu: 4 * C, res2: C }[k];
}

/** Each block linear runs the variant the forward picks for its [B·T, ·] shape (variants may round
 * differently, and the default choice depends on M): row for row the forward's bits. */
function forwardVariants(m: GPT, cap: CaptureTarget): LinearFn {
  return (which, A, W, C, o) => {
    const big = linearOperands(cap.blocks[0], which);
    matmul(m.rt, A, W, C, { ...o, variant: matmulChoice(m.rt, big.A, W, big.C, { ...o, pre: o.pre && big.pre, residual: undefined }) });
  };
}
