// safetensors (https://github.com/huggingface/safetensors), float32 (F16 and BF16 converted to float32
// on request, for Hugging Face checkpoints saved in half precision): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then raw little-endian data with offsets relative to its start.
// Pure bytes in and out, so the same code saves checkpoints in Node and in the browser.

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
  /** The dtype stored in the file (set by readSafetensors; data is float32 whatever it was). */
  stored?: 'F32' | 'F16' | 'BF16';
}

export interface Safetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

export interface ReadOptions {
  /** Also accept F16 and BF16 tensors, converted to float32 on read (default: F32 only). */
  halfToFloat?: boolean;
  /** Tensors to leave out of the result unread, whatever their dtype (their offsets are still
   * checked), e.g. buffers a loader knows to ignore. */
  skip?: (name: string, shape: number[]) => boolean;
}

/** Bytes per element of every safetensors dtype, so skipped tensors' spans can be checked. */
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };

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
export function readSafetensors(file: Uint8Array, opts: ReadOptions = {}): Safetensors {
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
  const spans: { name: string; begin: number; end: number; shape: number[]; dtype: string; skip: boolean }[] = [];
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
    const shape = raw.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`safetensors: tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const skip = !!opts.skip?.(name, shape) && typeof raw.dtype === 'string' && raw.dtype in DTYPE_BYTES;
    const readable = opts.halfToFloat ? ['F32', 'F16', 'BF16'] : ['F32'];
    if (!skip && !readable.includes(raw.dtype)) {
      throw new Error(`safetensors: tensor ${name} has dtype ${JSON.stringify(raw.dtype)}; only ${readable.join(', ')} ${readable.length > 1 ? 'are' : 'is'} supported (convert the checkpoint to float32)`);
    }
    const off = raw.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new Error(`safetensors: tensor ${name}: data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    }
    const [begin, end] = off as number[];
    if (begin > end || end > dataLen) throw new Error(`safetensors: tensor ${name}: data_offsets [${begin}, ${end}] lie outside the ${dataLen} data bytes (truncated file?)`);
    const n = shape.reduce((a: number, b: number) => a * b, 1), size = DTYPE_BYTES[raw.dtype];
    if (end - begin !== size * n) throw new Error(`safetensors: tensor ${name}: shape [${shape}] needs ${size * n} bytes but data_offsets span ${end - begin}`);
    spans.push({ name, begin, end, shape, dtype: raw.dtype, skip });
  }
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.begin < a.end) throw new Error(`safetensors: tensors ${a.name} [${a.begin}, ${a.end}) and ${b.name} [${b.begin}, ${b.end}) overlap`);
  }

  const tensors = new Map<string, NamedTensor>();
  for (const s of spans) {
    if (s.skip) continue;
    if (s.dtype !== 'F32') {
      tensors.set(s.name, { shape: s.shape, data: halfToFloat32(file.subarray(dataStart + s.begin, dataStart + s.end), s.dtype as 'F16' | 'BF16'), stored: s.dtype as 'F16' | 'BF16' });
      continue;
    }
    // slice copies into a fresh, 4-byte-aligned buffer: offsets in the file need not be aligned.
    const bytes = file.slice(dataStart + s.begin, dataStart + s.end);
    if (!LITTLE_ENDIAN) swap32(bytes);
    tensors.set(s.name, { shape: s.shape, data: new Float32Array(bytes.buffer), stored: 'F32' });
  }
  return { tensors, metadata };
}

/** Little-endian IEEE half (F16) or bfloat16 (BF16) values to float32; both convert exactly. */
export function halfToFloat32(bytes: Uint8Array, dtype: 'F16' | 'BF16'): Float32Array {
  const n = bytes.length >> 1, out = new Float32Array(n);
  if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = (bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const h = bytes[2 * i] | (bytes[2 * i + 1] << 8);
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 // subnormal
      : exp === 31 ? (frac ? NaN : sign * Infinity)
      : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function swap32(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    [b[i], b[i + 1], b[i + 2], b[i + 3]] = [b[i + 3], b[i + 2], b[i + 1], b[i]];
  }
}
