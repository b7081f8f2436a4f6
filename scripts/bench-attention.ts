// Attention kernel timings at the model's shapes: forward (no save, lse, att), backward (both modes,
// dense and 20% sparse rows), and a KV-cache decode step. Wall clock per synced run, median of
// `--runs` after warm-up; a table, then one JSON line.
// Usage: npx tsx scripts/bench-attention.ts [--runs 7] [--R 8]
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import {
  attentionBackward, attentionDecode, attentionForward, attentionPrefill, attentionRows, createKVCache, savedShape,
  type AttnDims, type SaveMode,
} from '../kernels/attention.js';
import { randArray } from '../test/helpers.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = Math.max(5, arg('runs', 7));
const R = process.argv.includes('--R') ? arg('R', 8) : undefined;

const gpu = await getGpu();
const rt = new Runtime(gpu);

async function time(step: () => void): Promise<number> {
  step(); // warm-up: pipeline creation, first-touch of buffers
  await rt.sync();
  const ms: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    step();
    await rt.sync();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[RUNS >> 1];
}

const rows: string[][] = [];
const results: Record<string, number>[] = [];
for (const [tokens, T, hd] of [[1024, 32, 16], [2048, 32, 16], [2048, 64, 16], [2048, 64, 32]]) {
  const H = 4, B = tokens / T, C = H * hd;
  const d: AttnDims = { B, T, H, hd };
  const qkv = rt.upload(randArray(B * T * 3 * C, 1), [B, T, 3 * C]);
  const dout = rt.upload(randArray(B * T * C, 2), [B, T, C]);
  const out = rt.empty([B, T, C]), dqkv = rt.empty([B, T, 3 * C]);
  const saved = { lse: rt.empty(savedShape(d, 'lse')), att: rt.empty(savedShape(d, 'att')) };
  const fwd = (mode: SaveMode | null) => () =>
    attentionForward(rt, { ...d, qkv, out, saved: mode ? saved[mode] : undefined, mode: mode ?? undefined, rowsPerGroup: R });
  const sparseIds = Array.from({ length: B * T }, (_, i) => i).filter((i) => (i * 2654435761) % 1000 < 200);
  const sparse = attentionRows(rt, sparseIds, d);
  const bwd = (mode: SaveMode, sp: boolean) => () =>
    attentionBackward(rt, { ...d, qkv, out, dout, dqkv, saved: saved[mode], mode, rows: sp ? sparse : undefined, rowsPerGroup: R });

  const r: Record<string, number> = { tokens, B, T, H, hd };
  r.fwd = await time(fwd(null));
  r.fwdLse = await time(fwd('lse'));
  r.fwdAtt = await time(fwd('att'));
  fwd('lse')();
  r.bwdLse = await time(bwd('lse', false));
  fwd('att')();
  r.bwdAtt = await time(bwd('att', false));
  fwd('lse')();
  r.bwdLseSparse20 = await time(bwd('lse', true));

  // decode: B sequences at position T−1 of a cache prefilled with the first T positions
  const cache = createKVCache(rt, { B, H, hd, Tmax: T });
  attentionPrefill(rt, { qkv, cache, T });
  const q1 = rt.upload(randArray(B * 3 * C, 3), [B, 3 * C]), y1 = rt.empty([B, C]);
  r.decodeLast = await time(() => attentionDecode(rt, { qkv: q1, cache, out: y1, pos: T - 1, rowsPerGroup: R }));
  results.push(r);
  rows.push([
    `${tokens}`, `${B}x${T}`, `${hd}`,
    ...[r.fwd, r.fwdLse, r.fwdAtt, r.bwdLse, r.bwdAtt, r.fwdLse + r.bwdLse, r.fwdAtt + r.bwdAtt, r.bwdLseSparse20, r.decodeLast].map((x) => x.toFixed(3)),
  ]);
}

console.log(`attention on ${describeAdapter(gpu.adapter)}, H=4, median of ${RUNS} synced runs (ms, wall clock)`);
console.log(formatTable(
  ['tokens', 'BxT', 'hd', 'fwd', 'fwd+lse', 'fwd+att', 'bwd(lse)', 'bwd(att)', 'step lse', 'step att', 'bwd lse 20%', 'decode'],
  rows,
));
console.log(JSON.stringify({ bench: 'attention', adapter: describeAdapter(gpu.adapter), runs: RUNS, results }));
rt.destroy();
gpu.destroy();
