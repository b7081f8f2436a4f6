// Top-ρ row selection by entropy, on the GPU, exact and deterministic.
//
// Each candidate row's rank is the number of rows that beat it: a higher score, or an equal score
// at a lower index (the tie rule). Ranks are then a permutation of 0..n−1, so "rank < k" selects
// exactly k rows however many ties there are, and row i lands at slot rank_i of the output list
// (sorted best first) without any sort or atomics. O(n²) compares: n is the number of tokens in
// one RL batch (a few thousand), a few million compares — cheap next to one matmul.
// Invalid rows (prompt, padding) have valid = 0: they rank after every valid row and are never kept.
// With a candidate list (the valid rows' ids, ascending; the caller often knows them, e.g. the RL
// batch's response rows), both the invocations and the compare loop run over the candidates only:
// m² compares instead of n² (an RL batch is mostly prompt and padding: ~10× fewer at the default).

export const selectWGSL = /* wgsl */ `
struct P { n: u32, k: u32, ascending: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> score: array<f32>;
@group(0) @binding(2) var<storage, read> valid: array<u32>;
@group(0) @binding(3) var<storage, read_write> rows: array<u32>;  // [k]: selected row ids, best first
@group(0) @binding(4) var<storage, read_write> mask: array<f32>;  // [n]: 1 selected, 0 not

fn beats(j: u32, i: u32) -> bool {
  if (valid[j] == 0u) { return false; }
  let sj = score[j];
  let si = score[i];
  let better = select(sj > si, sj < si, p.ascending != 0u);
  return better || (sj == si && j < i);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= p.n) { return; }
  if (valid[i] == 0u) { mask[i] = 0.0; return; }
  var rank = 0u;
  for (var j = 0u; j < p.n; j++) { rank += select(0u, 1u, beats(j, i)); }
  let keep = rank < p.k;
  mask[i] = select(0.0, 1.0, keep);
  if (keep) { rows[rank] = i; }
}
`;

/** The candidate-list variant: rows outside `cand` are not written (the caller zeroes the mask). */
export const selectCandidatesWGSL = /* wgsl */ `
struct P { m: u32, k: u32, ascending: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> score: array<f32>;
@group(0) @binding(2) var<storage, read> cand: array<u32>;   // [m]: candidate row ids, ascending
@group(0) @binding(3) var<storage, read_write> rows: array<u32>;  // [k]: selected row ids, best first
@group(0) @binding(4) var<storage, read_write> mask: array<f32>;  // [n]: 1 selected (0 written by the caller)

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.m) { return; }
  let i = cand[c];
  let si = score[i];
  var rank = 0u;
  for (var d = 0u; d < p.m; d++) {
    let sj = score[cand[d]];
    let better = select(sj > si, sj < si, p.ascending != 0u);
    // ids ascend with d, so "lower index" is d < c
    rank += select(0u, 1u, better || (sj == si && d < c));
  }
  let keep = rank < p.k;
  mask[i] = select(0.0, 1.0, keep);
  if (keep) { rows[rank] = i; }
}
`;
