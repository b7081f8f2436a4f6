// The embedded defaults: what `npx tsx train/run.ts` runs with no flags. One place, read by the
// CLI, the browser page, the benchmarks and the experiment.
import type { GPTConfig } from '../model/config.js';
import { VOCAB_SIZE } from '../verify/index.js';
import type { SftOptions } from './sft.js';

export const DEFAULT_SFT_MODEL: GPTConfig = { nLayer: 2, nHead: 4, dModel: 64, contextLength: 32, vocabSize: VOCAB_SIZE, tiedHead: true };

export const DEFAULT_SFT: SftOptions = {
  task: { task: 'addition', digits: 3 },
  steps: 2000,
  batchSize: 64,
  learningRate: 3e-3,
  warmupSteps: 100,
  seed: 1,
  evalEvery: 500,
  evalProblems: 1000,
};
