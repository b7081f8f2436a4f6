// The dashboard: wires the form, the session (web/session.ts) and the views. Only this file, the
// storage helpers and the device know they run in a browser; the training is train/'s code.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import uPlot from 'uplot';
import { describeAdapter, getGpu, type Gpu } from '../kernels/device.js';
import { Runtime } from '../kernels/runtime.js';
import { paramCount } from '../model/config.js';
import {
  backwardSaved, drawChart, entropyHistogramChart, fitOnResize, fixed, flopsChart, gpuTimeChart, pct, rlLossChart, rlRewardChart,
  sftAccuracyChart, sftLossChart, si, type Chart, type RunData,
} from '../train/charts.js';
import type { Checkpoint } from '../model/checkpoint.js';
import { bundledBase } from './bundled.js';
import { checkFitsTask, checkpointDownloads, checkpointTask, readCheckpoint, wireFolderInput } from './checkpoint-files.js';
import { Session, type WarmSource } from './session.js';
import { fillDefaults, MODEL_FIELDS, readSettings, setTask, showTaskFields } from './settings.js';
import { renderLegend, renderRollouts } from './tokens.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const button = (id: string) => $<HTMLButtonElement>(id);

// ---- errors: shown on the page, never swallowed

/** Shows an error in the banner; `log` also puts it (with its stack) on the console, for bugs and GPU failures. */
function showError(e: unknown, log = true): void {
  const msg = e instanceof Error ? e.message : String(e);
  if (log) console.error(e);
  $('error-text').textContent = msg;
  $('error').hidden = false;
}
$('error-close').onclick = () => ($('error').hidden = true);
window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

// ---- the device

/** Why this browser cannot run WebGPU and what to do about it, or null when it can try. */
function webgpuMissing(): string | null {
  if (!window.isSecureContext) {
    return 'WebGPU is only available to secure pages: open this page over https://, or from http://localhost or http://127.0.0.1 (e.g. `npm run web`).';
  }
  if (!('gpu' in navigator)) {
    return 'This browser has no WebGPU (navigator.gpu is missing). Use Chrome or Edge 113 or newer; on Linux, or where it is switched off, ' +
      'enable chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan on Linux), or start Chrome with --enable-unsafe-webgpu.';
  }
  return null;
}

async function acquire(): Promise<Gpu | null> {
  const missing = webgpuMissing();
  let why = missing;
  if (!missing) {
    try {
      return await getGpu();
    } catch (e) {
      why = `WebGPU is present but gave no device: ${(e as Error).message} chrome://gpu shows whether the GPU is blocklisted.`;
    }
  }
  $('nogpu').textContent = why;
  $('nogpu').hidden = false;
  $('adapter').textContent = 'No WebGPU adapter: training is not possible in this browser.';
  document.body.dataset.state = 'no-webgpu';
  return null;
}

const gpu = await acquire();
if (gpu) main(gpu);

function main(gpu: Gpu): void {
  const rt = new Runtime(gpu);
  const a = gpu.adapter;
  $('adapter').textContent = `Adapter: ${describeAdapter(a)} · timing: ${rt.timingSource} · features: ${a.features.join(', ') || 'none'}`;
  if (a.isSoftware) {
    $('adapter').append(document.createElement('br'), 'This adapter runs on the CPU, so the default run (thousands of SFT steps) takes long here: ' +
      'try 300 SFT steps of batch 64 and 16 prompts per RL step, or load an SFT checkpoint trained in Node (runs/<run>/sft).');
  }
  gpu.device.lost.then((info) => {
    if (info.reason !== 'destroyed') showError(`the GPU device was lost (${info.message || info.reason}); reload the page to start again`);
  });

  fillDefaults();
  $('task').addEventListener('change', showTaskFields);
  let checkpoint: (Checkpoint & { name: string }) | null = null;
  const session = new Session(rt, () => render());

  // ---- checkpoint in

  async function load(files: File[]): Promise<void> {
    try {
      const ck = await readCheckpoint(files, rt.viewAlign);
      const task = checkpointTask(ck);
      if (task) setTask(task);
      checkpoint = ck;
      $<HTMLInputElement>('warm_checkpoint').checked = true;
      const c = ck.config, acc = ck.info.heldoutAccuracy;
      $('ckpt_status').textContent = `Loaded ${ck.name}: ${c.nLayer} layers, d_model ${c.dModel}, ${c.nHead} heads, ${paramCount(c)} parameters` +
        `${task ? `; trained on ${task.task}` : ''}${typeof acc === 'number' ? `, held-out accuracy ${pct(acc)}` : ''}.`;
      $('ckpt_status').className = 'small ok';
    } catch (e) {
      $('ckpt_status').textContent = `Not loaded: ${(e as Error).message}`;
      $('ckpt_status').className = 'small bad';
    }
    render();
  }
  wireFolderInput($('drop'), [$<HTMLInputElement>('ckpt_files'), $<HTMLInputElement>('ckpt_dir')], load);

  // ---- start / pause / reset

  button('start').onclick = async () => {
    let warm: WarmSource = { kind: 'train' };
    let s;
    try { // the user's settings: a bad one is named in the banner and nothing starts
      s = readSettings();
      if (!session.model && $<HTMLInputElement>('warm_bundled').checked) {
        const base = await bundledBase(rt.viewAlign), task = checkpointTask(base)!;
        if (JSON.stringify(task) !== JSON.stringify(s.task)) throw new Error(`the bundled SFT base was trained on ${task.task}${'digits' in task ? ` with ${task.digits} digits` : ''}; choose that task, or another warm start`);
        warm = { kind: 'checkpoint', checkpoint: base, name: base.name };
      } else if (!session.model && $<HTMLInputElement>('warm_checkpoint').checked) {
        if (!checkpoint) throw new Error('no checkpoint loaded: drop a checkpoint folder or choose its two files, or pick the SFT warm start');
        checkFitsTask(checkpoint, s.task);
        warm = { kind: 'checkpoint', checkpoint, name: checkpoint.name };
      }
    } catch (e) {
      showError(e, false);
      return;
    }
    $('error').hidden = true;
    try {
      await session.start(s, warm);
    } catch (e) {
      console.error(e);
      showError(`training stopped: ${session.error ?? (e as Error).message}`, false);
    }
  };
  button('pause').onclick = () => session.pause();
  button('reset').onclick = () => session.reset().catch(showError);

  // ---- checkpoint out

  let urls: string[] = [];
  button('download').onclick = async () => {
    const model = session.model;
    if (!model) return;
    try {
      const info = { task: session.settings?.task, stage: session.run.rlSteps.length ? 'rl' : 'sft', rlSteps: session.rl.step, sftSteps: session.sft.step,
        heldoutAccuracy: session.heldoutAccuracy(), origin: session.origin, adapter: describeAdapter(gpu.adapter) };
      const files = await checkpointDownloads(model, info);
      urls.forEach((u) => URL.revokeObjectURL(u));
      urls = files.map((f) => f.url);
      const box = $('downloads');
      box.replaceChildren('Save both into one folder (Node: ', Object.assign(document.createElement('code'), { textContent: 'train/run.ts --checkpoint <folder>' }), '): ');
      files.forEach((f, i) => {
        const link = Object.assign(document.createElement('a'), { href: f.url, download: f.name, textContent: `${f.name} (${si(f.bytes, 'B')})` });
        box.append(i ? ', ' : '', link);
      });
    } catch (e) {
      showError(e);
    }
  };

  // ---- views

  const CHARTS: ((run: RunData) => Chart)[] = [rlRewardChart, rlLossChart, entropyHistogramChart, flopsChart, gpuTimeChart, sftLossChart, sftAccuracyChart];
  const figures = new Map<string, { el: HTMLElement; caption: HTMLElement; plot: uPlot | null }>();
  for (const spec of CHARTS) {
    const c = spec(session.run);
    const fig = document.createElement('figure');
    fig.id = `fig-${c.id}`;
    const el = Object.assign(document.createElement('div'), { className: 'chart', id: `chart-${c.id}` });
    const caption = document.createElement('figcaption');
    fig.append(Object.assign(document.createElement('h3'), { textContent: c.title }), el, caption);
    $('charts').append(fig);
    figures.set(c.id, { el, caption, plot: null });
  }
  fitOnResize(() => [...figures.values()].filter((f) => f.plot).map((f) => [f.plot!, f.el] as [uPlot, HTMLElement]));

  function drawCharts(): void {
    for (const spec of CHARTS) {
      const c = spec(session.run);
      const f = figures.get(c.id)!;
      f.plot?.destroy();
      f.plot = drawChart(uPlot, c, f.el, 220);
      f.el.dataset.points = String(c.data?.[0]?.length ?? 0);
      f.caption.textContent = c.opts ? c.caption : (c.note ?? '');
      f.caption.classList.toggle('note', !c.opts);
    }
  }

  function stat(label: string, value: string, title = ''): HTMLElement {
    const d = Object.assign(document.createElement('div'), { className: 'stat', title });
    d.append(Object.assign(document.createElement('span'), { className: 'v', textContent: value }), Object.assign(document.createElement('span'), { className: 'k', textContent: label }));
    return d;
  }

  function renderStats(): void {
    const run = session.run, last = run.rlSteps[run.rlSteps.length - 1], sftLast = run.sftSteps[run.sftSteps.length - 1];
    const saved = backwardSaved(run);
    $('stats').replaceChildren(
      stat('SFT step', session.sft.total ? `${session.sft.step} / ${session.sft.total}` : '—', 'supervised steps run / planned'),
      stat('SFT loss', fixed(sftLast?.loss, 4), 'answer-token cross-entropy, nats per token'),
      stat('RL step', session.rl.total ? `${session.rl.step} / ${session.rl.total}` : '—'),
      stat('batch reward', fixed(last?.reward, 3), 'mean verifier reward of the last RL batch'),
      stat('held-out accuracy', pct(session.heldoutAccuracy()), 'greedy exact match on held-out problems, latest evaluation'),
      stat('tokens trained on', last ? `${last.selected} / ${last.responseTokens}` : '—', 'top-ρ selected / answer tokens in the last batch'),
      stat('backward FLOPs saved', pct(saved.saved), 'over the run, vs the analytic dense backward of the same batches'),
      stat('backward GPU ms', last ? fixed(last.ms.backward, 1) : '—', 'last RL step'),
    );
    const label = $('progress-label'), bar = $<HTMLProgressElement>('progress');
    /** " · 1.2 s/step · ~3 min left" from the recent pace, when there is one */
    const pace = (left: number) => {
      const ms = session.msPerStep();
      if (ms === null || !session.busy) return '';
      const s = (ms * left) / 1000;
      return ` · ${ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`}/step · ~${s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(0)} min`} left`;
    };
    const st = session.state;
    if (st === 'sft' || (st === 'stopping' && !session.run.rlSteps.length && session.sft.total)) {
      label.textContent = `${st === 'stopping' ? 'Pausing' : 'Supervised fine-tuning'}: step ${session.sft.step} of ${session.sft.total}${pace(session.sft.total - session.sft.step)}`;
      bar.value = session.sft.total ? session.sft.step / session.sft.total : 0;
    } else {
      const words: Record<string, string> = {
        idle: 'Idle. Press Start.', rl: 'Reinforcement learning', stopping: 'Pausing after this step…', paused: 'Paused.',
        done: 'Done. Raise RL steps and press Continue to go on, or Reset.', failed: 'Stopped by an error (see above). Reset to try again.',
      };
      const note = session.sft.stoppedEarly ? ` (SFT was ended early at step ${session.sft.step})` : '';
      const from = session.origin ? ` Model: ${session.origin}${note}.` : '';
      label.textContent = `${words[st] ?? st}${st === 'rl' ? `: step ${session.rl.step} of ${session.rl.total}${pace(session.rl.total - session.rl.step)}` : ''}${from}`;
      bar.value = session.rl.total ? session.rl.step / session.rl.total : 0;
    }
  }

  function renderControls(): void {
    const st = session.state, busy = session.busy;
    document.body.dataset.state = st;
    for (const el of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('#controls input, #controls select'))) {
      const modelField = MODEL_FIELDS.includes(el.id) || el.name === 'warm' || el.id.startsWith('ckpt');
      el.disabled = busy || (modelField && !!session.model);
    }
    $('drop').classList.toggle('disabled', busy || !!session.model);
    button('start').disabled = busy;
    button('start').textContent = st === 'paused' ? 'Resume' : st === 'done' ? 'Continue' : 'Start';
    button('pause').disabled = !busy || st === 'stopping';
    button('reset').disabled = st === 'idle' && !busy;
    button('download').disabled = !session.model;
  }

  // Charts redraw at most every 250 ms (SFT steps on a fast GPU come far more often).
  let lastCharts = 0, chartTimer = 0;
  function render(): void {
    renderControls();
    renderStats();
    renderRollouts($('rollouts'), session.rollouts);
    renderLegend($('legend'), session.rollouts[0]?.threshold ?? Number($<HTMLInputElement>('fork_threshold').value));
    const wait = lastCharts + 250 - performance.now();
    if (wait <= 0 || !session.busy) {
      clearTimeout(chartTimer);
      chartTimer = 0;
      lastCharts = performance.now();
      drawCharts();
    } else if (!chartTimer) {
      chartTimer = window.setTimeout(() => { chartTimer = 0; lastCharts = performance.now(); drawCharts(); }, wait);
    }
  }
  render();
}
