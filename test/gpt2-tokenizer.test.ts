// GPT-2's byte-level BPE from vocab.json + merges.txt (model/hf/tokenizer.ts) against GPT-2's
// published ids and against js-tiktoken's GPT-2 encoder (ranks of byte strings: a different
// algorithm from merges), on unicode, whitespace runs, emoji, contractions and random strings.
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Gpt2Tokenizer } from '../model/hf/tokenizer.js';
import { gpt2TokenizerFiles, tiktokenGpt2 } from '../scripts/gpt2-fixture.js';

const t = suite('GPT-2 tokenizer');
const files = gpt2TokenizerFiles();
const tok = new Gpt2Tokenizer(files.vocab, files.merges);
const oracle = tiktokenGpt2();

t('published ids: tiktoken\'s GPT-2 test strings and the end-of-text token', () => {
  // tiktoken's test suite: gpt2.encode("hello world") == [31373, 995]; GPT-2's vocab.json:
  // "Hello" 15496, "<|endoftext|>" 50256, "." 13, " the" 262, "The" 464.
  assert.equal(tok.encode('hello world'), [31373, 995]);
  assert.equal(tok.encode('Hello world'), [15496, 995]);
  assert.equal(tok.encode('The the.'), [464, 262, 13]);
  assert.equal(tok.encode('<|endoftext|>'), [50256]);
  assert.is(tok.endOfText, 50256);
  assert.is(tok.vocabSize, 50257);
});

const CASES = [
  'The solution to this problem requires careful consideration.',
  "I'll say we've done it, don't you think? She's here; they're gone. I'm sure I'd know.",
  'whitespace   runs\n\n\n  and\ttabs\t\t and trailing   ',
  '   leading spaces, then \r\n windows line ends \u00a0 and a no-break space',
  'emoji: 👍🏽 👨‍👩‍👧‍👦 🇯🇵 🤖 and a skin-tone modifier alone 🏿',
  'unicode: 日本語のテキスト, Ελληνικά, русский, עברית, العربية, हिन्दी, ÅÄÖ åäö ß',
  'numbers 1234567890 3.14159 1e-5 -42 and symbols !@#$%^&*()_+-=[]{}|;:",.<>/?~`',
  'code: for (let i = 0; i < n; i++) { sum += a[i] * b[i]; } // done',
  "'s't're've'm'll'd 'S 'T",
  'a<|endoftext|>b <|endoftext|> c',
  '',
];

t('equals js-tiktoken GPT-2 on unicode, whitespace runs, emoji, contractions, code, special tokens', () => {
  for (const s of CASES) assert.equal(tok.encode(s), oracle.encode(s, 'all'), JSON.stringify(s));
});

t('equals js-tiktoken GPT-2 on random strings (full unicode, whitespace-heavy); decode inverts encode', () => {
  const chars = fc.constantFrom(' ', '  ', '\n', '\t', 'a', 'Z', "'", "'s", '1', '.', 'é', '日', '👍', '🏽', '\u200d', '\u00a0');
  const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: chars, maxLength: 30 }));
  fc.assert(fc.property(text, (s) => {
    if (s.includes('<|endoftext|>')) return;
    const ids = tok.encode(s);
    assert.equal(ids, oracle.encode(s), JSON.stringify(s));
    assert.is(tok.decode(ids), s);
  }), { numRuns: 400, seed: 15 });
});

t('pieces: one display string per token, concatenating to the text, emoji bytes shown whole', () => {
  for (const s of CASES) {
    const ids = tok.encode(s), p = tok.pieces(ids);
    assert.is(p.length, ids.length);
    assert.is(p.join(''), s);
  }
  // 👍 is split over two tokens: the first shows nothing, the second the whole emoji.
  const ids = tok.encode('👍');
  assert.is(ids.length, 2);
  assert.equal(tok.pieces(ids), ['', '👍']);
  // a dangling partial character at the end shows as a replacement character
  assert.equal(tok.pieces(ids.slice(0, 1)), ['\ufffd']);
});

t('bad tokenizer files: one error naming the file and the problem', () => {
  assert.throws(() => new Gpt2Tokenizer('{"a": 1', files.merges), /^vocab\.json is not valid JSON/);
  assert.throws(() => new Gpt2Tokenizer('[1, 2]', files.merges), /vocab\.json is not an object of token → id/);
  assert.throws(() => new Gpt2Tokenizer('{"a": -1}', ''), /vocab\.json: token "a" has id -1/);
  assert.throws(() => new Gpt2Tokenizer(files.vocab, '#version: 0.2\nĠ t h\n'), /merges\.txt line 2 is "Ġ t h"; each line must be two tokens/);
  assert.throws(() => new Gpt2Tokenizer(files.vocab, '#version: 0.2\nqqq zzz\n'), /merges\.txt line 2 merges "qqq" \+ "zzz", which vocab\.json does not list; the two files are from different tokenizers/);
  assert.throws(() => new Gpt2Tokenizer('{"a": 0}', ''), /vocab\.json has no token for the byte 0x00 \(written "Ā"\); GPT-2's byte-level BPE needs all 256/);
});

t.run();
