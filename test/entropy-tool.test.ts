// scripts/entropy.ts as a user runs it (a child process) on a tiny checkpoint: token count, entropy
// range, agreement with the float64 reference model, the table's marks, and its one-line errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rowStatsRef } from '../kernels/pgloss.ref.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { forward } from '../model/reference.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { saveCheckpoint } from '../train/files.js';
import { BOS, encode, VOCAB_SIZE } from '../verify/index.js';
import { U32 } from './helpers.js';

const t = suite('entropy tool');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ULP = 2 ** -23;

const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, vocabSize: VOCAB_SIZE, tiedHead: true };
const layout = paramLayout(cfg, 64);
const params = initParams(cfg, layout, 7);
// GPT-2 init (std 0.02) gives logits near 0 and every entropy ≈ ln V. A larger wte (the tied head)
// spreads them across the 0.672-nat threshold, so both forking and non-forking tokens occur.
const wte = layout.byName.get('wte.weight')!;
for (let i = wte.offset; i < wte.offset + wte.size; i++) params[i] *= 20;
const dir = mkdtempSync(join(tmpdir(), 'forkgrad-entropy-'));
saveCheckpoint(dir, cfg, layout, params);
t.after(() => rmSync(dir, { recursive: true, force: true }));

function tool(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/entropy.ts', '--checkpoint', dir, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TEXT = '12+34=46*(7-8)';

t('--json: one entropy per token, in [0, ln V], equal to the float64 model within the derived bound', () => {
  const r = tool('--json', TEXT);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.is(j.tokens.length, TEXT.length);
  assert.is(j.tokens.map((x: any) => x.token).join(''), TEXT);
  assert.is(j.threshold, DEFAULT_RL.forkThreshold, 'the tool marks what training calls forking');

  const ids = [BOS, ...encode(TEXT)], T = ids.length, V = cfg.vocabSize;
  const ref = forward(cfg, layout, params, ids, 1, T);
  // GPU logits are within tol of the float64 ones: the bound test/gpt.test.ts checks them against,
  // (24L + 8)·γ_K·max|logit| with K the longest reduction. Entropy moves by at most
  // Σ_i |∂H/∂z_i|·δz = δz·Σ p_i|log p_i + H| ≤ δz·(spread + 2δz) (both log p_i and −H lie within the
  // row's spread of z, which δz perturbs by at most 2δz), plus the kernel's own float32 rounding,
  // δ_row·(1 + spread) (the bound test/pgloss.test.ts derives for tokenEntropy).
  const K = Math.max(4 * cfg.dModel, T, V);
  const maxAbs = ref.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const dz = (24 * cfg.nLayer + 8) * ((K * U32) / (1 - K * U32)) * maxAbs;
  let forking = 0;
  j.tokens.forEach((x: any, i: number) => {
    const z = Array.from(ref.logits.subarray(i * V, (i + 1) * V));
    const { entropy, lse } = rowStatsRef(z, 1);
    const spread = Math.max(...z) - Math.min(...z);
    const kernel = ((3 + 2 * spread + V) * ULP + 2 ** -21 + ULP * Math.abs(lse) + 3 * ULP * Math.log(V)) * (1 + spread);
    const bound = dz * (spread + 2 * dz) + kernel;
    assert.ok(Number.isFinite(x.entropyNats) && x.entropyNats >= 0 && x.entropyNats <= Math.log(V), `token ${i}: ${x.entropyNats} outside [0, ln V]`);
    assert.ok(Math.abs(x.entropyNats - entropy) <= bound, `token ${i} '${x.token}': ${x.entropyNats} vs float64 ${entropy} ± ${bound}`);
    assert.ok(Math.abs(x.entropyBits - x.entropyNats / Math.LN2) < 1e-12, 'bits = nats / ln 2');
    assert.is(x.forking, x.entropyNats >= DEFAULT_RL.forkThreshold);
    forking += x.forking ? 1 : 0;
  });
  assert.ok(forking > 0 && forking < TEXT.length, `fixture should have both kinds of token, got ${forking} forking`);
  const mean = j.tokens.reduce((a: number, x: any) => a + x.entropyNats, 0) / TEXT.length;
  assert.ok(Math.abs(j.meanNats - mean) < 1e-12);
});

t('table: a * on each token at or above --threshold, and a summary line', () => {
  const j = JSON.parse(tool('--json', '--threshold', '0.5', TEXT).out);
  const r = tool('--threshold', '0.5', TEXT);
  assert.is(r.code, 0, r.err);
  const rows = r.out.split('\n').filter((l) => /^\s+\d+\s/.test(l));
  assert.is(rows.length, TEXT.length);
  rows.forEach((l, i) => assert.is(l.trimEnd().endsWith('*'), j.tokens[i].forking, l));
  const n = j.tokens.filter((x: any) => x.forking).length;
  assert.match(r.out, new RegExp(`mean entropy [\\d.]+ nats \\([\\d.]+ bits\\) over ${TEXT.length} tokens; forking .*: ${n} of ${TEXT.length} `));
});

t('errors: one line naming the bad character; text longer than the context', () => {
  const bad = tool('12+x');
  assert.is(bad.code, 1);
  assert.is(bad.out, '');
  assert.is(bad.err.trim().split('\n').length, 1, bad.err);
  assert.match(bad.err, /^error: .*character 'x' \(U\+0078\) at index 3 is not in the vocabulary/);
  const long = tool('1'.repeat(cfg.contextLength));
  assert.is(long.code, 1);
  assert.match(long.err, /^error: the text has 16 characters, 17 tokens with BOS, but the model's context is 16 tokens/);
});

t.run();
