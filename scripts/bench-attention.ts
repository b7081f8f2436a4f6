// Attention kernel timings at the model's shapes: forward (no save, lse, att), backward (both modes,
// dense and 20% sparse rows), and a KV-cache decode step. Wall clock per synced run, median of
// `--runs` after warm-up; a table, then one JSON line.
// Usage: npx tsx scripts/bench-attention.ts [--runs 9] [--portable] [--R 8]   (--R implies --portable)
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import {
  attentionBackward, attentionDecode, attentionForward, attentionPrefill, attentionRows, createKVCache, savedShape,
  type AttnDims, type AttnTuning, type SaveMode,
} from '../kernels/attention.js';
import { randArray } from '../util/random.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = Math.max(5, arg('runs', 9));
const R = process.argv.includes('--R') ? arg('R', 8) : undefined;
const tune: AttnTuning = process.argv.includes('--portable') || R ? { subgroups: false, rowsPerGroup: R } : {};

const gpu = await getGpu();
const rt = new Runtime(gpu);

/** Median and minimum wall ms of each step, running the steps round-robin (one of each per
 * round) after a warm-up so that load from other processes hits every variant alike; on a shared
 * machine the minimum is the steadier of the two. Each step is a closure recording dispatches; the
 * GPU is synced after every step. */
async function race(steps: Record<string, () => void>): Promise<Record<string, { median: number; min: number }>> {
  const names = Object.keys(steps), ms: Record<string, number[]> = {};
  for (const n of names) {
    steps[n](); // warm-up: pipeline creation, first touch of buffers
    await rt.sync();
    ms[n] = [];
  }
  for (let r = 0; r < RUNS; r++) {
    for (const n of names) {
      const t0 = performance.now();
      steps[n]();
      await rt.sync();
      ms[n].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => {
    const x = ms[n].sort((a, b) => a - b);
    return [n, { median: x[RUNS >> 1], min: x[0] }];
  }));
}

const rows: string[][] = [];
const results: Record<string, number | string>[] = [];
for (const [tokens, T, hd] of [[1024, 32, 16], [2048, 32, 16], [2048, 64, 16], [2048, 64, 32]]) {
  const H = 4, B = tokens / T, C = H * hd;
  const d: AttnDims = { B, T, H, hd };
  const qkv = rt.upload(randArray(B * T * 3 * C, 1), [B, T, 3 * C]);
  const dout = rt.upload(randArray(B * T * C, 2), [B, T, C]);
  const out = rt.empty([B, T, C]), dqkv = rt.empty([B, T, 3 * C]);
  const saved = { lse: rt.empty(savedShape(d, 'lse')), att: rt.empty(savedShape(d, 'att')) };
  const fwd = (mode: SaveMode | null) => () =>
    attentionForward(rt, { ...d, qkv, out, saved: mode ? saved[mode] : undefined, mode: mode ?? undefined, ...tune });
  const sparseIds = Array.from({ length: B * T }, (_, i) => i).filter((i) => (i * 2654435761) % 1000 < 200);
  const sparse = attentionRows(rt, sparseIds, d);
  const bwd = (mode: SaveMode, sp: boolean) => () =>
    attentionBackward(rt, { ...d, qkv, out, dout, dqkv, saved: saved[mode], mode, rows: sp ? sparse : undefined, ...tune });

  // decode: B sequences at position T−1 of a cache prefilled with the first T positions
  const cache = createKVCache(rt, { B, H, hd, Tmax: T });
  attentionPrefill(rt, { qkv, cache, T });
  const q1 = rt.upload(randArray(B * 3 * C, 3), [B, 3 * C]), y1 = rt.empty([B, C]);
  // each backward step re-runs its own forward first, so its saved data is its mode's; the
  // forward's time is then subtracted
  const m = await race({
    fwd: fwd(null),
    fwdLse: fwd('lse'),
    fwdAtt: fwd('att'),
    stepLse: () => { fwd('lse')(); bwd('lse', false)(); },
    stepAtt: () => { fwd('att')(); bwd('att', false)(); },
    stepLseSparse20: () => { fwd('lse')(); bwd('lse', true)(); },
    decodeLast: () => attentionDecode(rt, { qkv: q1, cache, out: y1, pos: T - 1, ...tune }),
  });
  for (const clock of ['median', 'min'] as const) {
    const v = Object.fromEntries(Object.entries(m).map(([k, x]) => [k, x[clock]]));
    const r: Record<string, number | string> = {
      stat: clock, tokens, B, T, H, hd, ...v,
      bwdLse: v.stepLse - v.fwdLse, bwdAtt: v.stepAtt - v.fwdAtt, bwdLseSparse20: v.stepLseSparse20 - v.fwdLse,
    };
    results.push(r);
    rows.push([
      clock, `${tokens}`, `${B}x${T}`, `${hd}`,
      ...[r.fwd, r.fwdLse, r.fwdAtt, r.bwdLse, r.bwdAtt, r.stepLse, r.stepAtt, r.bwdLseSparse20, r.decodeLast].map((x) => (x as number).toFixed(3)),
    ]);
  }
}

const variant = tune.subgroups === false ? `portable R=${R ?? 'default'}` : 'default kernels';
console.log(`attention (${variant}) on ${describeAdapter(gpu.adapter)}, H=4, median of ${RUNS} synced round-robin runs (ms, wall clock: median and min; bwd = fwd+bwd − fwd)`);
console.log(formatTable(
  ['stat', 'tokens', 'BxT', 'hd', 'fwd', 'fwd+lse', 'fwd+att', 'bwd(lse)', 'bwd(att)', 'fwd+bwd lse', 'fwd+bwd att', 'bwd lse 20%', 'decode'],
  rows,
));
console.log(JSON.stringify({ bench: 'attention', variant, adapter: describeAdapter(gpu.adapter), runs: RUNS, results }));
rt.destroy();
gpu.destroy();
