// One training step (forward, cross-entropy, backward, AdamW, loss readback), timed end to end:
// the peer configuration (2 layers, d 64, 4 heads, T 32, vocab 16, batch 32, untied head — the
// shape jax-js and tfjs were measured at) and forkgrad's default SFT configuration.
// Prints a table, a per-kernel GPU profile of the peer step, then one JSON line.
import { getGpu, describeAdapter } from '../kernels/device.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { DEFAULT_SFT_MODEL, DEFAULT_SFT } from '../train/defaults.js';
import { sftPositions } from '../train/data.js';
import { PEER_BATCH, PEER_MODEL, PEER_POSITIONS, timeTrainingStep } from './step-timing.js';

const gpu = await getGpu();
const rt = new Runtime(gpu);

const peer = await timeTrainingStep(rt, PEER_MODEL, PEER_BATCH, PEER_POSITIONS);
const T = sftPositions(DEFAULT_SFT.task);
const def = await timeTrainingStep(rt, DEFAULT_SFT_MODEL, DEFAULT_SFT.batchSize, T);

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
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter),
  peer_params: peer.params,
  peer_step_ms: +peer.median.toFixed(3),
  default_step_ms: +def.median.toFixed(3),
  tokens_per_s: tokensPerS(def, DEFAULT_SFT.batchSize, T),
  peer_tokens_per_s: tokensPerS(peer, PEER_BATCH, PEER_POSITIONS),
}));
rt.destroy();
gpu.destroy();
