// Per-token entropy of a checkpoint on a piece of text: which tokens are "forking" tokens.
//
//   npx tsx scripts/entropy.ts --checkpoint runs/…/sft "12+34=46"
//   npx tsx scripts/entropy.ts --checkpoint DIR --json --threshold 0.5 "3*(4+5)=27"
//   npx tsx scripts/entropy.ts --checkpoint ~/models/gpt2 --top 5 "The solution to this problem requires careful consideration."
//
// Two kinds of folder:
// - forkgrad's own checkpoints (config.json with a "forkgrad" section): the task alphabet, a BOS
//   first; entropies from kernels/pgloss.ts tokenEntropy at temperature 1 — the same float32 kernel
//   the RL step ranks and thresholds tokens with, so a '*' here is exactly what training would call
//   forking.
// - any GPT-2-family folder saved by Hugging Face (config.json, model.safetensors in F32/F16/BF16,
//   vocab.json, merges.txt): model/hf/ — the folder's own BPE, <|endoftext|> first, an
//   inference-only model, long texts in overlapping windows, float64 entropies of the float32
//   logits, and with --top K the K likeliest tokens at each forking position.
// Each token is shown with the entropy of the distribution that produced it (the model's
// next-token distribution at the previous position).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { describeAdapter, getGpu, type Gpu } from '../kernels/device.js';
import { tokenEntropy } from '../kernels/pgloss.js';
import { Runtime } from '../kernels/runtime.js';
import { GPT } from '../model/gpt.js';
import { decodeGpt2Checkpoint, parseGpt2Config } from '../model/hf/checkpoint.js';
import { entropyInput, tokenEntropies, type TokenEntropy } from '../model/hf/entropy.js';
import { gpt2Files } from '../model/hf/files.js';
import { bufferLimit, InferenceGPT, planInference } from '../model/hf/inference.js';
import { Gpt2Tokenizer } from '../model/hf/tokenizer.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { loadCheckpoint } from '../train/files.js';
import { BOS, encode, TOKENS } from '../verify/index.js';
import { reportCliError } from '../train/cli.js';

const nonNegative = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`must be a number ≥ 0 (nats), got "${v}"`);
  return n;
};
const integer = (lo: number) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < lo) throw new InvalidArgumentError(`must be an integer ≥ ${lo}, got "${v}"`);
  return n;
};

const program = new Command('scripts/entropy.ts')
  .description('Per-token next-token entropy of a checkpoint on TEXT; marks forking tokens (entropy ≥ threshold) with *.')
  .requiredOption('--checkpoint <dir>', 'a forkgrad checkpoint folder (runs/<run>/sft) or a Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json, merges.txt)')
  .option('--threshold <nats>', 'forking threshold in nats', nonNegative, DEFAULT_RL.forkThreshold)
  .option('--json', 'print one JSON object instead of a table')
  .option('--top <K>', 'GPT-2 folders: also list the K likeliest tokens at each forking position', integer(0), 0)
  .option('--window <tokens>', "GPT-2 folders: tokens per forward pass (default: the model's context); longer texts run in windows overlapping by half", integer(2))
  .argument('<text>', 'text to score (forkgrad checkpoints: the task alphabet, digits, + - * / ( ) = , ;)')
  .exitOverride()
  .configureOutput({ writeErr: () => {} }); // our catch prints commander's message as one line

interface Opts { checkpoint: string; threshold: number; json?: boolean; top: number; window?: number }

let gpu = null as Gpu | null; // set by whichever path starts the GPU
try {
  program.parse();
  const o = program.opts<Opts>();
  const text = program.args[0];
  if (text.length === 0) throw new Error('the text is empty; give at least one character');
  const configPath = join(o.checkpoint, 'config.json');
  const forkgrad = existsSync(configPath) && (() => { try { return 'forkgrad' in JSON.parse(readFileSync(configPath, 'utf8')); } catch { return false; } })();
  if (forkgrad) await forkgradCheckpoint(o, text);
  else await gpt2Checkpoint(o, text);
} catch (e) {
  reportCliError(e);
} finally {
  gpu?.destroy(); // or Dawn keeps Node alive
}

function summary(tokens: { entropyNats: number; forking: boolean }[], threshold: number, meanNats: number): string {
  const forking = tokens.filter((t) => t.forking).length;
  return `mean entropy ${meanNats.toFixed(3)} nats (${(meanNats / Math.LN2).toFixed(3)} bits) over ${tokens.length} tokens; ` +
    `forking (* = entropy ≥ ${threshold} nats = ${(threshold / Math.LN2).toFixed(3)} bits): ${forking} of ${tokens.length} (${((100 * forking) / tokens.length).toFixed(1)}%)`;
}

async function gpt2Checkpoint(o: Opts, text: string): Promise<void> {
  // Everything that can fail on the input is checked before the weights are read or the GPU works.
  const files = gpt2Files(o.checkpoint);
  const cfg = parseGpt2Config(files.config);
  const tok = new Gpt2Tokenizer(files.vocab, files.merges);
  const opts = { threshold: o.threshold, top: o.top, window: o.window };
  entropyInput({ cfg }, tok, text, opts);
  gpu = await getGpu();
  const rt = new Runtime(gpu);
  planInference(cfg, bufferLimit(rt)); // too big for this adapter: say so before reading 0.5–3 GB
  const ck = decodeGpt2Checkpoint(files.config, files.weights());
  const model = new InferenceGPT(rt, ck.config, ck.tensors);
  ck.tensors.clear();
  const r = await tokenEntropies(model, tok, text, opts);
  model.destroy();
  rt.destroy();
  const tokensPerSecond = r.tokens.length / (r.ms / 1000);
  if (o.json) {
    console.log(JSON.stringify({ checkpoint: o.checkpoint, dtype: ck.dtype, ignored: ck.ignored.length, tokens: r.tokens, threshold: o.threshold, meanNats: r.meanNats, windows: r.windows, ms: r.ms, tokensPerSecond }));
    return;
  }
  const c = ck.config;
  console.log(`checkpoint ${o.checkpoint}: GPT-2, ${c.nLayer} layers, d ${c.dModel}, ${c.nHead} heads, context ${c.contextLength}, vocabulary ${c.vocabSize} (max entropy ln V = ${Math.log(c.vocabSize).toFixed(3)} nats), ` +
    `${ck.dtype}${ck.ignored.length ? `, ${ck.ignored.length} legacy attention-mask buffers ignored` : ''}; ${describeAdapter(gpu.adapter)}`);
  const shown = (t: string) => JSON.stringify(t);
  const width = Math.min(24, Math.max(5, ...r.tokens.map((t) => shown(t.token).length)));
  console.log(`  pos  ${'token'.padEnd(width)}   nats    bits`);
  r.tokens.forEach((t: TokenEntropy, i) => {
    console.log(`${String(i + 1).padStart(5)}  ${shown(t.token).padEnd(width)} ${t.entropyNats.toFixed(3).padStart(6)}  ${t.entropyBits.toFixed(3).padStart(6)}${t.forking ? '  *' : ''}`);
    if (t.top) console.log(`       ${''.padEnd(width)} → ${t.top.map((a) => `${shown(a.token)} ${a.p.toFixed(3)}`).join(', ')}`);
  });
  console.log(summary(r.tokens, o.threshold, r.meanNats));
  console.log(`throughput: ${r.tokens.length} tokens in ${r.windows} forward pass${r.windows > 1 ? 'es' : ''} of ≤ ${o.window ?? c.contextLength} tokens, ${(r.ms / 1000).toFixed(2)} s = ${tokensPerSecond.toFixed(1)} tokens/s`);
}

async function forkgradCheckpoint(o: Opts, text: string): Promise<void> {
  if (o.top) throw new Error('--top K is for GPT-2 folders (vocab.json + merges.txt); this is a forkgrad checkpoint');
  // Everything that can fail on the input is checked before the GPU starts.
  const ids = [BOS, ...encode(text)];
  const ck = loadCheckpoint(o.checkpoint);
  const { vocabSize: V, contextLength } = ck.config;
  if (ids.length > contextLength) {
    throw new Error(`the text has ${text.length} characters, ${ids.length} tokens with BOS, but the model's context is ${contextLength} tokens; shorten it to ≤ ${contextLength - 1} characters`);
  }
  const tooBig = ids.find((id) => id >= V);
  if (tooBig !== undefined) throw new Error(`token ${TOKENS[tooBig]} (id ${tooBig}) is outside the checkpoint's vocabulary of ${V}`);

  gpu = await getGpu();
  const rt = new Runtime(gpu);
  const T = ids.length;
  // Parameters were laid out for align 64 by loadCheckpoint's default; reload for this device's alignment.
  const model = new GPT(rt, ck.config, rt.viewAlign === ck.layout.align ? ck.params : loadCheckpoint(o.checkpoint, rt.viewAlign).params);
  rt.write(model.tokensFor(1, T), Uint32Array.from(ids));
  const logits = model.forward(1, T);
  const entropy = rt.empty([T], 'f32', 'entropy');
  tokenEntropy(rt, { logits, entropy }, 1);
  const H = await rt.readF32(entropy);
  model.destroy();
  rt.destroy();

  // Row t's distribution produced token t + 1; the last row (what would follow the text) is unused.
  const tokens = ids.slice(1).map((id, i) => ({
    token: TOKENS[id] as string,
    entropyNats: H[i],
    entropyBits: H[i] / Math.LN2,
    forking: H[i] >= o.threshold,
  }));
  const meanNats = tokens.reduce((a, t) => a + t.entropyNats, 0) / tokens.length;
  if (o.json) {
    console.log(JSON.stringify({ tokens, threshold: o.threshold, meanNats }));
  } else {
    const c = ck.config;
    console.log(`checkpoint ${o.checkpoint}: ${c.nLayer} layers, d ${c.dModel}, ${c.nHead} heads, context ${c.contextLength}, vocabulary ${V} (max entropy ln V = ${Math.log(V).toFixed(3)} nats)`);
    console.log('  pos  token   nats    bits');
    tokens.forEach((t, i) => console.log(`${String(i + 1).padStart(5)}  ${t.token.padEnd(5)} ${t.entropyNats.toFixed(3).padStart(6)}  ${t.entropyBits.toFixed(3).padStart(6)}${t.forking ? '  *' : ''}`));
    console.log(summary(tokens, o.threshold, meanNats));
  }
}
