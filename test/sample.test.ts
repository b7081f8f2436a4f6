import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleNext } from '../kernels/sample.js';
import { dualTemperature, tempered } from '../kernels/sample.ref.js';
import type { Runtime } from '../kernels/runtime.js';
import { testRuntime } from './gpu.js';
import { assertWithin, randArray } from './helpers.js';

const t = suite('sampling');
const EOS = 2, PAD = 0;

/** Runs one sampling step for rows of `logits` (b×v); returns per-row token, log-prob, entropy. */
async function step(rt: Runtime, logits: Float32Array, b: number, v: number, opts: Parameters<typeof sampleNext>[2], finished?: Uint32Array, promptLen?: Uint32Array) {
  const tmax = 4, pos = 1;
  const a = {
    logits: rt.upload(logits, [b, v]),
    seq: rt.upload(new Uint32Array(b * tmax).fill(9), [b, tmax], 'u32'),
    promptLen: rt.upload(promptLen ?? new Uint32Array(b).fill(1), [b], 'u32'),
    next: rt.empty([b], 'u32'),
    finished: rt.upload(finished ?? new Uint32Array(b), [b], 'u32'),
    logprob: rt.empty([b, tmax]),
    entropy: rt.empty([b, tmax]),
    pos, eos: EOS, pad: PAD,
  };
  sampleNext(rt, a, opts);
  const col = <T extends ArrayLike<number>>(x: T) => Array.from({ length: b }, (_, r) => x[r * tmax + pos + 1]);
  return {
    tok: col(await rt.read(a.seq)),
    lp: col(await rt.read(a.logprob)),
    h: col(await rt.read(a.entropy)),
    fin: [...(await rt.read(a.finished))],
    next: [...(await rt.read(a.next))],
  };
}

/** Empirical frequencies must match p within 5 standard errors per class (fixed seed: not flaky). */
function assertFrequencies(tokens: number[], p: Float64Array, what: string) {
  const n = tokens.length;
  const counts = new Float64Array(p.length);
  for (const x of tokens) counts[x]++;
  for (let c = 0; c < p.length; c++) {
    const se = Math.sqrt(Math.max(p[c] * (1 - p[c]), 1e-9) / n);
    assert.ok(Math.abs(counts[c] / n - p[c]) <= 5 * se + 1e-12, `${what}: class ${c} frequency ${counts[c] / n} vs p ${p[c]} (±${5 * se})`);
  }
}

t('temperature sampling: frequencies, log-probs and entropies match the tempered softmax', async () => {
  const rt = await testRuntime();
  const v = 6, b = 20000;
  const row = new Float32Array([1.0, 0.2, -0.5, 2.0, 0.0, -3.0]);
  for (const temp of [1, 0.5, 2]) {
    const { tok, lp, h } = await step(rt, new Float32Array(b * v).map((_, i) => row[i % v]), b, v, { temperature: temp, seed: 1234 + temp });
    const ref = tempered(row, temp);
    assertFrequencies(tok, ref.probs, `T=${temp}`);
    // log p and H from ~3 passes over v terms in float32 with exp/log to a few ULP: 1e-5 is > 20× that.
    assertWithin(lp, tok.map((x) => Math.log(ref.probs[x])), 1e-5, `log-probs T=${temp}`);
    assertWithin(h, new Array(b).fill(ref.entropy), 1e-5, `entropy T=${temp}`);
  }
});

t('greedy picks the argmax; log-prob and entropy are at T = 1', async () => {
  const rt = await testRuntime();
  const v = 33, b = 65;
  const logits = randArray(b * v, 7, 4);
  const { tok, lp, h } = await step(rt, logits, b, v, { temperature: 0, seed: 1 });
  for (let r = 0; r < b; r++) {
    const row = logits.subarray(r * v, (r + 1) * v);
    const ref = tempered(row, 1);
    assert.is(tok[r], tempered(row, 0).probs.indexOf(1), `row ${r}`);
    assert.ok(Math.abs(lp[r] - Math.log(ref.probs[tok[r]])) < 1e-5);
    assert.ok(Math.abs(h[r] - ref.entropy) < 1e-5);
  }
});

t('dual temperature: high-entropy rows sample at the fork temperature, the others at theirs', async () => {
  const rt = await testRuntime();
  const v = 5, n = 20000;
  const flat = new Float32Array([0.3, 0.1, 0.0, -0.2, 0.2]); // H₁ ≈ 1.59 nats: a forking position
  const peaked = new Float32Array([3.5, 0.5, 0.0, -1.0, 1.0]); // H₁ ≈ 0.59 nats: below 0.672
  const opts = { temperature: 0.5, forkTemperature: 1.5, forkThreshold: 0.672, seed: 99 };
  for (const [row, expectT] of [[flat, 1.5], [peaked, 0.5]] as const) {
    assert.is(dualTemperature(row, 0.5, 1.5, 0.672), expectT, 'the test rows sit on the intended sides of the threshold');
    const { tok, h } = await step(rt, new Float32Array(n * v).map((_, i) => row[i % v]), n, v, opts);
    const ref = tempered(row, expectT);
    assertFrequencies(tok, ref.probs, `T=${expectT}`);
    assert.ok(Math.abs(h[0] - ref.entropy) < 1e-5, 'entropy reported at the temperature used');
  }
});

t('finished rows emit PAD; sampling EOS finishes a row; same seed, same tokens', async () => {
  const rt = await testRuntime();
  const v = 4, b = 3;
  const logits = new Float32Array([0, 0, 50, 0, /* EOS certain */ 50, 0, 0, 0, /* token 0 */ 0, 0, 0, 50]);
  const r1 = await step(rt, logits, b, v, { temperature: 1, seed: 5 }, new Uint32Array([0, 1, 0]));
  assert.equal(r1.tok, [EOS, PAD, 3]);
  assert.equal(r1.fin, [1, 1, 0]);
  // Row 1 is still inside its prompt at column 2: its prompt token (9 here) stays.
  const r2 = await step(rt, logits, b, v, { temperature: 1, seed: 5 }, undefined, new Uint32Array([1, 3, 2]));
  assert.equal(r2.tok, [EOS, 9, 3]);
  assert.equal(r2.fin, [1, 0, 0]);
  assert.equal(r2.next, r2.tok, 'next holds the column just written');
  const noisy = randArray(64 * 9, 3, 2);
  const a = await step(rt, noisy, 64, 9, { temperature: 1, seed: 77 });
  const c = await step(rt, noisy, 64, 9, { temperature: 1, seed: 77 });
  const d = await step(rt, noisy, 64, 9, { temperature: 1, seed: 78 });
  assert.equal(a.tok, c.tok);
  assert.not.equal(a.tok, d.tok);
});

t.run();
