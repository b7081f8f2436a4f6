// scripts/entropy-profile.ts as a user runs it (a child process) on tiny checkpoints the test writes:
// a 1-layer d 16 countdown-steps model whose weights are set by hand so that its answers are known
// in shape ("3", then steps "1+2=3" separated by ',', ending at a fork after a '3'), and a random
// 1-layer d 16 addition model. Checks the final JSON line, the role table against the arithmetic
// counts, --markdown, and the one-line error for a missing checkpoint.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { saveCheckpoint } from '../train/files.js';
import { FORK_THRESHOLD } from '../train/rl.js';
import { EOS, maxLengths, TOKENS, VOCAB_SIZE } from '../verify/index.js';

const t = suite('entropy profile');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'forkgrad-profile-'));
t.after(() => rmSync(tmp, { recursive: true, force: true }));
const id = (ch: string) => (TOKENS as readonly string[]).indexOf(ch);

/**
 * countdown-steps, 1 layer, d 16, tied head. The attention adds nothing (c_proj zero), wpe is zero,
 * and the MLP maps the current token's embedding to the next token's (GELU in its linear range), so
 * the next token depends on the current one only:
 *   '=' → '3', '3' → ',' or EOS (equal logits: entropy ln 2 ≥ the forking threshold), ',' → '1',
 *   '1' → '+', '+' → '2', '2' → '='
 * with every other choice ~30 logits below (entropy < 0.01). Each prompt ends with '=', so every
 * answer is "3" (a malformed step), then ",1+2=3" repeated until EOS or the rollout's last position.
 */
function stepsModel(): { cfg: GPTConfig; params: Float32Array } {
  const C = 16, V = VOCAB_SIZE;
  const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: C, contextLength: maxLengths('countdown-steps').sequence, vocabSize: V, tiedHead: true };
  const layout = paramLayout(cfg, 64);
  const params = initParams(cfg, layout, 1);
  const p = (name: string) => {
    const s = layout.byName.get(name)!;
    return params.subarray(s.offset, s.offset + s.size);
  };
  for (const s of layout.params) p(s.name).fill(0);
  const cycle = ['1', '+', '2', '=', '3', ','];
  const dim = new Map<number, number>([...cycle.map((ch, i) => [id(ch), i] as [number, number]), [EOS, cycle.length]]);
  const next: [string, number[]][] = [['1', [id('+')]], ['+', [id('2')]], ['2', [id('=')]], ['=', [id('3')]], ['3', [id(','), EOS]], [',', [id('1')]]];
  const s = 8, K = 20, shift = 10;
  // every other token's embedding is zero: logit 0 everywhere
  for (const [tok, d] of dim) p('wte.weight')[tok * C + d] = s;
  p('h.0.ln_1.weight').fill(1);
  p('h.0.ln_2.weight').fill(1);
  p('ln_f.weight').fill(1);
  // c_fc: hidden j = ln_2(x)_j + shift for j < C (GELU(z) = z to float precision for z ≥ 9);
  // c_proj: K·(hidden at the token's dim) onto each next token's dim, the shift subtracted by the bias
  for (let j = 0; j < C; j++) { p('h.0.mlp.c_fc.weight')[j * 4 * C + j] = 1; p('h.0.mlp.c_fc.bias')[j] = shift; }
  for (const [ch, outs] of next) for (const o of outs) {
    p('h.0.mlp.c_proj.weight')[dim.get(id(ch))! * C + dim.get(o)!] = K;
    p('h.0.mlp.c_proj.bias')[dim.get(o)!] -= K * shift;
  }
  return { cfg, params };
}

/** addition, 1 layer, d 16: random weights, wte ×20 so entropies spread (as entropy-tool.test.ts). */
function additionModel(): { cfg: GPTConfig; params: Float32Array } {
  const cfg: GPTConfig = { nLayer: 1, nHead: 2, dModel: 16, contextLength: maxLengths({ task: 'addition', digits: 3 }).sequence + 2, vocabSize: VOCAB_SIZE, tiedHead: true };
  const layout = paramLayout(cfg, 64);
  const params = initParams(cfg, layout, 7);
  const wte = layout.byName.get('wte.weight')!;
  for (let i = wte.offset; i < wte.offset + wte.size; i++) params[i] *= 20;
  return { cfg, params };
}

const stepsDir = join(tmp, 'steps');
const addDir = join(tmp, 'addition');
{
  const m = stepsModel();
  saveCheckpoint(stepsDir, m.cfg, paramLayout(m.cfg, 64), m.params, { task: { task: 'countdown-steps' } });
  const a = additionModel();
  saveCheckpoint(addDir, a.cfg, paramLayout(a.cfg, 64), a.params, { task: { task: 'addition', digits: 3 } });
}

function profile(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/entropy-profile.ts', ...args], {
    cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
/** The last line of stdout that starts with '{'. */
function finalJson(out: string): any {
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  assert.ok(line, `no JSON line in:\n${out}`);
  return JSON.parse(line!);
}
const inUnit = (x: unknown, what: string) => assert.ok(typeof x === 'number' && x >= 0 && x <= 1, `${what} = ${x} is not in [0, 1]`);

t('countdown-steps: shares in [0, 1], the role table adds up to the tokens and to the steps, forks where the model forks; --markdown', () => {
  const md = join(tmp, 'profile.md');
  const r = profile('--checkpoint', stepsDir, '--problems', '4', '--samples', '2', '--markdown', md);
  assert.is(r.code, 0, r.err);
  const j = finalJson(r.out);
  assert.is(j.task, 'countdown-steps');
  assert.is(j.problems, 4);
  assert.is(j.samples, 2);
  assert.is(j.threshold, FORK_THRESHOLD);
  for (const k of ['share_below_0_01', 'share_forking', 'pass1_sampled']) inUnit(j[k], k);
  for (const [role, x] of Object.entries<any>(j.roles)) for (const k of ['below_0_01', 'forking']) inUnit(x[k], `${role}.${k}`);
  const roleTokens = Object.values<any>(j.roles).reduce((s, x) => s + x.tokens, 0);
  assert.is(j.tokens, roleTokens, 'every answer token has one role');
  assert.ok(j.tokens > 0);

  const a = j.arithmetic;
  assert.ok(a && a.steps > 0, `the fixture writes well-formed steps: ${JSON.stringify(a)}`);
  assert.ok(a.lastSteps <= a.steps && a.lastRight <= a.lastSteps && a.lastRight <= a.right && a.right <= a.steps, JSON.stringify(a));
  assert.ok(a.lastSteps <= 8, 'at most one last step per answer');
  // every well-formed step is "1+2=3": right, with one '=' and one result token each
  assert.is(a.right, a.steps);
  assert.is(j.roles['='].tokens, a.steps);
  assert.is(j.roles.result.tokens, a.steps);
  assert.ok(j.roles['malformed step'].tokens >= 8, 'each of the 8 answers starts with a lone "3"');
  // the entropies land on the right tokens: ',' and EOS are drawn from the ln 2 fork after a '3',
  // the operators and operands from near-certain choices
  assert.is(j.roles[','].forking, 1);
  if (j.roles.EOS) assert.is(j.roles.EOS.forking, 1);
  for (const role of ['operator', 'operand 1', 'operand 2', '=']) assert.is(j.roles[role].below_0_01, 1, role);
  assert.ok(j.share_forking > 0 && j.share_below_0_01 > 0 && j.share_forking + j.share_below_0_01 <= 1 + 1e-9);
  assert.is(j.pass1_sampled, 0, 'no answer reaches a countdown target with "3"s');

  assert.ok(existsSync(md), 'the markdown file is written');
  const text = readFileSync(md, 'utf8');
  assert.ok(text.startsWith('# Entropy profile'), text.slice(0, 80));
  assert.ok(text.includes('npx tsx scripts/entropy-profile.ts --checkpoint'), 'it names the command');
  assert.ok(text.includes('arithmetic:'), 'it holds the arithmetic line');
});

t('addition: shares in [0, 1], no role table and no arithmetic', () => {
  const r = profile('--checkpoint', addDir, '--problems', '4', '--samples', '2');
  assert.is(r.code, 0, r.err);
  const j = finalJson(r.out);
  assert.is(j.task, 'addition');
  for (const k of ['share_below_0_01', 'share_forking', 'pass1_sampled']) inUnit(j[k], k);
  assert.ok(j.tokens >= 8, 'at least one token (EOS or the last position) per answer');
  assert.equal(j.roles, {});
  assert.is(j.arithmetic, null);
});

t('a missing --checkpoint folder: one line naming it and the fix, exit code 1, no JSON', () => {
  const missing = join(tmp, 'no-such-checkpoint');
  const r = profile('--checkpoint', missing, '--problems', '4', '--samples', '2');
  assert.is.not(r.code, 0);
  assert.is(r.code, 1);
  assert.ok(r.err.includes(`entropy-profile: checkpoint folder ${missing} does not exist; pass a folder written by train/run.ts`), r.err);
  assert.not.ok(r.out.includes('{'), r.out);
});

t.run();
