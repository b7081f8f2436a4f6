// Fault injection for tests of the failure paths (train/run.ts's hidden --debug_nonfinite and
// --debug_lose_device flags, test/nonfinite.test.ts). Kept out of the optimizer and the training
// flow: it wraps the one model's optimizer step, and the run applies it through its step hook.
import type { GPT } from '../model/gpt.js';

export type Poison = 'grad' | 'loss';

/**
 * Before the optimizer step numbered `step`, writes NaN into the first gradient ('grad') or the
 * first guarded loss value ('loss') when `which(step)` says so, as a diverging run would. Wraps this
 * model's `opt.step` only; `which = null` removes the wrapper.
 */
export function injectNonFinite(model: GPT, which: ((step: number) => Poison | null) | null): void {
  const opt = model.opt as { step: GPT['opt']['step'] };
  delete (opt as Partial<typeof opt>).step; // back to the class's own step
  if (!which) return;
  const step = opt.step;
  opt.step = function (params, grads, lr, n, guard) {
    const poison = which(n);
    if (poison === 'grad') model.rt.write(grads.view(0, [1]), [NaN]);
    if (poison === 'loss' && guard) model.rt.write(guard.x.view(0, [1]), [NaN]);
    step.call(this, params, grads, lr, n, guard);
  };
}
