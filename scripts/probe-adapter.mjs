// Prints the WebGPU adapter Dawn finds in Node, or exits 1 saying none was found.
// Plain .mjs so scripts/setup.sh can run it before anything else is set up.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
let gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const info = adapter.info;
console.log(`${info.vendor} ${info.architecture} ${info.description}`.trim());
gpu = null;
process.exit(0);
