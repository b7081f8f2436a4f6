import type { Runtime, Tensor } from './runtime.js';
import {
  layout, backwardDWGSL, cacheCopyWGSL, backwardKeysWGSL, backwardQueriesWGSL, cacheWriteWGSL, decodeWGSL, forwardWGSL, rowMaskWGSL, rowOrderWGSL, type SaveMode,
} from './attention.wgsl.js';

export type { SaveMode } from './attention.wgsl.js';

/** B sequences of T positions, H heads of hd dims; C = H·hd. qkv [B,T,3C] = q | k | v, y [B,T,C]. */
export interface AttnDims {
  B: number;
  T: number;
  H: number;
  hd: number;
}

/**
 * What the forward saves for the backward: lse [B,H,T] (the backward recomputes P = exp(q·k − lse))
 * or P itself, att [B,H,T,T] (the forward pays a second pass: scores again, exp, T² stores; the
 * backward saves one score dot and exp per pair but gathers P per lane). Measured with
 * scripts/bench-attention.ts on lavapipe (Mesa 25.0 llvmpipe, 2 cores shared with other jobs at a
 * load average of 7–9, so minima of 31 round-robin runs; two runs of the script), H = 4,
 * forward+backward ms, lse vs att:
 *   1024 tokens, T = 32, hd = 16:  3.3 / 3.3   vs  4.4 / 3.8
 *   2048 tokens, T = 32, hd = 16:  4.1 / 4.3   vs  7.3 / 8.4
 *   2048 tokens, T = 64, hd = 16: 14.7 / 12.7  vs 17.8 / 11.7
 *   2048 tokens, T = 64, hd = 32: 31.6 / 32.4  vs 32.5 / 31.7
 * A third run put att ahead at hd = 32 (27.9 vs 21.1); a 41-round race of just these kernels then
 * had lse ahead everywhere (minima 19.5 vs 27.9 at hd = 32, 5.1 vs 7.1 and 6.6 vs 7.4 at hd = 16).
 * The forward alone is always cheaper with lse. So lse: never reliably slower, faster at T = 32,
 * T× less memory (128 KB instead of 8 MB per layer at 2048 tokens, T = 64). The backward must be
 * given the same mode.
 */
export const SAVE_MODE: SaveMode = 'lse';

/** Shape of `saved`: lse [B,H,T], or att [B,H,T,T] of which only the causal part j ≤ i is written. */
export function savedShape(d: AttnDims, mode: SaveMode = SAVE_MODE): number[] {
  return mode === 'lse' ? [d.B, d.H, d.T] : [d.B, d.H, d.T, d.T];
}

/** Kernel variant knobs; the defaults suit the adapter. */
export interface AttnTuning {
  /** Share loaded rows across a subgroup of 8 (needs the subgroups feature with subgroups of ≥ 8
   * lanes). Default: on for software adapters, where it cuts per-lane loads 8×. */
  subgroups?: boolean;
  /** Rows per workgroup of the portable kernels (default 8 on software adapters, 32 elsewhere). */
  rowsPerGroup?: number;
}

function tuning(rt: Runtime, t: AttnTuning = {}): { sub: boolean; R: number } {
  const info: any = (rt.device as any).adapterInfo;
  const canSub = rt.gpu.hasSubgroups && (info?.subgroupMinSize ?? 0) >= 8;
  const sub = t.subgroups ?? (canSub && rt.gpu.adapter.isSoftware);
  if (sub && !canSub) throw new Error('attention: subgroups were requested but this adapter lacks subgroups of ≥ 8 lanes');
  if (sub) return { sub, R: 8 };
  const R = t.rowsPerGroup ?? (rt.gpu.adapter.isSoftware ? 8 : 32);
  if (!(Number.isInteger(R) && R >= 1 && R <= 256)) throw new Error(`attention: rowsPerGroup is ${R}; it must be an integer in 1..256`);
  return { sub, R };
}

function checkDims(what: string, d: AttnDims): void {
  for (const k of ['B', 'T', 'H', 'hd'] as const) {
    if (!(Number.isInteger(d[k]) && d[k] > 0)) throw new Error(`${what}: ${k} is ${d[k]}; it must be a positive integer`);
  }
}

function checkSize(what: string, name: string, t: Tensor, shape: readonly number[], dtype = 'f32'): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.size !== size || t.dtype !== dtype) {
    throw new Error(`${what}: ${name} (${t.label}) is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}]`);
  }
}

/** Causal (i, j ≤ i) pairs per (b, h) summed over batch: the work unit of every FLOP count here. */
const densePairs = (B: number, T: number) => (B * T * (T + 1)) / 2;

// Scratch the backward and decode reuse across calls (grown on demand). Sharing is safe: dispatches
// run in recording order, and rt.write flushes recorded work before it overwrites anything.
const scratchOf = new WeakMap<Runtime, Map<string, Tensor>>();
function scratch(rt: Runtime, key: string, size: number, dtype: 'f32' | 'u32'): Tensor {
  let m = scratchOf.get(rt);
  if (!m) scratchOf.set(rt, (m = new Map()));
  let t = m.get(key);
  if (!t || t.size < size) m.set(key, (t = rt.empty([Math.max(size, 1)], dtype, `attention ${key}`)));
  return t.view(0, [size]);
}

/**
 * Causal self-attention forward: out[b,t,h·hd..] = Σ_{j≤t} softmax_j(q_t·k_j/√hd)·v_j (overwritten).
 * With `saved` (shape savedShape(d, mode)), also writes what attentionBackward needs.
 */
export function attentionForward(
  rt: Runtime,
  a: AttnDims & AttnTuning & { qkv: Tensor; out: Tensor; saved?: Tensor; mode?: SaveMode },
): Tensor {
  checkDims('attentionForward', a);
  const { B, T, H, hd } = a, C = H * hd, mode = a.mode ?? SAVE_MODE, { sub, R } = tuning(rt, a);
  checkSize('attentionForward', 'qkv', a.qkv, [B, T, 3 * C]);
  checkSize('attentionForward', 'out', a.out, [B, T, C]);
  if (a.saved) checkSize('attentionForward', `saved (${mode})`, a.saved, savedShape(a, mode));
  const k = rt.kernel({ name: 'attn_fwd', code: forwardWGSL(hd, a.saved ? mode : null, R, sub) });
  rt.dispatch(k, {
    params: [H, T],
    fparams: [1 / Math.sqrt(hd)],
    tensors: a.saved ? [a.qkv, a.out, a.saved] : [a.qkv, a.out],
    groups: [Math.ceil(T / R), B * H],
    flops: 4 * hd * H * densePairs(B, T), // q·k and p·v multiply-adds over the causal pairs
  });
  return a.out;
}

/** A set of query rows (flat b·T+t ids) for the sparse backward; build once, use for every layer. */
export interface RowSet {
  B: number;
  T: number;
  /** u32 ids; entries ≥ B·T are ignored, repeats count once */
  list: Tensor;
  count: number;
  /** u32 [2·B·T + B·(T+1)]: mask, per-sequence order and rank of the listed rows (attention.wgsl.ts) */
  index: Tensor;
  /** distinct rows and the causal pairs they cover (Σ t+1), for FLOP accounting; for a GPU-side
   * list, count and the expectation count·(T+1)/2, as the host cannot see the ids */
  distinct: number;
  pairs: number;
}

/**
 * Builds a RowSet from host ids (validated: integers in [0, B·T)) or from a u32 tensor on the GPU
 * (its first `count` entries, default all; out-of-range ids are ignored). Order does not matter and
 * a repeated id means the same as one: the rows are a set.
 */
export function attentionRows(rt: Runtime, rows: ArrayLike<number> | Tensor, d: { B: number; T: number }, count?: number): RowSet {
  const BT = d.B * d.T;
  let list: Tensor, pairs: number, distinct: number;
  if ('buffer' in rows) {
    if (rows.dtype !== 'u32') throw new Error(`attentionRows: rows (${rows.label}) is ${rows.dtype}; it must be u32`);
    count ??= rows.size;
    if (count > rows.size) throw new Error(`attentionRows: count ${count} exceeds the ${rows.size} ids in ${rows.label}`);
    list = rows;
    distinct = count;
    pairs = (count * (d.T + 1)) / 2;
  } else {
    const ids = Uint32Array.from({ length: count ?? rows.length }, (_, n) => {
      const r = rows[n];
      if (!(Number.isInteger(r) && r >= 0 && r < BT)) throw new Error(`attentionRows: row ${n} is ${r}; ids must be integers in [0, ${BT})`);
      return r;
    });
    count = ids.length;
    list = rt.upload(ids, [count], 'u32', 'attention rows');
    const set = new Set(ids);
    distinct = set.size;
    pairs = [...set].reduce((s, r) => s + (r % d.T) + 1, 0);
  }
  const index = rt.empty([2 * BT + d.B * (d.T + 1)], 'u32', 'attention row index');
  rt.zero(index);
  rt.dispatch(rt.kernel({ name: 'attn_rows', code: rowMaskWGSL }), {
    params: [count, BT],
    tensors: [list, index],
    groups: [Math.ceil(count / 64)],
  });
  rt.dispatch(rt.kernel({ name: 'attn_rows_order', code: rowOrderWGSL }), {
    params: [d.B, d.T],
    tensors: [index],
    groups: [Math.ceil(d.B / 64)],
  });
  return { B: d.B, T: d.T, list, count, index, distinct, pairs };
}

/**
 * Gradient of Σ dout·y with respect to qkv, overwriting dqkv [B,T,3C]. Needs the forward's output
 * `out` (D_i = dout_i·y_i) and `saved` from the same mode. With `rows`, only those query rows'
 * dout counts (all others are taken as zero): they alone do dq work and feed dk/dv, and every other
 * row's dq is 0. `rows` is a RowSet (build it once per step with attentionRows and pass it to every
 * layer) or ids as attentionRows takes them. dk_j, dv_j sum over query rows i ≥ j in increasing i:
 * bit-reproducible.
 */
export function attentionBackward(
  rt: Runtime,
  a: AttnDims & AttnTuning & {
    qkv: Tensor; out: Tensor; dout: Tensor; dqkv: Tensor; saved: Tensor; mode?: SaveMode; rows?: RowSet | ArrayLike<number> | Tensor;
  },
): Tensor {
  checkDims('attentionBackward', a);
  const { B, T, H, hd } = a, C = H * hd, mode = a.mode ?? SAVE_MODE, { sub, R } = tuning(rt, a);
  checkSize('attentionBackward', 'qkv', a.qkv, [B, T, 3 * C]);
  checkSize('attentionBackward', 'out', a.out, [B, T, C]);
  checkSize('attentionBackward', 'dout', a.dout, [B, T, C]);
  checkSize('attentionBackward', 'dqkv', a.dqkv, [B, T, 3 * C]);
  checkSize('attentionBackward', `saved (${mode})`, a.saved, savedShape(a, mode));
  const rows = a.rows === undefined || 'index' in a.rows ? a.rows : attentionRows(rt, a.rows, a);
  if (rows && (rows.B !== B || rows.T !== T)) throw new Error(`attentionBackward: rows were built for B=${rows.B}, T=${rows.T}, not B=${B}, T=${T}`);
  const pairs = rows ? rows.pairs : densePairs(B, T);
  const nRows = rows ? rows.distinct : B * T;
  const dS = scratch(rt, 'dS', B * H * T * T, 'f32');
  const scale = 1 / Math.sqrt(hd);

  const rowD = scratch(rt, 'D', B * H * T, 'f32');
  rt.dispatch(rt.kernel({ name: 'attn_bwd_d', code: backwardDWGSL(hd, !!rows) }), {
    params: [H, B * T, T],
    tensors: [a.out, a.dout, rowD, ...(rows ? [rows.index] : [])],
    groups: [Math.ceil((B * T * H) / 64)],
    flops: H * 2 * hd * nRows,
  });
  const keys = rt.kernel({ name: 'attn_bwd_kv', code: backwardKeysWGSL(hd, mode, !!rows, R, sub) });
  rt.dispatch(keys, {
    params: [H, T, B * T],
    fparams: [scale],
    tensors: [a.qkv, rowD, a.dout, a.saved, a.dqkv, dS, ...(rows ? [rows.index] : [])],
    groups: [Math.ceil(T / R), B * H],
    // dout·v, dk and dv per pair (the recomputed q·k is not useful work)
    flops: H * 6 * hd * pairs,
  });
  const queries = rt.kernel({ name: 'attn_bwd_q', code: backwardQueriesWGSL(hd, !!rows, R, sub) });
  rt.dispatch(queries, {
    params: [H, T, B * T],
    fparams: [scale],
    tensors: [a.qkv, dS, a.dqkv, ...(rows ? [rows.index] : [])],
    groups: [Math.ceil(T / R), B * H],
    flops: H * 2 * hd * pairs,
  });
  return a.dqkv;
}

/** Per-sequence key/value caches k, v [B, H, Tmax, hd]: sequence b is one contiguous block of each,
 * so forking a rollout copies two ranges (kvCacheCopy), and a (b, h) walk over positions reads
 * consecutive rows. */
export interface KVCache {
  k: Tensor;
  v: Tensor;
  B: number;
  H: number;
  hd: number;
  Tmax: number;
}

export function createKVCache(rt: Runtime, d: { B: number; H: number; hd: number; Tmax: number }, label = 'kv cache'): KVCache {
  const shape = [d.B, d.H, d.Tmax, d.hd];
  return { ...d, k: rt.empty(shape, 'f32', `${label} k`), v: rt.empty(shape, 'f32', `${label} v`) };
}

/** Copies sequence `from`'s cache (all Tmax positions) onto sequence `to`, in order with recorded
 * work: a rollout forking at a token continues from the same prefix. */
export function kvCacheCopy(rt: Runtime, cache: KVCache, from: number, to: number): void {
  const n = cache.H * cache.Tmax * cache.hd;
  for (const b of [from, to]) {
    if (!(Number.isInteger(b) && b >= 0 && b < cache.B)) throw new Error(`kvCacheCopy: sequence ${b} is outside 0..${cache.B - 1}`);
  }
  if (from === to) return;
  rt.dispatch(rt.kernel({ name: 'attn_cache_copy', code: cacheCopyWGSL }), {
    params: [n, from * n, to * n],
    tensors: [cache.k, cache.v],
    groups: [Math.ceil(n / 64)],
  });
}

/** Fills cache positions 0..T−1 from a full-sequence qkv [B, T, 3C] (e.g. the prompt's forward). */
export function attentionPrefill(rt: Runtime, a: { qkv: Tensor; cache: KVCache; T: number }): void {
  const { B, H, hd, Tmax } = a.cache;
  if (!(a.T >= 1 && a.T <= Tmax)) throw new Error(`attentionPrefill: T is ${a.T}; the cache holds 1..${Tmax} positions`);
  checkSize('attentionPrefill', 'qkv', a.qkv, [B, a.T, 3 * H * hd]);
  rt.dispatch(rt.kernel({ name: 'attn_cache_write', code: cacheWriteWGSL(hd, false) }), {
    params: [H, B, a.T, Tmax, 0],
    tensors: [a.qkv, a.cache.k, a.cache.v],
    groups: [Math.ceil((B * a.T * H * hd) / layout(hd).W / 64)],
  });
}

/** Decode positions: one for all sequences, one per sequence from the host, or a GPU u32 [B]
 * tensor with its host copy (for validation and FLOP accounting). */
export type DecodePos = number | ArrayLike<number> | { gpu: Tensor; host: ArrayLike<number> };

/**
 * One generation step: qkv [B, 3C] of each sequence's new position pos_b; writes its k, v into the
 * cache at pos_b and out [B, C] = attention over cache positions 0..pos_b (earlier positions must
 * already be there). Equal bit for bit to attentionForward's row pos_b on the same data. With
 * `lse`, also writes the logsumexp attentionForward saves (mode 'lse') at position pos_b of
 * saved [B, H, T] (positions ≥ T are not written): a rollout then leaves what the backward reads.
 */
export function attentionDecode(
  rt: Runtime,
  a: { qkv: Tensor; cache: KVCache; out: Tensor; pos: DecodePos; lse?: { saved: Tensor; T: number } } & AttnTuning,
): Tensor {
  const { B, H, hd, Tmax } = a.cache, C = H * hd;
  checkSize('attentionDecode', 'qkv', a.qkv, [B, 3 * C]);
  checkSize('attentionDecode', 'out', a.out, [B, C]);
  if (a.lse) {
    if (!(Number.isInteger(a.lse.T) && a.lse.T >= 1)) throw new Error(`attentionDecode: lse.T is ${a.lse.T}; it must be a positive integer`);
    checkSize('attentionDecode', 'lse.saved', a.lse.saved, savedShape({ B, T: a.lse.T, H, hd }, 'lse'));
  }
  const host = typeof a.pos === 'number' ? Array.from({ length: B }, () => a.pos as number) : 'gpu' in a.pos ? a.pos.host : a.pos;
  if (host.length !== B) throw new Error(`attentionDecode: ${host.length} positions for ${B} sequences`);
  let keys = 0;
  for (let b = 0; b < B; b++) {
    const p = host[b];
    if (!(Number.isInteger(p) && p >= 0 && p < Tmax)) throw new Error(`attentionDecode: position ${p} of sequence ${b} is outside the cache (0..${Tmax - 1})`);
    keys += p + 1;
  }
  let posT: Tensor | null = null;
  if (typeof a.pos !== 'number') {
    if ('gpu' in a.pos) {
      checkSize('attentionDecode', 'pos.gpu', a.pos.gpu, [B], 'u32');
      posT = a.pos.gpu;
    } else {
      posT = scratch(rt, 'pos', B, 'u32');
      rt.write(posT, Uint32Array.from(host));
    }
  }
  // lanes hold different sequences: nothing to share, so decode is always the portable kernel
  const R = tuning(rt, { ...a, subgroups: false }).R;
  const pos = typeof a.pos === 'number' ? a.pos : 0;
  rt.dispatch(rt.kernel({ name: 'attn_cache_write', code: cacheWriteWGSL(hd, !!posT) }), {
    params: [H, B, 1, Tmax, pos],
    tensors: [a.qkv, a.cache.k, a.cache.v, ...(posT ? [posT] : [])],
    groups: [Math.ceil((B * H * hd) / layout(hd).W / 64)],
  });
  const k = rt.kernel({ name: 'attn_decode', code: decodeWGSL(hd, !!posT, R, !!a.lse) });
  rt.dispatch(k, {
    params: [H, B, Tmax, pos, a.lse?.T ?? 0],
    fparams: [1 / Math.sqrt(hd)],
    tensors: [a.qkv, a.cache.k, a.cache.v, a.out, ...(posT ? [posT] : []), ...(a.lse ? [a.lse.saved] : [])],
    groups: [Math.ceil((B * H) / R)],
    flops: 4 * hd * H * keys,
  });
  return a.out;
}
