// The page's settings form ↔ the trainer's options. Defaults come from train/defaults.ts at load
// time (the same numbers `npx tsx train/run.ts` uses with no flags); every field is validated on
// Start by the rules the CLI and the experiment use (train/validate.ts), and a bad one is reported
// in one line that names it and says what it takes.
import { maxLengths, TASK_NAMES, type TaskConfig, type TaskName } from '../verify/index.js';
import type { GPTConfig } from '../model/config.js';
import { DEFAULT_RL, DEFAULT_SFT, DEFAULT_SFT_MODEL } from '../train/defaults.js';
import type { RlOptions } from '../train/rl.js';
import type { SftOptions } from '../train/sft.js';
import { parseSetting, RULES, validateSettings, type Setting } from '../train/validate.js';

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

/** The form control of each setting it has (the rest keep their defaults). */
const CONTROLS: Partial<Record<Setting, string>> = {
  digits: 'digits', seed: 'seed', 'model.nLayer': 'n_layer', 'model.dModel': 'd_model', 'model.nHead': 'n_head',
  'sft.steps': 'sft_steps', 'sft.batchSize': 'sft_batch', 'sft.learningRate': 'sft_lr', 'sft.evalEvery': 'sft_eval_every', evalProblems: 'eval_problems',
  'rl.maxSteps': 'rl_steps', 'rl.numPrompts': 'prompts', 'rl.numGenerations': 'samples', 'rl.learningRate': 'rl_lr',
  'rl.topEntropyQuantile': 'rho', 'rl.backward': 'backward', 'rl.temperature': 'temperature', 'rl.forkTemperature': 'fork_temperature',
  'rl.forkThreshold': 'fork_threshold', 'rl.alpha': 'alpha', 'rl.kappa': 'kappa', 'rl.evalEvery': 'rl_eval_every',
};
/** A setting's name in messages: its control's label, else the default's name. */
const nameOf = (k: Setting) => (CONTROLS[k] ? `"${label(CONTROLS[k]!)}"` : `the default ${k}`);

/** A control's value, parsed by the shared rule of its setting. */
function read(k: keyof typeof RULES): number {
  return parseSetting(nameOf(k), $(CONTROLS[k]!).value, RULES[k]);
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
  const task = taskConfig(name, isArithmetic(name) ? read('digits') : null);
  const seed = read('seed');
  // The context grows to fit the task when the default is too short for it.
  const need = maxLengths(task).sequence;
  const model: GPTConfig = {
    ...DEFAULT_SFT_MODEL, nLayer: read('model.nLayer'), dModel: read('model.dModel'), nHead: read('model.nHead'),
    contextLength: Math.max(DEFAULT_SFT_MODEL.contextLength, need),
  };
  const evalProblems = read('evalProblems');
  const sft: SftOptions = {
    ...DEFAULT_SFT, task, seed, evalProblems,
    steps: read('sft.steps'), batchSize: read('sft.batchSize'), learningRate: read('sft.learningRate'), evalEvery: read('sft.evalEvery'),
  };
  const rl: RlOptions = {
    ...DEFAULT_RL, task, seed, evalProblems,
    maxSteps: read('rl.maxSteps'), numPrompts: read('rl.numPrompts'), numGenerations: read('rl.numGenerations'), learningRate: read('rl.learningRate'),
    topEntropyQuantile: read('rl.topEntropyQuantile'), backward: $<HTMLSelectElement>('backward').value as RlOptions['backward'],
    temperature: read('rl.temperature'), forkTemperature: read('rl.forkTemperature'), forkThreshold: read('rl.forkThreshold'),
    entropyShaping: checked('entropy_shaping'), alpha: read('rl.alpha'), kappa: read('rl.kappa'),
    evalEvery: read('rl.evalEvery'),
  };
  validateSettings({ task, model, sft, rl }, nameOf);
  return { task, model, sft, rl };
}

/** Ids of the controls that define the model and its warm start: fixed once a model exists. */
export const MODEL_FIELDS = ['task', 'digits', 'n_layer', 'd_model', 'n_head', 'sft_steps', 'sft_batch', 'sft_lr', 'sft_eval_every'];
