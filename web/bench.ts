// The peer training step timed in the browser (scripts/bench-browser.ts opens this page in headless
// Chromium and reads the result from window.forkgradBench). The timing code is
// train/step-timing.ts, the same that scripts/bench-step.ts runs in Node.
import { describeAdapter, getGpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { PEER_BATCH, PEER_MODEL, PEER_POSITIONS, timeTrainingStep, type BrowserBench } from '../train/step-timing.js';

const out = document.getElementById('out')!;
const q = new URLSearchParams(location.search);
const reps = Number(q.get('reps') ?? 15), warmup = Number(q.get('warmup') ?? 5);
try {
  if (!(Number.isInteger(reps) && reps >= 1 && Number.isInteger(warmup) && warmup >= 0)) throw new Error(`reps must be a whole number ≥ 1 and warmup ≥ 0 (got ${reps}, ${warmup})`);
  const gpu = await getGpu();
  const rt = new Runtime(gpu);
  const t = await timeTrainingStep(rt, PEER_MODEL, PEER_BATCH, PEER_POSITIONS, { reps, warmup });
  const r: BrowserBench = { adapter: describeAdapter(gpu.adapter), timing: rt.timingSource, ...t, reps, userAgent: navigator.userAgent };
  out.textContent = `adapter: ${r.adapter}\npeer step: median ${r.median.toFixed(2)} ms, min ${r.min.toFixed(2)} ms over ${reps} steps\n\n${r.profile}`;
  (window as any).forkgradBench = r;
  rt.destroy();
  gpu.destroy();
} catch (e) {
  out.textContent = `error: ${(e as Error).message}`;
  (window as any).forkgradBench = { error: (e as Error).message };
}
