// GPT-2-small-shaped entropy check and throughput: a random GPT-2 with gpt2's shapes (12 layers,
// d 768, 12 heads, context 1024, vocabulary 50257) written as Hugging Face files (F32, bare names,
// legacy attn.bias buffers), then
//   1. the bar: scripts/entropy.ts --json (a child process, as a user runs it) on a 64-token text;
//      every entropy must equal model/reference.ts's float64 one within 1e-4 nats (exit 1 if not);
//   2. throughput of the same code path in-process: tokens/s for 64- and 256-token texts, median of
//      --runs after a warm-up (pipelines compiled), a table, then one JSON line.
//
//   npx tsx scripts/bench-gpt2.ts [--runs 5] [--keep DIR]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { decodeGpt2Checkpoint } from '../model/hf/checkpoint.js';
import { tokenEntropies } from '../model/hf/entropy.js';
import { gpt2Files } from '../model/hf/files.js';
import { InferenceGPT } from '../model/hf/inference.js';
import { Gpt2Tokenizer } from '../model/hf/tokenizer.js';
import { forward } from '../model/reference.js';
import { GPT2_VOCAB, writeGpt2Folder } from './gpt2-fixture.js';

const o = new Command('scripts/bench-gpt2.ts')
  .option('--runs <n>', 'timed runs per length (median reported)', (v) => Number(v), 5)
  .option('--keep <dir>', 'write the checkpoint folder here and keep it')
  .parse().opts<{ runs: number; keep?: string }>();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = o.keep ?? mkdtempSync(join(tmpdir(), 'forkgrad-gpt2-small-'));
const BAR = 1e-4;
const PROSE = 'The solution to this problem requires careful consideration. When a model reaches a token where several ' +
  'continuations are plausible, its next-token distribution is spread out and the entropy is high; these forking tokens ' +
  'are where reinforcement learning changes the most. Elsewhere the model is nearly certain, and the entropy is close to zero. ' +
  'A long document therefore mixes a few uncertain positions with many easy ones, and the ratio varies from text to text.';

let t0 = performance.now();
const fx = writeGpt2Folder(dir, { nLayer: 12, nHead: 12, dModel: 768, contextLength: 1024, dtype: 'F32', prefix: '', legacyMasks: true, seed: 124, wteScale: 15, blockScale: 3 });
console.log(`wrote a random GPT-2-small-shaped checkpoint (${(fx.layout.count / 1e6).toFixed(1)} M parameters) to ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const files = gpt2Files(dir);
const tok = new Gpt2Tokenizer(files.vocab, files.merges);
const textOf = (n: number) => tok.decode(tok.encode(PROSE.repeat(4)).slice(0, n));
const text64 = textOf(64);
if (tok.encode(text64).length !== 64) throw new Error('bench: the 64-token text does not re-encode to 64 tokens');

// 1. the bar, through the CLI
t0 = performance.now();
const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/entropy.ts', '--checkpoint', dir, '--json', text64], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
if (r.status !== 0) throw new Error(`scripts/entropy.ts failed: ${r.stderr}`);
const cliSeconds = (performance.now() - t0) / 1000;
const cli = JSON.parse(r.stdout);
t0 = performance.now();
const ids = [GPT2_VOCAB - 1, ...tok.encode(text64)];
const ref = forward(fx.cfg, fx.layout, fx.params, ids, 1, ids.length);
const refSeconds = (performance.now() - t0) / 1000;
let maxDiff = 0, lo = Infinity, hi = 0;
cli.tokens.forEach((x: any, i: number) => {
  const z = ref.logits.subarray(i * GPT2_VOCAB, (i + 1) * GPT2_VOCAB);
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  let s = 0, u = 0;
  for (const v of z) { const e = Math.exp(v - m); s += e; u += e * (v - m); }
  const H = Math.log(s) - u / s;
  maxDiff = Math.max(maxDiff, Math.abs(x.entropyNats - H));
  lo = Math.min(lo, H);
  hi = Math.max(hi, H);
});
const forking = cli.tokens.filter((x: any) => x.forking).length;
console.log(`bar: ${cli.tokens.length} tokens through scripts/entropy.ts (${cliSeconds.toFixed(1)} s with loading; ${cli.tokensPerSecond.toFixed(1)} tokens/s cold), ` +
  `float64 reference ${refSeconds.toFixed(1)} s; entropies ${lo.toFixed(3)}–${hi.toFixed(3)} nats, ${forking} forking; ` +
  `max |GPU − float64| = ${maxDiff.toExponential(2)} nats (bar ${BAR}): ${maxDiff <= BAR ? 'met' : 'NOT MET'}`);

// 2. throughput, in-process
const gpu = await getGpu();
const rt = new Runtime(gpu);
const ck = decodeGpt2Checkpoint(files.config, files.weights());
const model = new InferenceGPT(rt, ck.config, ck.tensors);
const rows: { tokens: number; medianMs: number; tokensPerSecond: number }[] = [];
for (const n of [64, 256]) {
  const text = textOf(n);
  await tokenEntropies(model, tok, text, { threshold: 0.672, top: 5 }); // warm-up: compiles pipelines
  const ms: number[] = [];
  for (let i = 0; i < o.runs; i++) ms.push((await tokenEntropies(model, tok, text, { threshold: 0.672, top: 5 })).ms);
  ms.sort((a, b) => a - b);
  const med = ms[Math.floor(ms.length / 2)];
  rows.push({ tokens: n, medianMs: med, tokensPerSecond: n / (med / 1000) });
}
model.destroy();
rt.destroy();
gpu.destroy();
if (!o.keep) rmSync(dir, { recursive: true, force: true });

console.log(`\n${describeAdapter(gpu.adapter)}, head in ${model.plan.blocks.length} block(s); median of ${o.runs} runs after a warm-up`);
console.log('tokens   median ms   tokens/s');
for (const row of rows) console.log(`${String(row.tokens).padStart(6)}  ${row.medianMs.toFixed(0).padStart(10)}  ${row.tokensPerSecond.toFixed(1).padStart(9)}`);
console.log(JSON.stringify({ bench: 'gpt2-small-entropy', adapter: describeAdapter(gpu.adapter), maxAbsDiffNats: maxDiff, bar: BAR, barMet: maxDiff <= BAR, entropyRange: [lo, hi], forking, throughput: rows }));
if (maxDiff > BAR) process.exitCode = 1;
