// A float64 CPU GPT-2, forward and backward, one function per layer in the style of llm.c.
// It is the oracle the GPU model is tested against, so it favours plain loops over speed.
//
// Shapes: N = B·T rows; activations are row-major [N, C]. Linear weights are [in, out] (GPT-2
// Conv1D). c_attn's 3C outputs are [q | k | v], and head h owns columns h·hd … (h+1)·hd − 1 of each
// (Hugging Face's split-then-view). Backward functions accumulate (+=) into their gradients, because
// a tensor used twice (the residual stream, a tied wte) receives the sum of both contributions.

import { validateConfig, type GPTConfig, type ParamLayout } from './config.js';

export const LN_EPS = 1e-5;
const GELU_S = Math.sqrt(2 / Math.PI);

// ------------------------------------------------------------------ layers

export function encoderForward(out: Float64Array, tokens: ArrayLike<number>, wte: Float64Array, wpe: Float64Array, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const n = b * T + t, tok = tokens[n];
      for (let c = 0; c < C; c++) out[n * C + c] = wte[tok * C + c] + wpe[t * C + c];
    }
  }
}

export function encoderBackward(dwte: Float64Array, dwpe: Float64Array, dout: Float64Array, tokens: ArrayLike<number>, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const n = b * T + t, tok = tokens[n];
      for (let c = 0; c < C; c++) {
        dwte[tok * C + c] += dout[n * C + c];
        dwpe[t * C + c] += dout[n * C + c];
      }
    }
  }
}

/** Biased variance (divide by C), as PyTorch's LayerNorm. */
export function layernormForward(out: Float64Array, mean: Float64Array, rstd: Float64Array, inp: Float64Array, w: Float64Array, bias: Float64Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const x = inp.subarray(n * C, (n + 1) * C);
    let m = 0;
    for (let c = 0; c < C; c++) m += x[c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[c] - m) ** 2;
    const s = 1 / Math.sqrt(v / C + LN_EPS);
    for (let c = 0; c < C; c++) out[n * C + c] = (x[c] - m) * s * w[c] + bias[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

export function layernormBackward(dinp: Float64Array, dw: Float64Array, db: Float64Array, dout: Float64Array, inp: Float64Array, w: Float64Array, mean: Float64Array, rstd: Float64Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * C, s = rstd[n], m = mean[n];
    // dx = s·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)): the two means come from the mean and
    // the variance depending on every x in the row.
    let dnormMean = 0, dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (inp[o + c] - m) * s, dnorm = dout[o + c] * w[c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (inp[o + c] - m) * s, dnorm = dout[o + c] * w[c];
      db[c] += dout[o + c];
      dw[c] += norm * dout[o + c];
      dinp[o + c] += s * (dnorm - dnormMean - norm * dnormNormMean);
    }
  }
}

/** out[N, OC] = inp[N, C] · w[C, OC] + bias[OC] */
export function matmulForward(out: Float64Array, inp: Float64Array, w: Float64Array, bias: Float64Array | null, N: number, C: number, OC: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < OC; j++) {
      let acc = bias ? bias[j] : 0;
      for (let c = 0; c < C; c++) acc += inp[n * C + c] * w[c * OC + j];
      out[n * OC + j] = acc;
    }
  }
}

export function matmulBackward(dinp: Float64Array, dw: Float64Array, dbias: Float64Array | null, dout: Float64Array, inp: Float64Array, w: Float64Array, N: number, C: number, OC: number): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < OC; j++) {
      const d = dout[n * OC + j];
      if (dbias) dbias[j] += d;
      for (let c = 0; c < C; c++) {
        dinp[n * C + c] += d * w[c * OC + j];
        dw[c * OC + j] += inp[n * C + c] * d;
      }
    }
  }
}

/** logits[N, V] = x[N, C] · head[V, C]ᵀ: the head is stored like wte (one row per token). */
export function headForward(logits: Float64Array, x: Float64Array, head: Float64Array, N: number, C: number, V: number): void {
  for (let n = 0; n < N; n++) {
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += x[n * C + c] * head[v * C + c];
      logits[n * V + v] = acc;
    }
  }
}

export function headBackward(dx: Float64Array, dhead: Float64Array, dlogits: Float64Array, x: Float64Array, head: Float64Array, N: number, C: number, V: number): void {
  for (let n = 0; n < N; n++) {
    for (let v = 0; v < V; v++) {
      const d = dlogits[n * V + v];
      for (let c = 0; c < C; c++) {
        dx[n * C + c] += d * head[v * C + c];
        dhead[v * C + c] += d * x[n * C + c];
      }
    }
  }
}

/**
 * Causal multi-head attention core: out[N, C] from qkv[N, 3C]; att[B, NH, T, T] keeps the
 * softmax probabilities (zero above the diagonal) for the backward pass.
 */
export function attentionForward(out: Float64Array, att: Float64Array, qkv: Float64Array, B: number, T: number, C: number, NH: number): void {
  const hd = C / NH, scale = 1 / Math.sqrt(hd), C3 = 3 * C;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * C3 + h * hd;
        const row = ((b * NH + h) * T + t) * T;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = (b * T + t2) * C3 + C + h * hd;
          let s = 0;
          for (let i = 0; i < hd; i++) s += qkv[q + i] * qkv[k + i];
          att[row + t2] = s * scale;
          max = Math.max(max, s * scale);
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) sum += att[row + t2] = Math.exp(att[row + t2] - max);
        for (let t2 = 0; t2 < T; t2++) att[row + t2] = t2 <= t ? att[row + t2] / sum : 0;
        const o = (b * T + t) * C + h * hd;
        for (let i = 0; i < hd; i++) {
          let acc = 0;
          for (let t2 = 0; t2 <= t; t2++) acc += att[row + t2] * qkv[(b * T + t2) * C3 + 2 * C + h * hd + i];
          out[o + i] = acc;
        }
      }
    }
  }
}

export function attentionBackward(dqkv: Float64Array, dout: Float64Array, qkv: Float64Array, att: Float64Array, B: number, T: number, C: number, NH: number): void {
  const hd = C / NH, scale = 1 / Math.sqrt(hd), C3 = 3 * C;
  const datt = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * NH + h) * T + t) * T;
        const o = (b * T + t) * C + h * hd;
        const q = (b * T + t) * C3 + h * hd;
        // out = Σ att·v: gradients to att and v
        for (let t2 = 0; t2 <= t; t2++) {
          const v = (b * T + t2) * C3 + 2 * C + h * hd;
          let d = 0;
          for (let i = 0; i < hd; i++) {
            d += dout[o + i] * qkv[v + i];
            dqkv[v + i] += att[row + t2] * dout[o + i];
          }
          datt[t2] = d;
        }
        // softmax backward: dpre = att·(datt − Σ att·datt)
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) dot += att[row + t2] * datt[t2];
        for (let t2 = 0; t2 <= t; t2++) {
          const dpre = att[row + t2] * (datt[t2] - dot) * scale;
          const k = (b * T + t2) * C3 + C + h * hd;
          for (let i = 0; i < hd; i++) {
            dqkv[q + i] += dpre * qkv[k + i];
            dqkv[k + i] += dpre * qkv[q + i];
          }
        }
      }
    }
  }
}

/** GELU, tanh approximation (GPT-2's): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluForward(out: Float64Array, inp: Float64Array): void {
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_S * (x + 0.044715 * x * x * x)));
  }
}

export function geluBackward(dinp: Float64Array, inp: Float64Array, dout: Float64Array): void {
  for (let i = 0; i < inp.length; i++) {
    const x = inp[i];
    const th = Math.tanh(GELU_S * (x + 0.044715 * x * x * x));
    const dudx = GELU_S * (1 + 3 * 0.044715 * x * x);
    dinp[i] += dout[i] * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * dudx);
  }
}

export function residualForward(out: Float64Array, a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/**
 * Masked mean cross-entropy: loss = scale·Σ_i w_i·CE_i with scale = 1/#{i : w_i > 0} by default.
 * With 0/1 weights (SFT's answer-only mask) this is the plain mean over the unmasked positions
 * (and equals the weighted mean, scale = 1/Σw). Targets at w_i = 0 are not read, so they may be any
 * placeholder. No unmasked position: loss 0 and zero dlogits. `losses` are the unweighted CE_i.
 */
export function crossEntropy(logits: Float64Array, targets: ArrayLike<number>, weights: ArrayLike<number>, N: number, V: number, scale?: number): { loss: number; losses: Float64Array; dlogits: Float64Array } {
  if (targets.length !== N || weights.length !== N) throw new Error(`crossEntropy: ${targets.length} targets and ${weights.length} weights for ${N} positions`);
  let active = 0;
  for (let n = 0; n < N; n++) if (weights[n] > 0) active++;
  const k = scale ?? 1 / active;
  const losses = new Float64Array(N), dlogits = new Float64Array(N * V);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const w = weights[n];
    if (!(w > 0)) continue;
    const tgt = targets[n];
    if (!(Number.isInteger(tgt) && tgt >= 0 && tgt < V)) throw new Error(`crossEntropy: target ${tgt} at position ${n} is not a token id in [0, ${V})`);
    const row = logits.subarray(n * V, (n + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, row[v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    losses[n] = Math.log(sum) + max - row[tgt];
    loss += k * w * losses[n];
    for (let v = 0; v < V; v++) {
      const p = Math.exp(row[v] - max) / sum;
      dlogits[n * V + v] = k * w * (p - (v === tgt ? 1 : 0));
    }
  }
  return { loss, losses, dlogits };
}

// ------------------------------------------------------------------- model

interface LayerActs {
  inp: Float64Array; // the residual stream entering the block
  ln1: Float64Array; ln1Mean: Float64Array; ln1Rstd: Float64Array;
  qkv: Float64Array; att: Float64Array; atty: Float64Array; attproj: Float64Array;
  res2: Float64Array;
  ln2: Float64Array; ln2Mean: Float64Array; ln2Rstd: Float64Array;
  fch: Float64Array; fchGelu: Float64Array; fcproj: Float64Array;
  out: Float64Array;
}

export interface RefForward {
  B: number;
  T: number;
  tokens: ArrayLike<number>;
  /** [B, T, V] */
  logits: Float64Array;
  params: Float64Array;
  layers: LayerActs[];
  lnf: Float64Array; lnfMean: Float64Array; lnfRstd: Float64Array;
}

function paramViews(layout: ParamLayout, flat: Float64Array): (name: string) => Float64Array {
  return (name) => {
    const p = layout.byName.get(name);
    if (!p) throw new Error(`reference: no parameter ${name} in the layout`);
    return flat.subarray(p.offset, p.offset + p.size);
  };
}

/** Forward pass on tokens [B, T]; params in `layout` (any array of numbers, read as float64). */
export function forward(cfg: GPTConfig, layout: ParamLayout, params: ArrayLike<number>, tokens: ArrayLike<number>, B: number, T: number): RefForward {
  validateConfig(cfg);
  const { nLayer: L, nHead: NH, dModel: C, vocabSize: V } = cfg;
  const N = B * T;
  if (params.length !== layout.size) throw new Error(`reference forward: params have ${params.length} elements, the layout needs ${layout.size}`);
  if (T > cfg.contextLength) throw new Error(`reference forward: T ${T} exceeds contextLength ${cfg.contextLength}`);
  if (tokens.length !== N) throw new Error(`reference forward: ${tokens.length} tokens for B·T = ${N}`);
  for (let i = 0; i < N; i++) {
    if (!(Number.isInteger(tokens[i]) && tokens[i] >= 0 && tokens[i] < V)) throw new Error(`reference forward: token ${tokens[i]} at ${i} is not in [0, ${V})`);
  }
  const P = Float64Array.from(params);
  const w = paramViews(layout, P);
  const f = (n: number) => new Float64Array(n);

  let x: Float64Array = f(N * C);
  encoderForward(x, tokens, w('wte.weight'), w('wpe.weight'), B, T, C);
  const layers: LayerActs[] = [];
  for (let l = 0; l < L; l++) {
    const h = `h.${l}.`;
    const a: LayerActs = {
      inp: x,
      ln1: f(N * C), ln1Mean: f(N), ln1Rstd: f(N),
      qkv: f(N * 3 * C), att: f(B * NH * T * T), atty: f(N * C), attproj: f(N * C),
      res2: f(N * C),
      ln2: f(N * C), ln2Mean: f(N), ln2Rstd: f(N),
      fch: f(N * 4 * C), fchGelu: f(N * 4 * C), fcproj: f(N * C),
      out: f(N * C),
    };
    layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, x, w(h + 'ln_1.weight'), w(h + 'ln_1.bias'), N, C);
    matmulForward(a.qkv, a.ln1, w(h + 'attn.c_attn.weight'), w(h + 'attn.c_attn.bias'), N, C, 3 * C);
    attentionForward(a.atty, a.att, a.qkv, B, T, C, NH);
    matmulForward(a.attproj, a.atty, w(h + 'attn.c_proj.weight'), w(h + 'attn.c_proj.bias'), N, C, C);
    residualForward(a.res2, x, a.attproj);
    layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, w(h + 'ln_2.weight'), w(h + 'ln_2.bias'), N, C);
    matmulForward(a.fch, a.ln2, w(h + 'mlp.c_fc.weight'), w(h + 'mlp.c_fc.bias'), N, C, 4 * C);
    geluForward(a.fchGelu, a.fch);
    matmulForward(a.fcproj, a.fchGelu, w(h + 'mlp.c_proj.weight'), w(h + 'mlp.c_proj.bias'), N, 4 * C, C);
    residualForward(a.out, a.res2, a.fcproj);
    layers.push(a);
    x = a.out;
  }
  const lnf = f(N * C), lnfMean = f(N), lnfRstd = f(N);
  layernormForward(lnf, lnfMean, lnfRstd, x, w('ln_f.weight'), w('ln_f.bias'), N, C);
  const logits = f(N * V);
  headForward(logits, lnf, w(cfg.tiedHead ? 'wte.weight' : 'lm_head.weight'), N, C, V);
  return { B, T, tokens, logits, params: P, layers, lnf, lnfMean, lnfRstd };
}

export interface RefBackwardOptions {
  /**
   * The fork-only truncation (GPT.backward's 'forkOnly' mode): after every attention backward keep
   * dqkv only at these rows (flat b·T + t), dropping the key/value gradients at all other positions.
   * With dlogits zero outside them, every gradient then stays zero outside them all the way down.
   */
  forkRows?: ArrayLike<number>;
}

/**
 * Backward from any dlogits [B, T, V] (cross-entropy's, or an RL objective's): the gradient of every
 * parameter, as one flat Float64Array in `layout` (padding stays 0).
 */
export function backward(cfg: GPTConfig, layout: ParamLayout, fw: RefForward, dlogits: ArrayLike<number>, opts: RefBackwardOptions = {}): Float64Array {
  const { nLayer: L, nHead: NH, dModel: C, vocabSize: V } = cfg;
  const { B, T } = fw, N = B * T;
  if (dlogits.length !== N * V) throw new Error(`reference backward: dlogits has ${dlogits.length} elements, expected B·T·V = ${N * V}`);
  const grads = new Float64Array(layout.size);
  const w = paramViews(layout, fw.params), g = paramViews(layout, grads);
  const f = (n: number) => new Float64Array(n);
  const dl = Float64Array.from(dlogits);

  const dlnf = f(N * C);
  const head = cfg.tiedHead ? 'wte.weight' : 'lm_head.weight';
  headBackward(dlnf, g(head), dl, fw.lnf, w(head), N, C, V);
  let dx: Float64Array = f(N * C); // gradient of the residual stream leaving the current block
  layernormBackward(dx, g('ln_f.weight'), g('ln_f.bias'), dlnf, fw.layers[L - 1].out, w('ln_f.weight'), fw.lnfMean, fw.lnfRstd, N, C);

  for (let l = L - 1; l >= 0; l--) {
    const h = `h.${l}.`, a = fw.layers[l];
    // out = res2 + fcproj: dx flows to both unchanged.
    const dres2 = Float64Array.from(dx);
    const dfchGelu = f(N * 4 * C), dfch = f(N * 4 * C), dln2 = f(N * C);
    matmulBackward(dfchGelu, g(h + 'mlp.c_proj.weight'), g(h + 'mlp.c_proj.bias'), dx, a.fchGelu, w(h + 'mlp.c_proj.weight'), N, 4 * C, C);
    geluBackward(dfch, a.fch, dfchGelu);
    matmulBackward(dln2, g(h + 'mlp.c_fc.weight'), g(h + 'mlp.c_fc.bias'), dfch, a.ln2, w(h + 'mlp.c_fc.weight'), N, C, 4 * C);
    layernormBackward(dres2, g(h + 'ln_2.weight'), g(h + 'ln_2.bias'), dln2, a.res2, w(h + 'ln_2.weight'), a.ln2Mean, a.ln2Rstd, N, C);
    // res2 = inp + attproj
    const dinp = Float64Array.from(dres2);
    const datty = f(N * C), dqkv = f(N * 3 * C), dln1 = f(N * C);
    matmulBackward(datty, g(h + 'attn.c_proj.weight'), g(h + 'attn.c_proj.bias'), dres2, a.atty, w(h + 'attn.c_proj.weight'), N, C, C);
    attentionBackward(dqkv, datty, a.qkv, a.att, B, T, C, NH);
    if (opts.forkRows) keepRows(dqkv, opts.forkRows, 3 * C);
    matmulBackward(dln1, g(h + 'attn.c_attn.weight'), g(h + 'attn.c_attn.bias'), dqkv, a.ln1, w(h + 'attn.c_attn.weight'), N, C, 3 * C);
    layernormBackward(dinp, g(h + 'ln_1.weight'), g(h + 'ln_1.bias'), dln1, a.inp, w(h + 'ln_1.weight'), a.ln1Mean, a.ln1Rstd, N, C);
    dx = dinp;
  }
  encoderBackward(g('wte.weight'), g('wpe.weight'), dx, fw.tokens, B, T, C);
  return grads;
}

/** Zeroes every row of x ([n, width]) not listed in rows. */
function keepRows(x: Float64Array, rows: ArrayLike<number>, width: number): void {
  const keep = new Uint8Array(x.length / width);
  for (let i = 0; i < rows.length; i++) keep[rows[i]] = 1;
  keep.forEach((k, n) => k || x.fill(0, n * width, (n + 1) * width));
}

/** Forward, masked cross-entropy and backward in one call. */
export function lossAndGrads(cfg: GPTConfig, layout: ParamLayout, params: ArrayLike<number>, tokens: ArrayLike<number>, targets: ArrayLike<number>, weights: ArrayLike<number>, B: number, T: number): { loss: number; logits: Float64Array; dlogits: Float64Array; grads: Float64Array } {
  const fw = forward(cfg, layout, params, tokens, B, T);
  const { loss, dlogits } = crossEntropy(fw.logits, targets, weights, B * T, cfg.vocabSize);
  return { loss, logits: fw.logits, dlogits, grads: backward(cfg, layout, fw, dlogits) };
}
