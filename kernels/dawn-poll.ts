// How Dawn's Node binding waits for the GPU, and why forkgrad paces it.
//
// While any GPU promise is pending (mapAsync, onSubmittedWorkDone, popErrorScope,
// getCompilationInfo), the binding's AsyncRunner (dawn src/dawn/node/binding/AsyncRunner.cpp)
// calls the global `setImmediate` with a freshly created native function that runs
// wgpuInstanceProcessEvents and schedules itself again. ProcessEvents only *checks* for finished
// work and runs the callbacks that resolve the promises; it does not submit or execute anything
// (lavapipe runs the submitted command buffers on its own threads). So the loop is a busy wait:
// one event-loop turn per poll, a new JS function object each turn (garbage), and on a 2-core
// machine the spinning main thread takes a core from lavapipe's shader threads.
//
// Measured here (default SFT shape, 100 steps, same process state, shared machine): spinning
// 641–794 ms/step wall, 350–381 ms CPU/step, 78–98 ms GC/step; polling once per timer tick
// (≤ 1 ms) 329–330 ms/step wall, 201–214 ms CPU/step, 5–6 ms GC/step, the same loss bits.
// A poll that is up to 1 ms late costs far less than a core taken from the device.
//
// paceDawnPolling() routes the binding's native poll callbacks through setTimeout(·, 0) (one
// libuv timer tick, ~1 ms) and leaves every other setImmediate alone. The binding looks up
// `setImmediate` on the global object at each call, which is what makes this possible.
// FORKGRAD_DAWN_POLL=spin keeps the binding's own busy loop (for before/after measurements).

export type DawnPolling = 'paced' | 'spin';

let installed = false;
let mode: DawnPolling = typeof process !== 'undefined' && process.env?.FORKGRAD_DAWN_POLL === 'spin' ? 'spin' : 'paced';

/** How the binding's polls are scheduled now. */
export function dawnPolling(): DawnPolling {
  return installed ? mode : 'spin';
}

/** Switches between paced and the binding's own busy loop, e.g. for alternating A/B rounds in one
 * process (scripts/bench-wait.ts). Takes effect at the next poll. */
export function setDawnPolling(m: DawnPolling): void {
  if (m !== 'paced' && m !== 'spin') throw new Error(`setDawnPolling: mode is ${m}; it must be paced or spin`);
  mode = m;
}

/** Installs the pacing once per process (Node only; a browser never calls this). */
export function paceDawnPolling(): void {
  if (installed || typeof process === 'undefined') return;
  const immediate = globalThis.setImmediate;
  const toString = Function.prototype.toString;
  const paced = function setImmediate(fn: (...a: any[]) => void, ...args: any[]) {
    // Only native callbacks (the binding's) are paced: JS callers keep setImmediate's semantics.
    if (mode === 'paced' && typeof fn === 'function' && toString.call(fn).endsWith('{ [native code] }')) return setTimeout(fn, 0, ...args) as any;
    return immediate(fn, ...args);
  };
  // keep util.promisify(setImmediate) working (a symbol-keyed property of the original)
  for (const k of Object.getOwnPropertySymbols(immediate)) Object.defineProperty(paced, k, Object.getOwnPropertyDescriptor(immediate, k)!);
  globalThis.setImmediate = paced as typeof globalThis.setImmediate;
  installed = true;
}
