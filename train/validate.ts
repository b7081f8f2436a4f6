// One validation of the run's settings, shared by the CLI (train/cli.ts), the experiment
// (scripts/experiment.ts) and the page's form (web/settings.ts). Platform-neutral. Each caller names
// a setting its own way (a flag, a form label); the rules and the messages are the same everywhere:
// one line naming the setting, what it takes, and what it got.
import { validateConfig, type GPTConfig } from '../model/config.js';
import { maxLengths, type TaskConfig } from '../verify/index.js';
import type { RlOptions } from './rl.js';

export type Rule =
  | { kind: 'int'; min: number }
  | { kind: 'number'; min: number; open?: boolean; max?: number };

const int = (min: number): Rule => ({ kind: 'int', min });
const positive: Rule = { kind: 'number', min: 0, open: true };
const nonNegative: Rule = { kind: 'number', min: 0 };

/** What each setting takes. Keys are the settings' names in the options (dotted where nested). */
export const RULES = {
  digits: int(1),
  seed: int(0),
  'model.nLayer': int(1), 'model.nHead': int(1), 'model.dModel': int(1), 'model.contextLength': int(1),
  'sft.steps': int(0), 'sft.batchSize': int(1), 'sft.learningRate': positive, 'sft.warmupSteps': int(0),
  'sft.labelNoise': { kind: 'number', min: 0, max: 1 },
  'sft.evalEvery': int(0), evalProblems: int(1),
  'rl.maxSteps': int(0), 'rl.numPrompts': int(1), 'rl.numGenerations': int(2), 'rl.learningRate': positive, 'rl.warmupSteps': int(0),
  'rl.temperature': positive, 'rl.forkTemperature': nonNegative, 'rl.forkThreshold': nonNegative,
  'rl.epsilon': { kind: 'number', min: 0, max: 1 }, 'rl.epsilonHigh': nonNegative,
  'rl.topEntropyQuantile': { kind: 'number', min: 0, open: true, max: 1 },
  'rl.alpha': nonNegative, 'rl.kappa': positive, 'rl.evalEvery': int(0), 'rl.numIterations': int(1),
  'passK.samples': int(1), 'passK.problems': int(1), 'passK.curveSamples': int(0),
} as const satisfies Record<string, Rule>;
/** A setting with a rule, or one the rules between settings name. */
export type Setting = keyof typeof RULES | 'rl.backward' | 'rl.logGradCosine';

/** "must be …" for a number rule, as every message says it. */
function takes(r: Extract<Rule, { kind: 'number' }>): string {
  if (r.max !== undefined && Number.isFinite(r.max)) return `in ${r.open ? '(' : '['}${r.min}, ${r.max}]`;
  if (r.min === 0) return r.open ? 'a positive number' : 'a number ≥ 0';
  return `a number ${r.open ? '>' : '≥'} ${r.min}`;
}

/** Parses a setting's text by its rule; throws `<name> must …, got …`. */
export function parseSetting(name: string, text: string, rule: Rule): number {
  const v = text.trim(), n = Number(v);
  if (rule.kind === 'int') {
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got "${text}"`);
    if (n < rule.min) throw new Error(`${name} must be ≥ ${rule.min}, got ${n}`);
    return n;
  }
  checkNumber(name, v === '' ? NaN : n, rule, `"${text}"`);
  return n;
}

/** Checks an already-parsed value (a preset, or a field the caller composed) by its rule. */
export function checkSetting(name: string, value: number, rule: Rule): void {
  if (rule.kind === 'int') {
    if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${value}`);
    if (value < rule.min) throw new Error(`${name} must be ≥ ${rule.min}, got ${value}`);
  } else checkNumber(name, value, rule, String(value));
}

function checkNumber(name: string, n: number, r: Extract<Rule, { kind: 'number' }>, got: string): void {
  const ok = Number.isFinite(n) && (r.open ? n > r.min : n >= r.min) && (r.max === undefined || n <= r.max);
  if (!ok) throw new Error(`${name} must be ${takes(r)}, got ${got}`);
}

/** What a run is made of, as far as validation goes (a caller may validate a part). */
export interface RunSettings {
  task: TaskConfig;
  model: GPTConfig;
  sft?: { steps: number; batchSize: number; learningRate: number; warmupSteps: number; evalEvery: number; evalProblems: number; labelNoise?: number; seed: number };
  rl?: RlOptions;
  passK?: { samples: number; problems: number; curveSamples?: number };
}

const MODEL_FIELDS = { nLayer: 'model.nLayer', nHead: 'model.nHead', dModel: 'model.dModel', contextLength: 'model.contextLength' } as const;

/**
 * Every rule on the composed settings, then the rules between them (the model's shape, the context
 * the task needs, fork-only's gradient cosine, the pass@k curve's 64 samples). `name` gives the
 * caller's name of a setting (e.g. '--n_head', '"Heads"'). Throws the first problem, one line.
 */
export function validateSettings(s: RunSettings, name: (setting: Setting) => string): void {
  const check = (k: keyof typeof RULES, v: number | undefined) => { if (v !== undefined) checkSetting(name(k), v, RULES[k]); };
  if ('digits' in s.task && s.task.digits !== undefined) check('digits', s.task.digits);
  for (const [f, k] of Object.entries(MODEL_FIELDS)) check(k, s.model[f as keyof typeof MODEL_FIELDS]);
  try {
    validateConfig(s.model);
  } catch (e) {
    // the caller's names for the model's fields, everywhere the message uses them
    throw new Error((e as Error).message.replace(/(GPTConfig\.)?\b(nHead|dModel|nLayer|contextLength)\b/g, (_, _p, f: keyof typeof MODEL_FIELDS) => name(MODEL_FIELDS[f])));
  }
  const need = maxLengths(s.task).sequence;
  const ctx = name('model.contextLength');
  if (s.model.contextLength < need) throw new Error(`${ctx} ${s.model.contextLength} is shorter than the ${need} positions ${s.task.task} needs; pass ${ctx} ${need} or more`);
  if (s.sft) {
    const o = s.sft;
    check('seed', o.seed);
    check('sft.steps', o.steps); check('sft.batchSize', o.batchSize); check('sft.learningRate', o.learningRate); check('sft.warmupSteps', o.warmupSteps);
    check('sft.labelNoise', o.labelNoise); check('sft.evalEvery', o.evalEvery); check('evalProblems', o.evalProblems);
  }
  if (s.rl) {
    const o = s.rl;
    check('seed', o.seed);
    check('rl.maxSteps', o.maxSteps); check('rl.numPrompts', o.numPrompts); check('rl.numGenerations', o.numGenerations);
    check('rl.learningRate', o.learningRate); check('rl.warmupSteps', o.warmupSteps); check('rl.temperature', o.temperature);
    check('rl.forkTemperature', o.forkTemperature); check('rl.forkThreshold', o.forkThreshold); check('rl.epsilon', o.epsilon);
    check('rl.epsilonHigh', o.epsilonHigh); check('rl.topEntropyQuantile', o.topEntropyQuantile); check('rl.alpha', o.alpha);
    check('rl.kappa', o.kappa); check('rl.evalEvery', o.evalEvery); check('evalProblems', o.evalProblems); check('rl.numIterations', o.numIterations);
    if (!['exact', 'forkOnly', 'dense'].includes(o.backward)) throw new Error(`${name('rl.backward')} must be exact, forkOnly or dense, got "${o.backward}"`);
    if (o.logGradCosine && o.backward !== 'forkOnly') throw new Error(`${name('rl.logGradCosine')} compares fork-only with exact gradients; it needs ${name('rl.backward')} forkOnly`);
  }
  if (s.passK) {
    check('passK.samples', s.passK.samples); check('passK.problems', s.passK.problems);
    if (s.passK.curveSamples !== undefined) check('passK.curveSamples', s.passK.curveSamples);
    if (s.passK.samples < 64) throw new Error(`${name('passK.samples')} ${s.passK.samples} is below 64; pass@k is reported for k up to 64`);
  }
}
