// Inference-only GPT-2 on the GPU: one buffer per weight tensor and one set of activations reused
// by every layer; no gradients, no optimizer moments (the training GPT class allocates both, ~2 GB
// for gpt2 before it scores a word). The same kernels as training, in the same order:
//
//   x = wte[tokens] + wpe[t]                       (on the host: T rows of C adds)
//   per block: x += attn(ln_1(x))·W + b ; x += gelu(ln_2(x)·Wfc + bfc)·Wproj + bproj
//   logits = ln_f(x) · wteᵀ, one vocabulary block at a time
//
// Why blocks: software adapters bind at most 128 MiB per buffer (lavapipe) and GPT-2's wte is
// 50257 × 768 × 4 B = 154 MB, so the tied head is split into row blocks of wte that each fit, and
// each block's logits [T, Vb] are read back separately. The embedding gathers its T rows from the
// host copy of wte for the same reason (no kernel needs the whole matrix bound at once).
import { attentionForward } from '../../kernels/attention.js';
import { gelu } from '../../kernels/elementwise.js';
import { layernorm } from '../../kernels/layernorm.js';
import { matmul } from '../../kernels/matmul.js';
import type { Runtime, Tensor } from '../../kernels/runtime.js';
import { paramShapes, type GPTConfig } from '../config.js';

export interface InferencePlan {
  /** [first, end) vocabulary rows of each head block. */
  blocks: [number, number][];
  /** Bytes of GPU memory: weights, activations for a full context, logits blocks. */
  gpuBytes: number;
  /** The per-buffer limit planned against. */
  limitBytes: number;
}

const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The largest buffer this device binds (both limits apply to a storage binding of a whole buffer). */
export function bufferLimit(rt: Runtime): number {
  return Math.min(rt.device.limits.maxStorageBufferBindingSize, rt.device.limits.maxBufferSize);
}

/**
 * Sizes every GPU buffer a checkpoint of this config needs and throws, before anything is read or
 * allocated, if one is over the adapter's per-buffer limit: the tensor, its size, the limit and
 * what to do.
 */
export function planInference(cfg: GPTConfig, limitBytes: number): InferencePlan {
  const { dModel: C, contextLength: T, vocabSize: V } = cfg;
  const fix = 'use a smaller GPT-2 (gpt2, distilgpt2) or a GPU whose WebGPU adapter allows larger storage buffers (maxStorageBufferBindingSize)';
  const big = (what: string, bytes: number) => {
    if (bytes > limitBytes) throw new Error(`this checkpoint needs ${MB(bytes)} in one GPU buffer for ${what}, over this adapter's limit of ${MB(limitBytes)} per buffer; ${fix}`);
  };
  let gpuBytes = 0;
  for (const p of paramShapes(cfg)) {
    if (p.name === 'wpe.weight') continue; // host only
    const bytes = 4 * p.shape.reduce((a, b) => a * b, 1);
    if (p.name !== 'wte.weight' && p.name !== 'lm_head.weight') big(p.name, bytes);
    gpuBytes += bytes;
  }
  for (const [what, width] of [['the MLP activations', 4 * C], ['the attention q|k|v', 3 * C]] as const) big(`${what} [${T}, ${width}]`, 4 * T * width);
  gpuBytes += 4 * T * (2 * C + 3 * C + 8 * C);
  // Head blocks: Vb rows of the head [Vb, C] and their logits [T, Vb] must each fit.
  const rows = Math.floor(limitBytes / (4 * Math.max(C, T)));
  if (rows < 1) big(`one row of the LM head and its logits`, 4 * Math.max(C, T));
  const n = Math.ceil(V / rows), Vb = Math.ceil(V / n);
  const blocks: [number, number][] = [];
  for (let v0 = 0; v0 < V; v0 += Vb) blocks.push([v0, Math.min(V, v0 + Vb)]);
  gpuBytes += 4 * T * V;
  return { blocks, gpuBytes, limitBytes };
}

export class InferenceGPT {
  readonly plan: InferencePlan;
  private readonly w = new Map<string, Tensor>();
  private readonly head: Tensor[];
  private readonly wte: Float32Array;
  private readonly wpe: Float32Array;
  private readonly acts: { x: Tensor; ln: Tensor; qkv: Tensor; atty: Tensor; fch: Tensor; logits: Tensor[] };

  /** Uploads the weights (float32, by GPT-2 name as decodeGpt2Checkpoint returns them). */
  constructor(readonly rt: Runtime, readonly cfg: GPTConfig, tensors: Map<string, Float32Array>) {
    this.plan = planInference(cfg, bufferLimit(rt));
    const { dModel: C, contextLength: T } = cfg;
    const get = (name: string) => tensors.get(name) ?? (() => { throw new Error(`InferenceGPT: no tensor ${name}`); })();
    for (const p of paramShapes(cfg)) {
      if (p.name === 'wte.weight' || p.name === 'wpe.weight' || p.name === 'lm_head.weight') continue;
      this.w.set(p.name, this.rt.upload(get(p.name), p.shape, 'f32', p.name));
    }
    this.wte = get('wte.weight');
    this.wpe = get('wpe.weight');
    const head = cfg.tiedHead ? this.wte : get('lm_head.weight');
    this.head = this.plan.blocks.map(([a, b]) => rt.upload(head.subarray(a * C, b * C), [b - a, C], 'f32', `head rows ${a}…${b - 1}`));
    const f = (shape: number[], label: string) => rt.empty(shape, 'f32', label);
    this.acts = {
      x: f([T, C], 'residual'), ln: f([T, C], 'ln'), qkv: f([T, 3 * C], 'qkv'), atty: f([T, C], 'atty'), fch: f([T, 4 * C], 'fch'),
      logits: this.plan.blocks.map(([a, b]) => f([T, b - a], `logits ${a}…${b - 1}`)),
    };
  }

  /**
   * Runs ids (one sequence, 1 ≤ T ≤ context, positions 0…T−1) and hands each head block's
   * logits [T, end − first] (row-major) to `visit`, in vocabulary order.
   */
  async logits(ids: readonly number[], visit: (first: number, end: number, logits: Float32Array) => void): Promise<void> {
    const { rt, cfg } = this;
    const T = ids.length, C = cfg.dModel, H = cfg.nHead, V = cfg.vocabSize;
    if (T < 1 || T > cfg.contextLength) throw new Error(`InferenceGPT: ${T} tokens; the model takes 1 to ${cfg.contextLength}`);
    const x0 = new Float32Array(T * C);
    ids.forEach((id, t) => {
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`InferenceGPT: token id ${id} at ${t} is outside the vocabulary of ${V}`);
      for (let c = 0; c < C; c++) x0[t * C + c] = this.wte[id * C + c] + this.wpe[t * C + c];
    });
    const v = (t: Tensor, w: number) => t.view(0, [T, w]);
    const x = v(this.acts.x, C), ln = v(this.acts.ln, C), qkv = v(this.acts.qkv, 3 * C), atty = v(this.acts.atty, C), fch = v(this.acts.fch, 4 * C);
    rt.write(x, x0);
    for (let l = 0; l < cfg.nLayer; l++) {
      const w = (s: string) => this.w.get(`h.${l}.${s}`)!;
      layernorm(rt, x, w('ln_1.weight'), w('ln_1.bias'), ln);
      matmul(rt, ln, w('attn.c_attn.weight'), qkv, { bias: w('attn.c_attn.bias') });
      attentionForward(rt, { qkv, out: atty, B: 1, T, H, hd: C / H });
      matmul(rt, atty, w('attn.c_proj.weight'), x, { bias: w('attn.c_proj.bias'), accumulate: true });
      layernorm(rt, x, w('ln_2.weight'), w('ln_2.bias'), ln);
      matmul(rt, ln, w('mlp.c_fc.weight'), fch, { bias: w('mlp.c_fc.bias') });
      gelu(rt, fch, fch);
      matmul(rt, fch, w('mlp.c_proj.weight'), x, { bias: w('mlp.c_proj.bias'), accumulate: true });
    }
    layernorm(rt, x, this.w.get('ln_f.weight')!, this.w.get('ln_f.bias')!, ln);
    const outs = this.plan.blocks.map(([a, b], i) => {
      const out = v(this.acts.logits[i], b - a);
      matmul(rt, ln, this.head[i], out, { form: 'NT' });
      return out;
    });
    for (let i = 0; i < outs.length; i++) visit(this.plan.blocks[i][0], this.plan.blocks[i][1], await rt.readF32(outs[i]));
  }

  destroy(): void {
    const all = [...this.w.values(), ...this.head, ...Object.values(this.acts).flat()];
    for (const t of all) t.buffer.destroy();
  }
}
