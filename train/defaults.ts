// The embedded defaults: what `npx tsx train/run.ts` runs with no flags. One place, read by the
// CLI, the browser page, the benchmarks and the experiment.
import type { GPTConfig } from '../model/config.js';
import { VOCAB_SIZE } from '../verify/index.js';
import type { SftOptions } from './sft.js';
import type { RlOptions } from './rl.js';

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
};

export const DEFAULT_RL: RlOptions = {
  task: DEFAULT_SFT.task,
  maxSteps: 100,
  numPrompts: 32,
  numGenerations: 8,
  // Measured on the addition base: Adam's first steps move every weight by ~lr whatever the
  // gradient's size, so RL's noisy gradients at 1e-3 wrecked the model within 10 steps and 5e-4
  // halved its accuracy; 3e-5 was the first rate that did not lose accuracy.
  learningRate: 3e-5,
  warmupSteps: 20,
  temperature: 1,
  forkTemperature: 0,
  forkThreshold: 0.672,
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
