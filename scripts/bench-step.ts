// One training step (forward, cross-entropy, backward, AdamW, loss readback), timed end to end:
// the peer configuration (2 layers, d 64, 4 heads, T 32, vocab 16, batch 32, untied head — the
// shape jax-js and tfjs were measured at) and forkgrad's default SFT configuration.
// Prints a table, a per-kernel GPU profile of the peer step, then one JSON line.
import { getGpu, describeAdapter } from '../kernels/device.js';
import { tunePendingMatmuls } from '../kernels/matmul.js';
import { Runtime, formatTable } from '../kernels/runtime.js';
import { initParams, paramCount, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { sftStep } from '../train/sft.js';
import { DEFAULT_SFT_MODEL, DEFAULT_SFT } from '../train/defaults.js';
import { sftPositions } from '../train/data.js';

const REPS = 15, WARMUP = 5;
const gpu = await getGpu();
const rt = new Runtime(gpu);

async function benchStep(cfg: GPTConfig, B: number, T: number) {
  const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
  const r = (n: number) => Math.floor(Math.random() * n);
  rt.write(model.tokensFor(B, T), Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)));
  const targets = rt.upload(Uint32Array.from({ length: B * T }, () => r(cfg.vocabSize)), [B * T], 'u32');
  const weights = rt.upload(new Float32Array(B * T).fill(1));
  const losses = rt.empty([B * T]);
  const run = (i: number) => sftStep(model, B, T, targets, weights, losses, 1 / (B * T), 1e-4, i + 1);
  for (let i = 0; i < WARMUP; i++) await run(i);
  await tunePendingMatmuls(rt); // shapes first seen above get their autotuned variant now
  for (let i = 0; i < 2; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  // one profiled step for the per-kernel table
  rt.resetStats();
  rt.setProfiling(true);
  await run(0);
  await rt.sync();
  rt.setProfiling(false);
  const profile = rt.profileTable();
  const flops = Object.values(rt.phaseStats()).reduce((a, p) => a + p.flops, 0);
  rt.resetStats();
  model.destroy();
  for (const t of [targets, weights, losses]) t.buffer.destroy();
  return { median: times[Math.floor(times.length / 2)], min: times[0], profile, flops, params: paramCount(cfg) };
}

const peerCfg: GPTConfig = { nLayer: 2, dModel: 64, nHead: 4, contextLength: 32, vocabSize: 16, tiedHead: false };
const peer = await benchStep(peerCfg, 32, 32);
const T = sftPositions(DEFAULT_SFT.task);
const def = await benchStep(DEFAULT_SFT_MODEL, DEFAULT_SFT.batchSize, T);

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
