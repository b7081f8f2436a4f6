// safetensors (https://github.com/huggingface/safetensors), float32 only: an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then raw little-endian data with offsets relative to its start.
// Pure bytes in and out, so the same code saves checkpoints in Node and in the browser.

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface Safetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Tensors are written in the order given, so the same input always gives the same bytes. */
export function writeSafetensors(tensors: Map<string, NamedTensor> | Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" is a ${typeof v}; the format allows only string values`);
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let end = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved and cannot name a tensor');
    if (!(t.data instanceof Float32Array)) throw new Error(`safetensors: tensor ${name} is not a Float32Array`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== t.data.length) {
      throw new Error(`safetensors: tensor ${name} has shape [${t.shape}] (${n} elements) but ${t.data.length} values`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [end, end + 4 * n] };
    end += 4 * n;
  }
  // Pad the header with spaces (allowed by the format) so the data starts 8-byte aligned.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + end);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  new DataView(out.buffer).setUint32(0, padded, true);
  let pos = 8 + padded;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos);
    if (!LITTLE_ENDIAN) swap32(out.subarray(pos, pos + bytes.length));
    pos += bytes.length;
  }
  return out;
}

/** Parses and validates a safetensors file; every problem throws an error saying what is wrong where. */
export function readSafetensors(file: Uint8Array): Safetensors {
  if (file.length < 8) throw new Error(`safetensors: file is ${file.length} bytes, too short for the 8-byte header length`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen > file.length - 8) {
    throw new Error(`safetensors: header length ${headerLen} runs past the end of the ${file.length}-byte file (truncated or not a safetensors file)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('safetensors: header JSON is not an object');

  const dataStart = 8 + headerLen, dataLen = file.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; shape: number[] }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, any>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('safetensors: __metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null) throw new Error(`safetensors: tensor ${name}: entry is not an object`);
    if (raw.dtype !== 'F32') throw new Error(`safetensors: tensor ${name} has dtype ${JSON.stringify(raw.dtype)}; only F32 is supported (convert the checkpoint to float32)`);
    const shape = raw.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`safetensors: tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const off = raw.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new Error(`safetensors: tensor ${name}: data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    }
    const [begin, end] = off as number[];
    if (begin > end || end > dataLen) throw new Error(`safetensors: tensor ${name}: data_offsets [${begin}, ${end}] lie outside the ${dataLen} data bytes (truncated file?)`);
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== 4 * n) throw new Error(`safetensors: tensor ${name}: shape [${shape}] needs ${4 * n} bytes but data_offsets span ${end - begin}`);
    spans.push({ name, begin, end, shape });
  }
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.begin < a.end) throw new Error(`safetensors: tensors ${a.name} [${a.begin}, ${a.end}) and ${b.name} [${b.begin}, ${b.end}) overlap`);
  }

  const tensors = new Map<string, NamedTensor>();
  for (const s of spans) {
    // slice copies into a fresh, 4-byte-aligned buffer: offsets in the file need not be aligned.
    const bytes = file.slice(dataStart + s.begin, dataStart + s.end);
    if (!LITTLE_ENDIAN) swap32(bytes);
    tensors.set(s.name, { shape: s.shape, data: new Float32Array(bytes.buffer) });
  }
  return { tensors, metadata };
}

function swap32(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    [b[i], b[i + 1], b[i + 2], b[i + 3]] = [b[i + 3], b[i + 2], b[i + 1], b[i]];
  }
}
