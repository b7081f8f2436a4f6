// Checkpoints: what is saved is what is loaded, bit for bit; a mismatched, truncated or corrupted
// checkpoint loads nothing and says why; a save killed at any moment leaves the previous training
// checkpoint loadable.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIG_LIMITS, initParams, paramLayout, validateConfig, type GPTConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { loadCheckpoint, loadTrainingCheckpoint, saveCheckpoint, saveTrainingCheckpoint, type TrainingCheckpoint } from '../train/files.js';
import { testRuntime } from './gpu.js';
import { randArray, randInts } from './helpers.js';

const t = suite('checkpoint');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Rewrites a file and updates its manifest entry, as a buggy writer (not a corruption) would. */
function replaceVouched(dir: string, name: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  writeFileSync(join(dir, name), bytes);
  const mf = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  mf.files[name] = { bytes: bytes.length, sha256: sha(bytes) };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(mf));
}

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
    assert.not.ok(readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temp files left behind');
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
    // edited behind the manifest's back: the checksum catches it
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, n_embd: 18, n_head: 3 }));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /config\.json is \d+ bytes but the manifest says/);
    // with the manifest updated too (a writer's bug, not a corruption), the decoder catches it
    replaceVouched(dir, 'config.json', JSON.stringify({ ...json, n_embd: 18, n_head: 3 }));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /wte\.weight.*\[22,15\].*\[22,18\]/);
    replaceVouched(dir, 'config.json', JSON.stringify({ ...json, n_layer: 3 }));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /no tensor "h\.2\./);
    // folders without a manifest (older ones) are still checked by the decoder
    rmSync(join(dir, 'manifest.json'));
    writeFileSync(join(dir, 'config.json'), '{not json');
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /config\.json is not valid JSON/);
    rmSync(join(dir, 'model.safetensors'));
    assert.throws(() => loadCheckpoint(dir, rt.viewAlign), /has no model\.safetensors/);
    assert.throws(() => loadCheckpoint(join(dir, 'nope'), rt.viewAlign), /nope does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A 2-block checkpoint folder whose config.json (manifest updated too) has `patch` applied. */
function withConfig(patch: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-ck-'));
  const l = paramLayout(cfg, 64);
  saveCheckpoint(dir, cfg, l, initParams(cfg, l, 1));
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  replaceVouched(dir, 'config.json', JSON.stringify({ ...json, ...patch }));
  return dir;
}

t('a config.json claiming n_layer 1e9 beside 2 blocks is rejected at once, before a layout is built', () => {
  const dir = withConfig({ n_layer: 1_000_000_000 });
  try {
    // In a child process with a hard kill, so a loader that hangs (the old one built a 12·10⁹-entry
    // layout first: over 60 s) fails this test instead of stalling the suite. The child times the
    // load alone (not its own start-up); 1 s is a guard against a hang, not a speed claim.
    const files = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'train', 'files.ts')).href;
    const code = `const { loadCheckpoint } = await import(${JSON.stringify(files)});
      const t0 = performance.now();
      try { loadCheckpoint(${JSON.stringify(dir)}); console.log(JSON.stringify({ loaded: true })); }
      catch (e) { console.log(JSON.stringify({ ms: performance.now() - t0, error: e.message })); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    assert.is(r.signal, null, `the loader was still running after 30 s (killed); stderr: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.not.ok(out.loaded, 'a config that disagrees with its tensors must not load');
    assert.match(out.error, /config\.json says n_layer 1000000000 but model\.safetensors holds 2 blocks \(h\.0 … h\.1\) and no tensor "h\.2\.\*"/);
    assert.ok(out.ms < 1000, `rejecting it took ${out.ms.toFixed(0)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Each config.json patch, next to the fixture's tensors, is refused with its message. */
function expectRefused(cases: [Record<string, unknown>, RegExp][]): void {
  for (const [patch, error] of cases) {
    const dir = withConfig(patch);
    try {
      assert.throws(() => loadCheckpoint(dir, 64), error, JSON.stringify(patch));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

t('config.json claims are checked against the tensors: fewer blocks, a head that is not there or is', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n_layer: 1 }, /config\.json says n_layer 1 but model\.safetensors holds 2 blocks \(h\.0 … h\.1\); use the config\.json saved with these weights/],
    [{ tie_word_embeddings: true }, /model\.safetensors has an untied "lm_head\.weight" but config\.json says tie_word_embeddings true/],
    [{ n_positions: 10 }, /tensor "wpe\.weight" has shape \[9,15\] but config\.json implies \[10,15\] \(n_positions 10, n_embd 15\)/],
    [{ vocab_size: 23 }, /tensor "wte\.weight" has shape \[22,15\] but config\.json implies \[23,15\] \(vocab_size 23, n_embd 15\)/],
  ];
  expectRefused(cases);
});

t('config.json type errors show the value as JSON, under config.json\'s own key', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vocab_size: '22' }, /config\.json: vocab_size is "22" \(a string\); it must be a positive integer/],
    [{ n_layer: 2.5 }, /config\.json: n_layer is 2\.5; it must be a positive integer/],
    [{ n_head: null }, /config\.json: n_head is null; it must be a positive integer/],
    [{ n_embd: [15] }, /config\.json: n_embd is \[15\] \(an array\); it must be a positive integer/],
    [{ n_positions: undefined }, /config\.json: n_positions is missing; it must be a positive integer/],
    [{ tie_word_embeddings: 'false' }, /config\.json: tie_word_embeddings is "false" \(a string\); it must be true/],
  ];
  expectRefused(cases);
});

t('validateConfig refuses sizes past its limits from the numbers alone (no layout is built)', () => {
  const base: GPTConfig = { nLayer: 2, nHead: 2, dModel: 16, contextLength: 32, vocabSize: 22, tiedHead: true };
  assert.throws(() => validateConfig({ ...base, nLayer: CONFIG_LIMITS.nLayer + 1 }), /nLayer is 1025; forkgrad builds at most 1024 blocks/);
  assert.throws(() => validateConfig({ ...base, dModel: 2 ** 20 }), /describes 2\.64e\+13 parameters \(nLayer 2, dModel 1048576, .*\); at most 4294967295 fit one flat buffer/);
  assert.throws(() => validateConfig({ ...base, contextLength: 2 ** 40 }), /describes .* parameters/);
  assert.throws(() => validateConfig({ ...base, vocabSize: 2 ** 53 }), /vocabSize is 9007199254740992; it must be a positive integer/);
  // the limits leave every real small model alone: the count matches the layout's
  const ok = { ...base, nLayer: CONFIG_LIMITS.nLayer, dModel: 64 };
  validateConfig(ok);
  assert.ok(paramLayout(ok, 1).count < CONFIG_LIMITS.params);
});

// ------------------------------------------------------------ training checkpoints (no GPU needed)

const layout = paramLayout(cfg, 64);
/** Random values in the parameters' slots, zero in the alignment padding (as training leaves it). */
function moments(seed: number): Float32Array {
  const r = randArray(layout.size, seed), out = new Float32Array(layout.size);
  for (const p of layout.params) out.set(r.subarray(p.offset, p.offset + p.size), p.offset);
  return out;
}
function trainingCheckpoint(step: number): TrainingCheckpoint {
  return {
    config: cfg, layout, info: { note: `step ${step}` },
    params: initParams(cfg, layout, step),
    opt: { m: moments(100 + step), v: moments(200 + step).map(Math.abs), skipped: step % 3 },
    state: { stage: 'rl', step, data: 1000 + step, metricsOffset: 10 * step, run: { base: step / 10 } },
  };
}

/** Every field that a resume restores, for exact comparison. */
function contents(ck: TrainingCheckpoint) {
  return {
    config: ck.config, params: Array.from(ck.params), m: Array.from(ck.opt.m), v: Array.from(ck.opt.v),
    skipped: ck.opt.skipped, state: ck.state,
  };
}

t('a training checkpoint (weights, moments, step, data position, metrics offset) loads back bit for bit', () => {
  const root = mkdtempSync(join(tmpdir(), 'forkgrad-tck-'));
  try {
    const a = trainingCheckpoint(2);
    const dir = saveTrainingCheckpoint(root, a);
    assert.ok(dir.endsWith('rl-000002'));
    const back = loadTrainingCheckpoint(root, 64);
    assert.equal(contents(back), contents(a));
    assert.is(back.dir, dir);
    // a model checkpoint reader takes it too (HF names), and the optimizer uses PyTorch's
    assert.equal(Array.from(loadCheckpoint(dir, 64).params), Array.from(a.params));
    assert.ok(readSafetensors(new Uint8Array(readFileSync(join(dir, 'optimizer.safetensors')))).tensors.has('h.1.mlp.c_fc.weight.exp_avg_sq'));
    // the previous checkpoint is kept, older ones go
    saveTrainingCheckpoint(root, trainingCheckpoint(4));
    saveTrainingCheckpoint(root, trainingCheckpoint(6));
    assert.equal(readdirSync(root).sort(), ['latest', 'rl-000004', 'rl-000006']);
    assert.equal(contents(loadTrainingCheckpoint(root, 64)), contents(trainingCheckpoint(6)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

t('a truncated, corrupted, mismatched or wrong-dtype checkpoint is rejected by name and loads nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'forkgrad-tck-'));
  const fresh = () => {
    rmSync(root, { recursive: true, force: true });
    return saveTrainingCheckpoint(root, trainingCheckpoint(2));
  };
  try {
    let dir = fresh();
    const model = readFileSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors'), model.subarray(0, model.length - 7));
    assert.throws(() => loadTrainingCheckpoint(root, 64), /model\.safetensors is \d+ bytes but the manifest says \d+: the file is truncated/);

    dir = fresh();
    const opt = readFileSync(join(dir, 'optimizer.safetensors'));
    opt[opt.length - 5] ^= 0x40;
    writeFileSync(join(dir, 'optimizer.safetensors'), opt);
    assert.throws(() => loadTrainingCheckpoint(root, 64), /optimizer\.safetensors does not match its sha256 in the manifest: the file is corrupted/);

    dir = fresh();
    rmSync(join(dir, 'config.json'));
    assert.throws(() => loadTrainingCheckpoint(root, 64), /config\.json is missing/);

    dir = fresh();
    writeFileSync(join(dir, 'manifest.json'), '{"format": "forkgrad-che');
    assert.throws(() => loadTrainingCheckpoint(root, 64), /manifest\.json is not valid JSON/);

    // consistent checksums, inconsistent contents: the decoders still catch it
    dir = fresh();
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    replaceVouched(dir, 'config.json', JSON.stringify({ ...json, n_embd: 18 }));
    assert.throws(() => loadTrainingCheckpoint(root, 64), /cannot resume from .*rl-000002: model\.safetensors tensor "wte\.weight" has shape \[22,15\] but config\.json implies \[22,18\]/);

    dir = fresh();
    const st = readFileSync(join(dir, 'model.safetensors'));
    const at = st.indexOf('"F32"');
    st.write('"F16"', at);
    replaceVouched(dir, 'model.safetensors', st);
    assert.throws(() => loadTrainingCheckpoint(root, 64), /dtype "F16"; only F32 is supported/);

    dir = fresh();
    const small = readSafetensors(new Uint8Array(readFileSync(join(dir, 'optimizer.safetensors'))));
    small.tensors.delete('wpe.weight.exp_avg');
    replaceVouched(dir, 'optimizer.safetensors', writeSafetensors(small.tensors));
    assert.throws(() => loadTrainingCheckpoint(root, 64), /optimizer\.safetensors has no tensor "wpe\.weight\.exp_avg"/);

    dir = fresh();
    writeFileSync(join(root, 'latest'), '../../etc\n');
    assert.throws(() => loadTrainingCheckpoint(root, 64), /latest names "\.\.\/\.\.\/etc", not a checkpoint folder/);
    writeFileSync(join(root, 'latest'), 'rl-000009\n');
    assert.throws(() => loadTrainingCheckpoint(root, 64), /rl-000009: the folder is missing/);
    rmSync(join(root, 'latest'));
    assert.throws(() => loadTrainingCheckpoint(root, 64), /has no latest checkpoint/);

    // a model checkpoint is not one to resume from
    rmSync(root, { recursive: true, force: true });
    saveCheckpoint(join(root, 'rl-000001'), cfg, layout, initParams(cfg, layout, 1));
    writeFileSync(join(root, 'latest'), 'rl-000001');
    assert.throws(() => loadTrainingCheckpoint(root, 64), /a model checkpoint, not one to resume from/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Makes the k-th file-system call (of those a save makes) throw, as if the process died there. */
function crashAtCall(k: number): () => number {
  const names = ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'rmSync', 'mkdirSync'] as const;
  const saved = names.map((n) => [n, (fs as any)[n]] as const);
  let calls = 0;
  for (const [n, f] of saved) {
    (fs as any)[n] = (...args: unknown[]) => {
      if (++calls === k) throw new Error(`simulated crash at file-system call ${k} (${n})`);
      return f(...args);
    };
  }
  syncBuiltinESMExports();
  return () => {
    for (const [n, f] of saved) (fs as any)[n] = f;
    syncBuiltinESMExports();
    return calls;
  };
}

t('a save killed at any file-system call leaves a loadable checkpoint: the previous one, or the new one once complete', () => {
  const root = mkdtempSync(join(tmpdir(), 'forkgrad-tck-'));
  const a = trainingCheckpoint(2), b = trainingCheckpoint(4);
  try {
    let crashes = 0;
    for (let k = 1; ; k++) {
      rmSync(root, { recursive: true, force: true });
      saveTrainingCheckpoint(root, a);
      const restore = crashAtCall(k);
      let crashed = false;
      try {
        saveTrainingCheckpoint(root, b);
      } catch (e) {
        assert.match((e as Error).message, /simulated crash/);
        crashed = true;
      } finally {
        restore();
      }
      if (!crashed) break; // k is past the save's last call: every point has been tried
      crashes++;
      const got = contents(loadTrainingCheckpoint(root, 64));
      const which = got.state.step === 2 ? a : b;
      assert.equal(got, contents(which), `crash at call ${k}: a loadable but inconsistent checkpoint`);
      // the next save after a crash works and is what loads
      saveTrainingCheckpoint(root, trainingCheckpoint(6));
      assert.is(loadTrainingCheckpoint(root, 64).state.step, 6, `crash at call ${k}: the save after it`);
      assert.not.ok(readdirSync(root).some((e) => e.includes('.partial-')), `crash at call ${k}: partial folders are cleaned up`);
    }
    assert.ok(crashes >= 20, `a save made only ${crashes} file-system calls; the test hooks miss some`);
    assert.ok(existsSync(root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

t.run();
