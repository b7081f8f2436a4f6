// float64 reference of causal multi-head self-attention (see attention.wgsl.ts), GPT-2 layout:
// qkv [B, T, 3C] holds q | k | v, head h at columns h·hd..(h+1)·hd of each; y [B, T, C].
// It also returns the intermediates the tests use to derive error bounds.

export interface AttnRefDims { B: number; T: number; H: number; hd: number }

export interface AttnRefForward {
  y: Float64Array;
  /** scaled scores s[b,h,i,j] = q_i·k_j/√hd, causal part only (j ≤ i; the rest is 0) */
  s: Float64Array;
  /** softmax probabilities [B, H, T, T] (0 above the diagonal) */
  P: Float64Array;
  lse: Float64Array;
}

const at = (d: AttnRefDims) => {
  const C = d.H * d.hd;
  return {
    C,
    q: (b: number, t: number, h: number, e: number) => (b * d.T + t) * 3 * C + h * d.hd + e,
    k: (b: number, t: number, h: number, e: number) => (b * d.T + t) * 3 * C + C + h * d.hd + e,
    v: (b: number, t: number, h: number, e: number) => (b * d.T + t) * 3 * C + 2 * C + h * d.hd + e,
    y: (b: number, t: number, h: number, e: number) => (b * d.T + t) * C + h * d.hd + e,
    p: (b: number, h: number, i: number, j: number) => ((b * d.H + h) * d.T + i) * d.T + j,
  };
};

export function attentionForwardRef(qkv: ArrayLike<number>, d: AttnRefDims): AttnRefForward {
  const { B, T, H, hd } = d;
  const ix = at(d);
  const scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(B * T * ix.C), s = new Float64Array(B * H * T * T), P = new Float64Array(B * H * T * T);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    let mx = -Infinity;
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let e = 0; e < hd; e++) dot += qkv[ix.q(b, i, h, e)] * qkv[ix.k(b, j, h, e)];
      s[ix.p(b, h, i, j)] = dot * scale;
      mx = Math.max(mx, dot * scale);
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) sum += Math.exp(s[ix.p(b, h, i, j)] - mx);
    lse[(b * H + h) * T + i] = mx + Math.log(sum);
    for (let j = 0; j <= i; j++) {
      const p = Math.exp(s[ix.p(b, h, i, j)] - mx) / sum;
      P[ix.p(b, h, i, j)] = p;
      for (let e = 0; e < hd; e++) y[ix.y(b, i, h, e)] += p * qkv[ix.v(b, j, h, e)];
    }
  }
  return { y, s, P, lse };
}

export interface AttnRefBackward {
  dqkv: Float64Array;
  /** dP[b,h,i,j] = dO_i·v_j and dS = P·(dP − D_i), [B, H, T, T] */
  dP: Float64Array;
  dS: Float64Array;
  /** D[b,h,i] = dO_i·y_i = Σ_j P_ij dP_ij */
  D: Float64Array;
}

/** Gradient of Σ dout·y with respect to qkv. With `rows` (flat b·T+t ids, a set: repeats count
 * once), only those query rows' dout is used: every other row's dout counts as zero. */
export function attentionBackwardRef(
  qkv: ArrayLike<number>, dout: ArrayLike<number>, d: AttnRefDims, fwd: AttnRefForward, rows?: ArrayLike<number>,
): AttnRefBackward {
  const { B, T, H, hd } = d;
  const ix = at(d);
  const scale = 1 / Math.sqrt(hd);
  const listed = new Uint8Array(B * T).fill(rows ? 0 : 1);
  if (rows) for (let n = 0; n < rows.length; n++) listed[rows[n]] = 1;
  const dqkv = new Float64Array(B * T * 3 * ix.C);
  const dP = new Float64Array(B * H * T * T), dS = new Float64Array(B * H * T * T), D = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
    if (!listed[b * T + i]) continue;
    let Di = 0;
    for (let e = 0; e < hd; e++) Di += dout[ix.y(b, i, h, e)] * fwd.y[ix.y(b, i, h, e)];
    D[(b * H + h) * T + i] = Di;
    for (let j = 0; j <= i; j++) {
      const pij = fwd.P[ix.p(b, h, i, j)];
      let dp = 0;
      for (let e = 0; e < hd; e++) dp += dout[ix.y(b, i, h, e)] * qkv[ix.v(b, j, h, e)];
      const ds = pij * (dp - Di);
      dP[ix.p(b, h, i, j)] = dp;
      dS[ix.p(b, h, i, j)] = ds;
      for (let e = 0; e < hd; e++) {
        dqkv[ix.q(b, i, h, e)] += scale * ds * qkv[ix.k(b, j, h, e)];
        dqkv[ix.k(b, j, h, e)] += scale * ds * qkv[ix.q(b, i, h, e)];
        dqkv[ix.v(b, j, h, e)] += pij * dout[ix.y(b, i, h, e)];
      }
    }
  }
  return { dqkv, dP, dS, D };
}
