// Record schemas across versions: what forkgrad wrote before its records carried a schema version
// (fixtures in test/fixtures/pre-schema, written by commit 7c1f267: the default run's run.json and
// metrics.jsonl lines, the experiment's --quick job files) still loads — resume settings, report,
// experiment records — and a version newer than this code knows, or a malformed one, is refused
// with one line naming the file and what to do. Checkpoint folders (model checkpoints, SFT caches,
// training checkpoints) likewise: without a manifest (older) they load, a newer manifest is refused.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { readJob, readJobs } from '../scripts/experiment/records.js';
import { collectRun } from '../train/charts.js';
import { CHECKPOINT_SCHEMA, loadCheckpoint, saveCheckpoint } from '../train/files.js';
import { readMetrics, writeReport } from '../train/report.js';
import { readRunSettings } from '../train/resume.js';
import { checkSchema, EXPERIMENT_SCHEMA, RUN_SCHEMA } from '../train/schema.js';
import { VOCAB_SIZE } from '../verify/index.js';

const t = suite('schema');
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pre-schema');
const dirs: string[] = [];
t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A scratch copy of a fixture folder (the tests write into it). */
function copy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-schema-'));
  dirs.push(dir);
  cpSync(join(fixtures, name), dir, { recursive: true });
  return dir;
}
const rewriteJson = (path: string, f: (j: any) => void) => {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  f(j);
  writeFileSync(path, JSON.stringify(j));
};

t('checkSchema: absent reads as 1, known versions pass, newer and malformed ones are refused with the fix', () => {
  assert.is(checkSchema('f', undefined, 1, 'do x'), 1);
  assert.is(checkSchema('f', 1, 2, 'do x'), 1);
  assert.throws(() => checkSchema('a/run.json', 3, 2, 'start a new run'), /^a\/run\.json has schema version 3, written by a newer forkgrad \(this one reads up to 2\); update forkgrad, or start a new run$/);
  for (const bad of [0, 1.5, '1', null]) assert.throws(() => checkSchema('f', bad, 2, 'do x'), /f has schema version .*, not a version forkgrad writes; do x/);
});

t('a run folder from before versioning: its settings resume, its records re-render', () => {
  const dir = copy('run');
  assert.is(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).schema, undefined, 'the fixture predates the version field');
  const o = readRunSettings(dir);
  assert.is(o.rl.maxSteps, 150);
  assert.is(o.sft.steps, 2000);
  const run = collectRun(readMetrics(join(dir, 'metrics.jsonl')).records);
  assert.equal([run.sftSteps.length, run.sftEvals.length, run.rlSteps.length, run.evals.length, run.unknown], [3, 1, 2, 1, 0]);
  assert.ok(run.baseEval && run.baseEval.passAtK.length === 7);
  const html = readFileSync(writeReport(dir), 'utf8');
  assert.ok(html.includes('3 SFT steps, 1 SFT evaluations, 2 RL steps, 1 held-out evaluations, an SFT-base evaluation'));
});

t('a run folder of this version resumes; a newer or malformed one is refused with what to do', () => {
  const dir = copy('run');
  rewriteJson(join(dir, 'run.json'), (j) => (j.schema = RUN_SCHEMA));
  assert.is(readRunSettings(dir).rl.maxSteps, 150);
  rewriteJson(join(dir, 'run.json'), (j) => (j.schema = RUN_SCHEMA + 1));
  assert.throws(() => readRunSettings(dir), new RegExp(`--resume .*: run\\.json has schema version ${RUN_SCHEMA + 1}, written by a newer forkgrad \\(this one reads up to ${RUN_SCHEMA}\\); update forkgrad, or start a new run`));
  rewriteJson(join(dir, 'run.json'), (j) => (j.schema = 'one'));
  assert.throws(() => readRunSettings(dir), /run\.json has schema version "one", not a version forkgrad writes; start a new run/);
});

t('experiment job files from before versioning load; a newer one is refused naming the file', () => {
  const dir = copy('experiment');
  const jobs = readJobs(dir);
  assert.equal([...jobs.keys()], ['base', 'c-s1']);
  const c = jobs.get('c-s1')!;
  assert.equal([c.steps.length, c.curve.length, c.decoding.length], [3, 2, 8]);
  assert.ok(c.final && c.cost && c.entropy);
  const path = join(dir, 'runs', 'c-s1.jsonl');
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const job = JSON.parse(lines[0]);
  writeFileSync(path, [JSON.stringify({ ...job, schema: EXPERIMENT_SCHEMA }), ...lines.slice(1)].join('\n') + '\n');
  assert.is(readJob(path).steps.length, 3);
  writeFileSync(path, [JSON.stringify({ ...job, schema: EXPERIMENT_SCHEMA + 1 }), ...lines.slice(1)].join('\n') + '\n');
  assert.throws(() => readJob(path), /c-s1\.jsonl has schema version \d+, written by a newer forkgrad .*; update forkgrad, or delete the file to rerun that job/);
});

t('checkpoint folders: without a manifest (older) they load; a newer manifest version is refused', () => {
  const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 8, contextLength: 8, vocabSize: VOCAB_SIZE, tiedHead: true };
  const layout = paramLayout(cfg, 64);
  const params = initParams(cfg, layout, 1);
  const dir = mkdtempSync(join(tmpdir(), 'forkgrad-schema-ck-'));
  dirs.push(dir);
  saveCheckpoint(dir, cfg, layout, params, { stage: 'sft' });
  const manifest = join(dir, 'manifest.json');
  assert.is(JSON.parse(readFileSync(manifest, 'utf8')).version, CHECKPOINT_SCHEMA);
  assert.equal(Array.from(loadCheckpoint(dir).params), Array.from(params));
  rewriteJson(manifest, (j) => (j.version = CHECKPOINT_SCHEMA + 1));
  assert.throws(() => loadCheckpoint(dir), /cannot load checkpoint .*: .*manifest\.json has schema version \d+, written by a newer forkgrad .*; update forkgrad, or use the forkgrad that wrote it, or train the checkpoint again/);
  rmSync(manifest); // an SFT cache or checkpoint written before manifests existed
  assert.equal(Array.from(loadCheckpoint(dir).params), Array.from(params));
});

t.run();
