// Checkpoints: what is saved is what is loaded, bit for bit, and a mismatched pair loads nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { readSafetensors } from '../model/safetensors.js';
import { loadCheckpoint, saveCheckpoint } from '../train/files.js';
import { testRuntime } from './gpu.js';
import { randInts } from './helpers.js';

const t = suite('checkpoint');
const cfg: GPTConfig = { nLayer: 2, nHead: 3, dModel: 15, contextLength: 9, vocabSize: 22, tiedHead: false };

t('a checkpoint saved and loaded gives identical logits', async () => {
  const rt = await testRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-ck-'));
  try {
    const a = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 21));
    const tokens = randInts(2 * 9, cfg.vocabSize, 3);
    rt.write(a.tokensFor(2, 9), tokens);
    const before = await rt.read(a.forward(2, 9));
    saveCheckpoint(dir, cfg, a.layout, await a.readParams(), { note: 'test' });
    a.destroy();
    const ck = loadCheckpoint(dir, rt.viewAlign);
    assert.equal(ck.config, cfg);
    assert.equal(ck.info, { note: 'test' });
    const b = new GPT(rt, ck.config, ck.params);
    rt.write(b.tokensFor(2, 9), tokens);
    const after = await rt.read(b.forward(2, 9));
    b.destroy();
    assert.equal(Array.from(after), Array.from(before));
    // Hugging Face GPT-2 names and Conv1D layouts
    const st = readSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    assert.equal(st.tensors.get('h.1.attn.c_attn.weight')!.shape, [15, 45]);
    assert.equal(st.tensors.get('lm_head.weight')!.shape, [22, 15]);
    assert.ok(!readFileSync(join(dir, 'config.json'), 'utf8').includes('tmp-'), 'no temp names leak');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t('a config that does not match the tensors is rejected, naming the tensor', async () => {
  const rt = await testRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-ck-'));
  try {
    saveCheckpoint(dir, cfg, paramLayout(cfg, rt.viewAlign), initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, n_embd: 18, n_head: 3 }));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /wte\.weight.*\[22,15\].*\[22,18\]/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, n_layer: 3 }));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /no tensor "h\.2\./);
    writeFileSync(join(dir, 'config.json'), '{not json');
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /config\.json is not valid JSON/);
    rmSync(join(dir, 'model.safetensors'));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /has no model\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
