// The page in a real browser: build web/ with Vite, serve it on 127.0.0.1, open it in Debian's
// headless Chromium (SwiftShader WebGPU) and train as a person would: fill the form with a tiny
// run, press Start, and check that the adapter was acquired, SFT and RL steps ran, the reward chart
// and the token view updated, and the downloaded checkpoint is one Node reads. Then a checkpoint
// written in Node is loaded through the file picker and trained on, and a browser without WebGPU
// gets the message saying what is missing. Any page error, or a request to anywhere but the page's
// own server (the build must work offline), fails the test. The screenshot of the
// dashboard lands in test-results/browser.png.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCheckpoint, encodeCheckpoint } from '../model/checkpoint.js';
import { initParams, paramLayout } from '../model/config.js';
import { DEFAULT_SFT_MODEL } from '../train/defaults.js';
import { buildAndServe, launchChromium, type Served } from './chromium.js';
import { GPT2_VOCAB, referenceRows, tiktokenGpt2, writeGpt2Folder } from '../scripts/gpt2-fixture.js';

const t = suite('browser page (headless Chromium)');
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));

// A run small enough for SwiftShader on a loaded 2-core machine.
const TINY: Record<string, string> = {
  sft_steps: '4', sft_batch: '16', sft_eval_every: '2', eval_problems: '16',
  rl_steps: '3', prompts: '4', samples: '4', rl_eval_every: '2',
};

let served: Served | null = null;
let browser: Awaited<ReturnType<typeof launchChromium>> | null = null;
const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-browser-test-'));

t.before(async () => {
  served = await buildAndServe();
  browser = await launchChromium();
});
t.after(async () => {
  await browser?.close();
  await served?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A page that records every page error, console error and request to another server. */
async function open(path = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console error: ${m.text()}`); });
  // offline: everything the page needs comes from its own static server
  page.on('request', (r) => { if (!/^(data|blob):/.test(r.url()) && !r.url().startsWith(served!.url)) errors.push(`request off the page's server: ${r.url()}`); });
  await page.goto(served!.url + path);
  return { page, errors };
}

const state = (page: Page) => page.evaluate(() => document.body.dataset.state);
const points = (page: Page, id: string) => page.evaluate((id) => Number(document.getElementById(`chart-${id}`)?.dataset.points ?? 0), id);

/** Waits for the body's state to be one of `want`; a failed run or an error banner ends the wait with its message. */
async function waitState(page: Page, want: string[], timeout: number): Promise<void> {
  await page.waitForFunction((want) => {
    const s = document.body.dataset.state ?? '';
    return want.includes(s) || s === 'failed' || s === 'no-webgpu' || !document.getElementById('error')!.hidden;
  }, want, { timeout, polling: 200 });
  const s = await state(page);
  if (!want.includes(s!)) {
    const banner = await page.evaluate(() => `${document.getElementById('error-text')?.textContent} ${document.getElementById('nogpu')?.textContent}`);
    assert.unreachable(`page state "${s}" while waiting for ${want.join('/')}: ${banner}`);
  }
}

t('SFT then RL in the page: adapter, steps, reward chart, token view, checkpoint download', async () => {
  const { page, errors } = await open();
  await waitState(page, ['idle'], 60_000);
  const adapter = await page.textContent('#adapter');
  assert.match(adapter!, /^Adapter: .*\(browser/, 'a WebGPU adapter was acquired in the browser');

  // A bad setting is named on the page and starts nothing.
  const rho = await page.inputValue('#rho');
  await page.fill('#rho', '0');
  await page.click('#start');
  assert.match(await page.textContent('#error-text') ?? '', /^"ρ \(top-entropy share\)" must be in \(0, 1\], got "0"$/);
  assert.is(await state(page), 'idle');
  await page.fill('#rho', rho);

  for (const [id, v] of Object.entries(TINY)) await page.fill(`#${id}`, v);
  await page.check('#warm_train'); // the default is RL from the bundled base (tested below)
  await page.click('#start');
  await waitState(page, ['sft', 'rl', 'done'], 60_000);

  // The reward series must grow while RL runs: read it after the first step, then at the end.
  await page.waitForFunction(() => Number(document.getElementById('chart-rl-reward')?.dataset.points ?? 0) > 0 || document.body.dataset.state === 'failed', null, { timeout: 150_000, polling: 200 });
  const early = await points(page, 'rl-reward');
  await waitState(page, ['done'], 150_000);
  const late = await points(page, 'rl-reward');
  assert.ok(early > 0 && late > early, `reward chart points grew during RL (${early} → ${late})`);

  const dash = await page.evaluate(() => ({
    sftLoss: Number(document.getElementById('chart-sft-loss')?.dataset.points),
    mounted: Array.from(document.querySelectorAll('.chart')).filter((c) => c.querySelector('.uplot')).map((c) => c.id),
    steps: Array.from(document.querySelectorAll('.stat')).map((s) => s.textContent),
    rollouts: document.querySelectorAll('#rollouts .rollout').length,
    verdicts: Array.from(document.querySelectorAll('#rollouts .verdict')).map((v) => v.textContent),
    tokens: Array.from(document.querySelectorAll('#rollouts .tok')).map((e) => (e as HTMLElement).style.background),
    texts: Array.from(document.querySelectorAll('#rollouts .tok')).map((e) => e.textContent ?? ''),
    forks: document.querySelectorAll('#rollouts .tok.fork').length,
  }));
  assert.is(dash.sftLoss, 4, 'one SFT loss point per step');
  assert.ok(dash.steps.includes('4 / 4SFT step') && dash.steps.includes('3 / 3RL step'), `step counters: ${dash.steps.join(' | ')}`);
  for (const id of ['rl-reward', 'rl-loss', 'entropy-histogram', 'flops', 'gpu-time', 'sft-loss', 'sft-accuracy']) {
    assert.ok(dash.mounted.includes(`chart-${id}`), `${id} chart drawn by uPlot`);
  }
  assert.ok(dash.rollouts >= 8, `token view shows rollouts (${dash.rollouts})`);
  assert.ok(dash.verdicts.every((v) => v === '✓' || v === '✗'), 'a verdict per sample');
  assert.ok(dash.tokens.length > 0 && dash.tokens.every((b) => b.startsWith('rgb')), 'every token shaded by its entropy');
  assert.ok(dash.texts.every((x) => [...x].length === 1 || ['<pad>', '<bos>', '<eos>'].includes(x)), `one span per token: ${dash.texts.join(' ')}`);
  assert.ok(dash.forks > 0, 'forking (trained-on) tokens marked');

  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'browser.png'), fullPage: true });

  // The checkpoint the page downloads is one Node's loader reads.
  await page.click('#download');
  const saved: Buffer[] = [];
  for (const name of ['model.safetensors', 'config.json']) {
    const dl = page.waitForEvent('download');
    await page.click(`#downloads a[download="${name}"]`);
    const file = join(tmp, name);
    await (await dl).saveAs(file);
    saved.push(readFileSync(file));
  }
  const [st, cfg] = saved;
  const ck = decodeCheckpoint(new Uint8Array(st), cfg.toString('utf8'));
  assert.equal(ck.config, DEFAULT_SFT_MODEL, 'the default model config');
  assert.is(ck.info.rlSteps, 3);
  assert.ok(ck.params.every(Number.isFinite), 'finite parameters');
  assert.equal(errors, [], 'no page errors');
  await page.close();
});

/** The checkpoint status line once it differs from `before` (files are read asynchronously). */
async function ckptStatus(page: Page, before: string): Promise<string> {
  await page.waitForFunction((b) => (document.getElementById('ckpt_status')?.textContent ?? '') !== b, before, { timeout: 10_000 });
  return (await page.textContent('#ckpt_status')) ?? '';
}

t('a checkpoint made in Node loads through the file picker; RL pauses, changes backward and resumes', async () => {
  const cfg = DEFAULT_SFT_MODEL;
  const params = initParams(cfg, paramLayout(cfg, 64), 7);
  const { safetensors, config } = encodeCheckpoint(cfg, paramLayout(cfg, 64), params, { task: { task: 'addition', digits: 2 }, stage: 'sft', heldoutAccuracy: 0.25 });
  const dir = join(tmp, 'node-checkpoint');
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.safetensors'), safetensors);
  writeFileSync(join(dir, 'config.json'), config);

  const { page, errors } = await open();
  await waitState(page, ['idle'], 60_000);
  await page.setInputFiles('#ckpt_files', [join(dir, 'config.json')]);
  let status = await ckptStatus(page, '');
  assert.match(status, /^Not loaded: missing model\.safetensors/, 'one file alone is refused by name');
  await page.setInputFiles('#ckpt_files', [join(dir, 'model.safetensors'), join(dir, 'config.json')]);
  status = await ckptStatus(page, status);
  assert.match(status, /^Loaded .*2 layers.*trained on addition, held-out accuracy 25\.0%/, status);
  assert.is(await page.inputValue('#task'), 'addition', 'the task follows the checkpoint');
  assert.is(await page.inputValue('#digits'), '2');
  assert.ok(await page.isChecked('#warm_checkpoint'));
  for (const [id, v] of Object.entries({ ...TINY, rl_steps: '4' })) await page.fill(`#${id}`, v);
  await page.click('#start');
  // Pause after the first RL step, switch to the fork-only backward, resume to the end.
  await page.waitForFunction(() => Number(document.getElementById('chart-rl-loss')?.dataset.points ?? 0) >= 1 || document.body.dataset.state === 'failed', null, { timeout: 120_000, polling: 100 });
  await page.click('#pause');
  await waitState(page, ['paused'], 120_000);
  const pausedAt = await points(page, 'rl-loss');
  assert.ok(pausedAt >= 1 && pausedAt < 4, `paused after step ${pausedAt}`);
  assert.is(await page.textContent('#start'), 'Resume');
  assert.ok(await page.isDisabled('#n_layer') && await page.isEnabled('#rho'), 'model fixed, RL settings open while paused');
  await page.selectOption('#backward', 'forkOnly');
  await page.click('#start');
  await waitState(page, ['done'], 120_000);
  assert.is(await points(page, 'rl-loss'), 4, 'RL went on to step 4');
  assert.match(await page.textContent('#progress-label') ?? '', /Model: checkpoint/);
  assert.is(await points(page, 'sft-loss'), 0, 'no SFT ran');
  assert.ok(await page.locator('#rollouts .rollout').count() > 0, 'rollouts shown');
  assert.equal(errors, [], 'no page errors');
  await page.close();
});

t('RL from the bundled SFT base is the default and starts in one click, with no SFT', async () => {
  const { page, errors } = await open();
  await waitState(page, ['idle'], 60_000);
  assert.ok(await page.isChecked('#warm_bundled'), 'the bundled base is the first choice');
  // RL settings small enough for SwiftShader; the warm start and the task are the defaults
  for (const [id, v] of Object.entries({ rl_steps: '2', prompts: '4', samples: '4', rl_eval_every: '2', eval_problems: '32' })) await page.fill(`#${id}`, v);
  await page.click('#start');
  await waitState(page, ['done'], 150_000);
  assert.is(await points(page, 'sft-loss'), 0, 'no SFT ran');
  assert.is(await points(page, 'rl-reward'), 2, 'both RL steps ran');
  assert.match(await page.textContent('#progress-label') ?? '', /Model: checkpoint bundled SFT base \(2000 steps, commit 7c1f267\)/);
  // the base is the trained one (greedy held-out accuracy 98% on 1000 problems in Node), not an init
  const acc = await page.evaluate(() => Array.from(document.querySelectorAll('.stat')).find((s) => s.textContent?.endsWith('held-out accuracy'))?.querySelector('.v')?.textContent ?? '');
  assert.ok(parseFloat(acc) >= 75, `held-out accuracy ${acc}`);
  assert.equal(errors, [], 'no page errors');
  await page.close();
});

t('GPT-2 page: a dropped Hugging Face folder shades a text by token entropy, forking tokens marked, alternatives on hover', async () => {
  const dir = join(tmp, 'gpt2');
  const fx = writeGpt2Folder(dir, { nLayer: 1, nHead: 2, dModel: 32, contextLength: 32, dtype: 'F16', prefix: 'transformer.', legacyMasks: true, seed: 5, wteScale: 15, blockScale: 3 });
  const text = "The solution to this problem requires careful consideration. Isn't it? 👍";
  const ids = [GPT2_VOCAB - 1, ...tiktokenGpt2().encode(text)];
  const ref = referenceRows(fx, ids);
  const rows = ids.slice(1).map((_, i) => ref(i));
  const sorted = rows.map((r) => r.H).sort((a, b) => a - b);
  const threshold = (sorted[Math.floor(sorted.length / 2) - 1] + sorted[Math.floor(sorted.length / 2)]) / 2; // both kinds occur

  const { page, errors } = await open('gpt2.html');
  await page.waitForFunction(() => ['idle', 'no-webgpu'].includes(document.body.dataset.state ?? ''), null, { timeout: 60_000 });
  assert.is(await page.evaluate(() => document.body.dataset.state), 'idle', await page.textContent('#error-text') ?? '');
  await page.fill('#text', text);
  await page.fill('#threshold', String(threshold));
  // Drop the folder's files on the drop zone: real File objects (put in a scratch file input by the
  // test harness) in a DataTransfer, dispatched as the browser does for a drag and drop.
  await page.evaluate(() => document.body.append(Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'scratch-files' })));
  await page.setInputFiles('#scratch-files', ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'].map((f) => join(dir, f)));
  await page.evaluate(() => {
    const dt = new DataTransfer();
    for (const f of Array.from((document.getElementById('scratch-files') as HTMLInputElement).files!)) dt.items.add(f);
    document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => ['scored', 'idle'].includes(document.body.dataset.state ?? '') || !document.getElementById('error')!.hidden, null, { timeout: 150_000, polling: 200 });
  assert.match(await page.textContent('#status') ?? '', /^Loaded .*GPT-2, 1 layers, d 32, 2 heads, context 32, vocabulary 50257, F16, 2 legacy attention-mask buffers ignored/);
  const shown = await page.evaluate(() => Array.from(document.querySelectorAll('#shaded .tok')).map((e) => ({
    text: e.textContent ?? '', nats: Number((e as HTMLElement).dataset.nats), id: Number((e as HTMLElement).dataset.id),
    fork: e.classList.contains('fork'), bg: (e as HTMLElement).style.background, title: (e as HTMLElement).title,
  })));
  assert.equal(shown.map((s) => s.id), ids.slice(1), 'the page tokenizes as GPT-2 does');
  assert.is(shown.map((s) => s.text).join(''), text);
  shown.forEach((s, i) => {
    assert.ok(Math.abs(s.nats - rows[i].H) <= rows[i].bound, `token ${i}: ${s.nats} vs float64 ${rows[i].H} ± ${rows[i].bound}`);
    assert.is(s.fork, s.nats >= threshold);
    assert.ok(s.bg.startsWith('rgb'), 'shaded');
    assert.match(s.title, /H = [\d.]+ nats \([\d.]+ bits\)/);
    if (s.fork) assert.is(s.title.split('\n').length, 2 + 5, `five alternatives on hover: ${s.title}`);
  });
  const forks = shown.filter((s) => s.fork).length;
  assert.ok(forks > 0 && forks < shown.length, `${forks} forking of ${shown.length}`);
  assert.match(await page.textContent('#summary') ?? '', new RegExp(`^${shown.length} tokens, mean entropy .* forking .*: ${forks} of ${shown.length}; 1 forward pass, [\\d.]+ tokens/s`));
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, 'gpt2.png'), fullPage: true });
  assert.equal(errors, [], 'no page errors');
  await page.close();
});

t('without WebGPU the page says what is missing and how to enable it', async () => {
  const page = await browser!.context.newPage();
  await page.addInitScript(() => { delete (Navigator.prototype as any).gpu; });
  await page.goto(served!.url);
  await page.waitForFunction(() => document.body.dataset.state === 'no-webgpu', null, { timeout: 30_000 });
  const msg = await page.textContent('#nogpu');
  assert.match(msg!, /navigator\.gpu is missing.*Chrome or Edge 113.*enable-unsafe-webgpu/);
  assert.ok(await page.isDisabled('#start'), 'Start stays disabled');
  await page.close();
});

t.run();
