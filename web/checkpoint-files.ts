// Checkpoint folders in the browser: the two files train/run.ts writes (model.safetensors +
// config.json) in from a drop (files or the folder itself) or a file picker, out as downloads.
// Parsing and checking is model/checkpoint.ts's, the same code Node's loader uses.
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../model/checkpoint.js';
import type { GPT } from '../model/gpt.js';
import { maxLengths, VOCAB_SIZE, type TaskConfig } from '../verify/index.js';

const NEEDED = ['model.safetensors', 'config.json'] as const;

/** Files of a drop, descending into dropped folders (one level of the API per folder). */
export async function droppedFiles(dt: DataTransfer): Promise<File[]> {
  const entries = Array.from(dt.items).map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return Array.from(dt.files);
  const out: File[] = [];
  const visit = async (e: FileSystemEntry): Promise<void> => {
    if (e.isFile) out.push(await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej)));
    else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) { // readEntries returns the folder in chunks until an empty one
        const chunk = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!chunk.length) break;
        for (const c of chunk) await visit(c);
      }
    }
  };
  for (const e of entries) await visit(e);
  return out;
}

/** A folder's way in: files dropped on `drop` (folders descended) or picked with the `pickers`
 * inputs all reach `load`; the zone is highlighted while something is dragged over it. */
export function wireFolderInput(drop: HTMLElement, pickers: HTMLInputElement[], load: (files: File[]) => unknown): void {
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer) await load(await droppedFiles(ev.dataTransfer));
  });
  for (const input of pickers) input.addEventListener('change', () => load(Array.from(input.files ?? [])));
}

/** Decodes and checks a checkpoint from its two files; throws one line naming what is wrong. */
export async function readCheckpoint(files: File[], align: number): Promise<Checkpoint & { name: string }> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const missing = NEEDED.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new Error(`missing ${missing.join(' and ')}: choose both model.safetensors and config.json (or drop the checkpoint folder train/run.ts wrote)`);
  }
  const st = new Uint8Array(await byName.get('model.safetensors')!.arrayBuffer());
  const ck = decodeCheckpoint(st, await byName.get('config.json')!.text(), align);
  if (ck.config.vocabSize !== VOCAB_SIZE) {
    throw new Error(`config.json has vocab_size ${ck.config.vocabSize}, but forkgrad's tokenizer has ${VOCAB_SIZE} tokens; load a checkpoint trained by forkgrad on its tasks`);
  }
  const folder = (files[0] as any).webkitRelativePath?.split('/')[0] || 'checkpoint';
  return { ...ck, name: folder };
}

/** The task a checkpoint was trained on, when its config.json records one. */
export function checkpointTask(ck: Checkpoint): TaskConfig | null {
  const t = ck.info.task as TaskConfig | undefined;
  try {
    return t && typeof t === 'object' && maxLengths(t) ? t : null;
  } catch {
    return null;
  }
}

/** Throws when the model's context cannot hold the task's longest sequence. */
export function checkFitsTask(ck: Checkpoint, task: TaskConfig): void {
  const need = maxLengths(task).sequence;
  if (ck.config.contextLength < need) {
    throw new Error(`the checkpoint's context (${ck.config.contextLength} positions) is shorter than the ${need} that ${task.task} needs; pick the task it was trained on`);
  }
}

/** Object URLs for the current model's two checkpoint files (revoke them when replaced). */
export async function checkpointDownloads(model: GPT, info: Record<string, unknown>): Promise<{ name: string; url: string; bytes: number }[]> {
  const params = await model.readParams();
  const { safetensors, config } = encodeCheckpoint(model.cfg, model.layout, params, info);
  return [
    { name: 'model.safetensors', url: URL.createObjectURL(new Blob([safetensors as BlobPart], { type: 'application/octet-stream' })), bytes: safetensors.byteLength },
    { name: 'config.json', url: URL.createObjectURL(new Blob([config], { type: 'application/json' })), bytes: config.length },
  ];
}
