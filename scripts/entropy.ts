// Per-token entropy of a checkpoint on a piece of text: which tokens are "forking" tokens.
//
//   npx tsx scripts/entropy.ts --checkpoint runs/…/sft "12+34=46"
//   npx tsx scripts/entropy.ts --checkpoint DIR --json --threshold 0.5 "3*(4+5)=27"
//
// Each token of the text is shown with the entropy of the distribution that produced it (the
// model's next-token distribution at the previous position; the first one follows BOS).
// Entropies come from kernels/pgloss.ts tokenEntropy at temperature 1 — the same float32 kernel
// the RL step ranks and thresholds tokens with, so a '*' here is exactly what training would call
// forking (a float64 recomputation could disagree with training for entropies at the threshold).
import { Command, InvalidArgumentError } from 'commander';
import { getGpu, type Gpu } from '../kernels/device.js';
import { tokenEntropy } from '../kernels/pgloss.js';
import { Runtime } from '../kernels/runtime.js';
import { GPT } from '../model/gpt.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { loadCheckpoint } from '../train/files.js';
import { BOS, encode, TOKENS } from '../verify/index.js';


const nonNegative = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`must be a number ≥ 0 (nats), got "${v}"`);
  return n;
};

const program = new Command('scripts/entropy.ts')
  .description('Per-token next-token entropy of a checkpoint on TEXT; marks forking tokens (entropy ≥ threshold) with *.')
  .requiredOption('--checkpoint <dir>', 'checkpoint folder (model.safetensors + config.json), e.g. runs/<run>/sft')
  .option('--threshold <nats>', 'forking threshold in nats', nonNegative, DEFAULT_RL.forkThreshold)
  .option('--json', 'print one JSON object instead of a table')
  .argument('<text>', 'text to score, in the task alphabet (digits, + - * / ( ) = , ;)')
  .exitOverride()
  .configureOutput({ writeErr: () => {} }); // our catch prints commander's message as one line

let gpu: Gpu | null = null;
try {
  program.parse();
  const o = program.opts<{ checkpoint: string; threshold: number; json?: boolean }>();
  const text = program.args[0];
  if (text.length === 0) throw new Error('the text is empty; give at least one character');
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
    const forking = tokens.filter((t) => t.forking).length;
    console.log(`mean entropy ${meanNats.toFixed(3)} nats (${(meanNats / Math.LN2).toFixed(3)} bits) over ${tokens.length} tokens; ` +
      `forking (* = entropy ≥ ${o.threshold} nats = ${(o.threshold / Math.LN2).toFixed(3)} bits): ${forking} of ${tokens.length} (${((100 * forking) / tokens.length).toFixed(1)}%)`);
  }
} catch (e: any) {
  const code = String(e?.code ?? '');
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exitCode = 0;
  else {
    console.error(`error: ${String(e?.message ?? e).replace(/^error: /, '')}`);
    process.exitCode = 1;
  }
} finally {
  gpu?.destroy(); // or Dawn keeps Node alive
}
