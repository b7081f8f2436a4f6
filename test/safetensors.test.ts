// Checkpoints must survive a round trip bit for bit, and a damaged file must say what is wrong
// instead of loading garbage weights.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../model/safetensors.js';
import { randArray } from './helpers.js';

const t = suite('safetensors');

function sample(): Map<string, NamedTensor> {
  return new Map([
    ['wte.weight', { shape: [7, 3], data: randArray(21, 1) }],
    ['h.0.ln_1.bias', { shape: [3], data: new Float32Array([-0, Infinity, NaN]) }],
    ['scalar', { shape: [], data: new Float32Array([1.5]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

/** A valid file with its header replaced by `header` (data bytes kept). */
function withHeader(header: unknown, data = new Uint8Array(16)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

t('round trip keeps names, order, shapes, metadata and every bit (NaN, -0, Inf too)', () => {
  const src = sample();
  const bytes = writeSafetensors(src, { format: 'pt', step: '12' });
  const { tensors, metadata } = readSafetensors(bytes);
  assert.equal(metadata, { format: 'pt', step: '12' });
  assert.equal([...tensors.keys()], [...src.keys()]);
  for (const [name, s] of src) {
    const r = tensors.get(name)!;
    assert.equal(r.shape, s.shape, name);
    assert.equal(new Uint32Array(r.data.buffer, r.data.byteOffset, r.data.length), new Uint32Array(s.data.buffer, s.data.byteOffset, s.data.length), name);
  }
  const headerLen = new DataView(bytes.buffer).getUint32(0, true);
  assert.is((8 + headerLen) % 8, 0, 'data is 8-byte aligned');
  assert.equal(writeSafetensors(src, { format: 'pt', step: '12' }), bytes, 'deterministic bytes');
});

t('reads views (subarrays) of a larger buffer and unaligned data offsets', () => {
  const big = randArray(10, 2);
  const bytes = writeSafetensors({ a: { shape: [2, 2], data: big.subarray(3, 7) } });
  const framed = new Uint8Array(bytes.length + 3);
  framed.set(bytes, 3);
  assert.equal([...readSafetensors(framed.subarray(3)).tensors.get('a')!.data], [...big.subarray(3, 7)]);
  // header of odd length: data starts at an unaligned byte
  const f = withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(new Float32Array([1, 2]).buffer));
  assert.equal([...readSafetensors(f).tensors.get('x')!.data], [1, 2]);
});

t('truncated files are rejected', () => {
  const bytes = writeSafetensors(sample());
  assert.throws(() => readSafetensors(bytes.subarray(0, 5)), /too short for the 8-byte header length/);
  assert.throws(() => readSafetensors(bytes.subarray(0, 40)), /header length \d+ runs past the end of the 40-byte file/);
  assert.throws(() => readSafetensors(bytes.subarray(0, bytes.length - 4)), /tensor \w+.*data_offsets \[\d+, \d+\] lie outside/);
});

t('a corrupted header is rejected', () => {
  const bytes = writeSafetensors(sample()).slice();
  bytes[9] = 0x7b; // '{' inside the JSON
  assert.throws(() => readSafetensors(bytes), /header is not valid JSON/);
  assert.throws(() => readSafetensors(withHeader([1, 2])), /not an object/);
  assert.throws(() => readSafetensors(withHeader({ x: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } })), /tensor x: shape \[2.5\]/);
  assert.throws(() => readSafetensors(withHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } })), /tensor x: shape \[3\] needs 12 bytes but data_offsets span 8/);
  assert.throws(() => readSafetensors(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [8] } })), /tensor x: data_offsets \[8\] is not \[begin, end\]/);
  assert.throws(() => readSafetensors(withHeader({ __metadata__: { step: 3 } })), /metadata "step" is not a string/);
});

t('a dtype other than F32 names the tensor and the dtype', () => {
  assert.throws(() => readSafetensors(withHeader({ 'h.0.attn.c_attn.weight': { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } })), /tensor h\.0\.attn\.c_attn\.weight has dtype "BF16"; only F32 is supported/);
});

t('overlapping data offsets are rejected', () => {
  const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
  assert.throws(() => readSafetensors(withHeader(h)), /tensors a \[0, 8\) and b \[4, 12\) overlap/);
});

t('the writer refuses what it cannot encode', () => {
  assert.throws(() => writeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }), /tensor a has shape \[3\] \(3 elements\) but 2 values/);
  assert.throws(() => writeSafetensors({}, { step: 3 as any }), /metadata "step" is a number/);
});

t.run();
