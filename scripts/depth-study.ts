// The depth study's cross-depth report (issue 16), from the committed records of one grid per depth
// (<dir>/L<n>/runs/*.jsonl, made by scripts/experiment.ts --n_layer n --out <dir>/L<n>). No GPU.
//
//   npx tsx scripts/depth-study.ts --report [dir]    write <dir>/summary.md and <dir>/report.html (dir: report/steps)
//   npx tsx scripts/depth-study.ts --readme [file]   rewrite the depth-study section of README.md (or [file]) from --dir
//
// Both refuse a folder with no records, and a depth folder that holds a report but not its records.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { DEPTH_MARKERS, depthReadmeSection, STUDY, writeDepthReport, type StudyPlan } from './experiment/depth.js';
import { replaceSection } from './experiment/report.js';
import { reportCliError } from '../train/cli.js';

const DEFAULT_DIR = 'report/steps';

const depths = (v: string) => {
  const xs = v.split(',').map((x) => Number(x.trim()));
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidArgumentError(`--depths takes layer counts separated by commas (e.g. "2,4,8"), got "${v}"`);
  return xs;
};
const seeds = (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`--seeds takes a positive integer, got "${v}"`);
  return x;
};

const cli = new Command('scripts/depth-study.ts')
  .description('The depth study\'s report across depths, from <dir>/L<n>/runs/*.jsonl (no GPU).')
  .option('--report [dir]', `write <dir>/summary.md and <dir>/report.html (default dir ${DEFAULT_DIR})`)
  .option('--readme [file]', 'rewrite the depth-study section of README.md (or [file]) from --dir')
  .option('--dir <dir>', `the study's folder for --readme (default ${DEFAULT_DIR}, or --report's dir)`)
  .option('--depths <list>', `the depths the study asks for, to say which are missing (default ${STUDY.depths.join(',')})`, depths)
  .option('--seeds <n>', `the seeds per arm the study asks for (default ${STUDY.seeds})`, seeds)
  .exitOverride()
  .configureOutput({ writeErr: () => {} });

function main(): void {
  cli.parse();
  const o = cli.opts();
  if (!o.report && !o.readme) throw new Error('nothing to do: pass --report [dir] and/or --readme [file] (see --help)');
  const dir: string = o.dir ?? (typeof o.report === 'string' ? o.report : DEFAULT_DIR);
  if (typeof o.report === 'string' && o.dir !== undefined && o.dir !== o.report) throw new Error(`--report ${o.report} and --dir ${o.dir} name different folders; pass one`);
  const plan: StudyPlan = { ...STUDY, depths: o.depths ?? STUDY.depths, seeds: o.seeds ?? STUDY.seeds };
  if (o.report) {
    const st = writeDepthReport(dir, plan);
    console.log(`wrote ${dir}/summary.md and ${dir}/report.html from ${st.depths.reduce((a, d) => a + d.s.finished, 0)} finished jobs at ${st.depths.filter((d) => d.s.finished).map((d) => d.layers).join(', ')} layers`);
  }
  if (o.readme) {
    const file = typeof o.readme === 'string' ? o.readme : 'README.md';
    if (!existsSync(file)) throw new Error(`--readme: ${file} does not exist; run from the repository root or pass the README's path`);
    const command = `npx tsx scripts/depth-study.ts --readme${dir === DEFAULT_DIR ? '' : ` --dir ${dir}`}`;
    writeFileSync(file, replaceSection(readFileSync(file, 'utf8'), depthReadmeSection(dir, command, plan), DEPTH_MARKERS));
    console.log(`rewrote the depth-study section of ${file} from ${dir}/`);
  }
}

try {
  main();
} catch (e) {
  reportCliError(e);
}
