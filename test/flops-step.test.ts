// The whole-step FLOP model (model/flops.ts predictStepFlops) against what the runtime counts in a
// real RL step (train/rl.ts RlStepMetrics.flops), per phase, at 2, 4 and 8 layers, each backward
// mode, with and without rollout reuse, and with two passes (numIterations). Rollout, training
// forward and optimizer have no chunk-dependent terms, so they must agree exactly (integers well
// below 2^53); the backward may exceed the model by the second stage of two-stage column sums (not
// modelled, see model/flops.ts), bounded here by 1%.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { gptFlopShape, predictStepFlops, stepTotal } from '../model/flops.js';
import { GPT } from '../model/gpt.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { PHASES, RlTrainer, type RlOptions } from '../train/rl.js';
import { VOCAB_SIZE } from '../verify/index.js';
import { testRuntime } from './gpu.js';

const t = suite('flops-step');

const shapes: [number, number, number][] = [[2, 32, 2], [4, 16, 2], [8, 24, 3]]; // layers, d_model, heads
// rollout reuse is on by default (train/rl.ts reuseRollout): the first pass skips the training forward
const arms = [
  { label: 'dense, ρ = 1', rho: 1, backward: 'exact' as const, want: 'dense' as const, reuse: true, passes: 1 },
  { label: 'exact, ρ = 0.2', rho: 0.2, backward: 'exact' as const, want: 'exact' as const, reuse: true, passes: 1 },
  { label: 'forkOnly, ρ = 0.3', rho: 0.3, backward: 'forkOnly' as const, want: 'forkOnly' as const, reuse: true, passes: 1 },
  { label: 'masked dense, ρ = 0.2', rho: 0.2, backward: 'dense' as const, want: 'dense' as const, reuse: true, passes: 1 },
  { label: 'exact, ρ = 0.2, no reuse', rho: 0.2, backward: 'exact' as const, want: 'exact' as const, reuse: false, passes: 1 },
  { label: 'forkOnly, ρ = 0.2, 2 passes', rho: 0.2, backward: 'forkOnly' as const, want: 'forkOnly' as const, reuse: true, passes: 2 },
];

t('an RL step counts the FLOPs predictStepFlops predicts, phase by phase, at 2, 4 and 8 layers', async () => {
  const rt = await testRuntime();
  for (const [nLayer, dModel, nHead] of shapes) {
    const cfg: GPTConfig = { nLayer, nHead, dModel, contextLength: 32, vocabSize: VOCAB_SIZE, tiedHead: nLayer !== 4 };
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), nLayer));
    try {
      for (const arm of arms) {
        const o: RlOptions = {
          ...DEFAULT_RL, task: { task: 'addition', digits: 2 }, maxSteps: 2, numPrompts: 3, numGenerations: 5,
          topEntropyQuantile: arm.rho, backward: arm.backward, dynamicSampling: false, logGradCosine: false, evalEvery: 0, evalProblems: 4,
          reuseRollout: arm.reuse, numIterations: arm.passes,
        };
        const trainer = new RlTrainer(model, o);
        try {
          // trainStep's own sequence, split to read the rollout's prompt lengths (the prefill)
          rt.resetStats();
          rt.setProfiling(true);
          const { rollout, zeroSignal } = await trainer.collect(1);
          const m = await trainer.update(rollout, zeroSignal, 1, o);
          const prefill = Math.min(...rollout.promptLength) - 1;
          assert.ok(prefill > 0, "the rollout prefills its prompts");
          // the optimizer sweeps the flat buffer, padding included: the shape at the runtime's alignment
          const want = predictStepFlops(gptFlopShape(cfg, rt.viewAlign), { B: o.numPrompts * o.numGenerations, L: trainer.positions + 1, k: m.selected, mode: arm.want, reuse: arm.reuse, passes: arm.passes, prefill, tail: m.update.tail });
          const where = `${nLayer} layers, d ${dModel}, ${arm.label} (k ${m.selected} of ${m.responseTokens})`;
          // exact mode skips each sequence's causal tail (train/rl.ts causalTail, on by default): update.tail says how much
          const { tail, ...ran } = m.update;
          assert.equal(ran, { backward: arm.want, passes: arm.passes, reuse: arm.reuse ? 'reused' : 'off' }, `${where}: the update ran as intended`);
          assert.is(!!tail, arm.want === 'exact', `${where}: the causal tail is skipped in exact mode only`);
          assert.ok(m.selected > 0 && m.selected <= m.responseTokens, `${where}: nothing selected`);
          assert.is(m.flops.rollout, want.rollout, `${where}: rollout`);
          assert.is(m.flops.forward, want.forward, `${where}: training forward`);
          assert.is(m.flops.optimizer, want.optimizer, `${where}: optimizer`);
          // (fork-only's expected selected pairs are fractional: summed per pass they may differ by an ulp)
          assert.ok(m.flops.backward >= want.backward * (1 - 1e-12) && m.flops.backward <= 1.01 * want.backward, `${where}: backward counted ${m.flops.backward}, analytic ${want.backward}`);
          const counted = PHASES.reduce((s, p) => s + m.flops[p], 0);
          const total = stepTotal(want);
          assert.ok(Math.abs(counted - total) <= 0.01 * total, `${where}: step counted ${counted}, analytic ${total}`);
        } finally {
          trainer.destroy();
        }
      }
    } finally {
      model.destroy();
    }
  }
});

t.run();
