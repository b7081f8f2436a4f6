// The kernel runtime: shaped GPU buffers, a pipeline cache, many dispatches batched into one
// command encoder and one submit, upload/readback, loud errors, and per-kernel accounting
// (dispatch count, FLOPs counted from shapes, GPU time from timestamp queries or wall clock).
//
// Binding convention for every kernel: when a dispatch passes `params`, they are a uniform at
// @binding(0) (u32 values first, then f32 values, in WGSL struct order); tensors follow at
// @binding(1), @binding(2), ... in the order given.

import type { Gpu } from './device.js';

export type DType = 'f32' | 'u32' | 'i32';
export type TypedArray = Float32Array | Uint32Array | Int32Array;

const ARRAY_OF: Record<DType, { new (n: number): TypedArray; new (b: ArrayBuffer): TypedArray }> = {
  f32: Float32Array as any,
  u32: Uint32Array as any,
  i32: Int32Array as any,
};

/** A shaped view of (part of) a GPU buffer. Views share the buffer; offsets are in bytes. */
export class Tensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly offset: number,
    readonly label: string,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get byteLength(): number {
    return this.size * 4;
  }
  /** A view of `shape` starting `elemOffset` elements in; the byte offset must meet the
   * device's storage offset alignment (256 bytes = 64 floats on most adapters). */
  view(elemOffset: number, shape: readonly number[], label = this.label): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (elemOffset < 0 || elemOffset + size > this.size) {
      throw new Error(`view of ${label}: elements [${elemOffset}, ${elemOffset + size}) lie outside ${this.label} (${this.size} elements)`);
    }
    return new Tensor(this.buffer, shape, this.dtype, this.offset + elemOffset * 4, label);
  }
  reshape(shape: readonly number[]): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== this.size) throw new Error(`reshape of ${this.label}: [${this.shape}] has ${this.size} elements, [${shape}] has ${size}`);
    return new Tensor(this.buffer, shape, this.dtype, this.offset, this.label);
  }
  binding(): GPUBufferBinding {
    // WebGPU cannot bind zero bytes; an empty tensor binds 4 bytes that no kernel reads.
    return { buffer: this.buffer, offset: this.offset, size: Math.max(4, this.byteLength) };
  }
}

export interface KernelSpec {
  /** Names the kernel in errors and profiles. */
  name: string;
  code: string;
  entry?: string;
  /** Pipeline-overridable constants (`override` declarations in WGSL). */
  constants?: Record<string, number>;
}

export interface Kernel {
  name: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export interface DispatchArgs {
  /** u32 uniform values (struct fields in order), placed before `fparams`. */
  params?: readonly number[];
  /** f32 uniform values, after the u32 ones. */
  fparams?: readonly number[];
  tensors: readonly Tensor[];
  /** Workgroup counts. A dispatch with a zero count is skipped (nothing to do). */
  groups: readonly [number, number?, number?];
  /** Useful floating-point operations (multiply-add = 2), for FLOP accounting. */
  flops?: number;
  /** Profile label; defaults to the kernel name. */
  label?: string;
}

export interface KernelStat {
  phase: string;
  label: string;
  count: number;
  flops: number;
  /** GPU milliseconds; only measured while profiling. */
  ms: number;
}

/** Host-side counters since the last resetStats: where a step's time goes outside the GPU. */
export interface HostStats {
  dispatches: number;
  /** queue submits (one per flush with recorded work) */
  submits: number;
  /** buffer copies and clears recorded between dispatches (copy, zero: each ends a compute pass) */
  copies: number;
  /** readbacks (read/readF32, and readMany: one for all its tensors) and the bytes they copied */
  readbacks: number;
  readBytes: number;
  /** ms spent recording work: dispatch (bind groups, pass commands), copies, writes, submits */
  encodeMs: number;
  /** ms spent awaiting the GPU in sync() and read() (from the submit to the data on the host) */
  waitMs: number;
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we know; checked in the constructor
const UNIFORM_SLOTS = 2048;
const QUERY_PAIRS = 1024;
const BIND_GROUP_CACHE = 8192;

export class Runtime {
  readonly device: GPUDevice;
  /** Accounting phase that new dispatches are attributed to ('rollout', 'forward', 'backward', ...). */
  phase = 'default';
  private profiling = false;

  private kernels = new Map<string, Map<string, Kernel>>(); // WGSL code -> name/entry/constants -> kernel
  private bySpec = new WeakMap<KernelSpec, Kernel>();
  private checks: Promise<string | null>[] = [];
  private firstError: string | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded: string[] = [];

  private uniformBuf: GPUBuffer;
  private uniformStage = new ArrayBuffer(UNIFORM_SLOT * UNIFORM_SLOTS);
  // one u32 and one f32 view of the whole arena (not two new views per dispatch: GC pressure)
  private uniformU32 = new Uint32Array(this.uniformStage);
  private uniformF32 = new Float32Array(this.uniformStage);
  private uniformUsed = 0;

  private stats = new Map<string, KernelStat>();
  private querySet: GPUQuerySet | null = null;
  private queryLabels: KernelStat[] = [];
  private pendingTimings: Promise<void>[] = [];
  private wallSubmits: { stat: KernelStat; submitted: number; done: Promise<number> }[] = [];
  private host: HostStats = zeroHostStats();
  private bindGroups = new Map<string, GPUBindGroup>();
  private ids = new WeakMap<object, number>();
  private nextId = 1;
  /** unmapped MAP_READ staging buffers by byte size, reused by read() */
  private staging = new Map<number, GPUBuffer[]>();

  constructor(readonly gpu: Gpu) {
    const device = (this.device = gpu.device);
    if (device.limits.minUniformBufferOffsetAlignment > UNIFORM_SLOT) {
      throw new Error(`adapter needs uniform offsets aligned to ${device.limits.minUniformBufferOffsetAlignment} bytes; forkgrad supports at most ${UNIFORM_SLOT}`);
    }
    this.uniformBuf = device.createBuffer({ label: 'uniform arena', size: this.uniformStage.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.addEventListener('uncapturederror', (ev: any) => {
      this.firstError ??= `WebGPU error: ${ev.error?.message ?? ev.error}`;
    });
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.firstError ??= `WebGPU device lost (${info.reason}): ${info.message}`;
    });
  }

  /** The storage-buffer offset alignment in elements: views into flat buffers start at multiples of it. */
  get viewAlign(): number {
    return this.device.limits.minStorageBufferOffsetAlignment / 4;
  }

  // ---------------------------------------------------------------- buffers

  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(size) || size < 0) throw new Error(`tensor ${label}: bad shape [${shape}]`);
    const bytes = Math.max(16, Math.ceil((size * 4) / 16) * 16);
    const limit = Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize);
    if (bytes > limit) {
      throw new Error(`tensor ${label} [${shape}] needs ${bytes} bytes, over this adapter's storage buffer limit of ${limit} bytes; use a smaller batch or model`);
    }
    const buffer = this.device.createBuffer({
      label,
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    return new Tensor(buffer, [...shape], dtype, 0, label);
  }

  upload(data: ArrayLike<number>, shape: readonly number[] = [data.length], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const t = this.empty(shape, dtype, label);
    this.write(t, data);
    return t;
  }

  /** Writes host data into a tensor, after all work recorded so far. */
  write(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size) throw new Error(`write to ${t.label}: got ${data.length} values for shape [${t.shape}] (${t.size})`);
    if (t.size === 0) return;
    const t0 = performance.now();
    this.flush(); // queue.writeBuffer would otherwise overtake dispatches recorded but not submitted
    const typed = data instanceof ARRAY_OF[t.dtype] ? (data as TypedArray) : (ARRAY_OF[t.dtype] as any).from(data);
    this.device.queue.writeBuffer(t.buffer, t.offset, typed.buffer, typed.byteOffset, t.byteLength);
    this.host.encodeMs += performance.now() - t0;
  }

  async read(t: Tensor): Promise<TypedArray> {
    return (await this.readMany([t]))[0];
  }

  /** Reads several tensors back with one staging buffer and one map: one GPU round trip instead of
   * one per tensor (the copies into the staging buffer are recorded after all work so far). */
  async readMany(ts: readonly Tensor[]): Promise<TypedArray[]> {
    const outs = ts.map((t) => new (ARRAY_OF[t.dtype] as any)(t.size) as TypedArray);
    const offsets: number[] = [];
    let size = 0;
    for (const t of ts) {
      offsets.push(size);
      size += t.size === 0 ? 0 : t.byteLength; // elements are 4 bytes: offsets stay copy-aligned
    }
    if (size === 0) return outs;
    const staging = this.staging.get(size)?.pop() ?? this.device.createBuffer({ label: `read ${size} bytes`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const t0 = performance.now();
    this.endPass();
    const enc = this.enc();
    ts.forEach((t, i) => { if (t.size > 0) enc.copyBufferToBuffer(t.buffer, t.offset, staging, offsets[i], t.byteLength); });
    this.flush();
    const t1 = performance.now();
    this.host.encodeMs += t1 - t0;
    this.host.readbacks++;
    this.host.readBytes += size;
    try {
      await this.checkErrors();
      await staging.mapAsync(GPUMapMode.READ, 0, size);
    } catch (e) {
      staging.destroy();
      throw e;
    } finally {
      this.host.waitMs += performance.now() - t1;
    }
    const mapped = staging.getMappedRange(0, size);
    ts.forEach((t, i) => { if (t.size > 0) outs[i].set(new (ARRAY_OF[t.dtype] as any)(mapped, offsets[i], t.size)); });
    staging.unmap();
    const free = this.staging.get(size) ?? [];
    if (free.length < 4) free.push(staging);
    else staging.destroy();
    this.staging.set(size, free);
    return outs;
  }

  async readF32(t: Tensor): Promise<Float32Array> {
    if (t.dtype !== 'f32') throw new Error(`readF32 of ${t.label}: it is ${t.dtype}`);
    return (await this.read(t)) as Float32Array;
  }

  /** Fills with zeros, in order with recorded work. */
  zero(t: Tensor): void {
    if (t.size === 0) return;
    this.host.copies++;
    this.endPass();
    this.enc().clearBuffer(t.buffer, t.offset, t.byteLength);
  }

  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) throw new Error(`copy ${src.label} -> ${dst.label}: sizes ${src.size} and ${dst.size} differ`);
    if (src.size === 0) return;
    this.host.copies++;
    this.endPass();
    this.enc().copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, src.byteLength);
  }

  // -------------------------------------------------------------- pipelines

  /** Returns the cached pipeline for `spec`, creating it on first use. Compile errors are
   * thrown by the next `sync`/`read` (or at once by `compile`). */
  kernel(spec: KernelSpec): Kernel {
    // launchers that keep their specs (matmul) are found by identity, without hashing the code
    const known = this.bySpec.get(spec);
    if (known) return known;
    const k = this.kernelByKey(spec);
    this.bySpec.set(spec, k);
    return k;
  }

  private kernelByKey(spec: KernelSpec): Kernel {
    // by code first, then the rest: launchers rebuild their WGSL per call, and gluing it into one
    // key string copied several kB per dispatch (~8 ms of a default SFT step's main thread)
    let byCode = this.kernels.get(spec.code);
    if (!byCode) this.kernels.set(spec.code, (byCode = new Map()));
    const key = spec.constants ? `${spec.name}\u0000${spec.entry ?? 'main'}\u0000${JSON.stringify(spec.constants)}` : `${spec.name}\u0000${spec.entry ?? 'main'}`;
    let k = byCode.get(key);
    if (k) return k;
    const d = this.device;
    d.pushErrorScope('validation');
    const module = d.createShaderModule({ label: spec.name, code: spec.code });
    const pipeline = d.createComputePipeline({
      label: spec.name,
      layout: 'auto',
      compute: { module, entryPoint: spec.entry ?? 'main', constants: spec.constants },
    });
    const layout = pipeline.getBindGroupLayout(0);
    const scope = d.popErrorScope();
    this.checks.push(
      Promise.all([module.getCompilationInfo(), scope]).then(([info, err]) => {
        const compile = formatCompileErrors(spec, info);
        if (compile) return compile;
        return err ? `kernel "${spec.name}" failed to build: ${err.message}` : null;
      }),
    );
    k = { name: spec.name, pipeline, layout };
    byCode.set(key, k);
    return k;
  }

  /** Builds a kernel and waits for the compiler's verdict, throwing a clear error if it fails. */
  async compile(spec: KernelSpec): Promise<Kernel> {
    const k = this.kernel(spec);
    await this.checkErrors();
    return k;
  }

  // --------------------------------------------------------------- dispatch

  dispatch(k: Kernel, a: DispatchArgs): void {
    const [gx, gy = 1, gz = 1] = a.groups;
    const label = a.label ?? k.name;
    const stat = this.stat(label);
    if (gx === 0 || gy === 0 || gz === 0) return;
    const maxG = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxG || gy > maxG || gz > maxG) {
      throw new Error(`kernel "${label}": grid ${gx}x${gy}x${gz} exceeds the adapter's ${maxG} workgroups per dimension`);
    }
    const t0 = performance.now();
    stat.count++;
    stat.flops += a.flops ?? 0;
    this.host.dispatches++;

    let slot = -1;
    if (a.params || a.fparams) {
      if (this.uniformUsed === UNIFORM_SLOTS) this.flush();
      slot = this.uniformUsed++;
      const base = (slot * UNIFORM_SLOT) / 4;
      const u = this.uniformU32, f = this.uniformF32;
      const ps = a.params, fs = a.fparams;
      const nu = ps?.length ?? 0;
      if (nu + (fs?.length ?? 0) > UNIFORM_SLOT / 4) throw new Error(`kernel "${label}": ${nu + (fs?.length ?? 0)} uniform values, over the ${UNIFORM_SLOT / 4} a slot holds`);
      for (let i = 0; i < nu; i++) {
        const v = ps![i];
        if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new Error(`kernel "${label}": u32 param ${i} is ${v}`);
        u[base + i] = v;
      }
      if (fs) for (let i = 0; i < fs.length; i++) f[base + nu + i] = fs[i];
    }
    const bindGroup = this.bindGroup(k, slot, a.tensors, label);

    if (this.profiling && this.gpu.hasTimestamps) {
      if (this.queryLabels.length === QUERY_PAIRS) this.flush();
      this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: QUERY_PAIRS * 2 });
      const i = this.queryLabels.length;
      this.queryLabels.push(stat);
      this.endPass();
      const pass = this.enc().beginComputePass({
        label,
        timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(k.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(gx, gy, gz);
      pass.end();
    } else {
      this.pass ??= this.enc().beginComputePass();
      this.pass.setPipeline(k.pipeline);
      this.pass.setBindGroup(0, bindGroup);
      this.pass.dispatchWorkgroups(gx, gy, gz);
    }
    this.recorded.push(label);
    this.host.encodeMs += performance.now() - t0;
    if (this.profiling && !this.gpu.hasTimestamps) this.flushWall(stat);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const t0 = performance.now();
    this.host.submits++;
    if (this.uniformUsed > 0) {
      this.device.queue.writeBuffer(this.uniformBuf, 0, this.uniformStage, 0, this.uniformUsed * UNIFORM_SLOT);
      this.uniformUsed = 0;
    }
    let timings: GPUBuffer | null = null;
    let resolve: GPUBuffer | null = null;
    const labels = this.queryLabels;
    if (labels.length > 0) {
      const bytes = labels.length * 16;
      resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      timings = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.encoder.resolveQuerySet(this.querySet!, 0, labels.length * 2, resolve, 0);
      this.encoder.copyBufferToBuffer(resolve, 0, timings, 0, bytes);
      this.queryLabels = [];
    }
    const d = this.device;
    const what = this.recorded.length ? `dispatches ${summarize(this.recorded)}` : 'copies';
    this.recorded = [];
    d.pushErrorScope('validation');
    d.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.host.encodeMs += performance.now() - t0;
    resolve?.destroy();
    this.checks.push(d.popErrorScope().then((e) => (e ? `WebGPU validation error in ${what}: ${e.message}` : null)));
    if (timings) {
      // Map only after the submit that fills it: a buffer pending map cannot be used in a submit.
      const t = timings;
      this.pendingTimings.push(
        t.mapAsync(GPUMapMode.READ).then(() => {
          const ns = new BigUint64Array(t.getMappedRange());
          labels.forEach((s, i) => (s.ms += Number(ns[2 * i + 1] - ns[2 * i]) / 1e6));
          t.unmap();
          t.destroy();
        }),
      );
    }
  }

  /** Submits recorded work, waits for the GPU to finish it, and throws any error it raised. */
  async sync(): Promise<void> {
    this.flush();
    const t0 = performance.now();
    try {
      await this.device.queue.onSubmittedWorkDone();
      await this.checkErrors();
      await Promise.all(this.pendingTimings.splice(0));
      await this.settleWall();
    } finally {
      this.host.waitMs += performance.now() - t0;
    }
  }

  // ------------------------------------------------------------- accounting

  /** While on, each dispatch is timed (timestamp queries, else one submit per dispatch). */
  setProfiling(on: boolean): void {
    this.flush();
    this.profiling = on;
  }

  get timingSource(): string {
    return this.gpu.hasTimestamps ? 'timestamp-query' : 'wall clock per submit';
  }

  resetStats(): void {
    this.stats.clear();
    this.host = zeroHostStats();
  }

  /** Host-side counters since the last resetStats (dispatches, submits, readbacks, encode and wait ms). */
  hostStats(): HostStats {
    return { ...this.host };
  }

  /** Accumulated per (phase, kernel label) counters; call `sync` first for complete times. */
  kernelStats(): KernelStat[] {
    return [...this.stats.values()].filter((s) => s.count > 0);
  }

  /** Totals per phase. */
  phaseStats(): Record<string, { count: number; flops: number; ms: number }> {
    const out: Record<string, { count: number; flops: number; ms: number }> = {};
    for (const s of this.kernelStats()) {
      const p = (out[s.phase] ??= { count: 0, flops: 0, ms: 0 });
      p.count += s.count;
      p.flops += s.flops;
      p.ms += s.ms;
    }
    return out;
  }

  /** A per-kernel profile table, heaviest first. */
  profileTable(): string {
    const rows = this.kernelStats().sort((a, b) => b.ms - a.ms || b.flops - a.flops);
    const total = rows.reduce((a, s) => a + s.ms, 0) || 1;
    const head = ['phase', 'kernel', 'calls', 'GPU ms', '%', 'MFLOP', 'GFLOP/s'];
    const body = rows.map((s) => [
      s.phase,
      s.label,
      String(s.count),
      s.ms.toFixed(3),
      ((100 * s.ms) / total).toFixed(1),
      (s.flops / 1e6).toFixed(2),
      s.ms > 0 && s.flops > 0 ? (s.flops / s.ms / 1e6).toFixed(2) : '-',
    ]);
    return formatTable(head, body) + `\n(timing: ${this.timingSource})`;
  }

  destroy(): void {
    this.kernels.clear();
    this.bySpec = new WeakMap();
    this.bindGroups.clear();
    this.uniformBuf.destroy();
    this.querySet?.destroy();
    for (const free of this.staging.values()) free.forEach((b) => b.destroy());
    this.staging.clear();
  }

  // ---------------------------------------------------------------- private

  /**
   * The bind group for a kernel, uniform slot and tensor list, cached: a training or decode step
   * records the same dispatches in the same order every time, so each lands on the same uniform
   * slot with the same tensors, and its bind group (a native object Dawn validates on creation,
   * most of a dispatch's host cost) can be reused. A bind group names buffers and ranges, never
   * contents: the slot's values are rewritten at each flush, before the submit that reads them.
   */
  private bindGroup(k: Kernel, slot: number, tensors: readonly Tensor[], label: string): GPUBindGroup {
    let key = `${this.idOf(k)}:${slot}`;
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      key += `|${this.idOf(t.buffer)}:${t.offset}:${t.byteLength}`;
    }
    let bg = this.bindGroups.get(key);
    if (bg) return bg;
    const entries: GPUBindGroupEntry[] = [];
    if (slot >= 0) entries.push({ binding: 0, resource: { buffer: this.uniformBuf, offset: slot * UNIFORM_SLOT, size: UNIFORM_SLOT } });
    for (let i = 0; i < tensors.length; i++) entries.push({ binding: i + 1, resource: tensors[i].binding() });
    bg = this.device.createBindGroup({ label, layout: k.layout, entries });
    // entries of destroyed buffers are never hit again (a new buffer gets a new id): bound the map
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
    this.bindGroups.set(key, bg);
    return bg;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private enc(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private stat(label: string): KernelStat {
    const key = `${this.phase}\u0000${label}`;
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = { phase: this.phase, label, count: 0, flops: 0, ms: 0 }));
    return s;
  }

  private flushWall(stat: KernelStat): void {
    const submitted = performance.now();
    this.flush();
    this.wallSubmits.push({ stat, submitted, done: this.device.queue.onSubmittedWorkDone().then(() => performance.now()) });
  }

  private async settleWall(): Promise<void> {
    let prevDone = 0;
    for (const w of this.wallSubmits.splice(0)) {
      const done = await w.done;
      w.stat.ms += done - Math.max(prevDone, w.submitted);
      prevDone = done;
    }
  }

  private async checkErrors(): Promise<void> {
    const msgs = (await Promise.all(this.checks.splice(0))).filter((m): m is string => m !== null);
    if (this.firstError) msgs.push(this.firstError);
    if (msgs.length) {
      this.firstError = null;
      throw new Error(msgs.join('\n'));
    }
  }
}

function zeroHostStats(): HostStats {
  return { dispatches: 0, submits: 0, copies: 0, readbacks: 0, readBytes: 0, encodeMs: 0, waitMs: 0 };
}

function formatCompileErrors(spec: KernelSpec, info: GPUCompilationInfo): string | null {
  const errors = info.messages.filter((m) => m.type === 'error');
  if (!errors.length) return null;
  const lines = spec.code.split('\n');
  return errors
    .map((m) => {
      const src = lines[m.lineNum - 1] ?? '';
      return `WGSL error in kernel "${spec.name}" at line ${m.lineNum}:${m.linePos}: ${m.message}\n  ${m.lineNum} | ${src}`;
    })
    .join('\n');
}

function summarize(labels: string[]): string {
  const uniq = [...new Set(labels)];
  return uniq.length <= 6 ? uniq.join(', ') : `${uniq.slice(0, 6).join(', ')} and ${uniq.length - 6} more`;
}

export function formatTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** Rounds an element count up to the view alignment (for laying out flat buffers). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
