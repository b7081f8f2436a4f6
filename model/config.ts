// GPT-2 shape, the layout of every parameter in one flat buffer, and GPT-2 initialisation.
// Params, grads and both Adam moments share this layout, so one kernel launch can sweep them all
// and each named tensor is a view at its offset.
import { mulberry32 } from '../util/random.js';

export interface GPTConfig {
  nLayer: number;
  nHead: number;
  dModel: number;
  /** Maximum sequence length (GPT-2's n_positions): rows of wpe. */
  contextLength: number;
  vocabSize: number;
  /** true: the LM head reuses wte (GPT-2); false: a separate lm_head.weight [V, C]. */
  tiedHead: boolean;
}

/** A value as the user wrote it: JSON, with its type when that is the problem (`"22"`, a string). */
export function showValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'number') return String(v); // NaN and Infinity as themselves (JSON would say null)
  const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  return kind === 'null' ? 'null' : `${JSON.stringify(v)} (${kind})`;
}

/**
 * Sane limits, checked arithmetically before any layout is built (a layout holds 12 tensors per
 * block, so a config claiming 10⁹ layers would take minutes and gigabytes just to describe). Far
 * above anything a WebGPU adapter can train here: WGSL indexes the flat parameter buffer with 32-bit
 * element indices, and deeper than 1024 blocks is no small transformer.
 */
export const CONFIG_LIMITS = { nLayer: 1024, params: 2 ** 32 - 1 } as const;

/** The field types alone: positive integers and a boolean. Throws naming the field and its value as JSON. */
export function validateFieldTypes(cfg: GPTConfig): GPTConfig {
  const fields = ['nLayer', 'nHead', 'dModel', 'contextLength', 'vocabSize'] as const;
  for (const f of fields) {
    const v = (cfg as any)[f];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new Error(`GPTConfig.${f} is ${showValue(v)}; it must be a positive integer`);
    }
  }
  if (typeof cfg.tiedHead !== 'boolean') {
    throw new Error(`GPTConfig.tiedHead is ${showValue(cfg.tiedHead)}; it must be true (LM head shares wte) or false (separate lm_head)`);
  }
  return cfg;
}

/** Parameter count from the shape alone, without building a layout (paramLayout(cfg, 1).count). */
function countFromShape(cfg: GPTConfig): number {
  const { nLayer: L, dModel: C, contextLength: T, vocabSize: V } = cfg;
  return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + (cfg.tiedHead ? 0 : V * C);
}

/** Throws a message naming the offending field and how to fix it; returns the config for chaining. */
export function validateConfig(cfg: GPTConfig): GPTConfig {
  validateFieldTypes(cfg);
  if (cfg.nLayer > CONFIG_LIMITS.nLayer) throw new Error(`GPTConfig.nLayer is ${cfg.nLayer}; forkgrad builds at most ${CONFIG_LIMITS.nLayer} blocks`);
  const n = countFromShape(cfg);
  if (n > CONFIG_LIMITS.params) {
    throw new Error(`GPTConfig describes ${n.toExponential(2)} parameters (nLayer ${cfg.nLayer}, dModel ${cfg.dModel}, contextLength ${cfg.contextLength}, vocabSize ${cfg.vocabSize}); at most ${CONFIG_LIMITS.params} fit one flat buffer`);
  }
  // after the limits: divisors() walks up to dModel
  if (cfg.dModel % cfg.nHead !== 0) {
    const ok = divisors(cfg.dModel).filter((d) => d <= 64).join(', ');
    throw new Error(`GPTConfig.dModel ${cfg.dModel} is not divisible by nHead ${cfg.nHead}; choose nHead among ${ok} or make dModel a multiple of ${cfg.nHead}`);
  }
  return cfg;
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

export interface ParamSpec {
  /** Hugging Face GPT-2 name without the `transformer.` prefix, e.g. `h.0.attn.c_attn.weight`. */
  name: string;
  shape: number[];
  /** Element offset into the flat buffer; a multiple of the layout's `align`. */
  offset: number;
  size: number;
  /** Decoupled weight decay applies: 2-D weights only (not biases, LayerNorm, nothing 1-D). */
  decay: boolean;
}

export interface ParamLayout {
  params: ParamSpec[];
  byName: Map<string, ParamSpec>;
  /** Parameter count without padding. */
  count: number;
  /** Flat buffer length in elements, padding included (a multiple of `align`). */
  size: number;
  align: number;
}

/** Names and shapes in GPT-2 order, before offsets are assigned. */
export function paramShapes(cfg: GPTConfig): { name: string; shape: number[] }[] {
  validateConfig(cfg);
  const { nLayer: L, dModel: C, contextLength: T, vocabSize: V } = cfg;
  const out: { name: string; shape: number[] }[] = [
    { name: 'wte.weight', shape: [V, C] },
    { name: 'wpe.weight', shape: [T, C] },
  ];
  for (let i = 0; i < L; i++) {
    const h = `h.${i}.`;
    out.push(
      { name: h + 'ln_1.weight', shape: [C] },
      { name: h + 'ln_1.bias', shape: [C] },
      { name: h + 'attn.c_attn.weight', shape: [C, 3 * C] },
      { name: h + 'attn.c_attn.bias', shape: [3 * C] },
      { name: h + 'attn.c_proj.weight', shape: [C, C] },
      { name: h + 'attn.c_proj.bias', shape: [C] },
      { name: h + 'ln_2.weight', shape: [C] },
      { name: h + 'ln_2.bias', shape: [C] },
      { name: h + 'mlp.c_fc.weight', shape: [C, 4 * C] },
      { name: h + 'mlp.c_fc.bias', shape: [4 * C] },
      { name: h + 'mlp.c_proj.weight', shape: [4 * C, C] },
      { name: h + 'mlp.c_proj.bias', shape: [C] },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [C] }, { name: 'ln_f.bias', shape: [C] });
  if (!cfg.tiedHead) out.push({ name: 'lm_head.weight', shape: [V, C] });
  return out;
}

/**
 * Assigns each parameter an offset in one flat buffer, each aligned to `align` elements
 * (the GPU runtime's `viewAlign`, 64 floats on most adapters, so every tensor can be bound as a view).
 */
export function paramLayout(cfg: GPTConfig, align = 64): ParamLayout {
  if (!Number.isInteger(align) || align < 1) throw new Error(`paramLayout: align is ${align}; it must be a positive integer (elements)`);
  const params: ParamSpec[] = [];
  let offset = 0, count = 0;
  for (const { name, shape } of paramShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    params.push({ name, shape, offset, size, decay: shape.length === 2 });
    offset += Math.ceil(size / align) * align;
    count += size;
  }
  return { params, byName: new Map(params.map((p) => [p.name, p])), count, size: offset, align };
}

/** Parameter count (unpadded). */
export function paramCount(cfg: GPTConfig): number {
  return paramLayout(cfg, 1).count;
}

/** Named subarray views of a flat buffer laid out by `layout` (for checkpoints and tests). */
export function namedViews<A extends Float32Array | Float64Array>(layout: ParamLayout, flat: A): Map<string, A> {
  if (flat.length !== layout.size) throw new Error(`namedViews: buffer has ${flat.length} elements, the layout needs ${layout.size}`);
  return new Map(layout.params.map((p) => [p.name, flat.subarray(p.offset, p.offset + p.size) as A]));
}

/**
 * GPT-2 initialisation into a fresh flat buffer: weights ~ N(0, 0.02), residual projections
 * (attn.c_proj, mlp.c_proj) ~ N(0, 0.02/√(2·nLayer)) so the residual stream's variance does not grow
 * with depth, biases 0, LayerNorm weights 1. Padding stays 0. Same seed, same bits.
 */
export function initParams(cfg: GPTConfig, layout: ParamLayout, seed: number): Float32Array {
  const out = new Float32Array(layout.size);
  const normal = gaussian(seed);
  const projStd = 0.02 / Math.sqrt(2 * cfg.nLayer);
  for (const p of layout.params) {
    const view = out.subarray(p.offset, p.offset + p.size);
    if (/ln_\d\.weight$|ln_f\.weight$/.test(p.name)) view.fill(1);
    else if (p.shape.length === 2) {
      const std = /c_proj\.weight$/.test(p.name) ? projStd : 0.02;
      for (let i = 0; i < view.length; i++) view[i] = std * normal();
    }
  }
  return out;
}

/** Standard normal samples from a seeded mulberry32 stream via Box–Muller. */
export function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u1 = 1 - uniform(); // (0, 1]: log stays finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}
