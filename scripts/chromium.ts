// The browser harness shared by the tests (test/chromium.ts) and scripts/bench-browser.ts: build the page
// with Vite into a fresh folder, serve it on 127.0.0.1 with Vite's static preview server, and drive
// Debian's Chromium (never a downloaded one) with playwright-core. Headless Chromium with
// --enable-unsafe-webgpu exposes a SwiftShader (CPU) WebGPU adapter.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { build, preview } from 'vite';

export const CHROMIUM = process.env.FORKGRAD_CHROMIUM ?? '/usr/bin/chromium';
export const NO_CHROMIUM = `no Chromium at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set FORKGRAD_CHROMIUM to a Chrome/Chromium binary`;
const CONFIG = fileURLToPath(new URL('../web/vite.config.ts', import.meta.url));

/** Loads a file:// page in headless Chromium and returns the DOM after its scripts ran. */
export function dumpDom(file: string): string {
  if (!existsSync(CHROMIUM)) throw new Error(NO_CHROMIUM);
  return execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=3000', '--window-size=1200,2400', '--dump-dom', `file://${file}`],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--enable-unsafe-webgpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
]; // playwright-core adds its own (no timer throttling, --disable-dev-shm-usage, …)

export interface Served {
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** Builds web/ into a temporary folder (dist/web is left alone) and serves it on 127.0.0.1. */
export async function buildAndServe(): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-web-'));
  try {
    await build({ configFile: CONFIG, logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } });
    const server = await preview({ configFile: CONFIG, logLevel: 'warn', build: { outDir: dir }, preview: { host: '127.0.0.1', port: 0, open: false } });
    const address = server.httpServer.address();
    if (!address || typeof address === 'string') throw new Error('vite preview did not report a TCP port');
    return {
      url: `http://127.0.0.1:${address.port}/`,
      dir,
      close: async () => {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Headless Chromium with a fresh profile; close() also deletes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(NO_CHROMIUM);
  const profile = mkdtempSync(join(tmpdir(), 'forkgrad-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
