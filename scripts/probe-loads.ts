// What one load costs a lane, by where it reads from and whether the lanes agree on the address:
// the number the matmul and attention kernels are designed around on lavapipe (kernels/matmul.wgsl.ts,
// kernels/attention.wgsl.ts). Each kernel runs 8-lane workgroups through a loop of ITER steps, each
// step one vec4 load added into an accumulator, from
//   storage, divergent:  every lane its own address (k·8 + lane)
//   storage, uniform:    every lane the same address (k)
//   workgroup, divergent / uniform: the same from a workgroup array filled once (one barrier)
// next to the same loop with no load (a vec4 add of the loop counter), whose time is subtracted, and
// a subgroupBroadcast of a register (no load: how the matmul shares A across its 8 lanes).
// Wall clock around one synced dispatch, median of REPS after a warm-up. Table, then one JSON line.
// On lavapipe (2-core Zen 3, 2026-11-30; both cores busy, so ns are at the 2-core rate): a storage
// load ~2.1 ns per lane vec4 whether or not the lanes agree on the address (a uniform address is
// still loaded once per lane), workgroup memory ~1.5 ns, a subgroupBroadcast ~0.09 ns.
// Usage: npx tsx scripts/probe-loads.ts [--reps n]
import { Command } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable } from '../kernels/runtime.js';
import { reportCliError } from '../train/cli.js';

const N = 1 << 16; // vec4 elements in the source (1 MiB)
const SHARED = 1024; // vec4 elements in the workgroup array (16 KiB)
const GROUPS = 2048;
const ITER = 4096;

const FORMS: { name: string; shared: boolean; index: string | null }[] = [
  { name: 'no load (loop only)', shared: false, index: null },
  { name: 'storage, divergent', shared: false, index: 'k * 8u + l + wg.x * 64u' },
  { name: 'storage, uniform', shared: false, index: 'k + wg.x * 64u' },
  { name: 'workgroup, divergent', shared: true, index: 'k * 8u + l' },
  { name: 'workgroup, uniform', shared: true, index: 'k' },
  // not a load: a value from another lane's register (how the matmul shares A across a subgroup)
  { name: 'subgroupBroadcast (no load)', shared: false, index: 'BROADCAST' },
];

function kernel(f: (typeof FORMS)[number]): string {
  const mask = (f.shared ? SHARED : N) - 1;
  const value = f.index === null ? 'vec4f(f32(k))'
    : f.index === 'BROADCAST' ? 'subgroupBroadcast(acc, 3u)'
    : `${f.shared ? 'sh' : 'src'}[(${f.index}) & ${mask}u]`;
  return `${f.index === 'BROADCAST' ? 'enable subgroups;\n' : ''}@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
${f.shared ? `var<workgroup> sh: array<vec4f, ${SHARED}>;` : ''}
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) l: u32) {
${f.shared ? `  for (var i = l; i < ${SHARED}u; i += 8u) { sh[i] = src[(i + wg.x) & ${N - 1}u]; }\n  workgroupBarrier();` : ''}
  var acc = src[wg.x & ${N - 1}u]; // one load in every form, so every layout binds src
  for (var k = 0u; k < ${ITER}u; k++) { acc += ${value}; }
  dst[gid.x] = acc;
}`;
}

async function main(): Promise<void> {
  const opts = new Command('scripts/probe-loads.ts')
    .option('--reps <n>', 'timed dispatches per form (median)', (v) => Number(v), 7)
    .parse().opts<{ reps: number }>();
  if (!(Number.isInteger(opts.reps) && opts.reps >= 1)) throw new Error(`--reps is ${opts.reps}; it must be a whole number ≥ 1`);
  const gpu = await getGpu();
  try {
    const d = gpu.device;
    const src = d.createBuffer({ size: N * 16, usage: GPUBufferUsage.STORAGE });
    const dst = d.createBuffer({ size: GROUPS * 8 * 16, usage: GPUBufferUsage.STORAGE });
    const runs = FORMS.map((f) => {
      const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code: kernel(f) }), entryPoint: 'main' } });
      const bind = d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: dst } }] });
      return { f, pipeline, bind, ms: [] as number[] };
    });
    // forms interleaved per round, so load from other processes falls on all of them alike
    for (let r = -1; r < opts.reps; r++) {
      for (const x of runs) {
        const e = d.createCommandEncoder();
        const pass = e.beginComputePass();
        pass.setPipeline(x.pipeline);
        pass.setBindGroup(0, x.bind);
        pass.dispatchWorkgroups(GROUPS);
        pass.end();
        const t0 = performance.now();
        d.queue.submit([e.finish()]);
        await d.queue.onSubmittedWorkDone();
        if (r >= 0) x.ms.push(performance.now() - t0);
      }
    }
    const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
    const lanes = GROUPS * 8 * ITER; // lane-steps per dispatch
    const base = median(runs[0].ms);
    const rows = runs.map((x) => {
      const ms = median(x.ms);
      const perOp = x.f.index === null ? null : ((ms - base) * 1e6) / lanes; // ns per lane vec4
      return { form: x.f.name, ms, ns_per_lane_vec4: perOp };
    });
    console.log(`adapter: ${describeAdapter(gpu.adapter)}; ${GROUPS} workgroups × 8 lanes × ${ITER} steps, median of ${opts.reps}`);
    console.log(formatTable(['form', 'ms per dispatch', 'ns per lane vec4 (loop subtracted)'],
      rows.map((x) => [x.form, x.ms.toFixed(1), x.ns_per_lane_vec4 === null ? '-' : x.ns_per_lane_vec4.toFixed(3)])));
    console.log(JSON.stringify({ adapter: describeAdapter(gpu.adapter), reps: opts.reps, forms: rows }));
  } finally {
    gpu.destroy();
  }
}

try {
  await main();
} catch (e) {
  reportCliError(e);
}
