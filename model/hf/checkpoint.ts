// A GPT-2-family checkpoint folder as Hugging Face saves it (gpt2, distilgpt2, gpt2-medium, a
// user's fine-tune): config.json, model.safetensors (F32, F16 or BF16; names bare as GPT2Model
// saves them or `transformer.`-prefixed as GPT2LMHeadModel does), vocab.json + merges.txt.
// Bytes in, named float32 tensors out, so Node and the page share it; nothing touches the GPU.
import { paramShapes, validateConfig, type GPTConfig } from '../config.js';
import { LN_EPS } from '../reference.js';
import { readSafetensors } from '../safetensors.js';

export interface Gpt2Checkpoint {
  config: GPTConfig;
  /** float32 tensors by GPT-2 name without prefix ('wte.weight', 'h.0.attn.c_attn.weight', …). */
  tensors: Map<string, Float32Array>;
  /** The file's weight dtype(s), e.g. 'F16'. */
  dtype: string;
  /** Legacy causal-mask buffers that were present and ignored. */
  ignored: string[];
}

/** The config.json fields forkgrad's kernels implement; anything else is refused by name. */
export function parseGpt2Config(text: string): GPTConfig {
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`config.json is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error('config.json is not a JSON object');
  if (raw.model_type !== undefined && raw.model_type !== 'gpt2') {
    throw new Error(`config.json has model_type "${raw.model_type}"; only GPT-2-family checkpoints (model_type "gpt2": gpt2, distilgpt2, gpt2-medium/large/xl and their fine-tunes) load here`);
  }
  const act = raw.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new Error(`config.json has activation_function "${act}"; forkgrad implements GPT-2's tanh GELU ("gelu_new") only`);
  const eps = raw.layer_norm_epsilon ?? LN_EPS;
  if (eps !== LN_EPS) throw new Error(`config.json has layer_norm_epsilon ${eps}; forkgrad's LayerNorm uses ${LN_EPS}, GPT-2's value`);
  for (const k of ['scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn'] as const) {
    if (raw[k]) throw new Error(`config.json sets ${k}; forkgrad implements plain GPT-2 attention only`);
  }
  if (raw.scale_attn_weights === false) throw new Error('config.json sets scale_attn_weights false; forkgrad scales attention scores by 1/√head_dim as GPT-2 does');
  if (raw.n_inner != null && raw.n_inner !== 4 * raw.n_embd) throw new Error(`config.json has n_inner ${raw.n_inner}; forkgrad's MLP is 4·n_embd = ${4 * raw.n_embd} wide`);
  const cfg: GPTConfig = {
    nLayer: raw.n_layer, nHead: raw.n_head, dModel: raw.n_embd,
    contextLength: raw.n_positions ?? raw.n_ctx, vocabSize: raw.vocab_size,
    tiedHead: raw.tie_word_embeddings ?? true,
  };
  try {
    validateConfig(cfg);
  } catch (e) {
    const names: Record<string, string> = { nLayer: 'n_layer', nHead: 'n_head', dModel: 'n_embd', contextLength: 'n_positions', vocabSize: 'vocab_size', tiedHead: 'tie_word_embeddings' };
    throw new Error(`config.json: ${(e as Error).message.replace(/(?:GPTConfig\.)?\b(nLayer|nHead|dModel|contextLength|vocabSize|tiedHead)\b/g, (_, f) => names[f])}`);
  }
  return cfg;
}

/** `h.N.attn.bias` [1, 1, n, n] and `h.N.attn.masked_bias` [] (any dtype): the causal mask older
 * transformers versions saved as buffers. They carry no weights; exactly these are ignored. */
function isLegacyMask(name: string, shape: number[], nLayer: number): boolean {
  const m = /^h\.(\d+)\.attn\.(bias|masked_bias)$/.exec(name);
  if (!m || Number(m[1]) >= nLayer) return false;
  return m[2] === 'bias' ? shape.length === 4 && shape[0] === 1 && shape[1] === 1 && shape[2] === shape[3] : shape.length === 0 || (shape.length === 1 && shape[0] === 1);
}

/** Parses and cross-checks config.json against model.safetensors; throws naming the file, tensor
 * and mismatch before returning anything. */
export function decodeGpt2Checkpoint(configText: string, safetensors: Uint8Array): Gpt2Checkpoint {
  const config = parseGpt2Config(configText);
  // GPT2LMHeadModel prefixes the body with `transformer.`; its lm_head sits beside it, unprefixed.
  const strip = (n: string) => (n.startsWith('transformer.') ? n.slice('transformer.'.length) : n);
  const ignored: string[] = [];
  const file = readSafetensors(safetensors, {
    halfToFloat: true,
    skip: (name, shape) => {
      const legacy = isLegacyMask(strip(name), shape, config.nLayer);
      if (legacy) ignored.push(name);
      return legacy;
    },
  });
  const dtypes = new Set<string>();
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of file.tensors) {
    const key = strip(name);
    if (tensors.has(key)) throw new Error(`model.safetensors has both "${key}" and "transformer.${key}"; keep one`);
    tensors.set(key, t.data);
    dtypes.add(t.stored!);
  }
  // A tied head's lm_head.weight (some exporters write it) is the same matrix as wte: HF ties it.
  if (config.tiedHead && tensors.has('lm_head.weight')) tensors.delete('lm_head.weight');
  const shapes = new Map([...file.tensors].map(([n, t]) => [strip(n), t.shape]));
  const want = paramShapes(config);
  for (const p of want) {
    const shape = shapes.get(p.name);
    if (!shape) throw new Error(`model.safetensors has no tensor "${p.name}" (bare or transformer.-prefixed), which config.json's shape needs (n_layer ${config.nLayer}, tie_word_embeddings ${config.tiedHead})`);
    if (shape.join() !== p.shape.join()) throw new Error(`model.safetensors tensor "${p.name}" has shape [${shape}] but config.json (n_embd ${config.dModel}, n_positions ${config.contextLength}, vocab_size ${config.vocabSize}) implies [${p.shape}]; the config is not this checkpoint's`);
  }
  const known = new Set(want.map((p) => p.name));
  const extra = [...tensors.keys()].filter((n) => !known.has(n));
  if (extra.length) throw new Error(`model.safetensors has tensors config.json does not describe: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''} (n_layer ${config.nLayer}); the config is not this checkpoint's`);
  return { config, tensors, dtype: [...dtypes].sort().join('+'), ignored };
}
