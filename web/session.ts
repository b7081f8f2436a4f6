// One training session in the tab: a warm start (SFT trained here, or a checkpoint made in Node),
// then RL, through train/pipeline.ts's RL stage as train/run.ts's pipeline runs it. The session owns the model and
// the trainer, keeps the run's records in report.html's shape (train/charts.ts RunData), and yields
// to the event loop after every step so the page stays responsive.
import type { Runtime } from '../kernels/runtime.js';
import type { Checkpoint } from '../model/checkpoint.js';
import { GPT } from '../model/gpt.js';
import { collectRun, type RunData } from '../train/charts.js';
import { freshModel, RlStage } from '../train/pipeline.js';
import type { RolloutSample } from '../train/schema.js';
import { trainSft } from '../train/sft.js';
import type { PageSettings } from './settings.js';

export type WarmSource = { kind: 'train' } | { kind: 'checkpoint'; checkpoint: Checkpoint; name: string };
export type SessionState = 'idle' | 'sft' | 'rl' | 'stopping' | 'paused' | 'done' | 'failed';

/** The rollouts of one RL step, as train/rl.ts reports them for display. */
export interface RolloutView { step: number; samples: RolloutSample[]; threshold: number }

/** Lets the browser render and handle input between steps (a macrotask, unlike a resolved promise). */
const yieldToBrowser = () => new Promise<void>((r) => setTimeout(r, 0));

export class Session {
  state: SessionState = 'idle';
  run: RunData = collectRun([]);
  rollouts: RolloutView[] = [];
  /** progress of the stage running now */
  sft = { step: 0, total: 0, stoppedEarly: false };
  rl = { step: 0, total: 0 };
  /** where the model came from, for the page and the checkpoint's provenance */
  origin = '';
  error: string | null = null;
  model: GPT | null = null;
  /** the settings of the latest start */
  settings: PageSettings | null = null;

  private rlStage: RlStage | null = null;
  private trainerKey = '';
  /** RL steps run by earlier trainers (a settings change while paused starts a new one) */
  private stepOffset = 0;
  private stopRequested = false;
  private running: Promise<void> | null = null;
  /** wall-clock ms between the latest steps of the running stage (evaluations included) */
  private recent: number[] = [];
  private lastStepAt = 0;

  constructor(readonly rt: Runtime, private changed: () => void) {}

  get busy(): boolean {
    return this.running !== null;
  }

  /** Starts (or resumes) training; resolves when it stops, finishes or fails. */
  start(s: PageSettings, warm: WarmSource): Promise<void> {
    if (this.running) return this.running;
    this.stopRequested = false;
    this.error = null;
    this.settings = s;
    this.running = this.work(s, warm).finally(() => {
      this.running = null;
      this.changed();
    });
    return this.running;
  }

  /** Stops after the current step (the model and optimizer state stay for a resume). */
  pause(): void {
    if (!this.running) return;
    this.stopRequested = true;
    this.state = 'stopping';
    this.changed();
  }

  /** Stops, then frees the model: the next start begins from a new warm start. */
  async reset(): Promise<void> {
    this.pause();
    await this.running?.catch(() => {});
    this.rlStage?.destroy();
    this.model?.destroy();
    this.rlStage = this.model = null;
    this.trainerKey = '';
    this.stepOffset = 0;
    this.run = collectRun([]);
    this.rollouts = [];
    this.sft = { step: 0, total: 0, stoppedEarly: false };
    this.rl = { step: 0, total: 0 };
    this.origin = '';
    this.error = null;
    this.settings = null;
    this.state = 'idle';
    this.changed();
  }

  private async work(s: PageSettings, warm: WarmSource): Promise<void> {
    try {
      if (!this.model) await this.warmStart(s, warm);
      if (!this.stopRequested) await this.reinforce(s);
      this.state = this.stopRequested ? 'paused' : 'done';
    } catch (e) {
      this.state = 'failed';
      this.error = (e as Error).message || String(e);
      throw e;
    }
  }

  private async warmStart(s: PageSettings, warm: WarmSource): Promise<void> {
    const { rt } = this;
    if (warm.kind === 'checkpoint') {
      const ck = warm.checkpoint;
      this.model = new GPT(rt, ck.config, ck.params);
      this.origin = `checkpoint ${warm.name}`;
      return;
    }
    this.state = 'sft';
    this.newStage();
    this.sft = { step: 0, total: s.sft.steps, stoppedEarly: false };
    this.changed();
    this.model = freshModel(rt, s.model, s.sft);
    this.origin = `SFT in this tab (${s.sft.task.task})`;
    const r = await trainSft(this.model, s.sft, {
      shouldStop: () => this.stopRequested,
      onStep: async (m) => {
        this.run.sftSteps.push({ stage: 'sft', ...m });
        this.sft.step = m.step;
        this.tick();
        this.changed();
        await yieldToBrowser();
      },
      onEval: async (m) => {
        this.run.sftEvals.push({ stage: 'sft', ...m });
        this.changed();
        await yieldToBrowser();
      },
    });
    // Pausing during SFT ends the stage early: what was trained so far is the warm start.
    this.sft.stoppedEarly = r.steps < s.sft.steps;
  }

  private async reinforce(s: PageSettings): Promise<void> {
    const model = this.model!;
    const done = this.rl.step;
    this.rl.total = s.rl.maxSteps;
    if (done >= s.rl.maxSteps) return;
    // Same settings: resume the stage (its step count and schedule go on). Changed settings: a
    // new stage for the remaining steps, on the same model and optimizer state.
    const key = JSON.stringify(s.rl);
    if (!this.rlStage || key !== this.trainerKey) {
      // RL starts with a fresh AdamW, as in train/run.ts; a later stage keeps the moments RL built up.
      const fresh = !this.rlStage;
      this.rlStage?.destroy();
      this.stepOffset = done;
      this.rlStage = new RlStage(model, { ...s.rl, maxSteps: s.rl.maxSteps - done }, { freshOptimizer: fresh });
      this.trainerKey = key;
    }
    const stage = this.rlStage;
    this.state = 'rl';
    this.newStage();
    this.changed();
    if (!this.run.baseEval) {
      this.run.baseEval = await stage.baseEvaluation(null); // greedy only: pass@k would take minutes in a tab
      this.changed();
    }
    await stage.train({
      shouldStop: () => this.stopRequested,
      onStep: async (r) => {
        const step = this.stepOffset + r.step;
        const { samples, ...record } = r;
        this.run.rlSteps.push({ ...record, step });
        this.rollouts = [{ step, samples, threshold: stage.o.forkThreshold }, ...this.rollouts].slice(0, 3);
        this.rl.step = step;
        this.tick();
        this.changed();
        await yieldToBrowser();
      },
      onEval: async (m) => {
        this.run.evals.push({ stage: 'eval', step: this.stepOffset + m.step, greedyAccuracy: m.greedyAccuracy, passAtK: [], samples: 0, problems: m.problems });
        this.changed();
        await yieldToBrowser();
      },
    });
  }

  /** Mean wall-clock ms per step over the last ten steps of the running stage, or null before two. */
  msPerStep(): number | null {
    return this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : null;
  }

  private tick(): void {
    const now = performance.now();
    if (this.lastStepAt) this.recent = [...this.recent.slice(-9), now - this.lastStepAt];
    this.lastStepAt = now;
  }

  private newStage(): void {
    this.recent = [];
    this.lastStepAt = 0;
  }

  /** The latest held-out greedy accuracy (RL evaluations, else the base, else SFT's). */
  heldoutAccuracy(): number | null {
    const e = this.run.evals[this.run.evals.length - 1];
    if (e) return e.greedyAccuracy;
    if (this.run.baseEval) return this.run.baseEval.greedyAccuracy;
    const s = this.run.sftEvals[this.run.sftEvals.length - 1];
    return s ? s.heldoutAccuracy : null;
  }
}
