// Matmul launcher: C = op(A)·op(B) (+ bias) (+= C) in the NN, NT and TN forms, optionally over a
// gathered list of rows, on whichever variant the autotuner picked for this adapter and shape class.
//
// Fused GELU epilogue (for the block's MLP): `matmul(rt, ln2, W_fc, fchGelu, { bias: b_fc, gelu: true,
// pre: fch })` writes fch = ln2·W_fc + b_fc and fchGelu = gelu(fch) in one dispatch, replacing
// matmul(→ fch) + gelu(fch → fchGelu); the backward still reads fch (geluBackward). A decoder that
// needs no pre-activation passes `gelu: true` alone. Same arithmetic as the two kernels (same
// accumulation order, the same GELU function), one dispatch and one pass over fch fewer.
//
// Residual epilogue (for the block's projections): `matmul(rt, atty, W_proj, res1, { bias: b_proj,
// residual: x })` writes res1 = (atty·W_proj + b_proj) + x, replacing copy(x → res1) + an
// accumulating matmul; the additions are the same and in the same order, so the bits are too.
//
// GELU backward epilogue (for the MLP's backward): `matmul(rt, dres, W_proj, dfch, { form: 'NT',
// geluGrad: fch })` writes dfch = (dres·W_projᵀ)·gelu′(fch), replacing the NT matmul + geluBackward:
// the same product, then the same multiplication, so the same bits, one dispatch and pass fewer.
//
// Column sums (for a linear layer's backward): `matmul(rt, x, dy, dW, { form: 'TN', colSum: db })`
// also writes db = Σ_k dy[k, :] (+= with accumulate, over the listed rows with rows) from the dy
// values the product loads anyway, replacing a separate two-dispatch column reduction. The sum runs
// in k order, as the product's does: bit for bit the TN product of a column of ones with dy.
import { Autotuner, type TuneCandidate } from './autotune.js';
import type { KernelSpec, Runtime, Tensor } from './runtime.js';
import { assertDisjoint, GELU_FLOPS, GELU_GRAD_FLOPS } from './elementwise.js';
import { F_ACC, F_BIAS, F_GATHER_A, F_GELU, F_COLSUM, F_DGELU, F_PRE, F_REDUCE, F_RES, F_SCATTER, gridFor, matmulWGSL, type MatmulForm, type MatmulSpec, type VariantConfig } from './matmul.wgsl.js';

export type { MatmulForm } from './matmul.wgsl.js';

/** How a row list is used: NN/NT 'compact' (C[i] = A[rows[i]]·op(B)) or 'scatter' (into
 * C[rows[i]]); TN 'reduce' (the sum runs over the listed rows). */
export type GatherMode = 'none' | 'compact' | 'scatter' | 'reduce';

export interface MatmulOptions {
  /** 'NN' (default): C[M,N] = A[M,K]·B[K,N]; 'NT': C = A[M,K]·B[N,K]ᵀ; 'TN': C = A[K,M]ᵀ·B[K,N].
   * Leading dimensions flatten: A [b, t, k] is an [b·t, k] matrix. */
  form?: MatmulForm;
  /** [N], added to every output row */
  bias?: Tensor;
  /** C += result instead of C = result */
  accumulate?: boolean;
  /** Shaped like C, read only: C = result (+ old C) + residual, added after the bias and the old C
   * (and before gelu). Must not share a buffer with C or pre. */
  residual?: Tensor;
  /**
   * u32 [R] row list; repeats and any order are allowed, R may be 0.
   * NN/NT: output row i is A[rows[i], :]·op(B), written to C[i, :] (C is [R, N]) or, with
   * `scatter`, to C[rows[i], :] leaving other rows of C untouched (scatter + accumulate needs
   * unique rows: two invocations would add into the same row at once).
   * TN: the reduction runs over the listed rows only: C = Σ_i A[rows[i], :]ᵀ·B[rows[i], :]
   * (a repeated row counts twice). Row ids must be in range; the kernels only clamp.
   */
  rows?: Tensor;
  scatter?: boolean;
  /** C = gelu(result) (after bias, accumulate and residual): the MLP's activation fused into the epilogue. */
  gelu?: boolean;
  /** With `gelu`: also store the pre-activation (what gelu was applied to) here, shaped like C. */
  pre?: Tensor;
  /** Shaped like C, read only: C = (result + bias + old C) · gelu′(geluGrad), the GELU backward of
   * the layer whose input gradient this is (geluGrad: the GELU's input). With scatter, indexed at
   * the written rows like C. Excludes residual and gelu; must not share C's buffer. */
  geluGrad?: Tensor;
  /** TN only: [N], also receives the column sums of B, Σ_k B[k, :] (over the listed rows with
   * `rows`; += with `accumulate`, like C): a bias gradient beside its weight gradient. No input
   * may use its buffer; C's may, in a disjoint range. */
  colSum?: Tensor;
  /** A variant name from matmulVariants(), bypassing the autotuner. */
  variant?: string;
  /** Profile label; defaults to "matmul <form>". */
  label?: string;
}

interface Variant {
  name: string;
  config: VariantConfig;
  subgroups: boolean;
  /** why it exists, for the bench and the autotuner's report */
  note: string;
}

// A big subgroup tile (fewest loads per FMA: large shapes), a middle one, and a small one (less
// edge waste, more workgroups: small or skinny shapes); the register block for adapters without
// subgroups; the workgroup-memory tile that discrete GPUs like. The two bigger subgroup tiles take
// one k step per loop iteration: on lavapipe their unrolled-by-4 bodies (~15,000 instructions for
// 32×64) overflow the CPU's instruction caches, and one step per iteration measured 1.1–1.3×
// faster at the model's shapes (2-core Zen 3, 2026-11-30; the 4-step 32×64 tile went). Every
// variant adds lavapipe compile time per form and alignment class, so the list stays short (other
// one-step tiles, 16×32 to 48×32, 16×64, 24×64 and 8×32, were measured too: each won a shape or
// two by less than the run-to-run noise, none of them overall).
const VARIANTS: readonly Variant[] = [
  { name: 'sg32x64k1', config: { kind: 'reg', share: 'subgroup', tm: 32, g: 2, wy: 1, ku: 1 }, subgroups: true, note: 'subgroup-shared A, 32×64 per 8 lanes, one k step per iteration' },
  { name: 'sg24x32k1', config: { kind: 'reg', share: 'subgroup', tm: 24, g: 1, wy: 1, ku: 1 }, subgroups: true, note: 'subgroup-shared A, 24×32 per 8 lanes, one k step per iteration' },
  { name: 'sg8x32', config: { kind: 'reg', share: 'subgroup', tm: 8, g: 1, wy: 1 }, subgroups: true, note: 'subgroup-shared A, 8×32 per 8 lanes, 4 k steps per iteration' },
  { name: 'rb4x8', config: { kind: 'reg', share: 'none', tm: 4, g: 2, wy: 8 }, subgroups: false, note: 'register block 4×8 per invocation, no barriers' },
  { name: 'tiled64', config: { kind: 'tiled' }, subgroups: false, note: '64×64 workgroup-memory tile, 4×4 per invocation' },
];

/** Every variant, with whether this runtime's device can run it. */
export function matmulVariants(rt: Runtime): { name: string; eligible: boolean; note: string }[] {
  return VARIANTS.map((v) => ({ name: v.name, eligible: eligible(rt, v), note: v.note }));
}

function eligible(rt: Runtime, v: Variant): boolean {
  if (!v.subgroups) return true;
  if (!rt.gpu.hasSubgroups) return false;
  // The schedule broadcasts within a workgroup of 8; it must be one subgroup.
  const min = (rt.device as any).adapterInfo?.subgroupMinSize;
  return typeof min !== 'number' || min >= 8;
}

function variantByName(rt: Runtime, name: string): Variant {
  const v = VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`matmul: unknown variant "${name}"; variants are ${VARIANTS.map((x) => x.name).join(', ')}`);
  if (!eligible(rt, v)) throw new Error(`matmul: variant "${name}" needs subgroups (of at least 8 lanes), which this device lacks`);
  return v;
}

// ------------------------------------------------------------------------------------ problem

interface Problem {
  spec: MatmulSpec;
  gather: GatherMode;
  flags: number;
  /** logical sizes: output M×N, reduction K (gathered: M = R for NN/NT, K = R for TN) */
  M: number;
  N: number;
  K: number;
  tensors: Tensor[];
  label: string;
}

const lead = (t: Tensor) => t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
const last = (t: Tensor) => (t.shape.length ? t.shape[t.shape.length - 1] : 1);

function resolve(rt: Runtime, A: Tensor, B: Tensor, C: Tensor, o: MatmulOptions): Problem {
  const form = o.form ?? 'NN';
  if (form !== 'NN' && form !== 'NT' && form !== 'TN') throw new Error(`matmul: form must be NN, NT or TN, got ${form}`);
  const name = `matmul ${form}`;
  for (const [w, t] of [['A', A], ['B', B], ['C', C], ['bias', o.bias]] as const) {
    if (t && t.dtype !== 'f32') throw new Error(`${name}: ${w} (${t.label}) must be f32, got ${t.dtype}`);
  }
  if (o.rows && o.rows.dtype === 'f32') throw new Error(`${name}: rows (${o.rows.label}) must be u32`);
  if (o.scatter && !o.rows) throw new Error(`${name}: scatter needs rows`);
  if (o.scatter && form === 'TN') throw new Error(`${name}: TN with rows reduces over them; scatter is for NN/NT`);
  const R = o.rows?.size ?? 0;

  let M: number, N: number, K: number;
  const bad = (what: string) => new Error(`${name}: ${what} (A [${A.shape}], B [${B.shape}], C [${C.shape}])`);
  if (form === 'TN') {
    M = last(A);
    const ka = lead(A);
    N = last(B);
    if (lead(B) !== ka) throw bad(`A has ${ka} rows but B has ${lead(B)}`);
    K = o.rows ? R : ka;
  } else {
    K = last(A);
    const ma = lead(A);
    if (form === 'NN') {
      N = last(B);
      if (lead(B) !== K) throw bad(`A's ${K} columns do not match B's ${lead(B)} rows`);
    } else {
      if (last(B) !== K) throw bad(`A's ${K} columns do not match B's ${last(B)} columns`);
      N = lead(B);
    }
    M = o.rows ? R : ma;
  }
  if (o.scatter) {
    if (C.size % Math.max(N, 1) !== 0 || (N === 0 && C.size !== 0)) throw bad(`C must have N = ${N} columns`);
  } else if (C.size !== M * N) throw bad(`C must have ${M}×${N} = ${M * N} elements, has ${C.size}`);
  if (o.pre && !o.gelu) throw new Error(`${name}: pre (${o.pre.label}) is the GELU's input; it needs gelu: true`);
  if (o.pre && o.pre.size !== C.size) throw bad(`pre (${o.pre.label}) must be shaped like C, has ${o.pre.size} elements`);
  if (o.pre && o.pre.dtype !== 'f32') throw new Error(`${name}: pre (${o.pre.label}) must be f32, got ${o.pre.dtype}`);
  if (o.residual && o.residual.size !== C.size) throw bad(`residual (${o.residual.label}) must be shaped like C, has ${o.residual.size} elements`);
  if (o.residual && o.residual.dtype !== 'f32') throw new Error(`${name}: residual (${o.residual.label}) must be f32, got ${o.residual.dtype}`);
  if (o.bias && o.bias.size !== N) throw new Error(`${name}: bias (${o.bias.label}) must have N = ${N} elements, has ${o.bias.size}`);
  if (o.geluGrad) {
    if (o.residual || o.gelu) throw new Error(`${name}: geluGrad (${o.geluGrad.label}) multiplies by a GELU's derivative; it excludes ${o.residual ? 'residual' : 'gelu'}`);
    if (o.geluGrad.size !== C.size) throw bad(`geluGrad (${o.geluGrad.label}) must be shaped like C, has ${o.geluGrad.size} elements`);
    if (o.geluGrad.dtype !== 'f32') throw new Error(`${name}: geluGrad (${o.geluGrad.label}) must be f32, got ${o.geluGrad.dtype}`);
  }
  if (o.colSum) {
    if (form !== 'TN') throw new Error(`${name}: colSum sums B's columns over the reduction; it is for TN, not ${form}`);
    if (o.colSum.dtype !== 'f32') throw new Error(`${name}: colSum (${o.colSum.label}) must be f32, got ${o.colSum.dtype}`);
    if (o.colSum.size !== N) throw new Error(`${name}: colSum (${o.colSum.label}) must have N = ${N} elements, has ${o.colSum.size}`);
    if (M === 0) throw new Error(`${name}: colSum needs M > 0 (A [${A.shape}] has no columns, so no workgroup would run); sum the columns another way`);
  }
  // WebGPU forbids a buffer being written and read in one dispatch, even in disjoint ranges
  const outs: [string, Tensor | undefined][] = [['C', C], ['pre', o.pre], ['colSum', o.colSum]];
  for (const [wo, out] of outs) {
    if (!out) continue;
    for (const [w, t] of [['A', A], ['B', B], ['bias', o.bias], ['rows', o.rows], ['residual', o.residual], ['geluGrad', o.geluGrad]] as const) {
      if (t && t.buffer === out.buffer && t.size > 0 && out.size > 0) {
        throw new Error(`${name}: ${wo} (${out.label}) and ${w} (${t.label}) are views of one buffer; an output must live in a buffer no input uses`);
      }
    }
  }
  // (outputs may share a buffer, a weight's gradient and its bias's, as long as they are disjoint)
  if (o.colSum) assertDisjoint(name, { C, pre: o.pre, colSum: o.colSum });
  if (o.pre && o.pre.buffer === C.buffer) throw new Error(`${name}: pre (${o.pre.label}) and C (${C.label}) are views of one buffer; give pre its own`);

  const gather: GatherMode = !o.rows ? 'none' : form === 'TN' ? 'reduce' : o.scatter ? 'scatter' : 'compact';
  // vec4 access along each operand's contiguous dimension; empty tensors bind 4 bytes, so never vec4
  const k4 = K % 4 === 0 && A.size > 0 && B.size > 0;
  const flags =
    (o.bias ? F_BIAS : 0) | (o.accumulate ? F_ACC : 0) |
    (gather === 'compact' || gather === 'scatter' ? F_GATHER_A : 0) | (gather === 'scatter' ? F_SCATTER : 0) | (gather === 'reduce' ? F_REDUCE : 0) |
    (o.gelu ? F_GELU : 0) | (o.pre ? F_PRE : 0) | (o.residual ? F_RES : 0) | (o.colSum ? F_COLSUM : 0) | (o.geluGrad ? F_DGELU : 0);
  const spec: MatmulSpec = {
    form,
    vecA: form === 'TN' ? M % 4 === 0 && A.size > 0 : k4,
    vecB: form === 'NT' ? k4 : N % 4 === 0 && B.size > 0,
    vecC: N % 4 === 0 && C.size > 0,
  };
  const tensors = [A, B, C, o.bias ?? dummy(rt, 'f32'), o.rows ?? dummy(rt, 'u32'), o.pre ?? dummy(rt, 'pre'), o.residual ?? o.geluGrad ?? dummy(rt, 'f32')];
  if (form === 'TN') tensors.push(o.colSum ?? dummy(rt, 'csum')); // TN kernels declare binding 8
  return { spec, gather, flags, M, N, K, tensors, label: o.label ?? (o.gelu ? `${name}+gelu` : o.geluGrad ? `${name}+dgelu` : name) };
}

// Unused bias / rows / pre / residual / csum bindings get a 16-byte placeholder (a vec4 array
// binding needs that much); pre's and csum's are their own buffers, since they are bound writable
// beside the read-only bias (bias and residual, both read-only, may share one).
const dummies = new WeakMap<Runtime, Record<string, Tensor>>();
function dummy(rt: Runtime, what: 'f32' | 'u32' | 'pre' | 'csum'): Tensor {
  let d = dummies.get(rt);
  if (!d) dummies.set(rt, (d = {}));
  return (d[what] ??= rt.empty([4], what === 'u32' ? 'u32' : 'f32', `matmul unused ${what === 'f32' ? 'bias' : what === 'u32' ? 'rows' : what}`));
}

// Generating a variant's WGSL takes ~1–2.5 ms of JS (its unrolled register blocks are ~23 kB):
// done per dispatch, that was most of a training step's host time. The name fixes the code.
const specs = new Map<string, KernelSpec>();
function kernelSpec(v: Variant, s: MatmulSpec): KernelSpec {
  const name = `matmul_${v.name}_${s.form}_v${+s.vecA}${+s.vecB}${+s.vecC}`;
  let spec = specs.get(name);
  if (!spec) specs.set(name, (spec = { name, code: matmulWGSL(v.config, s) }));
  return spec;
}

function record(rt: Runtime, v: Variant, p: Problem, override?: { M?: number; K?: number; C?: Tensor; label?: string }): void {
  const M = override?.M ?? p.M, K = override?.K ?? p.K;
  const k = rt.kernel(kernelSpec(v, p.spec));
  const tensors = override?.C ? p.tensors.map((t, i) => (i === 2 ? override.C! : t)) : p.tensors;
  rt.dispatch(k, {
    params: [M, p.N, K, p.flags],
    tensors,
    groups: gridFor(v.config, M, p.N),
    flops: 2 * M * p.N * K + (p.flags & F_GELU ? GELU_FLOPS * M * p.N : 0) + (p.flags & F_DGELU ? GELU_GRAD_FLOPS * M * p.N : 0) + (p.flags & F_COLSUM ? K * p.N : 0),
    label: override?.label ?? p.label,
  });
}

// ------------------------------------------------------------------------------------ tuning

const tuner = new Autotuner('matmul');

/** Shape class: the form, gathering, alignment, and log2 buckets of M, N, K. */
function classKey(p: Problem): string {
  const b = (x: number) => (x <= 1 ? x : Math.ceil(Math.log2(x)));
  const s = p.spec;
  return `${s.form}/${p.gather}/v${+s.vecA}${+s.vecB}${+s.vecC}/M${b(p.M)}/N${b(p.N)}/K${b(p.K)}`;
}

/** The untuned choice. GPUs: the workgroup-memory tile (8-lane workgroups leave most of a GPU
 * idle). CPU drivers: the biggest subgroup tile the output fills, else the register block. */
function defaultVariant(rt: Runtime, p: Problem): Variant {
  const by = (n: string) => VARIANTS.find((v) => v.name === n)!;
  if (!rt.gpu.adapter.isSoftware) return by('tiled64');
  if (eligible(rt, by('sg32x64k1'))) return p.M >= 32 && p.N > 32 ? by('sg32x64k1') : by('sg8x32');
  return by('rb4x8');
}

/** What matmul() met without a tuned choice: shapes only (the caller may free its tensors). */
interface Pending {
  form: MatmulForm;
  shapes: [number[], number[], number[]];
  bias: boolean;
  accumulate: boolean;
  rows?: { count: number; of: number };
  scatter: boolean;
}
const pending = new Map<Runtime, Map<string, Pending>>();

function choose(rt: Runtime, p: Problem, A: Tensor, B: Tensor, C: Tensor, o: MatmulOptions): Variant {
  if (o.variant) return variantByName(rt, o.variant);
  const key = classKey(p);
  const name = tuner.lookup(rt, key);
  const v = name ? VARIANTS.find((x) => x.name === name) : undefined;
  if (v && eligible(rt, v)) return v;
  let seen = pending.get(rt);
  if (!seen) pending.set(rt, (seen = new Map()));
  if (!seen.has(key) && p.K > 0) {
    const form = p.spec.form;
    // rows index A's rows (NN/NT) or A's and B's (TN); the tuning copy lists them in order
    const of = form === 'TN' ? lead(A) : o.scatter ? C.size / p.N : lead(A);
    seen.set(key, {
      form,
      shapes: [[...A.shape], [...B.shape], [...C.shape]],
      bias: !!o.bias,
      accumulate: !!o.accumulate,
      rows: o.rows ? { count: o.rows.size, of: Math.max(1, Math.min(of, lead(A))) } : undefined,
      scatter: !!o.scatter,
    });
  }
  return defaultVariant(rt, p);
}

// -------------------------------------------------------------------------------------- API

/**
 * Records C = op(A)·op(B) (+ bias) (+= C) (see MatmulOptions). Sizes come from the tensors'
 * shapes; any sizes work, including 0 (M or N = 0: nothing to do; K = 0: C = bias or 0, or
 * unchanged when accumulating). C must not share a buffer with any input (WebGPU rule).
 * The variant is `o.variant`, else this shape class's tuned choice (tuneMatmul,
 * tunePendingMatmuls), else a size-based default.
 */
export function matmul(rt: Runtime, A: Tensor, B: Tensor, C: Tensor, o: MatmulOptions = {}): void {
  const p = resolve(rt, A, B, C, o);
  if (p.M === 0 || p.N === 0) return;
  if (p.K === 0 && (p.flags & (F_ACC | F_BIAS | F_GELU | F_RES | F_DGELU)) === F_ACC) return; // C += 0
  record(rt, choose(rt, p, A, B, C, o), p);
}

/**
 * Times every eligible variant on this call's shape class (unless this adapter already has a
 * choice for it, in memory or in the on-disk cache) and returns the one later calls will use.
 * Inputs are only read; the output goes to a scratch tensor.
 */
export async function tuneMatmul(rt: Runtime, A: Tensor, B: Tensor, C: Tensor, o: MatmulOptions = {}): Promise<string> {
  // (timed without the column sums: their tensor is an output the timing runs must not touch)
  const p = resolve(rt, A, B, C, { ...o, variant: undefined, colSum: undefined });
  const key = classKey(p);
  pending.get(rt)?.delete(key);
  if (p.M === 0 || p.N === 0 || p.K === 0) return defaultVariant(rt, p).name; // nothing to time
  await tuner.load(rt);
  const known = tuner.lookup(rt, key);
  if (known && VARIANTS.some((v) => v.name === known && eligible(rt, v))) return known;

  // Time a slice of the problem: rows of the output for NN/NT, the reduction for TN. Both keep
  // the per-row (per-k) work and the memory layout; ~32 MFLOP is enough to rank variants.
  const tn = p.spec.form === 'TN';
  const cap = Math.max(64, Math.ceil(2 ** 25 / (2 * p.N * (tn ? p.M : p.K))));
  const probe = tn ? { M: p.M, K: Math.min(p.K, cap) } : { M: Math.min(p.M, cap), K: p.K };
  const scratch = rt.empty([C.size], 'f32', 'matmul autotune C');
  const candidates: TuneCandidate[] = VARIANTS.filter((v) => eligible(rt, v)).map((v) => ({
    name: v.name,
    prepare: () => rt.compile(kernelSpec(v, p.spec)).then(() => {}),
    run: () => record(rt, v, p, { ...probe, C: scratch, label: `matmul autotune ${v.name}` }),
  }));
  try {
    return await tuner.tune(rt, key, candidates, 2 * probe.M * p.N * probe.K);
  } finally {
    scratch.buffer.destroy();
  }
}

/** Tunes every shape class matmul() has met without a tuned choice (on zero-filled stand-ins of
 * the same shapes); returns how many. */
export async function tunePendingMatmuls(rt: Runtime): Promise<number> {
  const todo = [...(pending.get(rt)?.values() ?? [])];
  for (const q of todo) {
    const [A, B, C] = q.shapes.map((s) => rt.empty(s, 'f32', 'matmul autotune stand-in'));
    const N = q.form === 'NT' ? lead(B) : last(B);
    const bias = q.bias ? rt.empty([N], 'f32', 'matmul autotune stand-in') : undefined;
    const rows = q.rows ? rt.upload(Array.from({ length: q.rows.count }, (_, i) => i % q.rows!.of), [q.rows.count], 'u32') : undefined;
    try {
      await tuneMatmul(rt, A, B, C, { form: q.form, bias, rows, scatter: q.scatter, accumulate: q.accumulate });
    } finally {
      for (const t of [A, B, C, bias, rows]) t?.buffer.destroy();
    }
  }
  return todo.length;
}

/** The variant matmul() would use for these arguments now (tuned, else the default). */
export function matmulChoice(rt: Runtime, A: Tensor, B: Tensor, C: Tensor, o: MatmulOptions = {}): string {
  const p = resolve(rt, A, B, C, o);
  if (o.variant) return variantByName(rt, o.variant).name;
  const name = tuner.lookup(rt, classKey(p));
  return name && VARIANTS.some((v) => v.name === name && eligible(rt, v)) ? name : defaultVariant(rt, p).name;
}

export { tuner as matmulTuner };
