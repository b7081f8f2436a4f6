// Tests that need Chromium: the harness (scripts/chromium.ts, shared with scripts/bench-browser.ts)
// and chromiumTest, which reports a missing Chromium as a skip — or, under CI, as a failure.
import { existsSync } from 'node:fs';
import type { Test } from 'uvu';
import { CHROMIUM, NO_CHROMIUM } from '../scripts/chromium.js';

export { buildAndServe, CHROMIUM, CHROMIUM_ARGS, dumpDom, launchChromium, type Served } from '../scripts/chromium.js';

/**
 * Registers a test that needs Chromium. Without Chromium it is registered as skipped, so uvu and
 * test/all.ts count it as a skip (never as a pass) — except under CI (CI=true), where it fails: CI
 * installs Chromium, so a missing one there is a broken setup, not a reason to skip.
 */
export function chromiumTest(t: Test, name: string, fn: () => void | Promise<void>): void {
  if (existsSync(CHROMIUM)) t(name, fn);
  else if (/^(1|true)$/i.test(process.env.CI ?? '')) t(name, () => { throw new Error(`${NO_CHROMIUM} (CI must run this check)`); });
  else t.skip(`${name} (skipped: ${NO_CHROMIUM})`, fn);
}

