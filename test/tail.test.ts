// Exact mode's causal tail: rows after a sequence's last selected row get no gradient in any layer,
// so restricting the exact backward's dense part to the rows at or before it (GPT.backward `tail`)
// must leave the gradients unchanged up to rounding, and count fewer FLOPs. Not bit for bit: the
// row-gathered kernels reduce in another order than the dense ones (measured: ulp-level
// differences), so each gradient tensor is held to twice test/gpt.test.ts's error budget,
// (24·L + 8)·γ_K·max|g| per side, γ_K for the longest reduction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { attentionRows } from '../kernels/attention.js';
import { initParams, paramLayout, type GPTConfig } from '../model/config.js';
import { GPT, causalTail } from '../model/gpt.js';
import { testRuntime } from './gpu.js';
import { randArray, randInts, rng, U32 } from './helpers.js';

const t = suite('tail');

t('causalTail lists each sequence\'s rows up to its last selected one, ascending', () => {
  assert.equal(causalTail([5, 1, 9], 3, 4), [0, 1, 4, 5, 8, 9]);
  assert.equal(causalTail([3], 2, 4), [0, 1, 2, 3]);
  assert.equal(causalTail([], 2, 4), []);
  assert.throws(() => causalTail([8], 2, 4), /row 8 is outside \[0, 8\)/);
});

for (const cfg of [
  { nLayer: 3, nHead: 3, dModel: 15, contextLength: 24, vocabSize: 19, tiedHead: true },
  { nLayer: 2, nHead: 2, dModel: 16, contextLength: 24, vocabSize: 20, tiedHead: false },
] as GPTConfig[]) {
  t(`exact backward with the causal tail gives the same gradients within the error budget, with fewer FLOPs (C ${cfg.dModel}, ${cfg.nLayer} layers)`, async () => {
    const rt = await testRuntime();
    const model = new GPT(rt, cfg, initParams(cfg, paramLayout(cfg, rt.viewAlign), 5));
    const B = 6, T = 21, N = B * T, V = cfg.vocabSize;
    try {
      rt.write(model.tokensFor(B, T), randInts(N, V, 3));
      model.forward(B, T);
      // selected rows early in most sequences (a long tail to skip), late in one, none in another
      const r = rng(8);
      const ids = [...new Set([...Array.from({ length: 14 }, () => Math.floor(r() * 4) * T + Math.floor(r() * 9)), 4 * T + T - 1])];
      const d = randArray(N * V, 4);
      const sel = new Set(ids);
      for (let row = 0; row < N; row++) if (!sel.has(row)) d.fill(0, row * V, (row + 1) * V);
      const dlogits = model.dlogitsBuffer();
      rt.write(dlogits, d);
      const rows = attentionRows(rt, ids, { B, T });
      const tailIds = causalTail(ids, B, T);
      assert.ok(tailIds.length < 0.7 * N, `the tail skips rows (${tailIds.length} of ${N} kept)`);
      const tail = attentionRows(rt, tailIds, { B, T });
      const out = [];
      for (const withTail of [false, true]) {
        rt.resetStats();
        rt.setProfiling(true);
        model.zeroGrad();
        model.backward(dlogits, { rows, mode: 'exact', tail: withTail ? tail : undefined });
        const g = new Uint32Array((await rt.readF32(model.grads)).buffer);
        rt.setProfiling(false);
        out.push({ g, flops: rt.kernelStats().reduce((s, k) => s + k.flops, 0) });
      }
      const [full, cut] = out.map((o) => new Float32Array(o.g.buffer));
      const K = Math.max(4 * cfg.dModel, N, V), gammaK = (K * U32) / (1 - K * U32);
      const maxAbs = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      for (const p of model.layout.params) {
        const a = full.subarray(p.offset, p.offset + p.size), b = cut.subarray(p.offset, p.offset + p.size);
        // the key bias's gradient is zero in theory: rounding noise, held to its weight's scale
        const w = model.layout.byName.get(p.name.replace('bias', 'weight'))!;
        const scale = /c_attn\.bias/.test(p.name) ? maxAbs(full.subarray(w.offset, w.offset + w.size)) : maxAbs(a);
        const bound = 2 * (24 * cfg.nLayer + 8) * gammaK * scale + 1e-12;
        let worst = 0, at = -1;
        for (let j = 0; j < a.length; j++) if (!(Math.abs(a[j] - b[j]) <= worst)) { worst = Math.abs(a[j] - b[j]); at = j; }
        assert.ok(worst <= bound, `${p.name}[${at}]: ${b[at]} with the tail, ${a[at]} without (|diff| ${worst.toExponential(2)} > ${bound.toExponential(2)})`);
      }
      assert.ok(maxAbs(full) > 0, 'the gradient is not all zero');
      assert.ok(out[1].flops < 0.85 * out[0].flops, `FLOPs ${out[1].flops} with the tail vs ${out[0].flops}`);
      for (const s of [rows, tail]) { s.index.buffer.destroy(); s.list.buffer.destroy(); }
    } finally {
      model.destroy();
    }
  });
}

t.run();
