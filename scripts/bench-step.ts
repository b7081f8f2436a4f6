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
console.log(formatTable(
  ['config', 'params', 'B×T', 'median ms', 'min ms', 'tokens/s', 'GFLOP/s'],
  [
    ['peer (2L d64 h4 T32 V16 B32)', String(peer.params), '32×32', peer.median.toFixed(2), peer.min.toFixed(2), (1024 / peer.median * 1000).toFixed(0), (peer.flops / peer.median / 1e6).toFixed(2)],
    [`default SFT (${DEFAULT_SFT_MODEL.nLayer}L d${DEFAULT_SFT_MODEL.dModel})`, String(def.params), `${DEFAULT_SFT.batchSize}×${T}`, def.median.toFixed(2), def.min.toFixed(2), (DEFAULT_SFT.batchSize * T / def.median * 1000).toFixed(0), (def.flops / def.median / 1e6).toFixed(2)],
  ],
));
console.log(`\nper-kernel GPU profile of one peer step:\n${peer.profile}\n`);
console.log(JSON.stringify({
  adapter: describeAdapter(gpu.adapter),
  peer_params: peer.params,
  peer_step_ms: +peer.median.toFixed(3),
  default_step_ms: +def.median.toFixed(3),
  tokens_per_s: Math.round((DEFAULT_SFT.batchSize * T) / def.median * 1000),
  peer_tokens_per_s: Math.round(1024 / peer.median * 1000),
}));
rt.destroy();
gpu.destroy();
