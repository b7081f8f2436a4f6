// The jax-js peer (../shared/peers/jaxjs: the peer-config training step written with jax-js, run
// on its wasm backend with jit): installed once per lockfile into the temp folder with its own
// `npm ci`, as the peers README says, and run as a child process that prints its median step.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the peers live: ../shared/peers next to the checkout, or FORKGRAD_PEERS. */
export function peersDir(): string {
  return process.env.FORKGRAD_PEERS ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'peers');
}

/** Installs the jax-js peer (once per package-lock) and returns its folder. */
export function installJaxPeer(): string {
  const src = join(peersDir(), 'jaxjs');
  const lock = join(src, 'package-lock.json');
  if (!existsSync(join(src, 'gpt_jax.mjs')) || !existsSync(lock)) {
    throw new Error(`jax-js peer not found at ${src}; set FORKGRAD_PEERS to the folder holding jaxjs/, or run bench-step with --peer-rounds 0`);
  }
  const key = createHash('sha256').update(readFileSync(lock)).update(readFileSync(join(src, 'gpt_jax.mjs'))).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `forkgrad-jaxjs-peer-${key}`);
  if (existsSync(join(dir, 'node_modules', '@jax-js', 'jax'))) return dir;
  const part = `${dir}.part-${process.pid}`;
  rmSync(part, { recursive: true, force: true });
  cpSync(src, part, { recursive: true });
  process.stderr.write(`installing the jax-js peer into ${dir} (npm ci)...\n`);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: part, stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(dir, { recursive: true, force: true });
  renameSync(part, dir);
  return dir;
}

/** Runs the peer once on `device` ('wasm'); returns its printed median step in ms. */
export function runJaxPeer(dir: string, device = 'wasm'): Promise<number> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['gpt_jax.mjs', device], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const m = /median step ([\d.]+) ms/.exec(out);
      if (code === 0 && m) ok(Number(m[1]));
      else fail(new Error(`jax-js peer (${device}) failed with exit code ${code}: ${out.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}
