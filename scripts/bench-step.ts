// One training step (forward, cross-entropy, backward, AdamW, loss readback), timed end to end:
// the peer configuration (2 layers, d 64, 4 heads, T 32, vocab 16, batch 32, untied head — the
// shape jax-js and tfjs were measured at) and forkgrad's default SFT configuration; then forkgrad's
// peer-config step and the jax-js wasm (jit) peer (scripts/jaxjs-peer.ts, a child process) in
// alternating rounds, each round a median of 10 steps, so load from other processes hits both.
// Prints a table, a per-kernel GPU profile of the peer step, then one JSON line.
// Usage: npx tsx scripts/bench-step.ts [--peer-rounds n]   (0: skip the jax-js peer)
import { Command } from 'commander';
import { getGpu, describeAdapter } from '../kernels/device.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { DEFAULT_SFT_MODEL, DEFAULT_SFT } from '../train/defaults.js';
import { sftPositions } from '../train/data.js';
import { installJaxPeer, runJaxPeer } from './jaxjs-peer.js';
import { PEER_BATCH, PEER_MODEL, PEER_POSITIONS, timeTrainingStep } from '../train/step-timing.js';

const opts = new Command('scripts/bench-step.ts')
  .option('--peer-rounds <n>', 'alternating rounds against the jax-js wasm peer (0: skip it)', (v) => Number(v), 5)
  .parse().opts();
if (!(Number.isInteger(opts.peerRounds) && opts.peerRounds >= 0)) throw new Error(`--peer-rounds is ${opts.peerRounds}; it must be a whole number ≥ 0`);
const peerDir = opts.peerRounds > 0 ? installJaxPeer() : null;

const gpu = await getGpu();
const rt = new Runtime(gpu);

const peer = await timeTrainingStep(rt, PEER_MODEL, PEER_BATCH, PEER_POSITIONS);
const T = sftPositions(DEFAULT_SFT.task);
const def = await timeTrainingStep(rt, DEFAULT_SFT_MODEL, DEFAULT_SFT.batchSize, T);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds: { forkgrad: number; jaxjs: number }[] = [];
for (let i = 0; i < opts.peerRounds; i++) {
  // alternate which goes first, so a load change mid-round does not favour one side
  const fg = async () => (await timeTrainingStep(rt, PEER_MODEL, PEER_BATCH, PEER_POSITIONS, { reps: 10, warmup: 3 })).median;
  const jx = () => runJaxPeer(peerDir!, 'wasm');
  if (i % 2 === 0) { const f = await fg(); rounds.push({ forkgrad: f, jaxjs: await jx() }); }
  else { const j = await jx(); rounds.push({ forkgrad: await fg(), jaxjs: j }); }
}

console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
const tokensPerS = (r: { median: number }, B: number, T: number) => Math.round((B * T) / r.median * 1000);
const row = (name: string, r: typeof peer, B: number, T: number) =>
  [name, String(r.params), `${B}×${T}`, r.median.toFixed(2), r.min.toFixed(2), String(tokensPerS(r, B, T)), (r.flops / r.median / 1e6).toFixed(2)];
const m = PEER_MODEL, d = DEFAULT_SFT_MODEL;
console.log(formatTable(
  ['config', 'params', 'B×T', 'median ms', 'min ms', 'tokens/s', 'GFLOP/s'],
  [
    row(`peer (${m.nLayer}L d${m.dModel} h${m.nHead} T${PEER_POSITIONS} V${m.vocabSize} B${PEER_BATCH})`, peer, PEER_BATCH, PEER_POSITIONS),
    row(`default SFT (${d.nLayer}L d${d.dModel})`, def, DEFAULT_SFT.batchSize, T),
  ],
));
console.log(`\nper-kernel GPU profile of one peer step:\n${peer.profile}\n`);
let vsPeer: Record<string, number> = {};
if (rounds.length) {
  const ratios = rounds.map((r) => r.forkgrad / r.jaxjs);
  console.log(`peer-config step, forkgrad vs jax-js wasm (jit), ${rounds.length} alternating rounds (medians of 10 steps each):`);
  console.log(formatTable(['round', 'forkgrad ms', 'jax-js wasm ms', 'forkgrad / jax-js'],
    rounds.map((r, i) => [String(i + 1), r.forkgrad.toFixed(1), r.jaxjs.toFixed(1), ratios[i].toFixed(3)])));
  vsPeer = {
    alternating_rounds: rounds.length,
    forkgrad_peer_step_ms: +median(rounds.map((r) => r.forkgrad)).toFixed(3),
    jaxjs_wasm_step_ms: +median(rounds.map((r) => r.jaxjs)).toFixed(3),
    forkgrad_over_jaxjs_wasm: +median(ratios).toFixed(3),
  };
  console.log(`median ratio forkgrad / jax-js wasm: ${vsPeer.forkgrad_over_jaxjs_wasm}\n`);
}
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter),
  peer_params: peer.params,
  peer_step_ms: +peer.median.toFixed(3),
  default_step_ms: +def.median.toFixed(3),
  tokens_per_s: tokensPerS(def, DEFAULT_SFT.batchSize, T),
  peer_tokens_per_s: tokensPerS(peer, PEER_BATCH, PEER_POSITIONS),
  ...vsPeer,
}));
rt.destroy();
gpu.destroy();
