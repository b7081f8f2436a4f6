// The grid's options from the CLI's parsed flags (scripts/experiment.ts): the preset (full or
// --quick), then each flag given, validated together by the rules train/run.ts and the page use,
// before anything runs or is written. Separate from the CLI so tests can check the composition.
import { taskDefaults } from '../../train/defaults.js';
import { validateSettings, type Setting } from '../../train/validate.js';
import { taskConfig } from '../../verify/index.js';
import { ARM_IDS } from './arms.js';
import { fullGrid, quickGrid, type GridOptions } from './plan.js';

/** Flags over the preset; validated together before anything runs or is written. */
export function gridOptions(o: Record<string, any>): GridOptions {
  const g = o.quick ? quickGrid() : fullGrid();
  const set = <K extends keyof GridOptions>(k: K, v: GridOptions[K] | undefined) => { if (v !== undefined) g[k] = v; };
  if (o.task !== undefined) {
    // the task and what follows it (context length, label noise, RL learning rate), as train/run.ts does
    const task = taskConfig(o.task), byTask = taskDefaults(task);
    g.model = { ...g.model, contextLength: byTask.contextLength };
    g.sft = { ...g.sft, task, labelNoise: byTask.labelNoise };
    g.rl = { ...g.rl, task, learningRate: byTask.rlLearningRate };
  }
  if (o.n_layer !== undefined) g.model = { ...g.model, nLayer: o.n_layer };
  if (o.num_prompts !== undefined) g.rl = { ...g.rl, numPrompts: o.num_prompts };
  // A short SFT should not spend itself warming up: warm-up at most a sixth of the steps.
  if (o.sft_steps !== undefined) g.sft = { ...g.sft, steps: o.sft_steps, warmupSteps: Math.min(g.sft.warmupSteps, Math.ceil(o.sft_steps / 6)) };
  if (o.warmup_steps !== undefined) g.sft = { ...g.sft, warmupSteps: o.warmup_steps };
  set('out', o.out); set('cacheRoot', o.cache_dir); set('arms', o.arms); set('seeds', o.seeds); set('rho', o.rho);
  if (o.steps !== undefined) { g.steps = o.steps; if (o.eval_every === undefined) g.evalEvery = Math.max(1, Math.round(o.steps / 10)); }
  set('evalEvery', o.eval_every); set('problems', o.eval_problems); set('curveSamples', o.curve_samples); set('finalSamples', o.final_samples);
  set('passKSamples', o.pass_k_samples); set('passKSeeds', o.pass_k_seeds); set('greedyProblems', o.greedy_problems);
  set('decodingSamples', o.decoding_samples); set('batch', o.batch); set('maxMinutes', o.max_minutes);
  if (o.decoding_arm === 'none') g.decodingArm = null;
  else if (o.decoding_arm !== undefined) {
    if (!(ARM_IDS as readonly string[]).includes(o.decoding_arm)) throw new Error(`--decoding_arm must be one of ${ARM_IDS.join(', ')} or none, got "${o.decoding_arm}"`);
    g.decodingArm = o.decoding_arm;
  }
  if (g.decodingArm && !g.arms.includes(g.decodingArm)) {
    if (o.decoding_arm !== undefined) throw new Error(`--decoding_arm ${g.decodingArm} is not among --arms ${g.arms.join('')}; add it or pick another`);
    g.decodingArm = null; // a subset of arms without (c): no decoding study unless asked for
  }
  if (g.passKSeeds > g.seeds) throw new Error(`--pass_k_seeds ${g.passKSeeds} exceeds --seeds ${g.seeds}; lower it or add seeds`);
  if (g.evalEvery > g.steps) throw new Error(`--eval_every ${g.evalEvery} exceeds --steps ${g.steps}; the curve would have no point during training`);
  // the composed settings by the rules train/run.ts and the page use (flags where the grid has them)
  const flags: Partial<Record<Setting, string>> = { 'sft.warmupSteps': '--warmup_steps', 'model.nLayer': '--n_layer', 'rl.numPrompts': '--num_prompts', 'sft.steps': '--sft_steps', 'rl.maxSteps': '--steps', 'rl.topEntropyQuantile': '--rho', 'rl.evalEvery': '--eval_every' };
  validateSettings({ task: g.rl.task, model: g.model, sft: g.sft, rl: { ...g.rl, maxSteps: g.steps, topEntropyQuantile: g.rho } }, (k) => flags[k] ?? `the default ${k} (train/defaults.ts)`);
  return g;
}
