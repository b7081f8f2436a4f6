// The experiment of issue 6: does forking-token backprop cut compute at equal accuracy? Runs seven
// RL arms (scripts/experiment/arms.ts) × seeds from one SFT base on the default task, and writes
// <out>/: runs/*.jsonl (raw records, one file per finished job), summary.md, report.html, grid.json.
//
//   npm run experiment                      the full grid (prints its planned time first)
//   npm run experiment -- --quick           the whole pipeline in miniature (≤ 3 min)
//   npm run experiment -- --plan            measure this machine, print the plan, stop
//   npm run experiment -- --report          re-render summary.md and report.html from runs/
//   npm run experiment -- --readme          rewrite README.md's Results section from <out>/
//   (--report and --readme refuse a folder holding a report but not its records: see report/RECORDS.md)
//
// A rerun skips finished jobs (resume); a job file made with other settings is an error, not mixed in.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeAdapter, getGpu, type Gpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import { ProgressDisplay } from '../train/progress.js';
import { ARM_IDS, type ArmId } from './experiment/arms.js';
import { finishedJobs, runGrid } from './experiment/grid.js';
import { jobWork } from './experiment/jobs.js';
import { gridOptions } from './experiment/options.js';
import { jobs } from './experiment/plan.js';
import { readmeSection, replaceSection, writeReport } from './experiment/report.js';
import { headline } from './experiment/summary.js';
import { parseSetting, RULES, type Rule } from '../train/validate.js';
import { TASK_NAMES } from '../verify/index.js';
import { reportCliError } from '../train/cli.js';

/** A flag's argument parsed by the shared rules (train/validate.ts), as train/run.ts's flags are. */
const parsed = (flag: string, rule: Rule) => (v: string) => {
  try {
    return parseSetting(flag, v, rule);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const integer = (flag: string, min: number) => parsed(flag, { kind: 'int', min });
const armList = (v: string) => {
  const ids = v.replace(/[\s,]/g, '').split('');
  const bad = ids.find((x) => !(ARM_IDS as readonly string[]).includes(x));
  if (bad !== undefined || ids.length === 0) throw new InvalidArgumentError(`--arms takes letters from ${ARM_IDS.join('')} (e.g. "bcd"), got "${v}"`);
  return [...new Set(ids)] as ArmId[];
};

const cli = new Command('scripts/experiment.ts')
  .description('The forking-token experiment: seven RL arms × seeds from one SFT base (the default task and model unless --task, --n_layer) → <out>/ (report.html, summary.md, runs/*.jsonl).')
  .option('--quick', 'the whole pipeline in miniature: tiny SFT base, 2 seeds, 3 steps, few samples (≤ 3 min)')
  .option('--out <dir>', 'output folder (default report/, or runs/experiment-quick/ with --quick)')
  .option('--cache_dir <dir>', 'where SFT warm starts are cached (shared with train/run.ts)')
  .addOption(new Option('--task <task>', 'the task every job trains and is evaluated on (its task-dependent defaults follow it, as in train/run.ts)').choices([...TASK_NAMES]))
  .option('--n_layer <n>', 'transformer blocks of the model (its own SFT base; default: the default model\'s)', integer('--n_layer', 1))
  .option('--sft_steps <n>', 'SFT steps of the base (default: the default SFT\'s; another count is another cached base)', integer('--sft_steps', 1))
  .option('--warmup_steps <n>', 'SFT warm-up steps of the base (default: the default SFT\'s, at most a sixth of --sft_steps)', integer('--warmup_steps', 0))
  .option('--arms <letters>', `arms to run, from ${ARM_IDS.join('')}`, armList)
  .option('--seeds <n>', 'RL seeds per arm', integer('--seeds', 1))
  .option('--steps <n>', 'RL steps per run (default: the default RL config\'s)', integer('--steps', 1))
  .option('--num_prompts <n>', 'prompts per RL step (default: the default RL config\'s)', integer('--num_prompts', 1))
  .option('--eval_every <n>', 'held-out pass@1 every n RL steps', integer('--eval_every', 1))
  .option('--rho <x>', 'ρ: the top-entropy share the sparse arms train on', parsed('--rho', RULES['rl.topEntropyQuantile']))
  .option('--eval_problems <n>', 'held-out problems for every sampled evaluation', integer('--eval_problems', 1))
  .option('--curve_samples <n>', 'samples per problem for the pass@1 curve during training', integer('--curve_samples', 1))
  .option('--final_samples <n>', 'samples per problem for the final pass@k of seeds without the full pass@k', integer('--final_samples', 1))
  .option('--pass_k_samples <n>', 'samples per problem for the full pass@k (k = 1, 2, 4, … ≤ n)', integer('--pass_k_samples', 1))
  .option('--pass_k_seeds <n>', 'how many seeds of each arm get the full pass@k (and entropy statistics)', integer('--pass_k_seeds', 0))
  .option('--greedy_problems <n>', 'held-out problems for the final greedy accuracy', integer('--greedy_problems', 1))
  .option('--decoding_arm <id>', 'the arm whose first seed gets the dual-temperature decoding study (none: no study)')
  .option('--decoding_samples <n>', 'samples per problem in the decoding study', integer('--decoding_samples', 1))
  .option('--batch <n>', 'sequences per decode batch', integer('--batch', 1))
  .option('--max_minutes <x>', 'refuse to start when the planned time exceeds this', parsed('--max_minutes', { kind: 'number', min: 0, open: true }))
  .option('--plan', 'measure this machine, print the plan and stop (trains the SFT base first when it is not cached)')
  .option('--report', 're-render summary.md and report.html from <out>/runs/ and stop (no GPU)')
  .option('--readme [file]', 'rewrite the Results section of README.md (or [file]) from <out>/ and stop (no GPU)')
  .exitOverride()
  .configureOutput({ writeErr: () => {} });

const fmtMin = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

/** One invocation: --report / --readme re-render from records; otherwise the grid runs. */
async function main(): Promise<void> {
  let gpu: Gpu | null = null;
  let stop = false;
  try {
    cli.parse();
    const o = cli.opts();
    const g = gridOptions(o);
    const command = ['npx tsx scripts/experiment.ts', ...process.argv.slice(2)].join(' ');
    if (o.report) {
      const s = writeReport(g.out);
      console.log(`wrote ${g.out}/summary.md and ${g.out}/report.html from ${s.finished} finished jobs`);
    } else if (o.readme) {
      const file = typeof o.readme === 'string' ? o.readme : 'README.md';
      if (!existsSync(file)) throw new Error(`--readme: ${file} does not exist; run from the repository root or pass the README's path`);
      const text = replaceSection(readFileSync(file, 'utf8'), readmeSection(g.out, `npm run experiment -- --readme${g.out === 'report' ? '' : ` --out ${g.out}`}`));
      writeFileSync(file, text);
      console.log(`rewrote the Results section of ${file} from ${g.out}/`);
    } else {
      finishedJobs(g); // a foreign job file is an error before the GPU starts
      process.on('SIGINT', () => {
        if (stop) process.exit(130);
        stop = true;
        console.error('\nstopping after the current job (Ctrl-C again to abort now; an unfinished job reruns next time)…');
      });
      gpu = await getGpu();
      const rt = new Runtime(gpu);
      const adapter = describeAdapter(gpu.adapter);
      console.log(`adapter: ${adapter}`);
      // a bar on a terminal, a plain line about every 30 s without one (as train/run.ts)
      const sftBar = new ProgressDisplay({ stage: 'SFT base', format: 'SFT base [{bar}] {value}/{total} | loss {loss} | {eta_formatted} left', etaBuffer: 50, fields: { loss: 'loss' } });
      const bar = new cliProgress.SingleBar({ format: 'grid [{bar}] {percentage}% | {status} | {duration_formatted} elapsed, ~{eta_formatted} left', etaBuffer: 200, fps: 2 }, cliProgress.Presets.shades_classic);
      const total = { planned: 0, done: 0 };
      const r = await runGrid(rt, g, { command, adapter, invocations: [{ argv: process.argv.slice(2), at: new Date().toISOString() }] }, {
        log: (l) => console.log(l),
        sft: {
          onTrainStart: () => { console.log(`SFT base: not cached; training ${g.sft.steps} steps first`); sftBar.start(g.sft.steps, 0, { loss: '-' }); },
          onStep: (m) => { sftBar.update(m.step, { loss: m.loss.toFixed(4) }); if (m.step === g.sft.steps) sftBar.stop(); },
          shouldStop: () => stop,
        },
        onPlan: (plan, c, done) => {
          const rows = plan.map(({ job, seconds }) => {
            const w = jobWork(g, job);
            return [job.name, String(w.steps), String(w.samples), fmtMin(seconds)];
          });
          total.planned = plan.reduce((a, p) => a + p.seconds, 0);
          console.log(`measured: ${Object.entries(c.stepSeconds).map(([a, s]) => `(${a}) ${s!.toFixed(2)} s/step`).join(', ')}; decoding ${c.samplesPerSecond.toFixed(0)} sequences/s`);
          console.log(formatTable(['job', 'RL steps', 'samples decoded', 'planned'], rows));
          console.log(`plan: ${plan.length} of ${jobs(g).length} jobs to run (${done.length} already finished in ${g.out}/runs), about ${fmtMin(total.planned)} on this machine now`);
          const bars = [g.seeds < 3 && 'fewer than 3 seeds', g.passKSamples < 256 && 'pass@k from fewer than 256 samples', g.problems < 200 && 'fewer than 200 held-out problems'].filter(Boolean);
          if (bars.length) console.log(`note: below the issue's bars (${bars.join(', ')})`);
          if (!g.decodingArm) console.log('note: no decoding study (--decoding_arm none, or its arm is not in --arms)');
          if (o.plan) return false;
          if (total.planned > 60 * g.maxMinutes) throw new Error(`the plan takes about ${fmtMin(total.planned)}, over --max_minutes ${g.maxMinutes}; lower --steps, --seeds or --pass_k_seeds, or raise --max_minutes`);
          if (plan.length) bar.start(Math.max(1, Math.round(total.planned)), 0, { status: 'starting' });
          return true;
        },
        onProgress: (seconds, status) => {
          total.done += seconds;
          bar.update(Math.min(Math.round(total.done), bar.getTotal()), { status });
        },
        // Without a terminal the bar is silent: a line per finished job instead.
        onJobDone: (name, i, n) => {
          if (!process.stdout.isTTY) console.log(`finished ${name} (${i} of ${n}); ${fmtMin(total.done)} of ${fmtMin(total.planned)} planned work done`);
        },
        shouldStop: () => stop,
      });
      bar.stop();
      if (r.summary) {
        console.log(`ran ${r.ran.length} jobs in ${fmtMin(r.seconds)} (planned ${fmtMin(total.planned)}; SFT base and calibration ${fmtMin(r.setupSeconds)}); ${r.summary.finished} of ${jobs(g).length} jobs finished`);
        for (const h of headline(r.summary)) console.log(`- ${h}`);
        console.log(`report: ${g.out}/report.html, ${g.out}/summary.md`);
      }
      rt.destroy();
    }
  } finally {
    gpu?.destroy(); // or Dawn keeps Node alive
  }
}

try {
  await main();
} catch (e) {
  reportCliError(e);
}
