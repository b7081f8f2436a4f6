import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { selectRows, selectedCount } from '../kernels/select.js';
import { selectRowsRef } from '../kernels/select.ref.js';
import { testRuntime } from './gpu.js';
import { randArray, randInts, rng } from './helpers.js';

const t = suite('top-k selection');

async function run(score: Float32Array, valid: Uint32Array, k: number, mode: 'top' | 'bottom', withCandidates = false) {
  const rt = await testRuntime();
  const n = score.length;
  const rows = rt.upload(new Uint32Array(Math.max(k, 1)).fill(0xdeadbeef), [Math.max(k, 1)], 'u32');
  const mask = rt.upload(new Float32Array(n).fill(7)); // stale values: every row must be written
  const ids = [...valid.keys()].filter((i) => valid[i]);
  const candidates = !withCandidates ? undefined : ids.length ? rt.upload(ids, [ids.length], 'u32') : rt.empty([0], 'u32');
  selectRows(rt, { score: rt.upload(score), valid: rt.upload(valid, [n], 'u32'), rows, mask, k, mode, candidates });
  return { rows: [...(await rt.read(rows))].slice(0, k), mask: [...(await rt.read(mask))] };
}

for (const [n, ties, label] of [[1, false, 'one row'], [7, true, 'heavy ties'], [127, false, 'odd size'], [2000, true, 'batch-sized with ties']] as const) {
  for (const mode of ['top', 'bottom'] as const) {
    t(`${mode}-k equals a CPU stable sort: n=${n}, ${label}`, async () => {
      // Quantised scores force many exact ties, the case the tie rule exists for.
      const score = ties ? Float32Array.from(randInts(n, 4, n), (x) => x * 0.25) : randArray(n, n + 1, 3);
      const r = rng(n);
      const valid = Uint32Array.from({ length: n }, () => (r() < 0.8 ? 1 : 0));
      const nValid = valid.reduce((a, b) => a + b, 0);
      for (const rho of [0.2, 0.5, 1]) {
        const k = selectedCount(rho, nValid, mode);
        const want = selectRowsRef(score, valid, k, mode);
        for (const cand of [false, true]) {
          const got = await run(score, valid, k, mode, cand);
          const how = cand ? ', from the candidate list' : '';
          assert.equal(got.rows, want, `rows ρ=${rho}${how}`);
          assert.is(got.mask.reduce((a, b) => a + b, 0), k, `exactly k=${k} selected${how}`);
          for (const i of want) assert.is(got.mask[i], 1);
        }
      }
    });
  }
}

t('selectedCount: ceil(ρ·n), complement for bottom, ρ validated', () => {
  assert.is(selectedCount(0.2, 10), 2);
  assert.is(selectedCount(0.2, 11), 3);
  assert.is(selectedCount(0.2, 11, 'bottom'), 8);
  assert.is(selectedCount(1, 5), 5);
  assert.is(selectedCount(0.2, 0), 0);
  assert.throws(() => selectedCount(0, 5), /\(0, 1\]/);
  assert.throws(() => selectedCount(1.5, 5), /\(0, 1\]/);
  assert.throws(() => selectedCount(NaN, 5), /\(0, 1\]/);
});

t.run();
