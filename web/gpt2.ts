// The GPT-2 entropy page: a Hugging Face GPT-2 folder in (drop or pick), a text shaded by each
// token's entropy out, forking tokens underlined, alternatives on hover. Loading, tokenizing and
// scoring are model/hf/'s, the code scripts/entropy.ts runs in Node.
import './style.css';
import { describeAdapter, getGpu, type Gpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { decodeGpt2Checkpoint, parseGpt2Config } from '../model/hf/checkpoint.js';
import { tokenEntropies, type EntropyResult } from '../model/hf/entropy.js';
import { bufferLimit, InferenceGPT, planInference } from '../model/hf/inference.js';
import { Gpt2Tokenizer } from '../model/hf/tokenizer.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { wireFolderInput } from './checkpoint-files.js';
import { entropyColor } from './tokens.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const NEEDED = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt'];

function showError(e: unknown): void {
  $('error-text').textContent = e instanceof Error ? e.message : String(e);
  $('error').hidden = false;
}
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

let gpu: Gpu | undefined;
try {
  gpu = await getGpu();
} catch (e) {
  $('adapter').textContent = 'No WebGPU adapter: this page needs one (Chrome or Edge 113+; chrome://gpu tells why not).';
  document.body.dataset.state = 'no-webgpu';
  showError(e);
}
if (gpu) {
  const rt = new Runtime(gpu);
  $('adapter').textContent = `Adapter: ${describeAdapter(gpu.adapter)} · largest buffer ${(bufferLimit(rt) / 2 ** 20).toFixed(0)} MiB`;
  $<HTMLInputElement>('threshold').value = String(DEFAULT_RL.forkThreshold);
  let loaded: { model: InferenceGPT; tok: Gpt2Tokenizer; name: string } | null = null;
  document.body.dataset.state = 'idle';

  async function load(files: File[]): Promise<void> {
    $('error').hidden = true;
    document.body.dataset.state = 'loading';
    try {
      const byName = new Map(files.map((f) => [f.name, f]));
      const missing = NEEDED.filter((n) => !byName.has(n));
      if (missing.length) throw new Error(`missing ${missing.join(', ')}: a GPT-2 folder saved by Hugging Face has ${NEEDED.join(', ')}`);
      const configText = await byName.get('config.json')!.text();
      const cfg = parseGpt2Config(configText);
      const tok = new Gpt2Tokenizer(await byName.get('vocab.json')!.text(), await byName.get('merges.txt')!.text());
      planInference(cfg, bufferLimit(rt)); // too big for this adapter: said before reading the weights
      $('status').textContent = `Reading ${(byName.get('model.safetensors')!.size / 2 ** 20).toFixed(0)} MiB of weights…`;
      const ck = decodeGpt2Checkpoint(configText, new Uint8Array(await byName.get('model.safetensors')!.arrayBuffer()));
      loaded?.model.destroy();
      loaded = null;
      const model = new InferenceGPT(rt, ck.config, ck.tensors);
      const name = (files[0] as any).webkitRelativePath?.split('/')[0] || 'checkpoint';
      loaded = { model, tok, name };
      const c = ck.config;
      $('status').textContent = `Loaded ${name}: GPT-2, ${c.nLayer} layers, d ${c.dModel}, ${c.nHead} heads, context ${c.contextLength}, ` +
        `vocabulary ${c.vocabSize}, ${ck.dtype}${ck.ignored.length ? `, ${ck.ignored.length} legacy attention-mask buffers ignored` : ''}.`;
      $('status').className = 'small ok';
      $<HTMLButtonElement>('score').disabled = false;
      document.body.dataset.state = 'loaded';
      await score();
    } catch (e) {
      $('status').textContent = `Not loaded: ${(e as Error).message}`;
      $('status').className = 'small bad';
      document.body.dataset.state = loaded ? 'loaded' : 'idle';
    }
  }

  async function score(): Promise<void> {
    if (!loaded) return;
    $('error').hidden = true;
    const { model, tok } = loaded;
    document.body.dataset.state = 'scoring';
    $<HTMLButtonElement>('score').disabled = true;
    try {
      const threshold = Number($<HTMLInputElement>('threshold').value), top = Number($<HTMLInputElement>('top').value);
      if (!(threshold >= 0)) throw new Error(`the forking threshold must be a number ≥ 0 (nats), got "${$<HTMLInputElement>('threshold').value}"`);
      const r = await tokenEntropies(model, tok, $<HTMLTextAreaElement>('text').value, { threshold, top });
      render(r, Math.log(model.cfg.vocabSize), threshold);
      document.body.dataset.state = 'scored';
    } catch (e) {
      showError(e);
      document.body.dataset.state = 'loaded';
    } finally {
      $<HTMLButtonElement>('score').disabled = false;
    }
  }

  function render(r: EntropyResult, maxNats: number, threshold: number): void {
    const spans = r.tokens.map((t) => {
      const s = document.createElement('span');
      s.className = `tok${t.forking ? ' fork' : ''}`;
      s.textContent = t.token;
      s.style.background = entropyColor(t.entropyNats, maxNats);
      s.dataset.nats = String(t.entropyNats);
      s.dataset.id = String(t.id);
      const alts = t.top?.map((a) => `${JSON.stringify(a.token)} ${a.p.toFixed(3)}`).join('\n  ');
      s.title = `${JSON.stringify(t.token)}: H = ${t.entropyNats.toFixed(3)} nats (${t.entropyBits.toFixed(3)} bits)${t.forking ? ', forking' : ''}` +
        (alts ? `\nlikeliest here:\n  ${alts}` : '');
      return s;
    });
    $('shaded').replaceChildren(...spans);
    const n = r.tokens.length, forking = r.tokens.filter((t) => t.forking).length;
    $('summary').textContent = `${n} tokens, mean entropy ${r.meanNats.toFixed(3)} nats (${(r.meanNats / Math.LN2).toFixed(3)} bits; uniform would be ln V = ${maxNats.toFixed(2)}); ` +
      `forking (entropy ≥ ${threshold} nats): ${forking} of ${n}; ${r.windows} forward pass${r.windows > 1 ? 'es' : ''}, ${(n / (r.ms / 1000)).toFixed(1)} tokens/s.`;
  }

  wireFolderInput($('drop'), [$<HTMLInputElement>('gpt2_dir'), $<HTMLInputElement>('gpt2_files')], load);
  $('score').onclick = () => score();
}
