// Checkpoints in Hugging Face GPT-2 form: model.safetensors (tensor names and layouts as
// GPT2LMHeadModel's transformer, Conv1D weights [in, out]) plus config.json. Bytes in, bytes out,
// so Node (train/files.ts writes them atomically) and the browser (download/drop) share it.
import { paramLayout, validateConfig, validateFieldTypes, type GPTConfig, type ParamLayout } from './config.js';
import { readSafetensors, writeSafetensors, type NamedTensor, type Safetensors } from './safetensors.js';

export interface Checkpoint {
  config: GPTConfig;
  /** Flat parameters in `paramLayout(config, align)` order. */
  params: Float32Array;
  layout: ParamLayout;
  /** Free-form provenance (task, step, tokenizer), kept in config.json under "forkgrad". */
  info: Record<string, unknown>;
}

/** config.json in GPT-2's vocabulary, with forkgrad's own fields under "forkgrad". */
export function configJson(cfg: GPTConfig, info: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_layer: cfg.nLayer,
      n_head: cfg.nHead,
      n_embd: cfg.dModel,
      n_positions: cfg.contextLength,
      n_ctx: cfg.contextLength,
      vocab_size: cfg.vocabSize,
      tie_word_embeddings: cfg.tiedHead,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      forkgrad: info,
    },
    null,
    2,
  );
}

export function encodeCheckpoint(cfg: GPTConfig, layout: ParamLayout, params: Float32Array, info: Record<string, unknown> = {}) {
  if (params.length !== layout.size) throw new Error(`checkpoint: ${params.length} parameters given, the layout holds ${layout.size}`);
  const tensors = new Map<string, NamedTensor>();
  for (const p of layout.params) tensors.set(p.name, { shape: p.shape, data: params.subarray(p.offset, p.offset + p.size) });
  return { safetensors: writeSafetensors(tensors, { format: 'pt' }), config: configJson(cfg, info) };
}

/** Parses and cross-checks a checkpoint; throws naming the file, tensor and mismatch, loading nothing. */
export function decodeCheckpoint(safetensors: Uint8Array, configText: string, align = 64): Checkpoint {
  let raw: any;
  try {
    raw = JSON.parse(configText);
  } catch (e) {
    throw new Error(`config.json is not valid JSON (${(e as Error).message})`);
  }
  const config: GPTConfig = {
    nLayer: raw.n_layer, nHead: raw.n_head, dModel: raw.n_embd, contextLength: raw.n_positions,
    vocabSize: raw.vocab_size, tiedHead: raw.tie_word_embeddings ?? true,
  };
  const asJson = (e: unknown) => new Error(`config.json: ${(e as Error).message.replace(/(GPTConfig\.)?\b(nLayer|nHead|dModel|contextLength|vocabSize|tiedHead)\b/g, (_, _p, f: keyof GPTConfig) => JSON_KEY[f])}`);
  try {
    validateFieldTypes(config);
  } catch (e) {
    throw asJson(e);
  }
  const file = readSafetensors(safetensors);
  // Before any layout is built: the config's claims must match the tensors actually in the file
  // (a layout is as big as the config says, and a config can say anything).
  checkAgainstTensors(config, file);
  try {
    validateConfig(config);
  } catch (e) {
    throw asJson(e);
  }
  const layout = paramLayout(config, align);
  const params = new Float32Array(layout.size);
  for (const p of layout.params) {
    const t = file.tensors.get(p.name);
    if (!t) throw new Error(`model.safetensors has no tensor "${p.name}", which config.json's shape needs (n_layer ${config.nLayer}, tie_word_embeddings ${config.tiedHead})`);
    if (t.shape.join() !== p.shape.join()) {
      throw new Error(`model.safetensors tensor "${p.name}" has shape [${t.shape}] but config.json implies [${p.shape}]`);
    }
    params.set(t.data, p.offset);
  }
  const extra = [...file.tensors.keys()].filter((n) => !layout.byName.has(n));
  if (extra.length) throw new Error(`model.safetensors has tensors config.json does not describe: ${extra.slice(0, 5).join(', ')}`);
  return { config, params, layout, info: raw.forkgrad ?? {} };
}

/** config.json's name for each GPTConfig field. */
const JSON_KEY: Record<keyof GPTConfig, string> = {
  nLayer: 'n_layer', nHead: 'n_head', dModel: 'n_embd', contextLength: 'n_positions', vocabSize: 'vocab_size', tiedHead: 'tie_word_embeddings',
};

/** The shape claims of config.json against the file's tensor names and shapes, in O(tensors). */
function checkAgainstTensors(cfg: GPTConfig, file: Safetensors): void {
  const { vocabSize: V, dModel: C, contextLength: T } = cfg;
  const expect = (name: string, shape: number[], fields: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`model.safetensors has no tensor "${name}", which config.json's shape needs (${fields})`);
    if (t.shape.join() !== shape.join()) throw new Error(`model.safetensors tensor "${name}" has shape [${t.shape}] but config.json implies [${shape}] (${fields})`);
  };
  expect('wte.weight', [V, C], `vocab_size ${V}, n_embd ${C}`);
  expect('wpe.weight', [T, C], `n_positions ${T}, n_embd ${C}`);
  const blocks = new Set<number>();
  for (const name of file.tensors.keys()) {
    const m = /^h\.(\d+)\./.exec(name);
    if (m) blocks.add(Number(m[1]));
  }
  if (cfg.nLayer !== blocks.size) {
    let lo = Infinity, hi = -Infinity;
    for (const i of blocks) (lo = Math.min(lo, i)), (hi = Math.max(hi, i));
    const held = blocks.size ? `${blocks.size} blocks (h.${lo} … h.${hi})` : 'no blocks';
    let gap = 0;
    while (blocks.has(gap)) gap++;
    const missing = cfg.nLayer > blocks.size ? ` and no tensor "h.${gap}.*"` : '';
    throw new Error(`config.json says n_layer ${cfg.nLayer} but model.safetensors holds ${held}${missing}; use the config.json saved with these weights`);
  }
  const head = file.tensors.has('lm_head.weight');
  if (head === cfg.tiedHead) {
    throw new Error(cfg.tiedHead
      ? 'model.safetensors has an untied "lm_head.weight" but config.json says tie_word_embeddings true; use the config.json saved with these weights'
      : 'model.safetensors has no tensor "lm_head.weight", which config.json needs (tie_word_embeddings false)');
  }
}

/** Adam's moments in PyTorch's vocabulary: `<param>.exp_avg` and `<param>.exp_avg_sq`, float32, the
 * parameter's shape. `m` and `v` are flat in `layout` order, like the parameters. */
export function encodeOptimizer(layout: ParamLayout, m: Float32Array, v: Float32Array): Uint8Array {
  if (m.length !== layout.size || v.length !== layout.size) throw new Error(`optimizer checkpoint: moments have ${m.length} and ${v.length} elements, the layout holds ${layout.size}`);
  const tensors = new Map<string, NamedTensor>();
  for (const p of layout.params) {
    tensors.set(`${p.name}.exp_avg`, { shape: p.shape, data: m.subarray(p.offset, p.offset + p.size) });
    tensors.set(`${p.name}.exp_avg_sq`, { shape: p.shape, data: v.subarray(p.offset, p.offset + p.size) });
  }
  return writeSafetensors(tensors, { format: 'pt' });
}

/** Reads what encodeOptimizer wrote for this layout; throws naming the tensor and the mismatch. */
export function decodeOptimizer(bytes: Uint8Array, layout: ParamLayout): { m: Float32Array; v: Float32Array } {
  const file = readSafetensors(bytes);
  const m = new Float32Array(layout.size), v = new Float32Array(layout.size);
  for (const p of layout.params) {
    for (const [suffix, out] of [['exp_avg', m], ['exp_avg_sq', v]] as const) {
      const name = `${p.name}.${suffix}`;
      const t = file.tensors.get(name);
      if (!t) throw new Error(`optimizer.safetensors has no tensor "${name}", which config.json's shape needs`);
      if (t.shape.join() !== p.shape.join()) throw new Error(`optimizer.safetensors tensor "${name}" has shape [${t.shape}] but config.json implies [${p.shape}]`);
      out.set(t.data, p.offset);
    }
  }
  if (file.tensors.size !== 2 * layout.params.length) {
    const extra = [...file.tensors.keys()].filter((n) => !layout.byName.has(n.replace(/\.exp_avg(_sq)?$/, '')));
    throw new Error(`optimizer.safetensors has tensors config.json does not describe: ${extra.slice(0, 5).join(', ')}`);
  }
  return { m, v };
}
