// Command-line options of train/run.ts: every setting is a flag (named like TRL's where TRL has
// one), validated before anything runs or is written; a bad value is one clear line and exit 1.
import { Command, InvalidArgumentError, Option } from 'commander';
import { TASK_NAMES, taskConfig, type TaskConfig } from '../verify/index.js';
import type { GPTConfig } from '../model/config.js';
import { DEFAULT_PASS_K, DEFAULT_RL_EVAL_SAMPLES, DEFAULT_SFT, DEFAULT_SFT_MODEL, taskDefaults } from './defaults.js';
import type { SftOptions } from './sft.js';
import type { RlOptions } from './rl.js';
import { DEFAULT_RL } from './defaults.js';
import { DEFAULT_NONFINITE_PATIENCE } from './loop.js';
import { parseSetting, RULES, validateSettings, type Rule, type Setting } from './validate.js';

export interface RunOptions {
  stage: 'sft' | 'all';
  rl: RlOptions;
  /** held-out pass@k: samples per problem, problems, temperature; curveSamples: samples per problem of
   * the sampled pass@1 at each RL evaluation (0 or absent, as in runs saved before it existed: none) */
  passK: { samples: number; problems: number; temperature: number; curveSamples?: number };
  task: TaskConfig;
  model: GPTConfig;
  sft: SftOptions;
  seed: number;
  out: string | null;
  cacheDir: string;
  checkpoint: string | null;
  noCache: boolean;
  /** save a training checkpoint every this many SFT and RL steps (0: only when stopping) */
  saveSteps: number;
  /** consecutive non-finite steps that stop training */
  nonFinitePatience: number;
}

export type Stage = 'sft' | 'rl';
/** A step of one training stage, written sft:N or rl:N on the command line. */
export interface StagePoint {
  stage: Stage;
  step: number;
}

/** Flags that steer this process but not what the run computes, so a resumed run may set them anew. */
export interface RunControl {
  /** the run folder to continue, with its saved settings, from its latest checkpoint */
  resume: string | null;
  /** stop as Ctrl-C would once this step is done */
  stopAt: StagePoint | null;
  /** tests: poison the gradient or the loss with NaN before these steps */
  debugNonFinite: (StagePoint & { what: 'grad' | 'loss' })[];
  /** tests: destroy the GPU device once this step is logged, as a device loss would */
  debugLoseDevice: StagePoint | null;
  /** settings given explicitly (a resumed run keeps the saved value of every other one) */
  given: Set<keyof RunOptions>;
}

/** What --resume may be combined with: flags that change no number the run computes. */
const RESUMABLE = new Set(['resume', 'stop_at', 'save_steps', 'nonfinite_patience', 'debug_nonfinite', 'debug_lose_device']);

const stagePoint = (name: string) => (v: string): StagePoint => {
  const m = /^(sft|rl):(\d+)$/.exec(v.trim());
  if (!m || !Number.isSafeInteger(Number(m[2]))) throw new InvalidArgumentError(`${name} must be sft:N or rl:N (a stage and a step), got "${v}"`);
  return { stage: m[1] as Stage, step: Number(m[2]) };
};
const poisonList = (v: string) => v.split(',').map((item) => {
  const m = /^(sft|rl):(\d+):(grad|loss)$/.exec(item.trim());
  if (!m) throw new InvalidArgumentError(`--debug_nonfinite takes stage:step:grad|loss items separated by commas, got "${item}"`);
  return { stage: m[1] as Stage, step: Number(m[2]), what: m[3] as 'grad' | 'loss' };
});
/** A flag's argument parsed by the shared rule of the setting it sets (train/validate.ts). */
const arg = (flag: string, setting: keyof typeof RULES | Rule) => (v: string) => {
  try {
    return parseSetting(flag, v, typeof setting === 'string' ? RULES[setting] : setting);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

/** The flag that sets each setting: how validateSettings names it. */
const FLAGS: Record<Setting, string> = {
  digits: '--digits', seed: '--seed',
  'model.nLayer': '--n_layer', 'model.nHead': '--n_head', 'model.dModel': '--d_model', 'model.contextLength': '--context_length',
  'sft.steps': '--sft_steps', 'sft.batchSize': '--sft_batch_size', 'sft.learningRate': '--sft_learning_rate', 'sft.warmupSteps': '--warmup_steps',
  'sft.labelNoise': '--label_noise', 'sft.evalEvery': '--eval_every', evalProblems: '--eval_problems',
  'rl.maxSteps': '--max_steps', 'rl.numPrompts': '--num_prompts', 'rl.numGenerations': '--num_generations', 'rl.learningRate': '--learning_rate',
  'rl.warmupSteps': '--rl_warmup_steps', 'rl.temperature': '--temperature', 'rl.forkTemperature': '--fork_temperature', 'rl.forkThreshold': '--fork_threshold',
  'rl.epsilon': '--epsilon', 'rl.epsilonHigh': '--epsilon_high', 'rl.topEntropyQuantile': '--top_entropy_quantile', 'rl.alpha': '--alpha', 'rl.kappa': '--kappa',
  'rl.evalEvery': '--rl_eval_every', 'rl.backward': '--sparse_backward', 'rl.logGradCosine': '--log_grad_cosine', 'rl.numIterations': '--num_iterations',
  'passK.samples': '--pass_k_samples', 'passK.problems': '--pass_k_problems', 'passK.curveSamples': '--rl_eval_samples',
};

/** The --help table of the defaults that follow --task (each applies unless its flag is given). */
function taskDefaultsHelp(): string {
  const rows = TASK_NAMES.map((name) => {
    const task = taskConfig(name);
    const t = taskDefaults(task);
    return `  ${name.padEnd(16)}${String(t.contextLength).padEnd(18)}${String(t.labelNoise).padEnd(15)}${t.rlLearningRate.toExponential()}`;
  });
  return [
    '',
    'Defaults that follow --task (a flag you give always wins):',
    `  ${'task'.padEnd(16)}${'--context_length'.padEnd(18)}${'--label_noise'.padEnd(15)}--learning_rate`,
    ...rows,
    `  (--context_length: the task's longest sequence, at least ${DEFAULT_SFT_MODEL.contextLength}; shown for --digits 3)`,
  ].join('\n');
}

export function buildCli(): Command {
  const d = DEFAULT_SFT, m = DEFAULT_SFT_MODEL, r = DEFAULT_RL;
  return new Command('train/run.ts')
    .description('forkgrad: supervised warm start, then RL with verifiable rewards on arithmetic tasks, on WebGPU.')
    .addOption(new Option('--stage <stage>', 'what to run').choices(['sft', 'all']).default('all'))
    .addOption(new Option('--task <task>', 'task').choices([...TASK_NAMES]).default(d.task.task))
    .option('--digits <n>', 'operand digits for addition/multiplication', arg('--digits', 'digits'), 3)
    .option('--seed <n>', 'seed for data, init and sampling', arg('--seed', 'seed'), d.seed)
    .option('--output_dir <dir>', 'run folder (default runs/<stage>-<task>-<time>)')
    .option('--cache_dir <dir>', 'where SFT warm starts are cached and reused', '.cache/sft')
    .option('--no_cache', 'train the SFT warm start even when a cached one matches')
    .option('--checkpoint <dir>', 'start from this checkpoint folder (model.safetensors + config.json) instead of SFT')
    .option('--n_layer <n>', 'transformer blocks', arg('--n_layer', 'model.nLayer'), m.nLayer)
    .option('--n_head <n>', 'attention heads', arg('--n_head', 'model.nHead'), m.nHead)
    .option('--d_model <n>', 'embedding width', arg('--d_model', 'model.dModel'), m.dModel)
    .option('--context_length <n>', 'positions the model can see (default: depends on --task, below)', arg('--context_length', 'model.contextLength'))
    .option('--untied_head', 'give the LM head its own weights instead of sharing wte')
    .option('--sft_steps <n>', 'supervised steps', arg('--sft_steps', 'sft.steps'), d.steps)
    .option('--sft_batch_size <n>', 'sequences per supervised step', arg('--sft_batch_size', 'sft.batchSize'), d.batchSize)
    .option('--sft_learning_rate <x>', 'peak supervised learning rate', arg('--sft_learning_rate', 'sft.learningRate'), d.learningRate)
    .option('--warmup_steps <n>', 'linear warm-up steps', arg('--warmup_steps', 'sft.warmupSteps'), d.warmupSteps)
    .option('--label_noise <x>', 'share of SFT demonstrations with one wrong character (a noisy teacher; 0 = clean; default: depends on --task, below)', arg('--label_noise', 'sft.labelNoise'))
    .option('--eval_every <n>', 'held-out greedy accuracy every n steps (0: at the end only)', arg('--eval_every', 'sft.evalEvery'), d.evalEvery)
    .option('--eval_problems <n>', 'held-out problems', arg('--eval_problems', 'evalProblems'), d.evalProblems)
    // RL (names as in TRL's GRPOConfig where it has one)
    .option('--max_steps <n>', 'RL steps', arg('--max_steps', 'rl.maxSteps'), r.maxSteps)
    .option('--num_prompts <n>', 'prompts per RL step', arg('--num_prompts', 'rl.numPrompts'), r.numPrompts)
    .option('--num_generations <n>', 'samples per prompt (the GRPO group)', arg('--num_generations', 'rl.numGenerations'), r.numGenerations)
    .option('--learning_rate <x>', 'RL learning rate (default: depends on --task, below)', arg('--learning_rate', 'rl.learningRate'))
    .option('--rl_warmup_steps <n>', 'RL learning-rate warm-up steps', arg('--rl_warmup_steps', 'rl.warmupSteps'), r.warmupSteps)
    .option('--temperature <x>', 'rollout temperature (logits are divided by it in the loss too)', arg('--temperature', 'rl.temperature'), r.temperature)
    .option('--fork_temperature <x>', 'dual temperature: sample positions with entropy ≥ --fork_threshold at this temperature (0 = off)', arg('--fork_temperature', 'rl.forkTemperature'), r.forkTemperature)
    .option('--fork_threshold <x>', 'forking-token entropy threshold in nats', arg('--fork_threshold', 'rl.forkThreshold'), r.forkThreshold)
    .option('--epsilon <x>', 'lower clip range (ratio ≥ 1 − epsilon)', arg('--epsilon', 'rl.epsilon'), r.epsilon)
    .option('--epsilon_high <x>', 'upper clip range (ratio ≤ 1 + epsilon_high)', arg('--epsilon_high', 'rl.epsilonHigh'), r.epsilonHigh)
    .option('--top_entropy_quantile <x>', 'ρ: train on this share of response tokens, highest entropy first (1 = all)', arg('--top_entropy_quantile', 'rl.topEntropyQuantile'), r.topEntropyQuantile)
    .addOption(new Option('--selection <which>', 'top: the highest-entropy ρ; bottom: the lowest 1 − ρ (ablation)').choices(['top', 'bottom']).default(r.selection))
    .addOption(new Option('--sparse_backward <mode>', 'exact: skip rows with provably zero gradient; forkOnly: every layer on the selected rows only (approximate); dense: the full masked backward').choices(['exact', 'forkOnly', 'dense']).default(r.backward))
    .addOption(new Option('--loss_normalization <how>', 'official: mean over selected tokens; trl: sum over selected / all response tokens').choices(['official', 'trl']).default(r.lossNormalization))
    .addOption(new Option('--advantage <kind>', 'grpo: (r − mean)/(std + ε); drgrpo: r − mean').choices(['grpo', 'drgrpo']).default(r.advantage))
    .option('--entropy_shaping', 'add min(alpha·H, |A|/kappa) to each token advantage (Cheng et al.)', r.entropyShaping)
    .option('--alpha <x>', 'entropy shaping α', arg('--alpha', 'rl.alpha'), r.alpha)
    .option('--kappa <x>', 'entropy shaping κ', arg('--kappa', 'rl.kappa'), r.kappa)
    .option('--dynamic_sampling', 'DAPO: replace groups whose rewards are all equal with fresh prompts', r.dynamicSampling)
    .option('--log_grad_cosine', 'with forkOnly: log the cosine to the exact gradient each step (one extra backward)', r.logGradCosine)
    .option('--num_iterations <n>', 'optimisation passes over each rollout batch (TRL); passes after the first run a fresh forward', arg('--num_iterations', 'rl.numIterations'), 1)
    .addOption(new Option('--reuse_rollout <bool>', "take the update's logits and activations from the rollout instead of a training forward (false: recompute)").choices(['true', 'false']).default('true'))
    .addOption(new Option('--causal_tail <bool>', "exact backward: skip each sequence's rows after its last selected one (false: the full dense part)").choices(['true', 'false']).default('true'))
    .option('--rl_eval_every <n>', 'held-out greedy accuracy every n RL steps (0: at the end only)', arg('--rl_eval_every', 'rl.evalEvery'), r.evalEvery)
    .option('--pass_k_samples <n>', 'samples per held-out problem for pass@k', arg('--pass_k_samples', 'passK.samples'), DEFAULT_PASS_K.samples)
    .option('--pass_k_problems <n>', 'held-out problems for pass@k', arg('--pass_k_problems', 'passK.problems'), DEFAULT_PASS_K.problems)
    .option('--rl_eval_samples <n>', 'at each RL evaluation also sampled pass@1 from n samples per pass@k problem (0: greedy only)', arg('--rl_eval_samples', 'passK.curveSamples'), DEFAULT_RL_EVAL_SAMPLES)
    // reliability
    .option('--save_steps <n>', 'save a checkpoint to resume from every n SFT and RL steps (0: only when stopping)', arg('--save_steps', { kind: 'int', min: 0 }), 20)
    .option('--resume <run_dir>', 'continue an interrupted run in its folder, with its saved settings, from its latest checkpoint')
    .option('--stop_at <stage:step>', 'stop as Ctrl-C would once this step is done (e.g. rl:50); continue later with --resume', stagePoint('--stop_at'))
    .option('--nonfinite_patience <n>', 'stop after this many steps in a row with a non-finite loss or gradient norm (each is skipped)', arg('--nonfinite_patience', { kind: 'int', min: 1 }), DEFAULT_NONFINITE_PATIENCE)
    .addOption(new Option('--debug_nonfinite <list>', 'tests: poison steps with NaN, e.g. rl:3:grad,rl:4:loss').argParser(poisonList).hideHelp())
    .addOption(new Option('--debug_lose_device <stage:step>', 'tests: destroy the GPU device after this step').argParser(stagePoint('--debug_lose_device')).hideHelp())
    .addHelpText('after', taskDefaultsHelp())
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Parses argv into the run's settings and this process's controls; throws an Error whose message
 * is the one line to print. */
export function parseCommandLine(argv: string[]): { options: RunOptions; control: RunControl } {
  const cli = buildCli();
  try {
    cli.parse(argv, { from: 'user' });
  } catch (e: any) {
    if (isHelpExit(e)) throw e;
    throw new Error(`${String(e.message).replace(/^error: /, '').replace(/\.$/, '')} (see --help)`);
  }
  const o = cli.opts();
  const explicit = Object.keys(o).filter((k) => cli.getOptionValueSource(k) === 'cli');
  if (o.resume) {
    const fixed = explicit.filter((k) => !RESUMABLE.has(k));
    if (fixed.length) throw new Error(`--resume continues a run with the settings saved in its run.json; --${fixed[0]} cannot change them (start a new run instead)`);
  }
  const options = optionsFrom(o);
  const given = new Set<keyof RunOptions>();
  if (explicit.includes('save_steps')) given.add('saveSteps');
  if (explicit.includes('nonfinite_patience')) given.add('nonFinitePatience');
  const control: RunControl = {
    resume: o.resume ?? null,
    stopAt: o.stop_at ?? null,
    debugNonFinite: o.debug_nonfinite ?? [],
    debugLoseDevice: o.debug_lose_device ?? null,
    given,
  };
  return { options, control };
}

function optionsFrom(o: Record<string, any>): RunOptions {
  const task: TaskConfig = taskConfig(o.task, o.digits);
  const byTask = taskDefaults(task);
  const model: GPTConfig = { nLayer: o.n_layer, nHead: o.n_head, dModel: o.d_model, contextLength: o.context_length ?? byTask.contextLength, vocabSize: DEFAULT_SFT_MODEL.vocabSize, tiedHead: !o.untied_head };
  const rl: RlOptions = {
    ...DEFAULT_RL, task, seed: o.seed,
    maxSteps: o.max_steps, numPrompts: o.num_prompts, numGenerations: o.num_generations, learningRate: o.learning_rate ?? byTask.rlLearningRate, warmupSteps: o.rl_warmup_steps,
    temperature: o.temperature, forkTemperature: o.fork_temperature, forkThreshold: o.fork_threshold,
    epsilon: o.epsilon, epsilonHigh: o.epsilon_high, topEntropyQuantile: o.top_entropy_quantile, selection: o.selection,
    backward: o.sparse_backward, lossNormalization: o.loss_normalization, advantage: o.advantage,
    entropyShaping: !!o.entropy_shaping, alpha: o.alpha, kappa: o.kappa, dynamicSampling: !!o.dynamic_sampling,
    logGradCosine: !!o.log_grad_cosine, evalEvery: o.rl_eval_every, evalProblems: o.eval_problems,
    numIterations: o.num_iterations, reuseRollout: o.reuse_rollout !== 'false', causalTail: o.causal_tail !== 'false',
  };
  const sft: SftOptions = { task, steps: o.sft_steps, batchSize: o.sft_batch_size, learningRate: o.sft_learning_rate, warmupSteps: o.warmup_steps, seed: o.seed, evalEvery: o.eval_every, evalProblems: o.eval_problems, labelNoise: o.label_noise ?? byTask.labelNoise };
  const passK = { samples: o.pass_k_samples, problems: o.pass_k_problems, temperature: o.temperature, curveSamples: o.rl_eval_samples };
  validateSettings({ task, model, sft, rl, passK }, (k) => FLAGS[k]);
  return {
    stage: o.stage,
    rl,
    passK,
    task,
    model,
    sft,
    seed: o.seed,
    out: o.output_dir ?? null,
    cacheDir: o.cache_dir,
    checkpoint: o.checkpoint ?? null,
    noCache: !!o.no_cache,
    saveSteps: o.save_steps,
    nonFinitePatience: o.nonfinite_patience,
  };
}

/**
 * The end of a script's top-level try: --help and --version exit 0; any other error is one line,
 * "error: <message>", on stderr and exit code 1 (no stack: bad input names the problem and the fix).
 */
export function reportCliError(e: unknown): void {
  if (isHelpExit(e)) {
    process.exitCode = 0;
    return;
  }
  const message = (e as { message?: unknown } | null)?.message ?? e;
  console.error(`${process.stderr.isTTY ? '\n' : ''}error: ${String(message).replace(/^error: /, '')}`);
  process.exitCode = 1;
}

/** commander's exits for --help and --version (not errors). */
function isHelpExit(e: unknown): boolean {
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  return code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version';
}
