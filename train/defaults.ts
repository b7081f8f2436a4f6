// The embedded defaults: what `npx tsx train/run.ts` runs with no flags. One place, read by the
// CLI, the browser page, the benchmarks and the experiment.
import type { GPTConfig } from '../model/config.js';
import { maxLengths, VOCAB_SIZE, type TaskConfig, type TaskName } from '../verify/index.js';
import type { SftOptions } from './sft.js';
import { FORK_THRESHOLD, type RlOptions } from './rl.js';

export const DEFAULT_SFT_MODEL: GPTConfig = { nLayer: 2, nHead: 4, dModel: 64, contextLength: 32, vocabSize: VOCAB_SIZE, tiedHead: true };

export const DEFAULT_SFT: SftOptions = {
  task: { task: 'addition', digits: 3 },
  steps: 2000,
  batchSize: 128,
  learningRate: 3e-3,
  warmupSteps: 100,
  seed: 1,
  evalEvery: 500,
  evalProblems: 1000,
  // The default task's RL headroom (README, "The default task"): half of the demonstrations carry one
  // wrong digit, so the SFT model's greedy answer is right (~98%) but a sample at temperature 1 is
  // right only about half the time — the uncertainty sits on a few answer tokens, the forks.
  labelNoise: 0.5,
};

export const DEFAULT_RL: RlOptions = {
  task: DEFAULT_SFT.task,
  maxSteps: 150,
  numPrompts: 32,
  numGenerations: 8,
  // Measured on the default base (pass@1 53%, 150 steps, ρ 0.2 exact): 1e-4 reached 76% pass@1 and
  // 3e-4 82%. On bases whose errors are capability limits rather than forks (undertrained addition,
  // countdown) RL gained at most 2–4 points in 150–200 steps: ≥ 3e-4 degraded them, ≤ 1e-4 crept.
  learningRate: 3e-4,
  warmupSteps: 20,
  temperature: 1,
  forkTemperature: 0,
  forkThreshold: FORK_THRESHOLD,
  epsilon: 0.2,
  epsilonHigh: 0.28,
  topEntropyQuantile: 0.2,
  selection: 'top',
  backward: 'exact',
  lossNormalization: 'official',
  advantage: 'grpo',
  entropyShaping: false,
  alpha: 0.4,
  kappa: 2,
  dynamicSampling: false,
  logGradCosine: false,
  seed: DEFAULT_SFT.seed,
  evalEvery: 25,
  evalProblems: 1000,
};

/** Held-out pass@k: samples per problem (≥ 64 for k up to 64) and problems. */
export const DEFAULT_PASS_K = { samples: 64, problems: 200 };
/** Samples per held-out problem (on the pass@k problems) for the sampled pass@1 at each RL evaluation:
 * a few, so it costs little next to the step it follows; 0 turns it off. */
export const DEFAULT_RL_EVAL_SAMPLES = 4;

/** The defaults that depend on the task: each applies unless its flag (or form field) is given. */
export interface TaskDefaults {
  /** positions: the default model's 32, or more when the task's longest sequence needs more */
  contextLength: number;
  /** the noisy teacher's share of wrong demonstrations */
  labelNoise: number;
  /** the RL learning rate */
  rlLearningRate: number;
}

// Per task name. Addition's values are the measured default task (README, "The default task, and
// why"). Countdown bases are capability-limited (13% pass@1 at d 64): RL at ≥ 3e-4 degraded them
// and ≤ 1e-4 crept (the note on DEFAULT_RL.learningRate), and a noisy teacher would only add to
// errors the model already makes, so it trains on a clean teacher at 1e-4. Multiplication was not
// measured; a 2-layer model cannot multiply 3-digit numbers reliably, so it gets the
// capability-limited settings too rather than addition's.
const PER_TASK: Record<TaskName, Omit<TaskDefaults, 'contextLength'>> = {
  addition: { labelNoise: DEFAULT_SFT.labelNoise ?? 0, rlLearningRate: DEFAULT_RL.learningRate },
  multiplication: { labelNoise: 0, rlLearningRate: 1e-4 },
  countdown: { labelNoise: 0, rlLearningRate: 1e-4 },
  // countdown written as steps (verify/steps.ts): its forks are real choices, so no noisy teacher;
  // RL learning rate not measured yet, so the capability-limited one
  'countdown-steps': { labelNoise: 0, rlLearningRate: 1e-4 },
};

export function taskDefaults(task: TaskConfig): TaskDefaults {
  return { contextLength: Math.max(DEFAULT_SFT_MODEL.contextLength, maxLengths(task).sequence), ...PER_TASK[task.task] };
}
