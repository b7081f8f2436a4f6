// Next-token sampling for batched generation, one invocation per sequence, all on the GPU so a
// whole rollout runs without a readback per position.
//
// Per row it computes, at the temperature it samples with: the softmax, its entropy H (nats) and the
// chosen token's log-prob — what RL needs per token. Dual temperature (the forking-token decoding
// experiment): the model's own entropy at T = 1 decides the temperature — H₁ ≥ threshold samples at
// tempFork, else at tempOther. Temperature 0 means greedy (argmax; log-prob and entropy then at T = 1).
// Random numbers come from a counter-based hash of (seed, position, row): reproducible, no state.
// Prompts of different lengths share one decode loop: while pos + 1 is still inside row r's prompt
// (promptLen[r]), the prompt token already in seq is kept (teacher forcing) and nothing is sampled.

import { softmaxStatsWGSL } from './pgloss.wgsl.js';

export const sampleWGSL = /* wgsl */ `
struct P { b: u32, v: u32, tmax: u32, pos: u32, seed: u32, eos: u32, pad: u32,
           tempOther: f32, tempFork: f32, forkThreshold: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> logits: array<f32>;      // [b, v] at position pos
@group(0) @binding(2) var<storage, read_write> seq: array<u32>;   // [b, tmax]: token written at pos + 1
@group(0) @binding(3) var<storage, read_write> finished: array<u32>; // [b]: 1 once EOS was sampled
@group(0) @binding(4) var<storage, read_write> logprob: array<f32>;  // [b, tmax] at pos + 1
@group(0) @binding(5) var<storage, read_write> entropy: array<f32>;  // [b, tmax] at pos + 1
@group(0) @binding(6) var<storage, read> promptLen: array<u32>;      // [b]
@group(0) @binding(7) var<storage, read_write> next: array<u32>;     // [b]: seq[:, pos + 1], the next step's input

fn pcg(x: u32) -> u32 {
  let s = x * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// Softmax statistics of logits/temp over a row: log-sum-exp and entropy, the loss's own text.
${softmaxStatsWGSL('stats')}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.b) { return; }
  let out = r * p.tmax + p.pos + 1u;
  if (p.pos + 1u < promptLen[r]) {
    logprob[out] = 0.0; entropy[out] = 0.0; next[r] = seq[out];
    return;
  }
  if (finished[r] != 0u) {
    seq[out] = p.pad; logprob[out] = 0.0; entropy[out] = 0.0; next[r] = p.pad;
    return;
  }
  let base = r * p.v;
  let s1 = stats(base, 1.0);
  let temp = select(p.tempOther, p.tempFork, s1.y >= p.forkThreshold);
  var tok = 0u;
  var st = s1;
  var invT = 1.0;
  if (temp <= 0.0) {
    var best = -3.0e38;
    for (var c = 0u; c < p.v; c++) { if (logits[base + c] > best) { best = logits[base + c]; tok = c; } }
  } else {
    invT = 1.0 / temp;
    st = stats(base, invT);
    let u = f32(pcg(pcg(p.seed ^ pcg(p.pos)) ^ r) >> 8u) * (1.0 / 16777216.0);
    var acc = 0.0;
    tok = p.v - 1u; // rounding may leave acc a hair below u at the end
    for (var c = 0u; c < p.v; c++) {
      acc += exp(logits[base + c] * invT - st.x);
      if (u < acc) { tok = c; break; }
    }
  }
  seq[out] = tok;
  next[r] = tok;
  logprob[out] = logits[base + tok] * invT - st.x;
  entropy[out] = st.y;
  if (tok == p.eos) { finished[r] = 1u; }
}
`;
