// The grid's options from the experiment CLI's flags (scripts/experiment/options.ts): --task brings
// the task's own defaults with it exactly as train/run.ts does (one place: taskDefaults), --n_layer
// and --num_prompts change only the model's depth and the RL batch, and bad combinations are refused
// before anything runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCommandLine } from '../train/cli.js';
import { gridOptions } from '../scripts/experiment/options.js';
import { fullGrid, jobKey, jobs } from '../scripts/experiment/plan.js';

const t = suite('experiment-options');

t('--task countdown-steps: the same task, context length, label noise and RL learning rate as train/run.ts --task countdown-steps', () => {
  const g = gridOptions({ task: 'countdown-steps' });
  const run = parseCommandLine(['--task', 'countdown-steps']).options;
  assert.equal(g.sft.task, run.task);
  assert.equal(g.rl.task, run.task);
  assert.is(g.model.contextLength, run.model.contextLength);
  assert.is(g.sft.labelNoise, run.sft.labelNoise);
  assert.is(g.rl.learningRate, run.rl.learningRate);
  assert.not.equal(g.model.contextLength, fullGrid().model.contextLength, 'the long-answer task needs more positions than the default');
});

t('--n_layer and --num_prompts change only the depth and the RL batch; every job key changes with the depth', () => {
  const base = gridOptions({ task: 'countdown-steps' });
  const deep = gridOptions({ task: 'countdown-steps', n_layer: 4, num_prompts: 16 });
  assert.equal({ ...deep.model, nLayer: base.model.nLayer }, base.model);
  assert.is(deep.model.nLayer, 4);
  assert.equal({ ...deep.rl, numPrompts: base.rl.numPrompts }, base.rl);
  assert.is(deep.rl.numPrompts, 16);
  const at = (g: typeof base) => new Map(jobs(g).map((j) => [j.name, jobKey(g, j)]));
  const k0 = at(base), k1 = at(gridOptions({ task: 'countdown-steps', n_layer: 4 }));
  for (const [name, key] of k0) assert.is.not(k1.get(name), key, `${name}: another depth is another job`);
});

t('--sft_steps caps the warm-up at a sixth of the steps; --warmup_steps sets it, as train/run.ts --warmup_steps does', () => {
  assert.is(gridOptions({ sft_steps: 300 }).sft.warmupSteps, 50);
  const g = gridOptions({ task: 'countdown-steps', sft_steps: 1200, warmup_steps: 60 });
  const run = parseCommandLine(['--task', 'countdown-steps', '--sft_steps', '1200', '--warmup_steps', '60']).options;
  assert.equal(g.sft, { ...run.sft, evalEvery: g.sft.evalEvery, evalProblems: g.sft.evalProblems });
});

t('--decoding_arm none turns the study off; bad values and combinations are refused with the fix', () => {
  assert.is(gridOptions({ decoding_arm: 'none' }).decodingArm, null);
  assert.is(gridOptions({}).decodingArm, 'c');
  assert.throws(() => gridOptions({ decoding_arm: 'z' }), /--decoding_arm must be one of a, b, c, d, e, f, g or none, got "z"/);
  assert.throws(() => gridOptions({ arms: ['a', 'd'], decoding_arm: 'c' }), /--decoding_arm c is not among --arms ad/);
  assert.throws(() => gridOptions({ seeds: 1, pass_k_seeds: 2 }), /--pass_k_seeds 2 exceeds --seeds 1/);
  assert.throws(() => gridOptions({ n_layer: 0 }), /--n_layer/);
});

t.run();
