// Reads a Hugging Face GPT-2 folder from disk (Node). The page gets the same files from a drop.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Gpt2Files {
  config: string;
  vocab: string;
  merges: string;
  /** model.safetensors, read only when asked (after the config has been checked). */
  weights: () => Uint8Array;
}

/** Throws one line naming the missing file and what the folder must hold. */
export function gpt2Files(dir: string): Gpt2Files {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`checkpoint folder ${dir} does not exist; give a folder saved by Hugging Face (config.json, model.safetensors, vocab.json, merges.txt)`);
  const need = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];
  const missing = need.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    const bin = missing.includes('model.safetensors') && existsSync(join(dir, 'pytorch_model.bin'))
      ? ' (it has pytorch_model.bin: save it again with save_pretrained(..., safe_serialization=True), or download model.safetensors)' : '';
    throw new Error(`${dir} has no ${missing.join(', ')}${bin}; a GPT-2 checkpoint folder needs ${need.join(', ')} (a forkgrad checkpoint folder, e.g. runs/<run>/checkpoint, has model.safetensors and a config.json with a "forkgrad" section)`);
  }
  const text = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { config: text('config.json'), vocab: text('vocab.json'), merges: text('merges.txt'), weights: () => readLarge(join(dir, 'model.safetensors')) };
}

/** The whole file in one array, read in pieces: readFileSync stops at 2 GiB (gpt2-large in F32 is
 * 3.1 GB), a typed array holds up to 4 GiB. */
function readLarge(path: string): Uint8Array {
  const size = statSync(path).size, max = 2 ** 32 - 1;
  if (size > max) throw new Error(`${path} is ${(size / 2 ** 30).toFixed(1)} GiB, over the 4 GiB one array holds; save the checkpoint in half precision (model.half().save_pretrained(...)), which forkgrad reads as F16`);
  const out = new Uint8Array(size), fd = openSync(path, 'r');
  try {
    for (let at = 0; at < size; ) at += readSync(fd, out, at, Math.min(2 ** 30, size - at), at);
  } finally {
    closeSync(fd);
  }
  return out;
}
