// Node file helpers: atomic writes, checkpoint folders with a checksummed manifest, and the
// training checkpoints a run resumes from.
//
// Every file is written atomically — temp file, fsync, rename — so a crash mid-write leaves the
// previous version intact. A training checkpoint is a whole folder (weights, optimizer moments,
// manifest), so it is built under a temporary name, fsynced, renamed into place, and only then
// named by the `latest` pointer (itself replaced atomically): a process killed at any moment of a
// save leaves `latest` naming the previous, complete checkpoint.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AdamWState } from '../kernels/optim.js';
import { decodeCheckpoint, decodeOptimizer, encodeCheckpoint, encodeOptimizer, type Checkpoint } from '../model/checkpoint.js';
import type { GPTConfig, ParamLayout } from '../model/config.js';
import { checkSchema } from './schema.js';

/** The checkpoint folder's manifest version (model checkpoints, SFT caches, training checkpoints). */
export const CHECKPOINT_SCHEMA = 1;

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Makes a folder's entries (new names, renames) durable, as fsync does for a file's bytes. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const MANIFEST = 'manifest.json';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Manifest {
  format: 'forkgrad-checkpoint';
  version: number;
  /** every other file of the folder, with its length and sha256 */
  files: Record<string, { bytes: number; sha256: string }>;
  /** training checkpoints only: where the run resumes, and AdamW's skipped-step count */
  state?: TrainState;
  skippedSteps?: number;
}

/** Writes the files, then the manifest of their checksums (last: its presence marks them complete). */
function writeWithManifest(dir: string, files: Record<string, Uint8Array | string>, extra: Partial<Manifest> = {}): void {
  rmSync(join(dir, MANIFEST), { force: true }); // an old manifest must never vouch for new files
  const manifest: Manifest = { format: 'forkgrad-checkpoint', version: CHECKPOINT_SCHEMA, files: {}, ...extra };
  for (const [name, data] of Object.entries(files)) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    writeFileAtomic(join(dir, name), bytes);
    manifest.files[name] = { bytes: bytes.length, sha256: sha256(bytes) };
  }
  writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
}

/** Checks every file the manifest lists against its length and sha256; returns the manifest.
 * Folders without a manifest (written before forkgrad had them) return null. */
function verifyManifest(dir: string): Manifest | null {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); the checkpoint is damaged`);
  }
  if (m?.format !== 'forkgrad-checkpoint' || typeof m.files !== 'object' || m.files === null) {
    throw new Error(`${path} is not a forkgrad checkpoint manifest (format ${JSON.stringify(m?.format)}, version ${JSON.stringify(m?.version)})`);
  }
  checkSchema(path, m.version, CHECKPOINT_SCHEMA, 'use the forkgrad that wrote it, or train the checkpoint again');
  for (const [name, want] of Object.entries(m.files)) {
    const f = join(dir, name);
    if (!existsSync(f)) throw new Error(`${f} is missing; the manifest lists it`);
    const size = statSync(f).size;
    if (size !== want.bytes) throw new Error(`${f} is ${size} bytes but the manifest says ${want.bytes}: the file is truncated or was replaced`);
    if (sha256(readFileSync(f)) !== want.sha256) throw new Error(`${f} does not match its sha256 in the manifest: the file is corrupted`);
  }
  return m;
}

/** A model checkpoint folder: model.safetensors + config.json (Hugging Face GPT-2) + manifest.json. */
export function saveCheckpoint(dir: string, cfg: GPTConfig, layout: ParamLayout, params: Float32Array, info: Record<string, unknown> = {}): void {
  const { safetensors, config } = encodeCheckpoint(cfg, layout, params, info);
  writeWithManifest(dir, { 'model.safetensors': safetensors, 'config.json': config });
}

/** Loads a model checkpoint folder (a training checkpoint folder works too), checking the manifest's
 * checksums when there is one; throws one line naming the folder and the problem, loading nothing. */
export function loadCheckpoint(dir: string, align = 64): Checkpoint {
  if (!existsSync(dir)) throw new Error(`checkpoint folder ${dir} does not exist; pass a folder written by train/run.ts`);
  for (const f of ['model.safetensors', 'config.json']) {
    if (!existsSync(join(dir, f))) throw new Error(`checkpoint folder ${dir} has no ${f}; pass a folder written by train/run.ts`);
  }
  try {
    verifyManifest(dir);
    return decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), readFileSync(join(dir, 'config.json'), 'utf8'), align);
  } catch (e) {
    throw new Error(`cannot load checkpoint ${dir}: ${(e as Error).message}`);
  }
}

// ------------------------------------------------------------------ training checkpoints

/** Where a run resumes: the stage and its last finished step, the data stream's position, and
 * how much of metrics.jsonl was written by then. */
export interface TrainState {
  stage: 'sft' | 'rl';
  step: number;
  /** the training-problem stream's position (Sampler.state) */
  data: number;
  /** bytes of metrics.jsonl covering steps ≤ step: a resumed run cuts the file here, then appends */
  metricsOffset: number;
  /** run-level values the rest of the run needs (base evaluation, accumulated totals) */
  run: Record<string, unknown>;
}

export interface TrainingCheckpoint {
  config: GPTConfig;
  layout: ParamLayout;
  params: Float32Array;
  opt: AdamWState;
  /** provenance, kept in config.json under "forkgrad" */
  info: Record<string, unknown>;
  state: TrainState;
}

const LATEST = 'latest';
const FOLDER = /^(sft|rl)-\d{6,}$/;
const folderName = (s: TrainState) => `${s.stage}-${String(s.step).padStart(6, '0')}`;

/**
 * Saves a training checkpoint under `root` (e.g. runs/<run>/checkpoints) as <stage>-<step>/ and
 * points `latest` at it; keeps the previous one too and removes older ones. Returns the folder.
 */
export function saveTrainingCheckpoint(root: string, ck: TrainingCheckpoint): string {
  const name = folderName(ck.state);
  const previous = latestName(root);
  if (name === previous) return join(root, name); // saved already (a resumed run repeats no step)
  const tmp = join(root, `.${name}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { safetensors, config } = encodeCheckpoint(ck.config, ck.layout, ck.params, ck.info);
  writeWithManifest(tmp, {
    'model.safetensors': safetensors,
    'config.json': config,
    'optimizer.safetensors': encodeOptimizer(ck.layout, ck.opt.m, ck.opt.v),
  }, { state: ck.state, skippedSteps: ck.opt.skipped });
  fsyncDir(tmp);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true }); // a complete save that never became `latest`
  renameSync(tmp, final);
  fsyncDir(root);
  writeFileAtomic(join(root, LATEST), `${name}\n`);
  fsyncDir(root);
  for (const e of readdirSync(root)) {
    const stale = (FOLDER.test(e) && e !== name && e !== previous) || e.includes('.partial-');
    if (stale) rmSync(join(root, e), { recursive: true, force: true });
  }
  return final;
}

function latestName(root: string): string | null {
  const p = join(root, LATEST);
  if (!existsSync(p)) return null;
  const name = readFileSync(p, 'utf8').trim();
  if (!FOLDER.test(name)) throw new Error(`${p} names "${name.slice(0, 40)}", not a checkpoint folder; the file is damaged`);
  return name;
}

/** The checkpoint `latest` names under `root`, verified against its manifest and decoded; throws
 * one line naming the file and the problem, loading nothing. */
export function loadTrainingCheckpoint(root: string, align = 64): TrainingCheckpoint & { dir: string } {
  const name = latestName(root);
  if (!name) throw new Error(`${root} has no ${LATEST} checkpoint; the run saved none (see --save_steps)`);
  const dir = join(root, name);
  try {
    if (!existsSync(dir)) throw new Error(`the folder is missing`);
    const manifest = verifyManifest(dir);
    const s = manifest?.state;
    if (!s || !manifest.files['optimizer.safetensors']) throw new Error('its manifest lists no training state or optimizer; it is a model checkpoint, not one to resume from');
    const int = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if ((s.stage !== 'sft' && s.stage !== 'rl') || !int(s.step) || !int(s.data) || !int(s.metricsOffset) || typeof s.run !== 'object' || s.run === null) {
      throw new Error(`manifest.json's state ${JSON.stringify(s).slice(0, 120)} is malformed`);
    }
    const ck = decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), readFileSync(join(dir, 'config.json'), 'utf8'), align);
    const { m, v } = decodeOptimizer(new Uint8Array(readFileSync(join(dir, 'optimizer.safetensors'))), ck.layout);
    const skipped = manifest.skippedSteps ?? 0;
    if (!int(skipped)) throw new Error(`manifest.json's skippedSteps ${JSON.stringify(skipped)} is not a count`);
    return { dir, config: ck.config, layout: ck.layout, params: ck.params, info: ck.info, opt: { m, v, skipped }, state: s };
  } catch (e) {
    throw new Error(`cannot resume from ${dir}: ${(e as Error).message}`);
  }
}
