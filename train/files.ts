// Node file helpers. Writes are atomic — temp file, fsync, rename — so a crash mid-write leaves the
// previous version intact.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../model/checkpoint.js';
import type { GPTConfig, ParamLayout } from '../model/config.js';

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

export function saveCheckpoint(dir: string, cfg: GPTConfig, layout: ParamLayout, params: Float32Array, info: Record<string, unknown> = {}): void {
  const { safetensors, config } = encodeCheckpoint(cfg, layout, params, info);
  // Tensors first: a config.json next to them is the sign the pair is complete.
  writeFileAtomic(join(dir, 'model.safetensors'), safetensors);
  writeFileAtomic(join(dir, 'config.json'), config);
}

export function loadCheckpoint(dir: string, align = 64): Checkpoint {
  for (const f of ['model.safetensors', 'config.json']) {
    if (!existsSync(join(dir, f))) throw new Error(`checkpoint folder ${dir} has no ${f}; pass a folder written by train/run.ts`);
  }
  try {
    return decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), readFileSync(join(dir, 'config.json'), 'utf8'), align);
  } catch (e) {
    throw new Error(`cannot load checkpoint ${dir}: ${(e as Error).message}`);
  }
}
