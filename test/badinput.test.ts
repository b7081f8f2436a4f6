// Bad input to train/run.ts, table-driven: every bad flag or configuration gets exactly one line
// on stderr that starts "error:" and names the problem, exit code 1, and nothing written — no run
// folder, no cache folder, no change to a folder it was pointed at. Each case runs the CLI as a
// user would (a child process; a few at a time).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { saveCheckpoint } from '../train/files.js';
import { VOCAB_SIZE } from '../verify/index.js';

const t = suite('badinput');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-bad-'));
t.after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- fixtures: folders the bad flags point at
const fx = (name: string) => join(tmp, 'fixtures', name);
const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: 32, vocabSize: VOCAB_SIZE, tiedHead: true };
const layout = paramLayout(cfg, 64);
saveCheckpoint(fx('truncated'), cfg, layout, initParams(cfg, layout, 1));
const st = readFileSync(join(fx('truncated'), 'model.safetensors'));
writeFileSync(join(fx('truncated'), 'model.safetensors'), st.subarray(0, st.length >> 1));
const shortCtx = { ...cfg, contextLength: 6 };
saveCheckpoint(fx('short-context'), shortCtx, paramLayout(shortCtx, 64), initParams(shortCtx, paramLayout(shortCtx, 64), 1));
mkdirSync(fx('empty'), { recursive: true });
mkdirSync(fx('no-checkpoints'), { recursive: true });
writeFileSync(join(fx('no-checkpoints'), 'run.json'), JSON.stringify({ options: { model: cfg, rl: {}, sft: {}, task: { task: 'addition' } } }));
writeFileSync(join(fx('no-checkpoints'), 'metrics.jsonl'), '{"stage":"sft","step":1}\n');
mkdirSync(fx('existing-run'), { recursive: true });
writeFileSync(join(fx('existing-run'), 'metrics.jsonl'), '{"stage":"sft","step":1}\n');

/** [flags, what the one line must say]; `own: false` when the case names the run folder itself. */
const CASES: { args: string[]; error: RegExp; own?: false }[] = [
  // negative, zero, NaN, wrong type
  { args: ['--max_steps', '-1'], error: /--max_steps must be ≥ 0, got -1/ },
  { args: ['--seed', '-3'], error: /--seed must be ≥ 0, got -3/ },
  { args: ['--sft_batch_size', '0'], error: /--sft_batch_size must be ≥ 1, got 0/ },
  { args: ['--num_generations', '1'], error: /--num_generations must be ≥ 2, got 1/ },
  { args: ['--learning_rate', '0'], error: /--learning_rate must be a positive number, got "0"/ },
  { args: ['--temperature', '-1'], error: /--temperature must be a positive number, got "-1"/ },
  { args: ['--learning_rate', 'NaN'], error: /--learning_rate must be a positive number, got "NaN"/ },
  { args: ['--num_prompts', 'NaN'], error: /--num_prompts must be an integer, got "NaN"/ },
  { args: ['--n_layer', 'two'], error: /--n_layer must be an integer, got "two"/ },
  { args: ['--max_steps', '2.5'], error: /--max_steps must be an integer, got "2\.5"/ },
  { args: ['--save_steps', '-2'], error: /--save_steps must be ≥ 0, got -2/ },
  { args: ['--nonfinite_patience', '0'], error: /--nonfinite_patience must be ≥ 1, got 0/ },
  { args: ['--stop_at', 'rl'], error: /--stop_at must be sft:N or rl:N \(a stage and a step\), got "rl"/ },
  // unknown task, flag or argument
  { args: ['--task', 'division'], error: /argument 'division' is invalid\. Allowed choices are addition, multiplication, countdown/ },
  { args: ['--lr', '3'], error: /unknown option '--lr'/ },
  { args: ['addition'], error: /too many arguments/ },
  // ranges: ρ outside (0, 1], clip range, digits, heads, pass@k
  { args: ['--top_entropy_quantile', '0'], error: /--top_entropy_quantile must be in \(0, 1\], got "0"/ },
  { args: ['--top_entropy_quantile', '1.5'], error: /--top_entropy_quantile must be in \(0, 1\], got "1\.5"/ },
  { args: ['--top_entropy_quantile', '-0.2'], error: /--top_entropy_quantile must be in \(0, 1\], got "-0\.2"/ },
  { args: ['--label_noise', '1.5'], error: /--label_noise must be in \[0, 1\], got "1\.5"/ },
  { args: ['--epsilon', '2'], error: /--epsilon must be in \[0, 1\], got "2"/ },
  { args: ['--digits', '500'], error: /digits must be an integer in 1\.\.200, got 500/ },
  { args: ['--n_head', '5'], error: /--d_model 64 is not divisible by --n_head 5; choose --n_head among 1, 2, 4, 8, 16, 32, 64 or make --d_model a multiple of 5/ },
  { args: ['--pass_k_samples', '10'], error: /--pass_k_samples 10 is below 64/ },
  // context shorter than the task needs: from the flags, and from a checkpoint
  { args: ['--context_length', '8'], error: /--context_length 8 is shorter than the \d+ positions addition needs; pass --context_length \d+ or more/ },
  { args: ['--checkpoint', fx('short-context')], error: /the checkpoint's context of 6 positions is shorter than the \d+ addition needs/ },
  // missing, empty or damaged folders
  { args: ['--checkpoint', join(tmp, 'nowhere')], error: /--checkpoint .*nowhere does not exist; pass a folder written by train\/run\.ts/ },
  { args: ['--checkpoint', fx('empty')], error: /checkpoint folder .*empty has no model\.safetensors/ },
  { args: ['--checkpoint', fx('truncated')], error: /cannot load checkpoint .*truncated: .*model\.safetensors is \d+ bytes but the manifest says \d+: the file is truncated/ },
  { args: ['--resume', join(tmp, 'nowhere')], error: /--resume .*nowhere: the folder does not exist/, own: false },
  { args: ['--resume', fx('empty')], error: /--resume .*empty: it has no run\.json/, own: false },
  { args: ['--resume', fx('no-checkpoints')], error: /checkpoints has no latest checkpoint; the run saved none \(see --save_steps\)/, own: false },
  { args: ['--resume', fx('no-checkpoints'), '--learning_rate', '1'], error: /--resume continues a run with the settings saved in its run\.json; --learning_rate cannot change them/, own: false },
  { args: ['--output_dir', fx('existing-run')], error: /--output_dir .*existing-run already holds a run; continue it with --resume/, own: false },
  // a configuration needing a buffer over the adapter's limit, caught before training
  // --task countdown with its own defaults (context 33) gets past every flag and context check to this one
  { args: ['--task', 'countdown', '--sft_batch_size', '5000000'], error: /the SFT logits \[160000000, 22\] would need/ },
  { args: ['--sft_batch_size', '5000000'], error: /the SFT logits \[65000000, 22\] would need 5\.3 GiB \(5720000000 bytes\), over this adapter's limit of .* per buffer; use a smaller batch or model/ },
];

/** Dawn's notice at device creation, printed on every run by the driver layer, not by forkgrad. */
const DAWN_NOTICE = /^Warning: max\w+ artificially reduced/;

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'train/run.ts', ...args], { cwd: root, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Every file under a folder with its size and mtime: equal listings mean nothing was written. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort().map((f) => {
    const s = statSync(join(dir, f));
    return `${f} ${s.size} ${s.mtimeMs}`;
  });
}

t('every bad flag or configuration: one error line, exit 1, nothing written', async () => {
  const before = listing(join(tmp, 'fixtures'));
  const results = new Array(CASES.length);
  let next = 0;
  const worker = async () => {
    while (next < CASES.length) {
      const i = next++;
      const c = CASES[i];
      const out = join(tmp, `case-${i}`, 'run'), cache = join(tmp, `case-${i}`, 'cache');
      results[i] = await runCli(c.own === false ? c.args : [...c.args, '--output_dir', out, '--cache_dir', cache]);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  CASES.forEach((c, i) => {
    const r = results[i], what = c.args.join(' ');
    const lines = r.err.split('\n').filter((l: string) => l.trim() !== '' && !DAWN_NOTICE.test(l));
    assert.is(r.code, 1, `${what}: exit code (stderr: ${r.err})`);
    assert.is(lines.length, 1, `${what}: one line on stderr, got ${JSON.stringify(lines)}`);
    assert.ok(lines[0].startsWith('error: '), `${what}: ${lines[0]}`);
    assert.match(lines[0], c.error, what);
    assert.not.ok(existsSync(join(tmp, `case-${i}`)), `${what}: wrote ${listing(join(tmp, `case-${i}`)).join(', ')}`);
  });
  assert.equal(listing(join(tmp, 'fixtures')), before, 'the folders the flags pointed at are unchanged');
});

t.run();
