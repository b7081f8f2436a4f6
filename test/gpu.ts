// One GPU runtime shared by every test file; test/all.ts releases it at the end.
import { getGpu, type Gpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';

let gpu: Promise<Gpu> | null = null;
let rt: Runtime | null = null;

export async function testRuntime(): Promise<Runtime> {
  gpu ??= getGpu();
  rt ??= new Runtime(await gpu);
  return rt;
}

export function releaseTestGpu(): void {
  rt?.destroy();
  rt = null;
  gpu?.then((g) => g.destroy());
  gpu = null;
}
