// Fixtures for real-GPT-2 loading (tests and scripts/bench-gpt2.ts), built here because no model can be downloaded:
// - GPT-2's tokenizer files (vocab.json, merges.txt) generated from js-tiktoken's GPT-2 ranks;
// - a random GPT-2 with the real vocabulary laid out as Hugging Face files really are: bare or
//   `transformer.`-prefixed names, F32 or F16, with the legacy h.N.attn.bias / attn.masked_bias
//   causal-mask buffers, plus the float32 values the loader must end up with (for the reference).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { initParams, paramLayout, type GPTConfig, type ParamLayout } from '../model/config.js';
import { forward } from '../model/reference.js';
import { bytesToVocabText, END_OF_TEXT } from '../model/hf/tokenizer.js';

export const GPT2_VOCAB = 50257;

/** js-tiktoken's GPT-2 encoder: the oracle the folder-file tokenizer is compared with. */
export function tiktokenGpt2(): Tiktoken {
  return new Tiktoken(gpt2Ranks);
}

let files: { vocab: string; merges: string } | null = null;

/**
 * vocab.json and merges.txt equivalent to GPT-2's, from the ranks: token id = rank, and the merge
 * that makes token r is the split BPE reaches when only ranks below r may merge (the standard
 * tiktoken → Hugging Face conversion). GPT-2's merges.txt lists its merges in this same order.
 */
export function gpt2TokenizerFiles(): { vocab: string; merges: string } {
  if (files) return files;
  const enc: any = tiktokenGpt2();
  const textMap: Map<number, Uint8Array> = enc.textMap, rankMap: Map<string, number> = enc.rankMap;
  const vocab: Record<string, number> = {};
  const merges: string[] = ['#version: 0.2'];
  for (let r = 0; r < textMap.size; r++) {
    const bytes = textMap.get(r)!;
    vocab[bytesToVocabText(bytes)] = r;
    if (bytes.length < 2) continue;
    let parts = [...bytes].map((b) => [b]);
    for (;;) {
      let bestRank = Infinity, at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = rankMap.get([...parts[i], ...parts[i + 1]].join(','));
        if (rank !== undefined && rank < r && rank < bestRank) { bestRank = rank; at = i; }
      }
      if (at < 0) break;
      parts.splice(at, 2, [...parts[at], ...parts[at + 1]]);
    }
    if (parts.length !== 2) throw new Error(`fixture: token ${r} does not split into two lower-ranked tokens`);
    merges.push(parts.map((p) => bytesToVocabText(Uint8Array.from(p))).join(' '));
  }
  vocab[END_OF_TEXT] = GPT2_VOCAB - 1;
  files = { vocab: JSON.stringify(vocab), merges: merges.join('\n') + '\n' };
  return files;
}

const F32 = new Float32Array(1), F32_BITS = new Uint32Array(F32.buffer);
const roundEven = (v: number) => { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f; };

/** Round a float32 to the nearest IEEE half (ties to even): the bits and the value they stand for. */
export function toHalf(x: number): { bits: number; value: number } {
  F32[0] = x;
  const sign = (F32_BITS[0] >>> 16) & 0x8000, s = sign ? -1 : 1, a = Math.abs(F32[0]);
  if (a === 0) return { bits: sign, value: 0 };
  let e = ((F32_BITS[0] >>> 23) & 0xff) - 127; // a = 1.f · 2^e for normal float32
  if (e < -14) { // half subnormal: m·2⁻²⁴ (m = 1024 is the smallest normal, which the same bits encode)
    const m = roundEven(a * 2 ** 24);
    return { bits: sign | m, value: s * m * 2 ** -24 };
  }
  let m = roundEven((a * 2 ** -e - 1) * 1024);
  if (m === 1024) { m = 0; e++; }
  if (e > 15) throw new Error(`toHalf: ${x} overflows F16`);
  return { bits: sign | ((e + 15) << 10) | m, value: s * (1 + m / 1024) * 2 ** e };
}

export interface Gpt2FixtureOptions {
  nLayer: number;
  nHead: number;
  dModel: number;
  contextLength: number;
  dtype: 'F32' | 'F16';
  /** Name prefix: '' (GPT2Model.save_pretrained, the gpt2 repo) or 'transformer.' (GPT2LMHeadModel). */
  prefix: '' | 'transformer.';
  /** Write h.N.attn.bias [1,1,n,n] (and masked_bias on even layers) as old transformers versions did. */
  legacyMasks: boolean;
  seed: number;
  /** Multiplies wte (the tied head) so logits spread and entropies cover forking and non-forking. */
  wteScale?: number;
  /** Multiplies the blocks' weight matrices, so every layer (GELU included) moves the logits. */
  blockScale?: number;
}

export interface Gpt2Fixture {
  cfg: GPTConfig;
  layout: ParamLayout;
  /** The values the loader must produce (F16-rounded for F16), in layout order with align 1. */
  params: Float32Array;
}

/** Writes config.json, model.safetensors, vocab.json and merges.txt into dir. */
export function writeGpt2Folder(dir: string, o: Gpt2FixtureOptions): Gpt2Fixture {
  const cfg: GPTConfig = { nLayer: o.nLayer, nHead: o.nHead, dModel: o.dModel, contextLength: o.contextLength, vocabSize: GPT2_VOCAB, tiedHead: true };
  const layout = paramLayout(cfg, 1);
  const params = initParams(cfg, layout, o.seed);
  const wte = layout.byName.get('wte.weight')!;
  for (let i = wte.offset; i < wte.offset + wte.size; i++) params[i] *= o.wteScale ?? 1;
  for (const p of layout.params) {
    if (p.name.startsWith('h.') && p.shape.length === 2) for (let i = p.offset; i < p.offset + p.size; i++) params[i] *= o.blockScale ?? 1;
  }
  // LayerNorm weights of exactly 1 and biases of 0 would leave those paths untested: perturb them.
  for (const p of layout.params) {
    if (p.shape.length !== 1) continue;
    const isWeight = p.name.endsWith('.weight');
    for (let i = p.offset; i < p.offset + p.size; i++) params[i] = (isWeight ? 1 : 0) + 0.1 * Math.sin(1 + i * 0.37);
  }
  const entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[] = [];
  for (const p of layout.params) {
    const view = params.subarray(p.offset, p.offset + p.size);
    let bytes: Uint8Array;
    if (o.dtype === 'F16') {
      const u = new Uint16Array(p.size);
      for (let i = 0; i < p.size; i++) {
        const h = toHalf(view[i]);
        u[i] = h.bits;
        view[i] = h.value; // the loader must read back exactly this
      }
      bytes = new Uint8Array(u.buffer);
    } else bytes = new Uint8Array(view.slice().buffer);
    entries.push({ name: o.prefix + p.name, dtype: o.dtype, shape: p.shape, bytes });
  }
  if (o.legacyMasks) {
    const n = o.contextLength;
    for (let l = 0; l < o.nLayer; l++) {
      const mask = new Float32Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) mask[i * n + j] = 1;
      entries.push({ name: `${o.prefix}h.${l}.attn.bias`, dtype: 'F32', shape: [1, 1, n, n], bytes: new Uint8Array(mask.buffer) });
      if (l % 2 === 0) entries.push({ name: `${o.prefix}h.${l}.attn.masked_bias`, dtype: 'F32', shape: [], bytes: new Uint8Array(Float32Array.of(-1e4).buffer) });
    }
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(entries));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], bos_token_id: 50256, eos_token_id: 50256,
    layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: o.contextLength, n_embd: o.dModel, n_head: o.nHead, n_layer: o.nLayer,
    n_positions: o.contextLength, torch_dtype: o.dtype === 'F16' ? 'float16' : 'float32', vocab_size: GPT2_VOCAB,
  }, null, 2));
  const tf = gpt2TokenizerFiles();
  writeFileSync(join(dir, 'vocab.json'), tf.vocab);
  writeFileSync(join(dir, 'merges.txt'), tf.merges);
  return { cfg, layout, params };
}

/** A safetensors file in any dtype, tensors sorted by name as the safetensors library writes them. */
export function safetensorsBytes(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let end = 0;
  for (const e of sorted) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [end, end + e.bytes.length] };
    end += e.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + end);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const e of sorted) { out.set(e.bytes, pos); pos += e.bytes.length; }
  return out;
}

/**
 * The float64 entropy of the distribution at each row of `ids` (model/reference.ts's forward on the
 * fixture's weights), its logits, and the bound on a float32 GPU's deviation: test/gpt.test.ts's
 * logit bound δz = (24L + 8)·γ_K·max|logit|, carried through the entropy as
 * test/entropy-tool.test.ts derives it, |ΔH| ≤ δz·(spread + 2δz). The logits' reductions run over
 * C, 4C and T; the vocabulary enters only float64 host sums, so K leaves V out.
 */
export function referenceRows(fx: Gpt2Fixture, ids: number[]) {
  const { cfg, layout, params } = fx, V = cfg.vocabSize, T = ids.length;
  const ref = forward(cfg, layout, params, ids, 1, T);
  const K = Math.max(4 * cfg.dModel, T), u = 2 ** -24, gammaK = (K * u) / (1 - K * u);
  const maxAbs = ref.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const dz = (24 * cfg.nLayer + 8) * gammaK * maxAbs;
  return (row: number) => {
    const z = ref.logits.subarray(row * V, (row + 1) * V);
    let m = -Infinity, lo = Infinity;
    for (const x of z) { m = Math.max(m, x); lo = Math.min(lo, x); }
    let s = 0, acc = 0;
    for (const x of z) { const e = Math.exp(x - m); s += e; acc += e * (x - m); }
    const lse = m + Math.log(s), H = Math.log(s) - acc / s, spread = m - lo;
    return { H, z, lse, dz, bound: dz * (spread + 2 * dz) + 1e-9 };
  };
}
