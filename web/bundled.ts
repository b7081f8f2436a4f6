// The default task's SFT base, shipped with the page (web/base/: made by forkgrad's own SFT, see
// web/base/provenance.json for the command, commit and settings), so RL can start at once: SFT in
// a tab on a software adapter takes many minutes. Decoded by model/checkpoint.ts like any dropped
// checkpoint.
import { decodeCheckpoint, type Checkpoint } from '../model/checkpoint.js';
import config from './base/config.json';
import provenance from './base/provenance.json';

// Vite turns this into an asset URL on the page's own server (the build works offline).
const MODEL_URL = new URL('./base/model.safetensors', import.meta.url);

export const BUNDLED_NAME = `bundled SFT base (${provenance.sft.steps} steps, commit ${provenance.commit})`;

async function fetchOk(url: URL): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`the bundled SFT base did not load (${url.pathname}: HTTP ${r.status}); rebuild the page (npm run build:web)`);
  return r;
}

/** Fetches and decodes the bundled base for this device's view alignment. */
export async function bundledBase(align: number): Promise<Checkpoint & { name: string }> {
  const model = await fetchOk(MODEL_URL);
  const ck = decodeCheckpoint(new Uint8Array(await model.arrayBuffer()), JSON.stringify(config), align);
  return { ...ck, name: BUNDLED_NAME };
}
