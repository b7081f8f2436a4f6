// The one place that knows where the GPUDevice comes from: Dawn in Node (npm `webgpu`),
// `navigator.gpu` in a browser. Everything else receives a `Gpu` and never asks which.
import { paceDawnPolling } from './dawn-poll.js';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'node-dawn' or 'browser' */
  host: string;
  features: string[];
  /** true for CPU implementations (lavapipe/llvmpipe, SwiftShader, WARP) */
  isSoftware: boolean;
}

export interface Gpu {
  device: GPUDevice;
  adapter: AdapterReport;
  hasTimestamps: boolean;
  hasSubgroups: boolean;
  hasF16: boolean;
  /** Destroys the device and drops the Dawn instance so Node can exit. Idempotent. */
  destroy(): void;
}

export interface GpuOptions {
  /** Ask for a fallback/CPU adapter first. */
  preferSoftware?: boolean;
  /** Extra Dawn toggles / options for `create()` in Node (e.g. 'backend=opengles'). */
  dawnOptions?: string[];
}

/** Limits the kernels rely on; we ask for the adapter's maximum of each (defaults are lower).
 * Not the source of Dawn's two "maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially
 * reduced from 1000000 to 16" lines on lavapipe: Dawn's Vulkan backend prints those from C++ while
 * it builds the adapter's limits, inside requestAdapter() and before any device is requested
 * (measured: they appear with requestAdapter() alone, and with requestDevice() asking for no
 * limits), so no choice of requested limits silences them. They are harmless: forkgrad binds no
 * dynamic-offset buffers. */
const WANTED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
] as const;

const WANTED_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

export const NO_ADAPTER_HELP =
  'No WebGPU adapter was found. On Linux without a GPU, install a software Vulkan driver: ' +
  'run `bash scripts/setup.sh` (Mesa >= 24 lavapipe; on Debian 12 it comes from bookworm-backports). ' +
  'With a GPU, install its Vulkan driver. In a browser, use Chrome/Edge 113+ or enable WebGPU ' +
  '(chrome://flags/#enable-unsafe-webgpu).';

const isBrowser = typeof navigator !== 'undefined' && typeof (navigator as any).gpu !== 'undefined';

async function getNavigatorGpu(opts: GpuOptions): Promise<{ gpu: GPU; host: string; release: () => void }> {
  if (isBrowser) return { gpu: (navigator as any).gpu as GPU, host: 'browser', release: () => {} };
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new Error('This browser has no WebGPU (navigator.gpu is missing). ' + NO_ADAPTER_HELP);
  }
  // Hidden from bundlers: the browser build must not try to resolve the Dawn addon.
  const modName = 'webgpu';
  const dawn: any = await import(/* @vite-ignore */ modName);
  Object.assign(globalThis, dawn.globals);
  paceDawnPolling(); // the binding busy-waits on setImmediate otherwise (kernels/dawn-poll.ts)
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  let instance: GPU | null = dawn.create(opts.dawnOptions ?? []);
  return { gpu: instance!, host: 'node-dawn', release: () => { instance = null; } };
}

export async function getGpu(opts: GpuOptions = {}): Promise<Gpu> {
  const { gpu, host, release } = await getNavigatorGpu(opts);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', forceFallbackAdapter: !!opts.preferSoftware });
  if (!adapter) {
    release();
    throw new Error(NO_ADAPTER_HELP);
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as any)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'forkgrad' });
  const info: any = adapter.info ?? {};
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`.toLowerCase();
  const report: AdapterReport = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    host,
    features: [...device.features].sort(),
    isSoftware: /llvmpipe|lavapipe|swiftshader|software|warp|basic render/.test(text) || !!info.isFallbackAdapter,
  };
  let destroyed = false;
  return {
    device,
    adapter: report,
    hasTimestamps: device.features.has('timestamp-query'),
    hasSubgroups: device.features.has('subgroups'),
    hasF16: device.features.has('shader-f16'),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
      release();
    },
  };
}

/** One line naming the adapter, for logs and reports. */
export function describeAdapter(a: AdapterReport): string {
  const parts = [a.vendor, a.architecture, a.description || a.device].filter(Boolean);
  return `${parts.join(' / ')} (${a.host}${a.isSoftware ? ', software' : ''})`;
}
