// What the forking-token backward saves at the papers' scale, on paper. Two parts:
//
// 1. Measured: one RL step per arm (all tokens, top-ρ exact, top-ρ fork-only; each with and without
//    rollout reuse) at the shapes run here
//    (the default 2-layer model, 4 and 8 layers, on the default task and on countdown-steps), on the GPU adapter; the
//    FLOPs the runtime counted per phase against model/flops.ts's predictStepFlops. Fails (exit 1)
//    when any phase is off by more than 1%.
// 2. ANALYTIC ONLY: the same model for GPT-2 small/medium/XL and the 80/20 paper's Qwen3-8B/14B/32B
//    at 4k–20k response tokens: backward and whole-step FLOP ratios of exact and fork-only to the
//    dense (all tokens) step, with and without rollout reuse. Nothing here counts Qwen3's grouped KV
//    heads, SwiGLU MLP or RMSNorm: they are modelled (model/flops.ts FlopShape), not measured.
//
// A table per part, then one JSON line. --markdown FILE also writes the tables as markdown
// (report/projection.md is made by: npx tsx scripts/project-flops.ts --markdown report/projection.md).
// Usage: npx tsx scripts/project-flops.ts [--no-measure] [--markdown FILE]
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { formatTable } from '../kernels/runtime.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { gptFlopShape, predictBackwardFlops, predictStepFlops, stepTotal, type FlopShape, type StepPhase, type StepShape } from '../model/flops.js';
import type { BackwardMode } from '../model/gpt.js';
import type { TaskConfig } from '../verify/index.js';

const cli = new Command('scripts/project-flops.ts')
  .option('--no-measure', 'skip the measured RL steps (analytic projection only; needs no GPU)')
  .option('--markdown <file>', 'also write the tables as markdown to FILE')
  .parse();
const opts = cli.opts<{ measure: boolean; markdown?: string }>();

const PHASE_NAMES: StepPhase[] = ['rollout', 'forward', 'backward', 'optimizer'];
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const r3 = (x: number) => x.toFixed(3);
const md: string[] = [];
const mdTable = (head: string[], rows: string[][]) => {
  md.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), '');
};

// ------------------------------------------------------------------------------ 1. measured

interface Measured { shape: string; arm: string; k: number; responseTokens: number; counted: Record<StepPhase, number>; analytic: Record<StepPhase, number>; worst: number }
const measured: Measured[] = [];
if (opts.measure) {
  const { getGpu, describeAdapter } = await import('../kernels/device.js');
  const { Runtime } = await import('../kernels/runtime.js');
  const { GPT } = await import('../model/gpt.js');
  const { DEFAULT_RL, DEFAULT_SFT_MODEL } = await import('../train/defaults.js');
  const { RlTrainer } = await import('../train/rl.js');
  const gpu = await getGpu().catch((e: Error) => {
    console.error(`project-flops: no WebGPU adapter for the measured part (${e.message}); pass --no-measure for the analytic projection alone`);
    process.exit(1);
  });
  const rt = new Runtime(gpu);
  const rho = DEFAULT_RL.topEntropyQuantile;
  // [label, ρ, backward option, the mode the update must report, reuse, causal tail]; exact runs
  // with its causal tail (the default) and without it, so both FLOP models are checked
  const arms: [string, number, BackwardMode, BackwardMode, boolean, boolean][] = [];
  for (const reuse of [false, true]) {
    const tag = reuse ? ', reuse' : '';
    arms.push(
      ['all tokens' + tag, 1, 'exact', 'dense', reuse, true],
      [`exact ρ ${rho}${tag}`, rho, 'exact', 'exact', reuse, true],
      [`exact ρ ${rho}, no tail${tag}`, rho, 'exact', 'exact', reuse, false],
      [`fork-only ρ ${rho}${tag}`, rho, 'forkOnly', 'forkOnly', reuse, true],
    );
  }
  // the default task and the long-answer task (countdown-steps, at its own context length), each at
  // 2 (the default), 4 and 8 layers: the depth study's shapes
  const { taskDefaults } = await import('../train/defaults.js');
  const steps: TaskConfig = { task: 'countdown-steps' };
  const configs: [number, TaskConfig][] = [2, 4, 8].flatMap((l): [number, TaskConfig][] => [[l, DEFAULT_RL.task], [l, steps]]);
  for (const [nLayer, task] of configs) {
    const cfg: GPTConfig = { ...DEFAULT_SFT_MODEL, nLayer, contextLength: taskDefaults(task).contextLength };
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 1));
    const label = `${nLayer}L d${cfg.dModel} h${cfg.nHead} ${task.task}${nLayer === DEFAULT_SFT_MODEL.nLayer && task === DEFAULT_RL.task ? ' (default)' : ''}`;
    for (const [arm, r, backward, mode, reuse, causalTail] of arms) {
      const trainer = new RlTrainer(model, { ...DEFAULT_RL, task, topEntropyQuantile: r, backward, dynamicSampling: false, logGradCosine: false, evalEvery: 0, evalProblems: 1, reuseRollout: reuse, numIterations: 1, causalTail });
      // trainStep's sequence, split to read the rollout's prompt lengths (the decoder's prefill)
      rt.resetStats();
      rt.setProfiling(true);
      const { rollout, zeroSignal } = await trainer.collect(1);
      const m = await trainer.update(rollout, zeroSignal, 1, trainer.o);
      const tailRan = !!m.update.tail;
      if (m.update.reuse !== (reuse ? 'reused' : 'off') || m.update.backward !== mode || tailRan !== (mode === 'exact' && causalTail)) throw new Error(`${label} ${arm}: the update ran ${JSON.stringify(m.update)}`);
      const prefill = Math.min(...rollout.promptLength) - 1;
      // the causal tail's extent (rows, attention pairs) depends on where the selected rows fall: the update reports it
      const analytic = predictStepFlops(gptFlopShape(cfg, rt.viewAlign), { B: DEFAULT_RL.numPrompts * DEFAULT_RL.numGenerations, L: trainer.positions + 1, k: m.selected, mode, reuse, prefill, tail: m.update.tail });
      const counted = m.flops as Record<StepPhase, number>;
      const worst = Math.max(...PHASE_NAMES.map((p) => Math.abs(counted[p] / analytic[p] - 1)), Math.abs(stepTotal(counted) / stepTotal(analytic) - 1));
      measured.push({ shape: label, arm, k: m.selected, responseTokens: m.responseTokens, counted, analytic, worst });
      trainer.destroy();
    }
    model.destroy();
  }
  const head = ['shape', 'arm', 'k / response tokens', ...PHASE_NAMES.map((p) => `${p} counted/analytic`), 'step counted/analytic'];
  const rows = measured.map((x) => [
    x.shape, x.arm, `${x.k} / ${x.responseTokens}`,
    ...PHASE_NAMES.map((p) => (x.counted[p] / x.analytic[p]).toFixed(5)), (stepTotal(x.counted) / stepTotal(x.analytic)).toFixed(5),
  ]);
  console.log(`MEASURED: one RL step per arm (batch ${DEFAULT_RL.numPrompts}×${DEFAULT_RL.numGenerations}, GPT-2 init) on ${describeAdapter(gpu.adapter)}`);
  console.log(formatTable(head, rows));
  console.log(`worst phase deviation: ${pct(Math.max(...measured.map((x) => x.worst)))} (bar: 1%)\n`);
  // the measured shapes' own ratios (counted FLOPs) next to the model's: the same numbers the projection extrapolates
  const shapes = [...new Set(measured.map((x) => x.shape))];
  const ratioHead = ['shape', 'bwd exact/all', 'bwd fork/all', 'step exact/all', 'step fork/all', 'reuse: step exact/all', 'reuse: step fork/all', 'reuse: step all / no reuse'];
  const ratioRows = shapes.map((sh) => {
    const at = (arm: string) => measured.find((x) => x.shape === sh && x.arm === arm)!;
    const [all, ex, fo] = ['all tokens', `exact ρ ${rho}`, `fork-only ρ ${rho}`].map(at);
    const [allR, exR, foR] = ['all tokens, reuse', `exact ρ ${rho}, reuse`, `fork-only ρ ${rho}, reuse`].map(at);
    return [sh, r3(ex.counted.backward / all.counted.backward), r3(fo.counted.backward / all.counted.backward),
      r3(stepTotal(ex.counted) / stepTotal(all.counted)), r3(stepTotal(fo.counted) / stepTotal(all.counted)),
      r3(stepTotal(exR.counted) / stepTotal(allR.counted)), r3(stepTotal(foR.counted) / stepTotal(allR.counted)), r3(stepTotal(allR.counted) / stepTotal(all.counted))];
  });
  console.log(formatTable(ratioHead, ratioRows) + '\n');
  md.push('## Measured: counted FLOPs vs the analytic model', '', `One RL step per arm at each shape and task run here (batch ${DEFAULT_RL.numPrompts}×${DEFAULT_RL.numGenerations}, GPT-2 initialisation; FLOPs counted by the runtime per dispatch). Worst deviation of any phase: **${pct(Math.max(...measured.map((x) => x.worst)))}** (the bar is 1%; the backward may exceed the model by the second stage of two-stage column sums, which it leaves out).`, '');
  mdTable(head, rows);
  md.push('The measured shapes\' own ratios (counted FLOPs; all = the all-tokens arm):', '');
  mdTable(ratioHead, ratioRows);
  rt.destroy();
  gpu.destroy();
}

// ------------------------------------------------------------------------------ 2. projection (analytic only)

/** Qwen3 (published config.json: hidden_size, num_hidden_layers, num_attention_heads × head_dim,
 * num_key_value_heads × head_dim, intermediate_size, vocab_size 151936, untied embeddings, no biases). */
function qwen3(nLayer: number, C: number, heads: number, kvHeads: number, F: number): FlopShape {
  const hd = 128, V = 151936, Q = heads * hd, KV = kvHeads * hd;
  // per layer: q, k, v, o projections, gate/up/down, two RMSNorms and the q/k norms (head_dim each)
  const perLayer = C * (Q + 2 * KV) + Q * C + 3 * C * F + 2 * C + 2 * hd;
  return { nLayer, dModel: C, qDim: Q, kvDim: KV, ffn: F, gated: true, vocabSize: V, bias: false, params: nLayer * perLayer + 2 * V * C + C };
}
const gpt2 = (nLayer: number, nHead: number, dModel: number, L: number): FlopShape =>
  gptFlopShape({ nLayer, nHead, dModel, contextLength: Math.max(1024, L), vocabSize: 50257, tiedHead: true });

const MODELS: { name: string; shape: (L: number) => FlopShape }[] = [
  { name: 'GPT-2 small', shape: (L) => gpt2(12, 12, 768, L) },
  { name: 'GPT-2 medium', shape: (L) => gpt2(24, 16, 1024, L) },
  { name: 'GPT-2 XL', shape: (L) => gpt2(48, 25, 1600, L) },
  { name: 'Qwen3-8B', shape: () => qwen3(36, 4096, 32, 8, 12288) },
  { name: 'Qwen3-14B', shape: () => qwen3(40, 5120, 40, 8, 17408) },
  { name: 'Qwen3-32B', shape: () => qwen3(64, 5120, 64, 8, 25600) },
];
const RESPONSES = [4096, 8192, 16384, 20480];
const RHO = 0.2; // the paper's top 20%
const PROMPT = 512; // assumed prompt tokens (a math problem plus the template)
// One rollout batch as DAPO's recipe: 512 prompts × 16 responses, 16 optimizer steps (mini-batches).
const BATCH = 512 * 16, UPDATES = 16;

interface Row {
  model: string; response: number; params: number;
  bwdExact: number; bwdFork: number;
  stepExact: number; stepFork: number;
  reuseExact: number; reuseFork: number; reuseExactTail: number;
  reuseVsDenseExact: number; reuseVsDenseFork: number;
  rolloutShare: number;
}

function project(name: string, s: FlopShape, R: number, B = BATCH, updates = UPDATES): Row {
  const L = PROMPT + R, T = L - 1;
  const all = B * R, k = Math.round(RHO * all);
  // selected rows spread over the response's rows t = PROMPT−1 … T−1: mean causal pairs per row PROMPT + (R−1)/2
  const pairs = k * (PROMPT + (R - 1) / 2);
  // exact with reuse may skip each sequence's causal tail; with forks spread evenly the last one sits
  // about R/(ρR + 1) rows before the end, so the tail is that long
  const gap = Math.floor(R / (RHO * R + 1)), kept = T - gap;
  const tail = { rows: B * kept, pairs: (B * kept * (kept + 1)) / 2 };
  const step = (mode: BackwardMode, extra: Partial<StepShape> = {}) =>
    predictStepFlops(s, { B, L, k: mode === 'dense' ? all : k, mode, pairs: mode === 'dense' ? undefined : pairs, updates, prefill: PROMPT - 1, ...extra });
  const dense = step('dense'), exact = step('exact'), fork = step('forkOnly');
  const denseR = step('dense', { reuse: true }), exactR = step('exact', { reuse: true }), forkR = step('forkOnly', { reuse: true });
  const exactRT = step('exact', { reuse: true, tail });
  return {
    model: name, response: R, params: s.params,
    bwdExact: exact.backward / dense.backward, bwdFork: fork.backward / dense.backward,
    stepExact: stepTotal(exact) / stepTotal(dense), stepFork: stepTotal(fork) / stepTotal(dense),
    reuseExact: stepTotal(exactR) / stepTotal(denseR), reuseFork: stepTotal(forkR) / stepTotal(denseR), reuseExactTail: stepTotal(exactRT) / stepTotal(denseR),
    reuseVsDenseExact: stepTotal(exactR) / stepTotal(dense), reuseVsDenseFork: stepTotal(forkR) / stepTotal(dense),
    rolloutShare: dense.rollout / stepTotal(dense),
  };
}

const rows: Row[] = [];
let batchSensitivity = 0;
for (const m of MODELS) {
  for (const R of RESPONSES) {
    const s = m.shape(PROMPT + R);
    const row = project(m.name, s, R);
    rows.push(row);
    // how much the batch (and the optimizer's per-step share) moves the ratios: one sequence, one update
    const one = project(m.name, s, R, 1, 1);
    for (const key of ['bwdExact', 'bwdFork', 'stepExact', 'stepFork', 'reuseExact', 'reuseFork'] as const) batchSensitivity = Math.max(batchSensitivity, Math.abs(one[key] - row[key]));
  }
}
// sanity: the backward ratio of the projection's own GPT-2 path equals predictBackwardFlops directly
{
  const s = gpt2(12, 12, 768, 4096 + PROMPT), B = 2, T = PROMPT + 4096 - 1, k = Math.round(RHO * B * 4096);
  const direct = predictBackwardFlops(s, B, T, k, 'exact', k * (PROMPT + 4095 / 2)) / predictBackwardFlops(s, B, T, B * 4096, 'dense');
  const viaRow = project('check', s, 4096, B, 1).bwdExact;
  if (Math.abs(direct - viaRow) > 1e-12) throw new Error(`projection disagrees with predictBackwardFlops: ${direct} vs ${viaRow}`);
}

const kLabel = (R: number) => `${R / 1024}k`;
const head = [
  'model', 'response', 'bwd exact/dense', 'bwd fork/dense', 'step exact/dense', 'step fork/dense',
  'reuse: exact/dense', 'reuse: fork/dense', 'reuse: exact+tail/dense', 'rollout share (dense)',
];
const table = rows.map((r) => [
  r.model, kLabel(r.response), r3(r.bwdExact), r3(r.bwdFork), r3(r.stepExact), r3(r.stepFork),
  r3(r.reuseExact), r3(r.reuseFork), r3(r.reuseExactTail), pct(r.rolloutShare),
]);
const assumptions = [
  `ρ = ${RHO} of response tokens selected (top-20% entropy), spread evenly over the response; prompt ${PROMPT} tokens; every response runs to the maximum length (a fixed-length decode, as this code's rollout).`,
  `Batch: ${BATCH} sequences (512 prompts × 16 responses) and ${UPDATES} optimizer steps per rollout batch (DAPO's recipe); with 1 sequence and 1 update instead, no ratio moves by more than ${batchSensitivity.toExponential(1)}.`,
  `One step = rollout (prompt prefilled in one pass, then a KV-cached decode step per response token with the sampler) + training forward (+ entropy over all rows, PG loss on the selected rows) + backward + optimizer: this code's step. verl/DAPO add a forward for old log-probs; it would add one more forward-sized term to every arm (ratios nearer 1).`,
  `"dense" is the all-tokens arm (ρ = 1: backward over every row). "reuse": the update takes the rollout's captured activations and logits instead of a training forward, as train/rl.ts does by default (dense reuses too; measured above). "exact+tail": the exact backward's dense part also skips each sequence's rows after its last selected row — analytic only, model/gpt.ts does not implement it; with forks spread over the response the tail is ~1/ρ rows, so it saves < 0.1%.`,
  `Qwen3 shapes from the published config.json files (Qwen/Qwen3-8B: hidden 4096, 36 layers, 32 q heads, 8 kv heads, head_dim 128, intermediate 12288; -14B: 5120, 40, 40, 8, 128, 17408; -32B: 5120, 64, 64, 8, 128, 25600; vocab 151936, untied head). Approximations: grouped KV heads counted exactly as narrower k/v projections (attention core per query head, as MHA); SwiGLU as a C×2F up-projection, an elementwise product counted like GELU and an F×C down-projection; RMSNorm counted as LayerNorm; RoPE and QK-norm not counted (all elementwise: < 0.1% of the matmuls). GPT-2 shapes use vocab 50257, tied head, and a position table as long as the sequence (GPT-2's own is 1024).`,
];

console.log('ANALYTIC ONLY: projected FLOP ratios (model/flops.ts; nothing below was run)');
console.log(formatTable(head, table));
for (const a of assumptions) console.log(`- ${a}`);

// The seed's "up to 50% fewer FLOPs": what each arm saves at the paper's shapes and 20k responses.
const seedRows = rows.filter((r) => r.response === 20480).map((r) => [
  r.model, pct(1 - r.bwdExact), pct(1 - r.bwdFork), pct(1 - r.stepExact), pct(1 - r.stepFork), pct(1 - r.reuseExact), pct(1 - r.reuseFork),
  pct(1 - r.reuseVsDenseExact), pct(1 - r.reuseVsDenseFork),
]);
const seedHead = ['model (20k responses)', 'exact: bwd saved', 'fork: bwd saved', 'exact: step saved', 'fork: step saved', 'exact+reuse: step saved', 'fork+reuse: step saved',
  'exact+reuse vs dense without reuse', 'fork+reuse vs dense without reuse'];
console.log('\nThe seed says "up to 50% fewer FLOPs". What the selection really saves (ANALYTIC ONLY):');
console.log(formatTable(seedHead, seedRows));
// the same in one sentence, over the paper's three models at 4k–20k
const paper = rows.filter((r) => r.model.startsWith('Qwen3'));
const span = (f: (r: Row) => number) => {
  const xs = paper.map((r) => 1 - f(r));
  return `${pct(Math.min(...xs))}–${pct(Math.max(...xs))}`;
};
const verdict = `At the 80/20 paper's shapes (Qwen3-8B/14B/32B, 4k–20k responses, ρ ${RHO}) the exact sparse backward saves ${span((r) => r.bwdExact)} of the backward and ${span((r) => r.stepExact)} of the step (${span((r) => r.reuseExact)} with rollout reuse); fork-only saves ${span((r) => r.bwdFork)} of the backward and ${span((r) => r.stepFork)} of the step (${span((r) => r.reuseFork)} with reuse, ${span((r) => r.reuseVsDenseFork)} against a dense step without reuse). Against the seed's "up to 50% fewer FLOPs": the exact gradient stays far below it (its saving is the LM head and the top block's position-wise work, about 1/L of the blocks, so it shrinks with depth); fork-only passes it for the backward and for the step with reuse, by dropping the gradient through unselected keys and values (an approximation: see its cosine to the exact gradient in report/).`;
console.log(`\n${verdict}`);

if (opts.markdown) {
  const doc = [
    '# FLOPs of a forking-token RL step: measured here, projected to the papers\' scale',
    '',
    `Generated by \`npx tsx scripts/project-flops.ts --markdown ${opts.markdown}\` from model/flops.ts; do not edit by hand.`,
    '',
    ...md,
    '## ANALYTIC ONLY: projection to GPT-2 and the 80/20 paper\'s Qwen3 models',
    '',
    'Ratios of predicted FLOPs to the dense (all tokens) arm; < 1 is a saving. None of these shapes was run: the model here has no grouped KV heads, gated MLP or RMSNorm to count against.',
    '',
  ];
  md.length = 0;
  mdTable(head, table);
  doc.push(...md, 'Assumptions:', '', ...assumptions.map((a) => `- ${a}`), '');
  md.length = 0;
  mdTable(seedHead, seedRows);
  doc.push('### The seed\'s "up to 50% fewer FLOPs", at 20k-token responses', '', ...md, verdict, '');
  writeFileSync(opts.markdown, doc.join('\n'));
  console.log(`\nwrote ${opts.markdown}`);
}

const worst = measured.length ? Math.max(...measured.map((x) => x.worst)) : null;
console.log(JSON.stringify({
  measured: measured.map((x) => ({ shape: x.shape, arm: x.arm, k: x.k, counted: x.counted, analytic: x.analytic, worst_rel_dev: +x.worst.toExponential(3) })),
  measured_worst_rel_dev: worst,
  projection: { analytic_only: true, rho: RHO, prompt: PROMPT, batch: BATCH, updates: UPDATES, batch_sensitivity: +batchSensitivity.toExponential(2), rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? +v.toFixed(4) : v]))) },
}));
if (worst !== null && worst > 0.01) {
  console.error(`measured FLOPs deviate from the analytic model by ${pct(worst)} (> 1%)`);
  process.exit(1);
}
