// RL with verifiable rewards (GRPO/DAPO-style) with forking-token selection. Platform-neutral:
// run.ts (Node) and the web page drive it through hooks.
//
// One step: P prompts × G samples rolled out on the GPU → exact-verifier rewards → group
// advantages → the policy's logits on the rollouts → per-token entropy of the current policy →
// top-ρ rows selected on the GPU → fused clipped PG loss writes dlogits for those rows only →
// backward (dense, exact-sparse or fork-only) → AdamW. FLOPs and GPU time are attributed per phase.
//
// The logits, and every activation the backward reads, come from the rollout itself when they can
// (rollout-activation reuse, model/generate.ts capture): with one update per rollout batch the
// policy that sampled is the policy being trained, and the decoder computed exactly what a training
// forward would (bit for bit, test/reuse.test.ts). The forward runs instead when reuse is off, when
// DAPO dynamic sampling replaced groups with another rollout's, and for every pass after the first
// (numIterations > 1: the weights have moved). The sampling temperature does not matter: the
// captured logits are the raw ones, and the loss applies its own temperature to them.
import { attentionRows } from '../kernels/attention.js';
import { PG_STATS_WIDTH, pgLoss, sumPgStats, tokenEntropy } from '../kernels/pgloss.js';
import type { Runtime, Tensor } from '../kernels/runtime.js';
import { selectRows, selectedCount, type SelectMode } from '../kernels/select.js';
import { Decoder } from '../model/generate.js';
import { causalTail, type BackwardMode, type GPT } from '../model/gpt.js';
import { EOS, PAD, TOKENS, encodeExample, generate, sampler, verifyTokens, type Problem, type Sampler, type TaskConfig } from '../verify/index.js';
import { answerEnd, greedyAccuracy, rolloutLength } from './evaluate.js';
import { NonFiniteGuard, type Resume, type StepCheckpoint } from './loop.js';
import { groupAdvantages } from './metrics.js';
import { PHASES, type Phase, type RlEvalMetrics, type RlStepMetrics, type RlUpdateInfo } from './schema.js';
import { learningRate } from './schedule.js';
import { packBatch } from './rlbatch.js';
import { seedPlan, type SeedPlan } from './seeds.js';

/** The forking threshold of Wang et al. (nats): tokens at or above it are "forking". */
export const FORK_THRESHOLD = 0.672;

export interface RlOptions {
  task: TaskConfig;
  maxSteps: number;
  /** prompts per step (P) */
  numPrompts: number;
  /** samples per prompt (G, TRL's num_generations) */
  numGenerations: number;
  learningRate: number;
  /** Linear warm-up of the learning rate. A fresh Adam's first steps move every weight by ~lr
   * whatever the gradient's size: at lr 2e-4 on the addition base, pass@1 fell from 26% to 12% in
   * 20 steps without warm-up and to 19.5% with 20 warm-up steps (measured). */
  warmupSteps: number;
  temperature: number;
  /** dual temperature for rollouts (0 = off): positions with entropy ≥ forkThreshold sample at it */
  forkTemperature: number;
  forkThreshold: number;
  /** DAPO clip range [1 − epsilon, 1 + epsilonHigh] */
  epsilon: number;
  epsilonHigh: number;
  /** ρ: the share of response tokens trained on (1 = all) */
  topEntropyQuantile: number;
  selection: SelectMode;
  backward: BackwardMode;
  /** 'official' averages the loss over the selected tokens (80/20 code), 'trl' over all response tokens */
  lossNormalization: 'official' | 'trl';
  /** 'grpo': (r − mean)/(std + ε); 'drgrpo': r − mean */
  advantage: 'grpo' | 'drgrpo';
  entropyShaping: boolean;
  alpha: number;
  kappa: number;
  /** DAPO dynamic sampling: replace groups whose rewards are all equal with fresh prompts (up to 3 rounds) */
  dynamicSampling: boolean;
  /** log the cosine between fork-only and exact gradients each step (costs one extra backward) */
  logGradCosine: boolean;
  /** take the update's logits and activations from the rollout where valid (default true) */
  reuseRollout?: boolean;
  /** TRL's num_iterations: optimisation passes over each rollout batch (default 1); passes after
   * the first run a fresh forward, and there the clip acts */
  numIterations?: number;
  /** exact mode: run the backward's dense part over each sequence's rows up to its last selected
   * one only (the same gradients up to rounding; costs a read-back of the selected rows per pass;
   * default on; its rows and pairs are recorded in update.tail for model/flops.ts DenseTail) */
  causalTail?: boolean;
  seed: number;
  evalEvery: number;
  evalProblems: number;
}

// The step record and the phases live in the record schema (train/schema.ts); re-exported for rl.ts's users.
export { PHASES, type Phase, type RlStepMetrics, type RlUpdateInfo } from './schema.js';

export interface RlHooks {
  onStep?(m: RlStepMetrics): void | Promise<void>;
  onEval?(m: RlEvalMetrics): void | Promise<void>;
  shouldStop?(): boolean;
  /** After each step's metrics and evaluation: the point where a saved checkpoint resumes exactly. */
  onCheckpoint?(c: StepCheckpoint): void | Promise<void>;
}

export interface Rollout {
  problems: Problem[];
  tokens: Uint32Array; // [B, L]
  logprob: Float32Array;
  entropy: Float32Array;
  promptLength: number[];
  /** column one past each sample's last response token (EOS included) */
  end: number[];
  rewards: number[];
  correct: boolean[];
  L: number;
  /** GPT.reuse's ticket for the activations the rollout captured, if it did and they still match */
  ticket?: number;
  /** why there is no ticket, when there is none */
  noCapture?: 'not captured' | 'dynamic sampling';
}


/**
 * The backward mode an update runs. At ρ = 1 (top selection) every response row is selected, so
 * the sparse modes have nothing to skip and the dense backward computes the same gradients faster
 * (for 'forkOnly' the same too: with every response row selected it drops only the prompt
 * positions' key/value gradients, which no parameter's update has ever used there — the dense run
 * keeps them). Stated here and recorded per step (RlUpdateInfo.backward), not switched silently.
 */
export function backwardFor(o: Pick<RlOptions, 'topEntropyQuantile' | 'selection' | 'backward'>): BackwardMode {
  return o.topEntropyQuantile < 1 || o.selection === 'bottom' ? o.backward : 'dense';
}

/** Runs f with the runtime's accounting phase set to `phase`, restoring the previous one after,
 * also when f throws. */
async function inPhase<R>(rt: Runtime, phase: string, f: () => R | Promise<R>): Promise<R> {
  const prev = rt.phase;
  rt.phase = phase;
  try {
    return await f();
  } finally {
    rt.phase = prev;
  }
}

/** Entropy histogram bins (nats): fine near 0, where most tokens sit, with an edge at the forking
 * threshold (0.672 by default) so the bins split forking from non-forking tokens. */
export function histogramEdges(threshold: number): number[] {
  const base = [0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 1.0, 1.25, 1.5, 2, 2.5, 3.2];
  const inside = threshold > 0 && threshold < base[base.length - 1] && !base.includes(threshold);
  return inside ? [...base, threshold].sort((a, b) => a - b) : base;
}

function histogram(xs: number[], threshold: number) {
  const edges = histogramEdges(threshold);
  const counts = new Array(edges.length - 1).fill(0);
  for (const x of xs) {
    let i = edges.findIndex((e, j) => j > 0 && x < e) - 1;
    if (i < 0) i = counts.length - 1;
    counts[i]++;
  }
  return { edges, counts, threshold };
}

/** Scores one completion (answer ids up to and including EOS). Default: the task's exact verifier. */
export type RewardFn = (problem: Problem, ids: number[]) => { reward: number; correct: boolean };

const verifierReward: RewardFn = (problem, ids) => {
  const v = verifyTokens(problem, ids, { requireEos: true });
  return { reward: v.reward, correct: v.correct };
};

export class RlTrainer {
  private decoder: Decoder;
  private next: Sampler;
  /** the held-out problems of greedy evaluations (and the first of them for pass@k) */
  readonly heldout: Problem[];
  private L: number;
  private step = 0;
  /** every random stream of this run derives from o.seed (train/seeds.ts) */
  private seeds: SeedPlan;

  constructor(private model: GPT, readonly o: RlOptions, private reward: RewardFn = verifierReward) {
    this.L = rolloutLength(model.cfg, o.task);
    this.decoder = new Decoder(model, o.numPrompts * o.numGenerations, this.L);
    this.seeds = seedPlan(o.seed);
    this.next = sampler(o.task, { seed: this.seeds.rlData, split: 'train' });
    this.heldout = generate(o.task, { seed: this.seeds.heldout, split: 'heldout', count: o.evalProblems, unique: true });
  }

  /** The last finished step and the problem stream's position: with the weights and optimizer
   * state, all a checkpoint needs to resume (rollout seeds derive from the step). */
  get position(): Resume {
    return { step: this.step, data: this.next.state };
  }

  /** Continues after `r.step` (load the weights and optimizer state into the model too). */
  restore(r: Resume): void {
    if (!(Number.isInteger(r.step) && r.step >= 0 && r.step <= this.o.maxSteps)) throw new Error(`RL resume step ${r.step} is outside 0..${this.o.maxSteps}`);
    this.step = r.step;
    this.next.state = r.data;
  }

  /** Training positions per sequence (T): the rollout length minus one. */
  get positions(): number {
    return this.L - 1;
  }

  get rt(): Runtime {
    return this.model.rt;
  }

  /** Rolls out P prompts × G samples and scores them with the exact verifier; with `capture`, the
   * decoder also leaves the training forward's activations (GPT.captureActivations). */
  private async rollout(problems: Problem[], seed: number, capture: boolean): Promise<Rollout> {
    const G = this.o.numGenerations, L = this.L;
    const prompts = problems.flatMap((p) => Array.from({ length: G }, () => encodeExample(p.prompt).ids));
    const gen = await this.decoder.generate(prompts, {
      length: L, eos: EOS, pad: PAD, seed, capture,
      temperature: this.o.temperature,
      forkTemperature: this.o.forkTemperature > 0 ? this.o.forkTemperature : undefined,
      forkThreshold: this.o.forkTemperature > 0 ? this.o.forkThreshold : undefined,
    });
    const rewards: number[] = [], correct: boolean[] = [], end: number[] = [];
    prompts.forEach((_, b) => {
      const row = gen.tokens.subarray(b * L, (b + 1) * L);
      const stop = Math.min(L, answerEnd(row, gen.promptLength[b], L) + 1); // include the EOS the model chose (if any): it is an action too
      end.push(stop);
      const v = this.reward(problems[Math.floor(b / G)], Array.from(row.subarray(gen.promptLength[b], stop)));
      rewards.push(v.reward);
      correct.push(v.correct);
    });
    return {
      problems: problems.flatMap((p) => Array.from({ length: G }, () => p)), tokens: gen.tokens, logprob: gen.logprob, entropy: gen.entropy, promptLength: gen.promptLength, end, rewards, correct, L,
      ticket: gen.ticket, noCapture: capture ? undefined : 'not captured',
    };
  }

  /** One RL step: a rollout batch, then the update on it; returns its metrics. */
  async trainStep(): Promise<RlStepMetrics & { update: RlUpdateInfo }> {
    const step = ++this.step;
    this.rt.resetStats();
    this.rt.setProfiling(true);
    const { rollout, zeroSignal } = await this.collect(step);
    return this.update(rollout, zeroSignal, step, this.o);
  }

  /** The rollout phase: P prompts × G samples, scored; with DAPO dynamic sampling, groups that
   * carry no signal are replaced by fresh prompts' groups (up to 3 rounds). */
  async collect(step: number): Promise<{ rollout: Rollout; zeroSignal: number }> {
    return inPhase(this.rt, 'rollout', () => this.collectRounds(step));
  }

  private async collectRounds(step: number): Promise<{ rollout: Rollout; zeroSignal: number }> {
    const o = this.o;
    const G = o.numGenerations, P = o.numPrompts;
    const problems = Array.from({ length: P }, this.next);
    const ro = await this.rollout(problems, this.seeds.rollout(step), o.reuseRollout !== false);
    let zeroSignal = 0;
    const groupHasSignal = (r: Rollout, i: number) => new Set(r.rewards.slice(i * G, (i + 1) * G)).size > 1;
    for (let i = 0; i < P; i++) if (!groupHasSignal(ro, i)) zeroSignal++;
    if (o.dynamicSampling) {
      for (let round = 1; round <= 3; round++) {
        const dead = [...Array(P).keys()].filter((i) => !groupHasSignal(ro, i));
        if (!dead.length) break;
        const fresh = Array.from({ length: P }, this.next);
        const extra = await this.rollout(fresh, this.seeds.rollout(step, round), false);
        const live = [...Array(P).keys()].filter((i) => groupHasSignal(extra, i));
        for (const [j, i] of dead.entries()) {
          if (j >= live.length) break;
          replaceGroup(ro, extra, i, live[j], G);
          // the captured activations no longer match every row: the update runs the forward
          ro.ticket = undefined;
          ro.noCapture = 'dynamic sampling';
        }
      }
    }
    return { rollout: ro, zeroSignal };
  }

  /**
   * The update phases on one rollout batch, `o.numIterations` passes (default 1) of: the policy's
   * logits (the rollout's captured forward when reuse is valid, else a training forward), entropy,
   * top-ρ selection, PG loss, backward (mode: backwardFor(o)), AdamW. `o` may differ from the
   * trainer's options in ρ, selection, backward mode, reuse and passes (the RL benchmark replays
   * one batch under each). Profiling must be on.
   */
  async update(ro: Rollout, zeroSignal: number, step: number, o: RlOptions): Promise<RlStepMetrics & { update: RlUpdateInfo }> {
    const { rt } = this;
    const model = this.model;
    const G = o.numGenerations, P = o.numPrompts, B = P * G;
    const passes = o.numIterations ?? 1;
    if (!(Number.isInteger(passes) && passes >= 1)) throw new Error(`RL: numIterations is ${passes}; it must be an integer ≥ 1`);
    if (ro.tokens.length !== B * ro.L) throw new Error(`RL update: the rollout holds ${ro.tokens.length / ro.L} rows, the options ${P}×${G}`);

    const adv: number[] = [];
    for (let i = 0; i < P; i++) adv.push(...groupAdvantages(ro.rewards.slice(i * G, (i + 1) * G), o.advantage === 'grpo'));
    const batch = packBatch(ro, adv);
    const { T, nValid } = batch, N = B * T;
    const k = selectedCount(o.topEntropyQuantile, nValid, o.selection);
    const buf = this.buffers(N, Math.max(k, 1));
    rt.write(buf.target, batch.target);
    rt.write(buf.old, batch.old);
    rt.write(buf.adv, batch.adv);
    rt.write(buf.valid, batch.valid);
    // the response rows, ascending: the only rows selection has to rank
    const candidates = buf.cand.view(0, [nValid]);
    if (nValid) rt.write(candidates, Uint32Array.from(batch.valid.keys()).filter((r) => batch.valid[r]));
    const mode = backwardFor(o);
    const rows = buf.rows.view(0, [k]);
    const stats = buf.stats.view(0, [k, PG_STATS_WIDTH]);
    const lr = learningRate(step, o.maxSteps, o.learningRate, o.warmupSteps, 1);

    // Reuse: the first pass may take the rollout's own forward (same weights, same tokens); every
    // later pass follows a weight update, so GPT.reuse refuses the capture and the forward runs.
    let reuse: RlUpdateInfo['reuse'] = o.reuseRollout === false ? 'off' : ro.ticket === undefined ? (ro.noCapture ?? 'not captured') : 'reused';
    let loss = 0, clipped = 0, gradNorm = 0, skipped = false, gradCosine: number | null = null;
    let ent: Float32Array | null = null, mask: Float32Array | null = null;
    let tailInfo: RlUpdateInfo['tail'];
    for (let pass = 0; pass < passes; pass++) {
      const logits = await inPhase(rt, 'forward', () => {
        const reused = pass === 0 && reuse === 'reused' ? model.reuse(ro.ticket!, B, T) : null;
        if (pass === 0 && reuse === 'reused' && !reused) reuse = 'stale';
        if (reused) return reused;
        rt.write(model.tokensFor(B, T), batch.tokens);
        return model.forward(B, T);
      });
      const rowSet = await inPhase(rt, 'forward', () => {
        tokenEntropy(rt, { logits, entropy: buf.entropy }, o.temperature);
        selectRows(rt, { score: buf.entropy, valid: buf.valid, rows, mask: buf.mask, k, mode: o.selection, candidates });
        const dlogits = model.dlogitsBuffer();
        rt.zero(dlogits);
        pgLoss(rt, { logits, tokens: buf.target, oldLogprob: buf.old, advantages: buf.adv, rows, dlogits, stats }, {
          temperature: o.temperature, epsilon: o.epsilon, epsilonHigh: o.epsilonHigh,
          entropyShaping: o.entropyShaping, alpha: o.alpha, kappa: o.kappa,
          scale: 1 / Math.max(1, o.lossNormalization === 'official' ? k : nValid),
        });
        return attentionRows(rt, rows, { B, T }, k);
      });
      // exact mode's causal tail: the host needs the selected rows (a read-back) to list it
      const tail = mode === 'exact' && o.causalTail !== false && k > 0
        ? await inPhase(rt, 'backward', async () => attentionRows(rt, causalTail(await rt.read(rows), B, T), { B, T }))
        : undefined;
      if (tail && pass === 0) tailInfo = { rows: tail.count, pairs: tail.pairs };
      try {
        await inPhase(rt, 'backward', () => {
          model.zeroGrad();
          model.backward(model.dlogitsBuffer(), { rows: rowSet, mode, tail });
        });
        if (pass === 0 && o.logGradCosine && o.backward === 'forkOnly') {
          gradCosine = await inPhase(rt, 'diagnostic', () => model.gradientCosine(model.dlogitsBuffer(), rowSet, 'exact'));
        }
        // the selected rows' losses (column PG_STATS.loss = 0 of stats) guard the step with the norm;
        // AdamW counts its own steps: passes × RL steps
        await inPhase(rt, 'optimizer', () => model.step(lr, (step - 1) * passes + pass + 1, { x: stats, stride: PG_STATS_WIDTH }));
        await rt.sync();
      } finally {
        rowSet.index.buffer.destroy(); // made per pass by attentionRows
        if (tail) for (const t of [tail.index, tail.list]) t.buffer.destroy();
      }
      // the norm, the loss statistics and (first pass) the ranking in one readback
      const [normT, statsT, entT, maskT] = await rt.readMany(pass === 0 ? [model.opt.norm, stats, buf.entropy, buf.mask] : [model.opt.norm, stats]);
      const norm = (normT as Float32Array)[0];
      gradNorm = norm;
      skipped ||= NonFiniteGuard.skipped(norm);
      const sums = sumPgStats(statsT as Float32Array, k);
      loss += sums.loss / passes;
      clipped += sums.clipped / passes;
      if (pass === 0) {
        // the ranking and samples shown are the first pass's: the policy that sampled the batch
        ent = entT as Float32Array;
        mask = maskT as Float32Array;
      }
    }
    rt.setProfiling(false);

    // ---- metrics
    const phases = rt.phaseStats();
    const respEntropy: number[] = [];
    for (let r = 0; r < N; r++) if (batch.valid[r]) respEntropy.push(ent![r]);
    const samples = [];
    for (let b = 0; b < Math.min(B, 8); b++) {
      const cols = [];
      for (let c = ro.promptLength[b]; c < ro.end[b]; c++) cols.push(c);
      samples.push({
        prompt: ro.problems[b].prompt,
        answer: cols.map((c) => decodeOne(ro.tokens[b * ro.L + c])).join(''),
        entropy: cols.map((c) => ent![b * T + c - 1]),
        selected: cols.map((c) => mask![b * T + c - 1] === 1),
        correct: ro.correct[b],
      });
    }
    const flops = {} as Record<Phase, number>, ms = {} as Record<Phase, number>;
    for (const p of PHASES) { flops[p] = phases[p]?.flops ?? 0; ms[p] = phases[p]?.ms ?? 0; }
    return {
      stage: 'rl', step,
      reward: mean(ro.rewards),
      accuracy: mean(ro.correct.map(Number)),
      loss,
      entropyMean: mean(respEntropy),
      selected: k,
      responseTokens: nValid,
      zeroSignalGroups: zeroSignal,
      clipFraction: k ? clipped / k : 0,
      gradNorm: skipped && Number.isFinite(gradNorm) ? Infinity : gradNorm,
      skipped,
      gradCosine,
      flops, ms,
      entropyHistogram: histogram(respEntropy, o.forkThreshold),
      samples,
      update: { backward: mode, passes, reuse, ...(tailInfo ? { tail: tailInfo } : {}) },
    };
  }

  async evaluate(): Promise<number> {
    return greedyAccuracy(this.model, this.o.task, this.heldout);
  }

  /** Steps until maxSteps (from where restore() left it), then the held-out evaluation. Throws
   * NonFiniteError after `run.nonFinitePatience` skipped steps in a row. */
  async train(hooks: RlHooks = {}, run: { nonFinitePatience?: number } = {}): Promise<{ steps: number; finalAccuracy: number }> {
    let acc = NaN;
    const guard = new NonFiniteGuard('rl', run.nonFinitePatience);
    while (this.step < this.o.maxSteps) {
      if (hooks.shouldStop?.()) break;
      const m = await this.trainStep();
      await hooks.onStep?.(m);
      if (this.o.evalEvery > 0 && this.step % this.o.evalEvery === 0 && this.step < this.o.maxSteps) {
        acc = await this.evaluate();
        await hooks.onEval?.({ stage: 'eval', step: this.step, greedyAccuracy: acc, problems: this.heldout.length });
      }
      guard.record(this.step, m.skipped);
      const last = this.step === this.o.maxSteps || !!hooks.shouldStop?.();
      await hooks.onCheckpoint?.({ step: this.step, data: this.next.state, last, skipped: m.skipped });
      if (last) break;
    }
    acc = await this.evaluate();
    await hooks.onEval?.({ stage: 'eval', step: this.step, greedyAccuracy: acc, problems: this.heldout.length });
    return { steps: this.step, finalAccuracy: acc };
  }

  private bufs: { N: number; k: number; target: Tensor; old: Tensor; adv: Tensor; valid: Tensor; cand: Tensor; entropy: Tensor; mask: Tensor; rows: Tensor; stats: Tensor } | null = null;
  private buffers(N: number, k: number) {
    if (this.bufs && this.bufs.N === N && this.bufs.k >= k) return this.bufs;
    this.freeBuffers();
    const rt = this.rt;
    const cap = Math.max(k, N);
    this.bufs = {
      N, k: cap,
      target: rt.empty([N], 'u32', 'rl targets'), old: rt.empty([N], 'f32', 'rl old logprob'),
      adv: rt.empty([N], 'f32', 'rl advantages'), valid: rt.empty([N], 'u32', 'rl valid'), cand: rt.empty([N], 'u32', 'rl response rows'),
      entropy: rt.empty([N], 'f32', 'rl entropy'), mask: rt.empty([N], 'f32', 'rl mask'),
      rows: rt.empty([cap], 'u32', 'rl rows'), stats: rt.empty([cap, PG_STATS_WIDTH], 'f32', 'rl loss stats'),
    };
    return this.bufs;
  }
  private freeBuffers(): void {
    if (!this.bufs) return;
    for (const t of Object.values(this.bufs)) if (typeof t === 'object') t.buffer.destroy();
    this.bufs = null;
  }

  destroy(): void {
    this.decoder.destroy();
    this.freeBuffers();
  }
}

function replaceGroup(dst: Rollout, src: Rollout, i: number, j: number, G: number): void {
  const L = dst.L;
  for (let g = 0; g < G; g++) {
    const a = i * G + g, b = j * G + g;
    dst.tokens.set(src.tokens.subarray(b * L, (b + 1) * L), a * L);
    dst.logprob.set(src.logprob.subarray(b * L, (b + 1) * L), a * L);
    dst.entropy.set(src.entropy.subarray(b * L, (b + 1) * L), a * L);
    dst.promptLength[a] = src.promptLength[b];
    dst.end[a] = src.end[b];
    dst.rewards[a] = src.rewards[b];
    dst.correct[a] = src.correct[b];
    dst.problems[a] = src.problems[b];
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function decodeOne(id: number): string {
  return id === EOS ? '⏎' : (TOKENS[id] ?? '?');
}
