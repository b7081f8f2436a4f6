// The records forkgrad writes, in one place: metrics.jsonl lines and run.json (train/pipeline.ts via
// train/run.ts, and the page's session), and their schema versions. Types, a few literal constants
// and the version check: no imports at run time, so the report's chart code can import it freely.
//
// Versions: a record or folder without a version field was written before versioning, in the shape
// of version 1, and reads as version 1. A reader refuses a version newer than it knows, with a
// message naming the file and what to do (checkSchema below). Bump a version when a field
// changes meaning or disappears (adding an optional field needs no bump), and teach the readers the
// old shape or refuse it with a message.
import type { BackwardMode } from '../model/gpt.js';
import type { RunOptions } from './cli.js';

/** run.json, metrics.jsonl, summary.json and the training checkpoints of a run folder */
export const RUN_SCHEMA = 1;
/** the experiment's per-job record files (scripts/experiment/records.ts) */
export const EXPERIMENT_SCHEMA = 1;

/**
 * The version of a file's records: `found` (undefined: written before versioning, read as 1) if this
 * code reads it; otherwise throws one line naming the file, its version and what to do.
 */
export function checkSchema(file: string, found: unknown, current: number, fix: string): number {
  const v = found === undefined ? 1 : found;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${file} has schema version ${JSON.stringify(found)}, not a version forkgrad writes; ${fix}`);
  if (v > current) throw new Error(`${file} has schema version ${v}, written by a newer forkgrad (this one reads up to ${current}); update forkgrad, or ${fix}`);
  return v;
}

export type Stage = 'sft' | 'rl';

/** The GPU phases an RL step's FLOPs and time are attributed to ('diagnostic': the fork-only cosine's extra backward). */
export type Phase = 'rollout' | 'forward' | 'backward' | 'optimizer';
export const PHASES: readonly Phase[] = ['rollout', 'forward', 'backward', 'optimizer'];
export type PhaseOrDiagnostic = Phase | 'diagnostic';

// ---- metrics.jsonl: one JSON object per line

export interface SftStepRecord {
  stage: 'sft'; step: number; loss: number; lr: number; tokens: number; ms: number;
  /** pre-clip gradient norm; +inf (written null) when the step was skipped (non-finite loss or gradients) */
  gradNorm: number;
  skipped: boolean;
}
export interface SftEvalRecord { stage: 'sft'; step: number; heldoutAccuracy: number; problems: number }

export interface EntropyHistogram { edges: number[]; counts: number[]; threshold: number }
/** A rollout shown on the page: text, per-character entropy, selected mask, correct. */
export interface RolloutSample { prompt: string; answer: string; entropy: number[]; selected: boolean[]; correct: boolean }

/** One RL step as train/rl.ts measures it. */
export interface RlStepMetrics {
  stage: 'rl';
  step: number;
  reward: number;
  accuracy: number;
  loss: number;
  entropyMean: number;
  selected: number;
  responseTokens: number;
  zeroSignalGroups: number;
  clipFraction: number;
  /** pre-clip gradient norm; +inf when the update was skipped (non-finite loss or gradients) */
  gradNorm: number;
  skipped: boolean;
  gradCosine: number | null;
  flops: Record<Phase, number>;
  ms: Record<Phase, number>;
  entropyHistogram: EntropyHistogram;
  /** a few rollouts for display */
  samples: RolloutSample[];
  /** how the update ran (absent in runs written before rollout reuse: an added optional field) */
  update?: RlUpdateInfo;
}

/** How an update ran: recorded with the step, since it decides what the phase costs mean. */
export interface RlUpdateInfo {
  /** the backward mode that ran (train/rl.ts backwardFor) */
  backward: BackwardMode;
  passes: number;
  /** where the first pass's logits came from: the rollout ('reused') or a forward, and why */
  reuse: 'reused' | 'off' | 'stale' | 'not captured' | 'dynamic sampling';
  /** exact mode with causalTail: the rows its dense part covered and their causal pairs (first pass) */
  tail?: { rows: number; pairs: number };
}

/**
 * The metrics.jsonl line of an RL step: the step's metrics, the analytic dense backward FLOPs of the
 * same batch, and `denseStepFlops`: the analytic FLOPs of the whole step had it run as a plain dense
 * step — the same rollout and optimizer, one training forward recomputed over every row, the dense
 * backward (absent in runs written before it existed).
 */
export interface RlStepRecord extends RlStepMetrics { denseBackwardFlops: number; denseStepFlops?: number }

/** Greedy held-out accuracy during RL (train/rl.ts's evaluations); `sampled`: the pipeline's sampled
 * pass@1 at the same step (absent when off, and in runs written before it existed: an added optional
 * field, so RUN_SCHEMA stays 1 and old run folders read as they are). */
export interface RlEvalMetrics {
  stage: 'eval'; step: number; greedyAccuracy: number; problems: number;
  sampled?: SampledPass1;
}
/** Sampled held-out pass@1: `samples` per problem on `problems` problems at `temperature`. */
export interface SampledPass1 { pass1: number; samples: number; problems: number; temperature: number }
/** A held-out evaluation with pass@k: the SFT base's (step 0) and the final one. */
export interface HeldOutEvalRecord {
  stage: 'eval' | 'sft-base-eval'; step: number; greedyAccuracy: number;
  passAtK: { k: number; passAtK: number }[]; samples: number; problems: number;
}

export type MetricsRecord = SftStepRecord | SftEvalRecord | RlStepRecord | RlEvalMetrics | HeldOutEvalRecord;

// ---- run.json, summary.json and what a training checkpoint carries

/** What the RL stage carries across a resume (a training checkpoint's state.run). */
export interface RlProgress extends Record<string, unknown> {
  baseGreedyAccuracy: number;
  basePassAtK: { k: number; passAtK: number }[];
  /** per phase, summed over the steps so far */
  totals: Record<string, { flops: number; ms: number }>;
  denseBackwardFlops: number;
  /** the same for whole steps (RlStepRecord.denseStepFlops); absent in checkpoints written before it */
  denseStepFlops?: number;
  /** RL wall-clock seconds so far */
  seconds: number;
}

export interface RunFolderMeta {
  /** RUN_SCHEMA when written; absent in folders written before versioning (read as 1) */
  schema?: number;
  argv: string[];
  options: RunOptions;
  adapter: unknown;
}

export interface RunSummary {
  runDir: string;
  task: unknown;
  stopped: boolean;
  baseGreedyAccuracy?: number; finalGreedyAccuracy?: number;
  basePassAtK?: { k: number; passAtK: number }[]; finalPassAtK?: { k: number; passAtK: number }[];
  rlSteps?: number; rlSeconds?: number;
  phases?: Record<string, { flops: number; ms: number }>;
  backwardFlopsSaved?: number;
  /** 1 − the run's whole-step training FLOPs / those of plain dense steps on the same batches */
  stepFlopsSaved?: number;
}
