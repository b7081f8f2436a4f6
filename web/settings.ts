// The page's settings form ↔ the trainer's options. Defaults come from train/defaults.ts at load
// time (the same numbers `npx tsx train/run.ts` uses with no flags); every field is validated on
// Start and a bad one is reported in one line that names it and says what it takes.
import { maxLengths, TASK_NAMES, type TaskConfig, type TaskName } from '../verify/index.js';
import { validateConfig, type GPTConfig } from '../model/config.js';
import { DEFAULT_RL, DEFAULT_SFT, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import type { RlOptions } from '../train/rl.js';
import type { SftOptions } from '../train/sft.js';

export interface PageSettings {
  task: TaskConfig;
  model: GPTConfig;
  sft: SftOptions;
  rl: RlOptions;
}

const $ = <T extends HTMLElement = HTMLInputElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing the #${id} control`);
  return el as T;
};

/** Label of a control, for messages ("SFT steps" rather than "sft_steps"). */
function label(id: string): string {
  return document.querySelector(`label[for="${id}"]`)?.textContent?.trim() || id;
}


function int(id: string, min: number): number {
  const v = $(id).value.trim();
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new Error(`"${label(id)}" must be a whole number ≥ ${min} (it is "${v}")`);
  return n;
}

function num(id: string, o: { min: number; minOpen?: boolean; max?: number }): number {
  const v = $(id).value.trim();
  const n = Number(v);
  const ok = v !== '' && Number.isFinite(n) && (o.minOpen ? n > o.min : n >= o.min) && (o.max === undefined || n <= o.max);
  if (!ok) {
    const range = o.max === undefined ? `${o.minOpen ? '>' : '≥'} ${o.min}` : `in ${o.minOpen ? '(' : '['}${o.min}, ${o.max}]`;
    throw new Error(`"${label(id)}" must be a number ${range} (it is "${v}")`);
  }
  return n;
}

const checked = (id: string) => $(id).checked;

/** The default task's config when that task is chosen (it may carry more than the digits). */
function taskConfig(name: TaskName, digits: number | null): TaskConfig {
  const base: TaskConfig = DEFAULT_SFT.task.task === name ? DEFAULT_SFT.task : ({ task: name } as TaskConfig);
  return digits !== null && name !== 'countdown' ? ({ ...base, digits } as TaskConfig) : base;
}

const isArithmetic = (name: string) => name === 'addition' || name === 'multiplication';

/** Fills the form with the defaults. */
export function fillDefaults(): void {
  const task = $<HTMLSelectElement>('task');
  task.replaceChildren(...TASK_NAMES.map((t) => new Option(t, t)));
  setTask(DEFAULT_SFT.task);
  const m = DEFAULT_SFT_MODEL, s = DEFAULT_SFT, r = DEFAULT_RL;
  const set = (id: string, v: number | string) => ($(id).value = String(v));
  set('n_layer', m.nLayer); set('d_model', m.dModel); set('n_head', m.nHead);
  set('sft_steps', s.steps); set('sft_batch', s.batchSize); set('sft_lr', s.learningRate); set('sft_eval_every', s.evalEvery);
  set('rl_steps', r.maxSteps); set('prompts', r.numPrompts); set('samples', r.numGenerations); set('rl_lr', r.learningRate);
  set('rho', r.topEntropyQuantile); set('backward', r.backward);
  set('temperature', r.temperature); set('fork_temperature', r.forkTemperature); set('fork_threshold', r.forkThreshold);
  $('entropy_shaping').checked = r.entropyShaping; set('alpha', r.alpha); set('kappa', r.kappa);
  set('rl_eval_every', r.evalEvery); set('eval_problems', r.evalProblems); set('seed', s.seed);
}

/** Shows a task config in the form (e.g. the task a loaded checkpoint was trained on). */
export function setTask(t: TaskConfig): void {
  $<HTMLSelectElement>('task').value = t.task;
  if (isArithmetic(t.task) && 'digits' in t && t.digits) $('digits').value = String(t.digits);
  else if (!$('digits').value) $('digits').value = '3';
  showTaskFields();
}

export function showTaskFields(): void {
  $('digits').closest('.field')!.toggleAttribute('hidden', !isArithmetic($<HTMLSelectElement>('task').value));
}

/** Reads and validates the form; throws one line naming the first bad field. */
export function readSettings(): PageSettings {
  const name = $<HTMLSelectElement>('task').value as TaskName;
  if (!TASK_NAMES.includes(name)) throw new Error(`unknown task "${name}"; pick one of ${TASK_NAMES.join(', ')}`);
  const task = taskConfig(name, isArithmetic(name) ? int('digits', 1) : null);
  const seed = int('seed', 0);
  // The context grows to fit the task when the default is too short for it.
  const need = maxLengths(task).sequence;
  const model: GPTConfig = {
    ...DEFAULT_SFT_MODEL, nLayer: int('n_layer', 1), dModel: int('d_model', 1), nHead: int('n_head', 1),
    contextLength: Math.max(DEFAULT_SFT_MODEL.contextLength, need),
  };
  try {
    validateConfig(model);
  } catch (e) {
    // the form's names for the model's fields, everywhere the message uses them (it names both twice)
    throw new Error((e as Error).message.replace(/(GPTConfig\.)?dModel\b/g, `"${label('d_model')}"`).replace(/\bnHead\b/g, `"${label('n_head')}"`));
  }
  const evalProblems = int('eval_problems', 1);
  const sft: SftOptions = {
    ...DEFAULT_SFT, task, seed, evalProblems,
    steps: int('sft_steps', 1), batchSize: int('sft_batch', 1), learningRate: num('sft_lr', { min: 0, minOpen: true }), evalEvery: int('sft_eval_every', 0),
  };
  const rl: RlOptions = {
    ...DEFAULT_RL, task, seed, evalProblems,
    maxSteps: int('rl_steps', 1), numPrompts: int('prompts', 1), numGenerations: int('samples', 2), learningRate: num('rl_lr', { min: 0, minOpen: true }),
    topEntropyQuantile: num('rho', { min: 0, minOpen: true, max: 1 }), backward: $<HTMLSelectElement>('backward').value as RlOptions['backward'],
    temperature: num('temperature', { min: 0, minOpen: true }), forkTemperature: num('fork_temperature', { min: 0 }), forkThreshold: num('fork_threshold', { min: 0 }),
    entropyShaping: checked('entropy_shaping'), alpha: num('alpha', { min: 0 }), kappa: num('kappa', { min: 0, minOpen: true }),
    evalEvery: int('rl_eval_every', 0),
  };
  if (!['exact', 'forkOnly', 'dense'].includes(rl.backward)) throw new Error(`"${label('backward')}" must be exact, forkOnly or dense`);
  return { task, model, sft, rl };
}

/** Ids of the controls that define the model and its warm start: fixed once a model exists. */
export const MODEL_FIELDS = ['task', 'digits', 'n_layer', 'd_model', 'n_head', 'sft_steps', 'sft_batch', 'sft_lr', 'sft_eval_every'];
