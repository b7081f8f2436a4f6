// Real-GPT-2 checkpoints through scripts/entropy.ts, as a user runs it (a child process), on random
// GPT-2s with the real vocabulary written as Hugging Face files really are (scripts/gpt2-fixture.ts):
// loading (bare and transformer.-prefixed names, F32 and F16, legacy mask buffers) exactly;
// entropies, forking marks and top-K alternatives vs model/reference.ts in float64; long texts in
// windows; and one clear error per bad input. Small shapes (2 layers, d 64) keep it fast on a
// software adapter; the GPT-2-small-shaped check (12 layers, d 768) is scripts/bench-gpt2.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeGpt2Checkpoint } from '../model/hf/checkpoint.js';
import { bufferLimit, planInference } from '../model/hf/inference.js';
import { halfToFloat32 } from '../model/safetensors.js';
import { testRuntime } from './gpu.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { GPT2_VOCAB, referenceRows, safetensorsBytes, tiktokenGpt2, toHalf, writeGpt2Folder } from '../scripts/gpt2-fixture.js';

const t = suite('GPT-2 entropy');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-gpt2-'));
t.after(() => rmSync(tmp, { recursive: true, force: true }));

const shape = { nLayer: 2, nHead: 4, dModel: 64, contextLength: 64, seed: 3, wteScale: 15, blockScale: 3 };
const f16Dir = join(tmp, 'f16-prefixed'), f32Dir = join(tmp, 'f32-bare');
const f16 = writeGpt2Folder(f16Dir, { ...shape, dtype: 'F16', prefix: 'transformer.', legacyMasks: true });
const f32 = writeGpt2Folder(f32Dir, { ...shape, dtype: 'F32', prefix: '', legacyMasks: true });
const enc = tiktokenGpt2();
const EOT = GPT2_VOCAB - 1;
const THRESHOLD = DEFAULT_RL.forkThreshold; // this fixture's entropies spread over ~0.2–7 nats: both kinds occur

function tool(dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/entropy.ts', '--checkpoint', dir, ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TEXT = 'The solution to this problem requires careful consideration. 👍🏽 Isn\'t it?';

t('loading: F16 transformer.-prefixed and F32 bare folders give exactly the written weights; legacy masks ignored', () => {
  for (const [dir, fx, dtype] of [[f16Dir, f16, 'F16'], [f32Dir, f32, 'F32']] as const) {
    const ck = decodeGpt2Checkpoint(readFileSync(join(dir, 'config.json'), 'utf8'), new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    assert.equal(ck.config, fx.cfg);
    assert.is(ck.dtype, dtype);
    assert.is(ck.ignored.length, 3, 'h.0/h.1 attn.bias and h.0 attn.masked_bias');
    assert.is(ck.tensors.size, fx.layout.params.length);
    for (const p of fx.layout.params) {
      const got = ck.tensors.get(p.name)!, want = fx.params.subarray(p.offset, p.offset + p.size);
      assert.ok(got.length === want.length && got.every((x, i) => x === want[i]), `${dtype} ${p.name} differs`);
    }
  }
  // F16 really is rounded (the two folders differ) and half conversion is exact, subnormals included
  assert.not.equal(f16.params.subarray(0, 64), f32.params.subarray(0, 64));
  const vals = [0, -0, 1, -2.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 3.0517578125e-5, 0.1, -0.02];
  const bytes = new Uint8Array(new Uint16Array(vals.map((v) => toHalf(v).bits)).buffer);
  assert.equal([...halfToFloat32(bytes, 'F16')], vals.map((v) => toHalf(v).value));
  assert.equal([...halfToFloat32(new Uint8Array([0x80, 0x3f, 0x20, 0xc1]), 'BF16')], [1, -10]);
});

t('--json --top 3 on the F16 folder: ids, text, entropies, forking and alternatives equal float64', () => {
  const r = tool(f16Dir, '--json', '--top', '3', TEXT); // the default threshold is training's
  assert.is(JSON.parse(r.out).threshold, THRESHOLD);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const ids = [EOT, ...enc.encode(TEXT)];
  assert.equal(j.tokens.map((x: any) => x.id), ids.slice(1));
  assert.is(j.tokens.map((x: any) => x.token).join(''), TEXT);
  assert.is(j.dtype, 'F16');
  assert.is(j.windows, 1);
  assert.ok(j.tokensPerSecond > 0);
  const ref = referenceRows(f16, ids);
  let forking = 0;
  j.tokens.forEach((x: any, k: number) => {
    const { H, z, lse, dz, bound } = ref(k);
    assert.ok(Math.abs(x.entropyNats - H) <= bound, `token ${k} ${JSON.stringify(x.token)}: ${x.entropyNats} vs float64 ${H} ± ${bound}`);
    assert.ok(Math.abs(x.entropyBits - x.entropyNats / Math.LN2) < 1e-12);
    assert.is(x.forking, x.entropyNats >= THRESHOLD);
    if (!x.forking) return assert.is(x.top, undefined);
    forking++;
    const third = [...z].sort((a, b) => b - a)[2];
    assert.is(x.top.length, 3);
    for (const a of x.top) {
      assert.ok(z[a.id] >= third - 2 * dz, `alternative ${a.id} is not among the 3 likeliest`);
      const p = Math.exp(z[a.id] - lse);
      assert.ok(Math.abs(a.p - p) <= p * (Math.exp(4 * dz) - 1) + 1e-12, `p(${a.id}) ${a.p} vs ${p}`);
      assert.is(a.token, enc.decode([a.id]));
    }
    assert.ok(x.top[0].p >= x.top[1].p && x.top[1].p >= x.top[2].p);
  });
  assert.ok(forking > 0 && forking < j.tokens.length, `fixture should have both kinds of token, got ${forking} forking`);
});

t('--window 8 on the F32 folder: overlapping windows, each token scored in its window as float64 says', () => {
  const text = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen.';
  const r = tool(f32Dir, '--json', '--window', '8', text);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out), ids = [EOT, ...enc.encode(text)], n = ids.length;
  assert.is(j.tokens.length, n - 1);
  // windows of 8 overlapping by 4: targets 1–7 from [0, 8), then 8–11 from [4, 12), 12–15 from [8, 16), …
  let windows = 0;
  for (let next = 1; next < n; windows++) {
    const s = Math.max(0, next - 4), e = Math.min(n, s + 8), ref = referenceRows(f32, ids.slice(s, e));
    for (let i = next; i < e; i++) {
      const { H, bound } = ref(i - 1 - s), got = j.tokens[i - 1].entropyNats;
      assert.ok(Math.abs(got - H) <= bound, `token ${i} in window [${s}, ${e}): ${got} vs ${H} ± ${bound}`);
    }
    next = e;
  }
  assert.is(j.windows, windows);
  assert.ok(windows >= 4, `${windows} windows`);
});

t('table: token texts, a * and an alternatives line per forking token, summary and throughput lines', () => {
  const j = JSON.parse(tool(f16Dir, '--json', '--threshold', String(THRESHOLD), TEXT).out);
  const r = tool(f16Dir, '--top', '2', '--threshold', String(THRESHOLD), TEXT);
  assert.is(r.code, 0, r.err);
  const rows = r.out.split('\n').filter((l) => /^\s+\d+\s/.test(l));
  assert.is(rows.length, j.tokens.length);
  rows.forEach((l, i) => {
    assert.ok(l.includes(JSON.stringify(j.tokens[i].token)), l);
    assert.is(l.trimEnd().endsWith('*'), j.tokens[i].forking, l);
  });
  const n = j.tokens.filter((x: any) => x.forking).length;
  assert.is(r.out.split('\n').filter((l) => l.includes('→')).length, n);
  assert.match(r.out, /GPT-2, 2 layers, d 64, 4 heads, context 64, vocabulary 50257 .* F16, 3 legacy attention-mask buffers ignored/);
  assert.match(r.out, new RegExp(`forking .*: ${n} of ${j.tokens.length} `));
  assert.match(r.out, /throughput: \d+ tokens in 1 forward pass of ≤ 64 tokens, [\d.]+ s = [\d.]+ tokens\/s/);
});

/** A copy of the F32 folder with some files replaced or removed. */
function variant(name: string, files: Record<string, string | Uint8Array | null>): string {
  const dir = join(tmp, name);
  cpSync(f32Dir, dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) {
    if (v === null) unlinkSync(join(dir, f));
    else writeFileSync(join(dir, f), v);
  }
  return dir;
}
const config = JSON.parse(readFileSync(join(f32Dir, 'config.json'), 'utf8'));
const weights = (entries: { name: string; dtype: string; shape: number[] }[]) =>
  safetensorsBytes(entries.map((e) => ({ ...e, bytes: new Uint8Array(e.shape.reduce((a, b) => a * b, 1) * ({ F32: 4, F16: 2, I8: 1 } as any)[e.dtype]) })));

/** The F32 fixture's weights as written, plus extra F32 tensors (zeros). */
const fullWeights = (extra: { name: string; shape: number[] }[]) => safetensorsBytes([
  ...f32.layout.params.map((p) => ({ name: p.name, dtype: 'F32', shape: p.shape, bytes: new Uint8Array(f32.params.slice(p.offset, p.offset + p.size).buffer) })),
  ...extra.map((e) => ({ ...e, dtype: 'F32', bytes: new Uint8Array(4 * e.shape.reduce((a, b) => a * b, 1)) })),
]);

const limit = bufferLimit(await testRuntime());
const hugeC = 64 * Math.ceil(Math.sqrt(limit / 16) / 64 + 1e-9); // 16·C² bytes > limit ≥ 12·C² (c_attn fits)

t('planInference: head blocks that fit the limit and cover the vocabulary; refuses what cannot fit', () => {
  const cfg = { nLayer: 12, nHead: 12, dModel: 768, contextLength: 1024, vocabSize: GPT2_VOCAB, tiedHead: true };
  const p = planInference(cfg, 2 ** 27); // lavapipe's 128 MiB: GPT-2's 154 MB wte in two blocks
  assert.equal(p.blocks, [[0, 25129], [25129, 50257]]);
  assert.ok(p.blocks.every(([a, b]) => 4 * (b - a) * Math.max(768, 1024) <= 2 ** 27));
  assert.equal(planInference(cfg, 2 ** 32).blocks, [[0, GPT2_VOCAB]]);
  assert.throws(() => planInference(cfg, 2 ** 20), /needs 6\.8 MiB in one GPU buffer for h\.0\.attn\.c_attn\.weight, over this adapter's limit of 1\.0 MiB/);
});

t('bad inputs: one error line each, exit 1, nothing on stdout', () => {
  const wte = { name: 'wte.weight', dtype: 'F32', shape: [GPT2_VOCAB, 64] };
  const cases: [string, string[], RegExp][] = [
    [join(tmp, 'nowhere'), ['hi'], /^error: checkpoint folder .*nowhere does not exist; give a folder saved by Hugging Face/],
    [variant('no-vocab', { 'vocab.json': null }), ['hi'], /^error: .* has no vocab\.json; a GPT-2 checkpoint folder needs config\.json, model\.safetensors, vocab\.json, merges\.txt/],
    [variant('bin-only', { 'model.safetensors': null, 'pytorch_model.bin': 'x' }), ['hi'], /has no model\.safetensors \(it has pytorch_model\.bin: save it again with save_pretrained\(\.\.\., safe_serialization=True\)/],
    [variant('int8', { 'model.safetensors': weights([{ ...wte, dtype: 'I8' }]) }), ['hi'], /^error: safetensors: tensor wte\.weight has dtype "I8"; only F32, F16, BF16 are supported/],
    [variant('narrow', { 'config.json': JSON.stringify({ ...config, n_embd: 32, n_head: 2 }) }), ['hi'], /^error: model\.safetensors tensor "wte\.weight" has shape \[50257,64\] but config\.json \(n_embd 32, .*\) implies \[50257,32\]; the config is not this checkpoint's/],
    [variant('fewer-layers', { 'config.json': JSON.stringify({ ...config, n_layer: 1 }) }), ['hi'], /^error: model\.safetensors has tensors config\.json does not describe: (h\.1\.[\w.]+, ){5}… \(n_layer 1\); the config is not this checkpoint's$/],
    [variant('more-layers', { 'config.json': JSON.stringify({ ...config, n_layer: 3 }) }), ['hi'], /^error: model\.safetensors has no tensor "h\.2\.ln_1\.weight" \(bare or transformer\.-prefixed\), which config\.json's shape needs \(n_layer 3/],
    // only the legacy masks' own shapes are ignored: a [64, 64] "attn.bias" or a mask for a layer the config lacks is refused
    [variant('mask-shape', { 'model.safetensors': fullWeights([{ name: 'h.0.attn.bias', shape: [64, 64] }]) }), ['hi'], /^error: model\.safetensors has tensors config\.json does not describe: h\.0\.attn\.bias \(n_layer 2\)/],
    [variant('mask-layer', { 'model.safetensors': fullWeights([{ name: 'h.2.attn.bias', shape: [1, 1, 64, 64] }]) }), ['hi'], /^error: model\.safetensors has tensors config\.json does not describe: h\.2\.attn\.bias \(n_layer 2\)/],
    [variant('neo', { 'config.json': JSON.stringify({ ...config, model_type: 'gpt_neo' }) }), ['hi'], /^error: config\.json has model_type "gpt_neo"; only GPT-2-family checkpoints/],
    [variant('bad-heads', { 'config.json': JSON.stringify({ ...config, n_head: 5 }) }), ['hi'], /^error: config\.json: n_embd 64 is not divisible by n_head 5; choose n_head among 1, 2, 4, 8, 16, 32, 64 or make n_embd a multiple of 5$/],
    // an MLP weight [C, 4C] just over this adapter's per-buffer limit: refused before the weights are read
    [variant('huge', { 'config.json': JSON.stringify({ ...config, n_layer: 1, n_embd: hugeC, n_head: hugeC / 64 }) }), ['hi'],
      new RegExp(`^error: this checkpoint needs [\\d.]+ MiB in one GPU buffer for h\\.0\\.mlp\\.c_fc\\.weight, over this adapter's limit of ${(limit / 2 ** 20).toFixed(1)} MiB per buffer; use a smaller GPT-2`)],
    [f32Dir, ['--window', '65', 'hi'], /^error: the window is 65 tokens; it must be an integer from 2 to the model's context of 64 tokens/],
    [f32Dir, ['--top', 'x', 'hi'], /^error: option '--top <K>' argument 'x' is invalid\. must be an integer ≥ 0/],
    [f32Dir, [''], /^error: the text is empty/],
  ];
  for (const [dir, args, want] of cases) {
    const r = tool(dir, ...args);
    assert.is(r.code, 1, `${dir} ${args}: ${r.out}`);
    assert.is(r.out, '', dir);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('Warning: maxDynamic')); // Dawn's, see kernels/device.ts
    assert.is(lines.length, 1, r.err);
    assert.match(lines[0], want);
  }
});

t.run();
