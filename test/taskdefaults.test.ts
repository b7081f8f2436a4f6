// Defaults that depend on the task follow --task unless the flag is given: the context length the
// task needs, the noisy teacher's label noise and the RL learning rate (train/defaults.ts). Checked
// on the option resolution itself (parseCommandLine) and on the --help text a user reads.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildCli, parseCommandLine } from '../train/cli.js';
import { DEFAULT_RL, DEFAULT_SFT, DEFAULT_SFT_MODEL, taskDefaults } from '../train/defaults.js';
import { maxLengths } from '../verify/index.js';

const t = suite('taskdefaults');
const parse = (...argv: string[]) => parseCommandLine(argv).options;

t('--task countdown with every other flag at its default passes validation and fits the task', () => {
  const o = parse('--task', 'countdown');
  const need = maxLengths({ task: 'countdown' }).sequence;
  assert.ok(need > DEFAULT_SFT_MODEL.contextLength, 'countdown needs more than the default model context (what made it fail)');
  assert.is(o.model.contextLength, need);
  assert.is(o.sft.labelNoise, 0, 'clean teacher');
  assert.is(o.rl.learningRate, 1e-4, 'the rate that did not degrade countdown bases');
  assert.is(o.rl.learningRate, taskDefaults(o.task).rlLearningRate);
});

t('addition with no flags keeps the measured defaults (same model, same warm-start cache)', () => {
  const o = parse();
  assert.equal(o.model, DEFAULT_SFT_MODEL);
  assert.is(o.sft.labelNoise, DEFAULT_SFT.labelNoise);
  assert.is(o.rl.learningRate, DEFAULT_RL.learningRate);
  assert.is(o.sft.learningRate, DEFAULT_SFT.learningRate);
});

t('the context follows the task configuration (addition with more digits)', () => {
  const o = parse('--digits', '20');
  assert.is(o.model.contextLength, maxLengths({ task: 'addition', digits: 20 }).sequence);
  assert.ok(o.model.contextLength > DEFAULT_SFT_MODEL.contextLength);
});

t('a flag the user gives wins over the task default, including a value equal to another task\'s default', () => {
  const o = parse('--task', 'countdown', '--context_length', '40', '--label_noise', '0.5', '--learning_rate', '3e-4');
  assert.is(o.model.contextLength, 40);
  assert.is(o.sft.labelNoise, 0.5);
  assert.is(o.rl.learningRate, 3e-4);
  const a = parse('--label_noise', '0', '--learning_rate', '1e-5', '--context_length', '64');
  assert.is(a.sft.labelNoise, 0, 'an explicit 0 is not "not given"');
  assert.is(a.rl.learningRate, 1e-5);
  assert.is(a.model.contextLength, 64);
});

t('a context shorter than the task needs is still an error when the user gives it', () => {
  assert.throws(() => parse('--task', 'countdown', '--context_length', '32'), /--context_length 32 is shorter than the 33 positions countdown needs/);
});

t('--help documents which defaults follow the task, with each task\'s values', () => {
  let help = '';
  const cli = buildCli();
  cli.configureOutput({ writeOut: (s) => (help += s) }).outputHelp();
  assert.match(help, /Defaults that follow --task/);
  const flat = help.replace(/\s+/g, ' ');
  for (const flag of ['--context_length', '--label_noise', '--learning_rate']) {
    const opt = cli.options.find((o) => o.long === flag)!;
    assert.is(opt.defaultValue, undefined, `${flag} has no fixed default`);
    assert.match(opt.description, /default: depends on --task/, flag);
    assert.ok(flat.includes(`${opt.flags} ${opt.description}`), `${flag} is in the help text`);
  }
  for (const name of ['addition', 'multiplication', 'countdown'] as const) {
    const d = taskDefaults(name === 'countdown' ? { task: name } : { task: name, digits: 3 });
    const row = help.split('\n').find((l) => l.trimStart().startsWith(name + ' '));
    assert.ok(row, `a row for ${name}`);
    assert.equal(row!.trim().split(/\s+/).slice(1).map(Number), [d.contextLength, d.labelNoise, d.rlLearningRate], row);
  }
});

t.run();
