import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BOS, EOS, PAD, TOKENS, VOCAB_SIZE, decode, decodeDebug, encode, encodeExample,
} from '../verify/tokenizer.js';
import { generate, maxLengths, type TaskConfig } from '../verify/tasks.js';

const t = suite('tokenizer');

t('token table is the frozen one (checkpoints depend on these ids)', () => {
  assert.equal([...TOKENS], [
    '<pad>', '<bos>', '<eos>', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
    '+', '-', '*', '/', '(', ')', '=', ',', ';',
  ]);
  assert.is(VOCAB_SIZE, 22);
  assert.equal([PAD, BOS, EOS], [0, 1, 2]);
  assert.equal(encode('0123456789+-*/()=,;'), Array.from({ length: 19 }, (_, i) => i + 3));
});

const CONFIGS: TaskConfig[] = [
  { task: 'addition' },
  { task: 'addition', digits: 12, minDigits: 1, reverse: true },
  { task: 'multiplication' },
  { task: 'multiplication', digits: 4, reverse: true },
  { task: 'countdown' },
  { task: 'countdown', count: 5, maxNumber: 100, maxTarget: 999 },
];

t('every generated prompt and answer round-trips and fits maxLengths', () => {
  for (const cfg of CONFIGS) {
    const lim = maxLengths(cfg);
    for (const split of ['train', 'heldout'] as const) {
      for (const p of generate(cfg, { seed: 3, count: cfg.task === 'countdown' && cfg.count === 5 ? 5 : 300, split })) {
        for (const s of [p.prompt, p.answer]) assert.is(decode(encode(s)), s);
        const { ids, promptLength } = encodeExample(p.prompt, p.answer);
        assert.ok(p.prompt.length <= lim.prompt, `${JSON.stringify(cfg)}: prompt ${p.prompt} longer than ${lim.prompt}`);
        assert.ok(p.answer.length <= lim.answer, `${JSON.stringify(cfg)}: answer ${p.answer} longer than ${lim.answer}`);
        assert.ok(ids.length <= lim.sequence);
        assert.is(ids[0], BOS);
        assert.is(ids[ids.length - 1], EOS);
        assert.is(decode(ids.slice(0, promptLength)), p.prompt);
        assert.is(decode(ids.slice(promptLength)), p.answer);
      }
    }
  }
});

t('maxLengths is tight for 3-digit addition', () => {
  assert.equal(maxLengths('addition'), { prompt: 8, answer: 4, sequence: 14 });
  assert.is(encodeExample('999+999=', '1998').ids.length, 14);
});

t('encode names the bad character and where it is', () => {
  assert.throws(() => encode('12 + 3'), /' ' \(U\+0020\) at index 2/);
  assert.throws(() => encode('1×2'), /'×' \(U\+00D7\) at index 1/);
  assert.throws(() => encode('٣'), /U\+0663/);
  assert.throws(() => encode('1\u00002'), /U\+0000 at index 1/);
  assert.throws(() => encode('😀'), /'😀' \(U\+1F600\) at index 0/);
  assert.throws(() => encode('<eos>'), /'<'/);
});

t('decode skips PAD/BOS, stops at EOS, and rejects ids outside the vocabulary', () => {
  const ids = [BOS, ...encode('12+3='), ...encode('15'), EOS, ...encode('99'), PAD, PAD];
  assert.is(decode(ids), '12+3=15');
  assert.is(decodeDebug(ids), '<bos>12+3=15<eos>99<pad><pad>');
  assert.is(decode(new Int32Array(encode('7*8'))), '7*8');
  assert.is(decode([]), '');
  assert.throws(() => decode([3, VOCAB_SIZE]), /id 22 at index 1/);
  assert.throws(() => decode([-1]), /id -1/);
  assert.throws(() => decode([1.5]), /id 1.5/);
});

t('encodeExample without an answer is the generation prefix', () => {
  const { ids, promptLength } = encodeExample('1+1=');
  assert.equal(ids, [BOS, ...encode('1+1=')]);
  assert.is(promptLength, 5);
});

t.run();
