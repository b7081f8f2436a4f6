// Per-adapter kernel autotuning: time each candidate once per shape class, keep the fastest in
// memory and (in Node) in `.cache/autotune.json`, keyed by the adapter, so later runs skip it.
// Nothing here imports Node modules statically: the browser build gets the in-memory cache only.
import type { Runtime } from './runtime.js';

export interface TuneCandidate {
  name: string;
  /** builds the pipeline and awaits its compile verdict, outside the timing */
  prepare?: () => Promise<void>;
  /** records one dispatch of the candidate (no sync) */
  run: () => void;
}

export interface TuneEntry {
  variant: string;
  /** best milliseconds per run of each candidate that finished; null when it failed to build */
  ms: Record<string, number | null>;
  at: string;
}

interface CacheFile {
  version: 1;
  adapters: Record<string, Record<string, TuneEntry>>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const memory = new Map<string, Map<string, TuneEntry>>(); // adapter key -> family/class -> entry
const loaded = new Map<string, Promise<void>>(); // adapter key -> its disk read
let cachePath: string | null | undefined; // undefined: default location; null: no disk cache

/** Where the on-disk cache lives (null turns it off, undefined restores the default:
 * $FORKGRAD_AUTOTUNE_CACHE, 'off' disabling it, else `.cache/autotune.json` in the repository root). */
export function setAutotuneCachePath(path: string | null | undefined): void {
  cachePath = path;
  loaded.clear();
}

/** Forgets every in-memory choice (the disk cache is read again on the next load). */
export function clearAutotuneMemory(): void {
  memory.clear();
  loaded.clear();
}

export function adapterKey(rt: Runtime): string {
  const a = rt.gpu.adapter;
  return [a.host, a.vendor, a.architecture, a.device, a.description, a.features.join(',')].join('|');
}

async function diskPath(): Promise<string | null> {
  if (!isNode || cachePath === null) return null;
  if (cachePath !== undefined) return cachePath;
  const env = process.env.FORKGRAD_AUTOTUNE_CACHE;
  if (env === 'off') return null;
  if (env) return env;
  const urlMod = 'node:url'; // hidden from bundlers
  const { fileURLToPath } = await import(/* @vite-ignore */ urlMod);
  const rel = '../.cache/autotune.json'; // not a literal in new URL(): Vite would ship the file as an asset
  return fileURLToPath(new URL(rel, import.meta.url));
}

async function readCache(path: string): Promise<CacheFile> {
  const fsMod = 'node:fs/promises';
  const fs = await import(/* @vite-ignore */ fsMod);
  try {
    const j = JSON.parse(await fs.readFile(path, 'utf8'));
    if (j && j.version === 1 && typeof j.adapters === 'object') return j as CacheFile;
  } catch {
    // missing or unreadable: start afresh (a half-written file cannot exist, see writeEntry)
  }
  return { version: 1, adapters: {} };
}

/** Merges one entry into the file: read, update, write a temp file, rename over (atomic). */
async function writeEntry(path: string, adapter: string, key: string, e: TuneEntry): Promise<void> {
  const fsMod = 'node:fs/promises', pathMod = 'node:path';
  const fs = await import(/* @vite-ignore */ fsMod);
  const { dirname } = await import(/* @vite-ignore */ pathMod);
  const file = await readCache(path);
  (file.adapters[adapter] ??= {})[key] = e;
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(file, null, 1) + '\n');
  await fs.rename(tmp, path);
}

export class Autotuner {
  constructor(readonly family: string) {}

  /** The cached choice for a shape class, from memory (call `load` first to see the disk cache). */
  lookup(rt: Runtime, key: string): string | undefined {
    return memory.get(adapterKey(rt))?.get(`${this.family}/${key}`)?.variant;
  }

  entry(rt: Runtime, key: string): TuneEntry | undefined {
    return memory.get(adapterKey(rt))?.get(`${this.family}/${key}`);
  }

  /** Reads this adapter's entries from the disk cache into memory, once. */
  load(rt: Runtime): Promise<void> {
    const ak = adapterKey(rt);
    let p = loaded.get(ak);
    if (!p) {
      p = (async () => {
        const path = await diskPath();
        if (!path) return;
        const file = await readCache(path);
        const mem = memory.get(ak) ?? new Map<string, TuneEntry>();
        for (const [k, e] of Object.entries(file.adapters[ak] ?? {})) if (!mem.has(k)) mem.set(k, e);
        memory.set(ak, mem);
      })();
      loaded.set(ak, p);
    }
    return p;
  }

  /**
   * Times each candidate and caches the fastest under `key`. A timing is wall clock around the
   * queue draining after enough back-to-back dispatches to last a few ms; each candidate keeps its
   * best of ROUNDS timings. Rounds interleave the candidates, so load from other processes, which
   * only ever adds time, comes and goes across all of them alike. A candidate more than 4× slower
   * than the best on its first two timings is not timed again.
   */
  async tune(rt: Runtime, key: string, candidates: TuneCandidate[], flops = 0): Promise<string> {
    if (!candidates.length) throw new Error(`autotune ${this.family}: no candidates for ${key}`);
    const ROUNDS = 4;
    const phase = rt.phase;
    rt.phase = 'autotune';
    const ms: Record<string, number | null> = {};
    const reps: Record<string, number> = {};
    const time = async (c: TuneCandidate, n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) c.run();
      await rt.sync();
      return (performance.now() - t0) / n;
    };
    try {
      await rt.sync(); // the caller's work must not land in the first timing
      for (const c of candidates) {
        try {
          await c.prepare?.();
          c.run(); // warm-up: drivers compile on first use
          await rt.sync();
          ms[c.name] = await time(c, 1);
          reps[c.name] = Math.max(1, Math.ceil(3 / Math.max(ms[c.name]!, 1e-3)));
        } catch (err) {
          ms[c.name] = null;
          console.warn(`autotune ${this.family}: ${c.name} failed on ${key}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      // a second look before writing a candidate off: one timing can catch another process's burst
      // (seen here under load: 241 ms against 2 ms for the same variant a moment later)
      let first = Math.min(...Object.values(ms).filter((t): t is number => t !== null));
      for (const c of candidates) if (ms[c.name] !== null && ms[c.name]! >= 4 * first) ms[c.name] = Math.min(ms[c.name]!, await time(c, 1));
      first = Math.min(...Object.values(ms).filter((t): t is number => t !== null));
      const contenders = candidates.filter((c) => ms[c.name] !== null && ms[c.name]! < 4 * first);
      for (let r = 1; r < ROUNDS; r++) for (const c of contenders) ms[c.name] = Math.min(ms[c.name]!, await time(c, reps[c.name]));
    } finally {
      rt.phase = phase;
    }
    let best = Infinity, bestName = '';
    for (const [name, t] of Object.entries(ms)) if (t !== null && t < best) [best, bestName] = [t, name];
    if (best === Infinity) throw new Error(`autotune ${this.family}: every candidate failed on ${key}`);
    const e: TuneEntry = { variant: bestName, ms, at: new Date().toISOString() };
    this.remember(rt, key, e);
    const path = await diskPath();
    if (path) {
      try {
        await writeEntry(path, adapterKey(rt), `${this.family}/${key}`, e);
      } catch (err) {
        console.warn(`autotune: could not write ${path}: ${(err as Error).message}`);
      }
    }
    if (flops > 0 && isNode && process.env.FORKGRAD_AUTOTUNE_LOG) {
      console.log(`autotune ${this.family} ${key}: ${bestName} (${(flops / best / 1e6).toFixed(1)} GFLOP/s)`);
    }
    return bestName;
  }

  remember(rt: Runtime, key: string, e: TuneEntry): void {
    const ak = adapterKey(rt);
    let mem = memory.get(ak);
    if (!mem) memory.set(ak, (mem = new Map()));
    mem.set(`${this.family}/${key}`, e);
  }
}
