// Runs every test/*.test.ts file (uvu suites) in one process so they share one GPU device,
// then prints a summary line "N passed, N failed, N skipped" and releases the device so Node exits.
// Usage: npm test            (all)    |   npm test -- matmul layernorm   (files whose name contains a word)
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { releaseTestGpu } from './gpu.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

(globalThis as any).UVU_DEFER = 1;
const uvu = await import('uvu');
const queue: any[][] = (globalThis as any).UVU_QUEUE;
for (const [i, f] of files.entries()) {
  (globalThis as any).UVU_INDEX = i;
  queue.push([f]);
  await import(pathToFileURL(join(here, f)).href);
}

// Count tests as they run: uvu prints totals but returns none.
let passed = 0, failed = 0, skipped = 0;
for (const group of queue) {
  for (let j = 1; j < group.length; j++) {
    const run = group[j];
    group[j] = async () => {
      const r = await run();
      const [errs, ran, skip, max] = r;
      passed += ran;
      skipped += skip;
      failed += max - ran;
      if (errs !== true && max === ran) failed += 1; // a hook failed without failing a test
      return r;
    };
  }
}

try {
  await uvu.exec(false);
} finally {
  releaseTestGpu();
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0) process.exitCode = 1;
