// The RL loss, fused: per token row, one kernel computes the softmax statistics of logits/T
// (log-sum-exp and entropy), the taken token's log-prob, the PPO/DAPO ratio and its asymmetric
// clip, the entropy-shaped advantage, the loss term and dlogits.
//
// Two entry points share the statistics code:
// - token_entropy: H (nats) of every row — what top-ρ selection ranks, from the current policy.
// - pg_loss: runs over the selected rows only (a list), writing their loss and dlogits rows.
//   Unselected dlogits rows are never written: the caller zeroes the buffer once per step, and the
//   sparse backward never reads them.

/** pg_loss's per-row statistics: the columns of stats [k, PG_STATS_WIDTH], named once for the
 * kernel text below and for every reader (train/rl.ts, the loss guard). */
export const PG_STATS = { loss: 0, ratio: 1, clipped: 2, entropy: 3 } as const;
export const PG_STATS_WIDTH = 4;

/**
 * `fn <name>(base: u32, invT: f32) -> vec2f`: log-sum-exp and entropy (nats) of
 * softmax(logits[base..base + p.v) · invT), from a `logits` array and a uniform `p` with field v.
 * One text for the sampler (sample.wgsl.ts: the entropy it records and its dual-temperature fork
 * test) and the loss (token_entropy's ranking, pg_loss): they see the same bits for the same logits,
 * so with rollout reuse the ranking cannot drift from what the sampler saw.
 */
export function softmaxStatsWGSL(name: string): string {
  return /* wgsl */ `
fn ${name}(base: u32, invT: f32) -> vec2f {
  var mx = -3.0e38;
  for (var c = 0u; c < p.v; c++) { mx = max(mx, logits[base + c] * invT); }
  var s = 0.0;
  var sz = 0.0;
  for (var c = 0u; c < p.v; c++) {
    let z = logits[base + c] * invT - mx;
    let e = exp(z);
    s += e;
    sz += e * z;
  }
  // H = lse − E[z] = log s − Σ e·z / s  (z measured from the max)
  return vec2f(mx + log(s), log(s) - sz / s);
}`;
}

const common = /* wgsl */ `
struct P { n: u32, v: u32, k: u32, shaping: u32,
           invTemp: f32, epsLow: f32, epsHigh: f32, alpha: f32, kappa: f32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
${softmaxStatsWGSL('rowStats')}
`;

export const tokenEntropyWGSL = /* wgsl */ `
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> entropy: array<f32>;
${common}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.n) { return; }
  entropy[r] = rowStats(r * p.v, p.invTemp).y;
}
`;

export const pgLossWGSL = /* wgsl */ `
@group(0) @binding(1) var<storage, read> logits: array<f32>;     // [n, v] current policy
@group(0) @binding(2) var<storage, read> tokens: array<u32>;     // [n] token taken after each row
@group(0) @binding(3) var<storage, read> oldLogprob: array<f32>; // [n] from the rollout policy
@group(0) @binding(4) var<storage, read> adv: array<f32>;        // [n] sequence advantage per token
@group(0) @binding(5) var<storage, read> rows: array<u32>;       // [k] selected rows
@group(0) @binding(6) var<storage, read_write> dlogits: array<f32>; // [n, v], selected rows written
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;   // [k, ${PG_STATS_WIDTH}]: see PG_STATS
${common}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.k) { return; }
  let r = rows[i];
  let base = r * p.v;
  let st = rowStats(base, p.invTemp);
  let t = min(tokens[r], p.v - 1u);
  let logp = logits[base + t] * p.invTemp - st.x;
  var a = adv[r];
  if (p.shaping != 0u) {
    // Cheng et al.: A + min(α·H_detached, |A|/κ) — the bonus never flips A's sign.
    a += min(p.alpha * st.y, abs(a) / p.kappa);
  }
  let ratio = exp(logp - oldLogprob[r]);
  let clippedRatio = clamp(ratio, 1.0 - p.epsLow, 1.0 + p.epsHigh);
  // loss = −min(ratio·A, clip(ratio)·A); the clipped branch has zero gradient.
  let unclipped = ratio * a;
  let clipped = clippedRatio * a;
  let useClip = clipped < unclipped;
  let loss = -min(unclipped, clipped);
  // d loss / d logp = −ratio·A on the unclipped branch; d logp / d z_c = (onehot − softmax)/T.
  let g = select(-ratio * a, 0.0, useClip) * p.scale * p.invTemp;
  for (var c = 0u; c < p.v; c++) {
    let prob = exp(logits[base + c] * p.invTemp - st.x);
    dlogits[base + c] = g * (select(0.0, 1.0, c == t) - prob);
  }
  let s0 = ${PG_STATS_WIDTH}u * i;
  stats[s0 + ${PG_STATS.loss}u] = loss * p.scale;
  stats[s0 + ${PG_STATS.ratio}u] = ratio;
  stats[s0 + ${PG_STATS.clipped}u] = select(0.0, 1.0, useClip);
  stats[s0 + ${PG_STATS.entropy}u] = st.y;
}
`;
