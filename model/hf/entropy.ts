// Per-token entropy of a GPT-2 checkpoint on a text: the recipe every reader of the forking-token
// idea tries first (load GPT-2, list each token's entropy, look at the high-entropy tokens). One
// code path for scripts/entropy.ts and the page.
//
// The text is tokenized with the folder's BPE and prefixed with <|endoftext|> (GPT-2's document
// start), so every token t gets the entropy of the distribution that produced it: the model's
// next-token distribution at position t − 1. Texts longer than the window run in windows that
// overlap by half a window, so every scored token sees at least half a window of context.
// Entropies are computed on the host in float64 from the GPU's float32 logits, streamed one head
// block at a time: H = log S − Σ e^{z−M}(z − M)/S with M the row max and S = Σ e^{z−M}.
import type { InferenceGPT } from './inference.js';
import type { Gpt2Tokenizer } from './tokenizer.js';

export interface Alternative {
  id: number;
  token: string;
  /** Probability under the model. */
  p: number;
}

export interface TokenEntropy {
  id: number;
  /** Display text; the tokens' texts concatenate to the text (see Gpt2Tokenizer.pieces). */
  token: string;
  entropyNats: number;
  entropyBits: number;
  forking: boolean;
  /** The K most likely tokens of the distribution that produced this one (forking tokens only). */
  top?: Alternative[];
}

export interface EntropyOptions {
  /** Forking threshold in nats (a token is forking when its entropy ≥ threshold). */
  threshold: number;
  /** Alternatives to list at forking tokens (0: none). */
  top?: number;
  /** Tokens per forward pass (default and maximum: the model's context). */
  window?: number;
}

export interface EntropyResult {
  tokens: TokenEntropy[];
  meanNats: number;
  /** Forward passes run. */
  windows: number;
  /** Wall time of the forward passes and readbacks, ms. */
  ms: number;
}

/** Checks the text and options against the model and tokenizer; returns the ids with the BOS. */
export function entropyInput(model: { cfg: { contextLength: number; vocabSize: number } }, tok: Gpt2Tokenizer, text: string, o: EntropyOptions): number[] {
  if (text.length === 0) throw new Error('the text is empty; give at least one character');
  const ctx = model.cfg.contextLength, window = o.window ?? ctx;
  if (!Number.isInteger(window) || window < 2 || window > ctx) {
    throw new Error(`the window is ${window} tokens; it must be an integer from 2 to the model's context of ${ctx} tokens (longer texts run in overlapping windows)`);
  }
  if (o.top !== undefined && !(Number.isInteger(o.top) && o.top >= 0 && o.top <= 100)) throw new Error(`--top is ${o.top}; it must be an integer from 0 to 100`);
  const bos = tok.endOfText;
  if (bos === undefined) throw new Error('vocab.json has no <|endoftext|> token, which GPT-2 uses as the text start; this is not a GPT-2 tokenizer');
  const ids = [bos, ...tok.encode(text)];
  const V = model.cfg.vocabSize;
  const bad = ids.findIndex((id) => id >= V);
  if (bad >= 0) throw new Error(`the tokenizer gave id ${ids[bad]} (${JSON.stringify(tok.decode([ids[bad]]))}), outside the model's vocab_size of ${V}; vocab.json is not this checkpoint's`);
  return ids;
}

export async function tokenEntropies(model: InferenceGPT, tok: Gpt2Tokenizer, text: string, o: EntropyOptions): Promise<EntropyResult> {
  const ids = entropyInput(model, tok, text, o);
  const n = ids.length, W = o.window ?? model.cfg.contextLength, overlap = Math.floor(W / 2), K = o.top ?? 0;
  // Per target token i (1 ≤ i < n): running max, Σe^{z−M}, Σe^{z−M}(z−M), and the K best (z, id).
  const M = new Float64Array(n).fill(-Infinity), S = new Float64Array(n), U = new Float64Array(n);
  const best: { z: number; id: number }[][] = Array.from({ length: n }, () => []);
  const t0 = performance.now();
  let windows = 0;
  for (let next = 1; next < n; ) {
    const s = Math.max(0, next - overlap), e = Math.min(n, s + W);
    const first = next; // targets first … e−1 come from rows first−1−s … e−2−s
    await model.logits(ids.slice(s, e), (v0, v1, z) => {
      const Vb = v1 - v0;
      for (let i = first; i < e; i++) {
        const row = z.subarray((i - 1 - s) * Vb, (i - s) * Vb);
        let mb = -Infinity;
        for (let v = 0; v < Vb; v++) if (row[v] > mb) mb = row[v];
        let sb = 0, ub = 0;
        for (let v = 0; v < Vb; v++) {
          const d = row[v] - mb, ex = Math.exp(d);
          sb += ex;
          ub += ex * d;
        }
        // merge this block's (mb, sb, ub) into the row's running (M, S, U), both shifted to the new max
        const m = Math.max(M[i], mb), a = Math.exp(M[i] - m), b = Math.exp(mb - m);
        U[i] = (M[i] === -Infinity ? 0 : a * (U[i] + S[i] * (M[i] - m))) + b * (ub + sb * (mb - m));
        S[i] = (M[i] === -Infinity ? 0 : a * S[i]) + b * sb;
        M[i] = m;
        if (K) keepBest(best[i], row, v0, K);
      }
    });
    windows++;
    next = e;
  }
  const ms = performance.now() - t0;
  const pieces = tok.pieces(ids);
  const tokens = ids.slice(1).map((id, j): TokenEntropy => {
    const i = j + 1, lse = M[i] + Math.log(S[i]);
    const H = Math.max(0, Math.log(S[i]) - U[i] / S[i]);
    const forking = H >= o.threshold;
    const t: TokenEntropy = { id, token: pieces[i], entropyNats: H, entropyBits: H / Math.LN2, forking };
    if (K && forking) t.top = best[i].map((c) => ({ id: c.id, token: tok.decode([c.id]), p: Math.exp(c.z - lse) }));
    return t;
  });
  const meanNats = tokens.reduce((a, t) => a + t.entropyNats, 0) / tokens.length;
  return { tokens, meanNats, windows, ms };
}

/** Keeps the K largest logits of row (ids offset by v0) in `best`, sorted descending. */
function keepBest(best: { z: number; id: number }[], row: Float32Array, v0: number, K: number): void {
  for (let v = 0; v < row.length; v++) {
    const z = row[v];
    if (best.length === K && z <= best[K - 1].z) continue;
    let at = best.length;
    while (at > 0 && best[at - 1].z < z) at--;
    best.splice(at, 0, { z, id: v0 + v });
    if (best.length > K) best.pop();
  }
}
