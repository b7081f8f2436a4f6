// Softmax cross-entropy, forward and backward fused: one invocation per token row, three passes
// over the (small) vocabulary in registers' reach — max, sum of exps, then loss and dlogits.
// Rows with weight 0 (masked out, e.g. prompt tokens under the answer-only SFT mask) get a zero
// loss and an all-zero dlogits row, so nothing downstream needs to know the mask.

export const crossEntropyWGSL = /* wgsl */ `
struct P { n: u32, v: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.n) { return; }
  let base = r * p.v;
  let w = weights[r] * p.scale;
  if (w == 0.0) {
    losses[r] = 0.0;
    for (var c = 0u; c < p.v; c++) { dlogits[base + c] = 0.0; }
    return;
  }
  var mx = -3.0e38;
  for (var c = 0u; c < p.v; c++) { mx = max(mx, logits[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.v; c++) { s += exp(logits[base + c] - mx); }
  let lse = mx + log(s);
  // Callers validate targets; the clamp only keeps a bad id from reading another row.
  let t = min(targets[r], p.v - 1u);
  losses[r] = w * (lse - logits[base + t]);
  for (var c = 0u; c < p.v; c++) {
    let prob = exp(logits[base + c] - lse);
    dlogits[base + c] = w * (prob - select(0.0, 1.0, c == t));
  }
}
`;
