// What the SFT and RL training loops share: where a checkpoint can resume them, and what they do
// about non-finite steps. The optimizer already skips any step whose
// loss or gradient norm is NaN/±inf (kernels/optim.ts: weights and moments keep their bits, and
// the norm reads +inf); the loops log each skip with its step, and a run of them in a row stops
// training — one bad batch is noise, several in a row mean the run has diverged.

/** Consecutive skipped steps that stop a run, unless the caller says otherwise. */
export const DEFAULT_NONFINITE_PATIENCE = 3;

export class NonFiniteError extends Error {
  constructor(readonly stage: string, readonly steps: number[]) {
    super(
      `${stage.toUpperCase()} steps ${steps[0]}–${steps[steps.length - 1]}: ${steps.length} steps in a row had a non-finite loss or gradient norm ` +
      `(each was skipped; weights and optimizer moments are still those after step ${steps[0] - 1}); stopping. ` +
      'Lower the learning rate, or check the data and the model size',
    );
  }
}

export class NonFiniteGuard {
  private streak: number[] = [];

  constructor(readonly stage: string, readonly patience = DEFAULT_NONFINITE_PATIENCE) {
    if (!(Number.isInteger(patience) && patience >= 1)) throw new Error(`non-finite patience is ${patience}; it must be a positive integer`);
  }

  /** Whether a step was skipped, from the norm the optimizer left (+inf exactly when it skipped). */
  static skipped(gradNorm: number): boolean {
    return !Number.isFinite(gradNorm);
  }

  /** Records one step; throws NonFiniteError once `patience` steps in a row were skipped. */
  record(step: number, skipped: boolean): void {
    if (!skipped) {
      this.streak = [];
      return;
    }
    this.streak.push(step);
    if (this.streak.length >= this.patience) throw new NonFiniteError(this.stage, this.streak);
  }
}

/** Handed to a loop's onCheckpoint hook after each step's metrics and evaluation: a checkpoint
 * saved then resumes exactly after this step. */
export interface StepCheckpoint {
  step: number;
  /** the training-problem stream's position (Sampler.state) */
  data: number;
  /** no further step will run (the last step, or a stop was requested) */
  last: boolean;
  /** this step's update was skipped as non-finite */
  skipped: boolean;
}

/** Where an interrupted loop left off: its last finished step and the problem stream's position.
 * The caller restores the weights and optimizer state. */
export interface Resume {
  step: number;
  data: number;
}
