// Command-line options of train/run.ts: every setting is a flag (named like TRL's where TRL has
// one), validated before anything runs or is written; a bad value is one clear line and exit 1.
import { Command, InvalidArgumentError, Option } from 'commander';
import { TASK_NAMES, maxLengths, type TaskConfig } from '../verify/index.js';
import type { GPTConfig } from '../model/config.js';
import { validateConfig } from '../model/config.js';
import { DEFAULT_SFT, DEFAULT_SFT_MODEL } from './defaults.js';
import type { SftOptions } from './sft.js';

export interface RunOptions {
  stage: 'sft' | 'all';
  task: TaskConfig;
  model: GPTConfig;
  sft: SftOptions;
  seed: number;
  out: string | null;
  cacheDir: string;
  checkpoint: string | null;
  noCache: boolean;
}

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  if (n < min) throw new InvalidArgumentError(`${name} must be ≥ ${min}, got ${n}`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
  return n;
};

export function buildCli(): Command {
  const d = DEFAULT_SFT, m = DEFAULT_SFT_MODEL;
  return new Command('train/run.ts')
    .description('forkgrad: supervised warm start, then RL with verifiable rewards on arithmetic tasks, on WebGPU.')
    .addOption(new Option('--stage <stage>', 'what to run').choices(['sft', 'all']).default('all'))
    .addOption(new Option('--task <task>', 'task').choices([...TASK_NAMES]).default(d.task.task))
    .option('--digits <n>', 'operand digits for addition/multiplication', int('--digits', 1), 3)
    .option('--seed <n>', 'seed for data, init and sampling', int('--seed', 0), d.seed)
    .option('--output_dir <dir>', 'run folder (default runs/<stage>-<task>-<time>)')
    .option('--cache_dir <dir>', 'where SFT warm starts are cached and reused', '.cache/sft')
    .option('--no_cache', 'train the SFT warm start even when a cached one matches')
    .option('--checkpoint <dir>', 'start from this checkpoint folder (model.safetensors + config.json) instead of SFT')
    .option('--n_layer <n>', 'transformer blocks', int('--n_layer', 1), m.nLayer)
    .option('--n_head <n>', 'attention heads', int('--n_head', 1), m.nHead)
    .option('--d_model <n>', 'embedding width', int('--d_model', 1), m.dModel)
    .option('--context_length <n>', 'positions the model can see', int('--context_length', 1), m.contextLength)
    .option('--untied_head', 'give the LM head its own weights instead of sharing wte')
    .option('--sft_steps <n>', 'supervised steps', int('--sft_steps', 0), d.steps)
    .option('--sft_batch_size <n>', 'sequences per supervised step', int('--sft_batch_size', 1), d.batchSize)
    .option('--sft_learning_rate <x>', 'peak supervised learning rate', positive('--sft_learning_rate'), d.learningRate)
    .option('--warmup_steps <n>', 'linear warm-up steps', int('--warmup_steps', 0), d.warmupSteps)
    .option('--eval_every <n>', 'held-out greedy accuracy every n steps (0: at the end only)', int('--eval_every', 0), d.evalEvery)
    .option('--eval_problems <n>', 'held-out problems', int('--eval_problems', 1), d.evalProblems)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Parses argv into validated options; throws an Error whose message is the one line to print. */
export function parseRunOptions(argv: string[]): RunOptions {
  const cli = buildCli();
  try {
    cli.parse(argv, { from: 'user' });
  } catch (e: any) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') throw e;
    throw new Error(String(e.message).replace(/^error: /, ''));
  }
  const o = cli.opts();
  const task: TaskConfig = o.task === 'countdown' ? { task: 'countdown' } : { task: o.task, digits: o.digits };
  const model: GPTConfig = { nLayer: o.n_layer, nHead: o.n_head, dModel: o.d_model, contextLength: o.context_length, vocabSize: DEFAULT_SFT_MODEL.vocabSize, tiedHead: !o.untied_head };
  try {
    validateConfig(model);
  } catch (e) {
    throw new Error((e as Error).message.replace('GPTConfig.nHead', '--n_head').replace('GPTConfig.dModel', '--d_model'));
  }
  const need = maxLengths(task).sequence;
  if (model.contextLength < need) throw new Error(`--context_length ${model.contextLength} is shorter than the ${need} positions ${task.task} needs; pass --context_length ${need} or more`);
  return {
    stage: o.stage,
    task,
    model,
    sft: { task, steps: o.sft_steps, batchSize: o.sft_batch_size, learningRate: o.sft_learning_rate, warmupSteps: o.warmup_steps, seed: o.seed, evalEvery: o.eval_every, evalProblems: o.eval_problems },
    seed: o.seed,
    out: o.output_dir ?? null,
    cacheDir: o.cache_dir,
    checkpoint: o.checkpoint ?? null,
    noCache: !!o.no_cache,
  };
}
