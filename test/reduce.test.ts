import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chunking } from '../kernels/reduce.js';

const t = suite('reduce');

// The column sums this file once tested moved into the TN matmul (test/matmul-colsum.test.ts);
// the two-stage driver's sums are tested through layernorm's and the embedding's backward.

t('chunking covers every position exactly once', () => {
  for (const K of [1, 15, 16, 17, 100, 1000, 4097, 100000]) {
    for (const groups of [1, 8, 50, 4096, 10000]) {
      const { L, J } = chunking(K, groups);
      assert.ok(J >= 1 && (J - 1) * L < K && J * L >= K, `K=${K} groups=${groups}: L=${L} J=${J}`);
    }
  }
  assert.is(chunking(0, 5).J, 0);
});

t.run();
