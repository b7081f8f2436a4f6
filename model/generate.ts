// Batched generation with a KV cache: every sequence advances one position per step, all on the
// GPU (the sampler writes each next token where the following step reads it), so a whole rollout is
// recorded without a single readback. Prompts of different lengths share the loop: while a row is
// inside its prompt the sampler keeps the prompt token (teacher forcing) instead of sampling.
import { attentionDecode, createKVCache, type KVCache } from '../kernels/attention.js';
import { embedding } from '../kernels/embedding.js';
import { gelu } from '../kernels/elementwise.js';
import { layernorm } from '../kernels/layernorm.js';
import { matmul } from '../kernels/matmul.js';
import type { Tensor } from '../kernels/runtime.js';
import { sampleNext, type SampleOptions } from '../kernels/sample.js';
import type { GPT } from './gpt.js';

export interface GenerateOptions extends SampleOptions {
  /** Total sequence length to produce (prompt included), ≤ the model's context. */
  length: number;
  eos: number;
  pad: number;
  /** Debug/test: also return the logits of every step, [length − 1, B, V]. */
  keepLogits?: boolean;
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
}

/** Reusable decode buffers for B sequences of up to Tmax positions. */
export class Decoder {
  private caches: KVCache[];
  private x0: Tensor; private res1: Tensor; private res2: Tensor;
  private ln: Tensor; private qkv: Tensor; private atty: Tensor; private fch: Tensor; private fchGelu: Tensor;
  private logits: Tensor;
  readonly seq: Tensor; readonly finished: Tensor; readonly logprob: Tensor; readonly entropy: Tensor;
  private promptLen: Tensor; private next: Tensor;

  constructor(private model: GPT, readonly B: number, readonly Tmax: number) {
    const { rt, cfg } = model;
    if (Tmax > cfg.contextLength) throw new Error(`generation length ${Tmax} exceeds the model's context of ${cfg.contextLength}`);
    const C = cfg.dModel, H = cfg.nHead, hd = C / H;
    const f = (shape: number[], l: string) => rt.empty(shape, 'f32', `decode ${l}`);
    this.caches = Array.from({ length: cfg.nLayer }, (_, l) => createKVCache(rt, { B, H, hd, Tmax }, `h.${l} kv`));
    this.x0 = f([B, C], 'x0'); this.res1 = f([B, C], 'res1'); this.res2 = f([B, C], 'res2');
    this.ln = f([B, C], 'ln'); this.qkv = f([B, 3 * C], 'qkv'); this.atty = f([B, C], 'atty');
    this.fch = f([B, 4 * C], 'fch'); this.fchGelu = f([B, 4 * C], 'fch gelu');
    this.logits = f([B, cfg.vocabSize], 'logits');
    this.seq = rt.empty([B, Tmax], 'u32', 'decode seq');
    this.finished = rt.empty([B], 'u32', 'decode finished');
    this.logprob = f([B, Tmax], 'logprob');
    this.entropy = f([B, Tmax], 'entropy');
    this.promptLen = rt.empty([B], 'u32', 'decode prompt length');
    this.next = rt.empty([B, 1], 'u32', 'decode next');
  }

  /** Runs the model on `next` at position pos and leaves the logits of position pos + 1's token. */
  private step(pos: number): Tensor {
    const { rt, cfg } = this.model;
    const m = this.model;
    embedding(rt, this.next, m.w('wte.weight'), m.w('wpe.weight'), this.x0, pos);
    let x = this.x0;
    for (let l = 0; l < cfg.nLayer; l++) {
      const w = (s: string) => m.w(`h.${l}.${s}`);
      layernorm(rt, x, w('ln_1.weight'), w('ln_1.bias'), this.ln);
      matmul(rt, this.ln, w('attn.c_attn.weight'), this.qkv, { bias: w('attn.c_attn.bias') });
      attentionDecode(rt, { qkv: this.qkv, cache: this.caches[l], out: this.atty, pos });
      rt.copy(x, this.res1);
      matmul(rt, this.atty, w('attn.c_proj.weight'), this.res1, { bias: w('attn.c_proj.bias'), accumulate: true });
      layernorm(rt, this.res1, w('ln_2.weight'), w('ln_2.bias'), this.ln);
      matmul(rt, this.ln, w('mlp.c_fc.weight'), this.fch, { bias: w('mlp.c_fc.bias') });
      gelu(rt, this.fch, this.fchGelu);
      rt.copy(this.res1, this.res2);
      matmul(rt, this.fchGelu, w('mlp.c_proj.weight'), this.res2, { bias: w('mlp.c_proj.bias'), accumulate: true });
      x = this.res2;
    }
    layernorm(rt, x, m.w('ln_f.weight'), m.w('ln_f.bias'), this.ln);
    matmul(rt, this.ln, m.w(m.headName), this.logits, { form: 'NT' });
    return this.logits;
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
    rt.write(this.next, prompts.map((p) => p[0]));
    rt.zero(this.finished);
    rt.zero(this.logprob);
    rt.zero(this.entropy);
    const V = this.model.cfg.vocabSize;
    const kept = o.keepLogits ? rt.empty([L - 1, B, V], 'f32', 'decode kept logits') : null;
    for (let pos = 0; pos < L - 1; pos++) {
      const logits = this.step(pos);
      if (kept) rt.copy(logits, kept.view(pos * B * V, [B, V]));
      sampleNext(rt, {
        logits, seq: this.seq, finished: this.finished, logprob: this.logprob, entropy: this.entropy,
        promptLen: this.promptLen, next: this.next, pos, eos: o.eos, pad: o.pad,
      }, { ...o, seed: o.seed });
    }
    const trim = <A extends Uint32Array | Float32Array>(x: A): A => {
      const out = new (x.constructor as any)(B * L) as A;
      for (let b = 0; b < B; b++) out.set(x.subarray(b * this.Tmax, b * this.Tmax + L), b * L);
      return out;
    };
    const gen: Generation = {
      B, length: L,
      tokens: trim((await rt.read(this.seq)) as Uint32Array),
      logprob: trim((await rt.read(this.logprob)) as Float32Array),
      entropy: trim((await rt.read(this.entropy)) as Float32Array),
      promptLength: plen,
    };
    if (kept) {
      gen.logits = (await rt.read(kept)) as Float32Array;
      kept.buffer.destroy();
    }
    return gen;
  }

  destroy(): void {
    for (const c of this.caches) { c.k.buffer.destroy(); c.v.buffer.destroy(); }
    for (const t of [this.x0, this.res1, this.res2, this.ln, this.qkv, this.atty, this.fch, this.fchGelu, this.logits, this.seq, this.finished, this.logprob, this.entropy, this.promptLen, this.next]) t.buffer.destroy();
  }
}
