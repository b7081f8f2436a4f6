// The entropy profile of a checkpoint's own answers — what RL's rollouts see: held-out problems,
// several samples each at the RL temperature, and for every answer token (EOS included) the entropy
// of the distribution it was drawn from. Reports the shares the seed and the 80/20 paper talk about
// (tokens below 0.01 nats, tokens at or above the forking threshold), sampled pass@1 with the
// verifier's failure reasons, and whether forks are followed by low-entropy runs. For
// countdown-steps it also splits the tokens by role (first operand, operator, second operand, '=',
// result, ',' and EOS) and measures the arithmetic: the share of well-formed steps "a op b=c" whose
// c is a op b.
// Usage: npx tsx scripts/entropy-profile.ts --checkpoint DIR [--task NAME] [--problems n] [--samples n] [--seed n]
import { Command, InvalidArgumentError } from 'commander';
import { describeAdapter, getGpu } from '../kernels/device.js';
import { formatTable, Runtime } from '../kernels/runtime.js';
import { Decoder } from '../model/generate.js';
import { GPT } from '../model/gpt.js';
import { DEFAULT_RL } from '../train/defaults.js';
import { rolloutLength } from '../train/evaluate.js';
import { loadCheckpoint } from '../train/files.js';
import { FORK_THRESHOLD } from '../train/rl.js';
import { seedPlan } from '../train/seeds.js';
import { EOS, PAD, TASK_NAMES, TOKENS, encodeExample, generate, stepTokenRoles, verifyTokens, type TaskConfig, type TaskName } from '../verify/index.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a positive integer, got "${v}"`);
  return n;
};
const cli = new Command('scripts/entropy-profile.ts')
  .requiredOption('--checkpoint <dir>', 'a checkpoint folder written by train/run.ts')
  .option('--task <name>', `task (default: the checkpoint's): ${TASK_NAMES.join(', ')}`)
  .option('--problems <n>', 'held-out problems', positiveInt, 256)
  .option('--samples <n>', 'samples per problem', positiveInt, 4)
  .option('--seed <n>', 'run seed: held-out problems are drawn from its seed plan (train/seeds.ts), as training does', (v) => Number(v), 1)
  .option('--threshold <x>', 'forking threshold (nats)', (v) => Number(v), FORK_THRESHOLD)
  .option('--markdown <file>', 'also write the profile as markdown to FILE (with the command that made it)')
  .parse();
const o = cli.opts<{ checkpoint: string; task?: string; problems: number; samples: number; seed: number; threshold: number; markdown?: string }>();
const lines: string[] = [];
const say = (s: string) => { console.log(s); lines.push(s); };

/** Bad input: one line naming the problem and the fix, exit 1, nothing written. */
function die(message: string): never {
  console.error(`entropy-profile: ${message}`);
  process.exit(1);
}
if (o.task !== undefined && !TASK_NAMES.includes(o.task as TaskName)) die(`--task must be one of ${TASK_NAMES.join(', ')}, got "${o.task}"`);
if (!(o.threshold >= 0)) die(`--threshold must be a number ≥ 0 (nats), got ${o.threshold}`);
const gpu = await getGpu().catch((e: Error) => die(`no WebGPU adapter (${e.message}); on Linux export XDG_RUNTIME_DIR=/tmp and install Mesa's lavapipe`));
const rt = new Runtime(gpu);
let ck: ReturnType<typeof loadCheckpoint>;
try {
  ck = loadCheckpoint(o.checkpoint, rt.viewAlign);
} catch (e) {
  die((e as Error).message);
}
const infoTask = ck.info.task as TaskConfig | undefined;
const task: TaskConfig = o.task ? (o.task === infoTask?.task ? infoTask : ({ task: o.task as TaskName } as TaskConfig)) : infoTask ?? die(`${o.checkpoint} names no task in its config.json; pass --task`);
const model = new GPT(rt, ck.config, ck.params);
const L = rolloutLength(ck.config, task);
const problems = generate(task, { seed: seedPlan(o.seed).heldout, split: 'heldout', count: o.problems, unique: true });
const B = problems.length * o.samples;
const dec = new Decoder(model, B, L);
const prompts = problems.flatMap((p) => Array.from({ length: o.samples }, () => encodeExample(p.prompt).ids));
const gen = await dec.generate(prompts, { length: L, eos: EOS, pad: PAD, seed: o.seed * 7 + 3, temperature: DEFAULT_RL.temperature });

const thr = o.threshold;
const all: number[] = [];
const reasons = new Map<string, number>();
let correct = 0, forks = 0, runTotal = 0, followLow = 0, followCount = 0;
const roles = new Map<string, number[]>();
const addRole = (r: string, h: number) => (roles.get(r) ?? roles.set(r, []).get(r)!).push(h);
let steps = 0, rightSteps = 0, lastSteps = 0, lastRight = 0;
const answerLengths: number[] = [];
for (let b = 0; b < B; b++) {
  const p = problems[Math.floor(b / o.samples)];
  const row = gen.tokens.subarray(b * L, (b + 1) * L);
  const start = gen.promptLength[b];
  let end = start;
  while (end < L && row[end] !== EOS && row[end] !== PAD) end++;
  const stop = Math.min(L, end + 1); // the EOS the model chose is an answer token too
  const ids = Array.from(row.subarray(start, stop));
  const hs = Array.from(gen.entropy.subarray(b * L + start, b * L + stop));
  all.push(...hs);
  answerLengths.push(ids.length);
  const v = verifyTokens(p, ids, { requireEos: true });
  if (v.correct) correct++;
  const code = v.reason.split(':')[0];
  reasons.set(code, (reasons.get(code) ?? 0) + 1);
  // forks and what follows them: the run of tokens below the threshold after each fork
  for (let i = 0; i < hs.length; i++) {
    if (hs[i] < thr) continue;
    forks++;
    let j = i + 1;
    while (j < hs.length && hs[j] < thr) j++;
    runTotal += j - i - 1;
    for (let k = i + 1; k < Math.min(hs.length, i + 4); k++) { followCount++; if (hs[k] < 0.01) followLow++; }
  }
  if (task.task === 'countdown-steps') {
    const text = ids.map((id) => (id === EOS ? '\n' : TOKENS[id].length === 1 ? TOKENS[id] : '?')).join('');
    const r = stepTokenRoles(text);
    r.roles.forEach((role, i) => addRole(role, hs[i]));
    steps += r.steps;
    rightSteps += r.right;
    lastSteps += r.last.steps;
    lastRight += r.last.right;
  }
}
const n = all.length;
const share = (xs: number[], f: (h: number) => boolean) => xs.filter(f).length / Math.max(1, xs.length);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(`adapter: ${describeAdapter(gpu.adapter)}`);
say(`${o.checkpoint}: ${task.task}, ${ck.config.nLayer} layers, d ${ck.config.dModel}; ${problems.length} held-out problems × ${o.samples} samples at temperature ${DEFAULT_RL.temperature}; ${n} answer tokens (EOS included), mean ${mean(answerLengths).toFixed(1)} per answer`);
say(formatTable(['tokens', 'share', 'seed / 80-20 paper'], [
  ['entropy < 0.01 nats', pct(share(all, (h) => h < 0.01)), 'over half of the CoT tokens (80/20 paper)'],
  [`entropy ≥ ${thr} (forks)`, pct(share(all, (h) => h >= thr)), '~20%: 0.672 is the CoT tokens\' 80th percentile'],
  ['mean entropy (nats)', mean(all).toFixed(3), ''],
]));
say(`forks: ${forks}; mean run of tokens below ${thr} after a fork: ${(runTotal / Math.max(1, forks)).toFixed(2)}; share of the 3 tokens after a fork below 0.01 nats: ${pct(followLow / Math.max(1, followCount))}`);
say(`sampled pass@1: ${pct(correct / B)}; failures by reason: ${[...reasons].filter(([k]) => k !== 'ok').sort((a, b) => b[1] - a[1]).map(([k, c]) => `${k} ${c}`).join(', ') || 'none'}`);
if (roles.size) {
  say(formatTable(['role', 'tokens', 'mean H', '< 0.01', `≥ ${thr}`], [...roles].map(([r, hs]) => [r, String(hs.length), mean(hs).toFixed(3), pct(share(hs, (h) => h < 0.01)), pct(share(hs, (h) => h >= thr))])));
  say(`arithmetic: ${rightSteps} of ${steps} well-formed steps have the right result (${pct(rightSteps / Math.max(1, steps))}); before the last step ${rightSteps - lastRight} of ${steps - lastSteps} (${pct((rightSteps - lastRight) / Math.max(1, steps - lastSteps))}), the last step ${lastRight} of ${lastSteps} (${pct(lastRight / Math.max(1, lastSteps))}: its result is the target in every SFT answer, so a wrong last step is mostly a missed plan written as a hit)`);
}
console.log(JSON.stringify({
  checkpoint: o.checkpoint, task: task.task, problems: problems.length, samples: o.samples, tokens: n,
  share_below_0_01: +share(all, (h) => h < 0.01).toFixed(4), share_forking: +share(all, (h) => h >= thr).toFixed(4), threshold: thr,
  mean_entropy: +mean(all).toFixed(4), pass1_sampled: +(correct / B).toFixed(4), forks, mean_low_run_after_fork: +(runTotal / Math.max(1, forks)).toFixed(3),
  reasons: Object.fromEntries(reasons),
  roles: Object.fromEntries([...roles].map(([r, hs]) => [r, { tokens: hs.length, mean: +mean(hs).toFixed(4), below_0_01: +share(hs, (h) => h < 0.01).toFixed(4), forking: +share(hs, (h) => h >= thr).toFixed(4) }])),
  arithmetic: roles.size ? { steps, right: rightSteps, lastSteps, lastRight } : null,
}));
if (o.markdown) {
  const { writeFileSync } = await import('node:fs');
  const cmd = `npx tsx scripts/entropy-profile.ts ${process.argv.slice(2).join(' ')}`;
  writeFileSync(o.markdown, [`# Entropy profile of ${o.checkpoint}`, '', `Generated by \`${cmd}\`; do not edit by hand.`, '', '```', ...lines, '```', ''].join('\n'));
  console.log(`wrote ${o.markdown}`);
}
dec.destroy();
model.destroy();
rt.destroy();
gpu.destroy();
