// The experiment's raw results: one JSONL file per finished job under <out>/runs/, written
// atomically when the job ends (so a file that exists is complete). These records are what the
// summary, the report page and the README table are computed from.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../train/files.js';
import { checkSchema, EXPERIMENT_SCHEMA, type PhaseOrDiagnostic, type RlStepMetrics } from '../../train/schema.js';
import type { ArmId } from './arms.js';
import type { EntropyStats } from './stats.js';

export interface JobRecord {
  type: 'job';
  /** EXPERIMENT_SCHEMA when written; absent in files written before versioning (read as 1) */
  schema?: number;
  name: string; key: string;
  arm: ArmId | null; armLabel: string | null; seed: number | null;
  /** the RL options the arm trained with (null for the base) */
  rl: unknown;
  task: unknown; adapter: string; finishedAt: string;
}
/** An RL step: the fields of train/rl.ts's step metrics the summary reads (FLOPs and GPU ms per
 * phase from timestamp queries), and the wall ms of the whole step. */
export type StepRecord = { type: 'step' } & Pick<RlStepMetrics,
  'step' | 'reward' | 'accuracy' | 'loss' | 'entropyMean' | 'selected' | 'responseTokens' | 'zeroSignalGroups' | 'clipFraction' | 'gradCosine' | 'flops' | 'ms'
> & { wallMs: number };
/** Held-out pass@1 during training; training FLOPs and GPU ms (all phases) up to this step. */
export interface CurveRecord { type: 'curve'; step: number; pass1: number; problems: number; samples: number; flops: number; backwardFlops: number; gpuMs: number }
export interface FinalRecord {
  type: 'final'; step: number; greedyAccuracy: number; greedyProblems: number;
  problems: number; samples: number; passAtK: { k: number; passAtK: number }[];
  /** correct samples per problem (same problems, in order, for every job: paired comparisons) */
  correct: number[];
}
export interface EntropyRecord extends EntropyStats { type: 'entropy'; temperature: number }
export interface DecodingRecord { type: 'decoding'; forkTemperature: number; temperature: number; forkThreshold: number; problems: number; samples: number; pass1: number; pass16: number | null }
export interface CostRecord {
  type: 'cost';
  /** totals over the run per phase: FLOPs and GPU ms; 'diagnostic' is the fork-only cosine's extra backward */
  flops: Record<PhaseOrDiagnostic, number>; gpuMs: Record<PhaseOrDiagnostic, number>;
  trainSeconds: number; evalSeconds: number;
}

export type ExperimentRecord = JobRecord | StepRecord | CurveRecord | FinalRecord | EntropyRecord | DecodingRecord | CostRecord;

export interface JobResult {
  job: JobRecord; steps: StepRecord[]; curve: CurveRecord[]; final: FinalRecord | null;
  entropy: EntropyRecord | null; decoding: DecodingRecord[]; cost: CostRecord | null;
}

export const runsDir = (out: string) => join(out, 'runs');
export const jobPath = (out: string, name: string) => join(runsDir(out), `${name}.jsonl`);

/** Rounds floats to 6 significant digits: the files are committed, and float32 noise is not data. */
const compact = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? +v.toPrecision(6) : v);

export function writeJob(out: string, records: readonly ExperimentRecord[]): void {
  const job = records[0];
  if (job?.type !== 'job') throw new Error('writeJob: the first record must be the job record');
  writeFileAtomic(jobPath(out, job.name), records.map((r) => JSON.stringify(r, compact)).join('\n') + '\n');
}

export function readJob(path: string): JobResult {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const recs = lines.map((l, i) => {
    try {
      return JSON.parse(l) as ExperimentRecord;
    } catch (e) {
      throw new Error(`${path} line ${i + 1} is not JSON (${(e as Error).message}); delete the file to rerun that job`);
    }
  });
  if (recs[0]?.type !== 'job') throw new Error(`${path} does not start with a job record; delete the file to rerun that job`);
  checkSchema(path, recs[0].schema, EXPERIMENT_SCHEMA, 'delete the file to rerun that job');
  const of = <T extends ExperimentRecord['type']>(t: T) => recs.filter((r) => r.type === t) as Extract<ExperimentRecord, { type: T }>[];
  return {
    job: recs[0], steps: of('step'), curve: of('curve'), final: of('final')[0] ?? null,
    entropy: of('entropy')[0] ?? null, decoding: of('decoding'), cost: of('cost')[0] ?? null,
  };
}

/** Every finished job under <out>/runs/, by name. */
export function readJobs(out: string): Map<string, JobResult> {
  const dir = runsDir(out);
  const res = new Map<string, JobResult>();
  if (!existsSync(dir)) return res;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    const r = readJob(join(dir, f));
    res.set(r.job.name, r);
  }
  return res;
}
