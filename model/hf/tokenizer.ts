// GPT-2's byte-level BPE, read from a checkpoint folder's own vocab.json + merges.txt (as Hugging
// Face's GPT2Tokenizer does), so a fine-tune with its own vocabulary or added tokens tokenizes as it
// was trained. Why not an npm tokenizer at run time: js-tiktoken and gpt-tokenizer ship GPT-2's
// fixed ranks rather than reading a folder's files, and @huggingface/tokenizers reads tokenizer.json,
// which GPT-2-family folders do not always have. js-tiktoken's GPT-2 ranks are the test's oracle
// (test/gpt2-tokenizer.test.ts; fixtures from scripts/gpt2-fixture.ts): a different algorithm (ranks of byte strings instead of merges).
//
//   text → pre-tokenizer regex pieces → UTF-8 bytes → one printable character per byte
//        → repeatedly merge the adjacent pair with the lowest merges.txt rank → vocab.json ids

/** GPT-2's pre-tokenizer: contractions, letters, numbers, other symbols, each with one optional
 * leading space; whitespace runs keep their last space for the next word (the lookahead). */
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's bytes_to_unicode: each byte to a printable character (printable Latin-1 bytes map to
 * themselves, the rest to U+0100 onwards), so vocab.json and merges.txt are plain text. */
function byteAlphabet(): { toChar: string[]; toByte: Map<string, number> } {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const toChar: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) toChar[b] = String.fromCodePoint(keep.includes(b) ? b : next++);
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}
const ALPHABET = byteAlphabet();

/** Bytes to GPT-2's printable-character form (how vocab.json and merges.txt spell tokens). */
export function bytesToVocabText(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += ALPHABET.toChar[b];
  return s;
}

export class Gpt2Tokenizer {
  private readonly ids: Map<string, number>;
  private readonly bytesOf: Uint8Array[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly special: { text: string; id: number }[] = [];
  readonly vocabSize: number;

  /** From the texts of vocab.json and merges.txt; throws naming the file and what is wrong. */
  constructor(vocabJson: string, mergesTxt: string) {
    let vocab: unknown;
    try {
      vocab = JSON.parse(vocabJson);
    } catch (e) {
      throw new Error(`vocab.json is not valid JSON (${(e as Error).message})`);
    }
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new Error('vocab.json is not an object of token → id');
    this.ids = new Map();
    let maxId = -1;
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`vocab.json: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids must be integers ≥ 0`);
      this.ids.set(token, id as number);
      maxId = Math.max(maxId, id as number);
      const bytes: number[] = [];
      let plain = true;
      for (const ch of token) {
        const b = ALPHABET.toByte.get(ch);
        if (b === undefined) plain = false;
        else bytes.push(b);
      }
      // Tokens outside the byte alphabet are added/special tokens ("<|endoftext|>" is inside it,
      // but GPT-2 treats it as special too): matched whole in the text, decoded as written.
      this.bytesOf[id as number] = plain ? Uint8Array.from(bytes) : new TextEncoder().encode(token);
      if (!plain || token === END_OF_TEXT) this.special.push({ text: token, id: id as number });
    }
    this.vocabSize = maxId + 1;
    const lines = mergesTxt.split('\n');
    let rank = 0;
    lines.forEach((line, i) => {
      if ((i === 0 && line.startsWith('#version')) || line.trim() === '') return;
      const parts = line.replace(/\r$/, '').split(' ');
      if (parts.length !== 2) throw new Error(`merges.txt line ${i + 1} is ${JSON.stringify(line.slice(0, 40))}; each line must be two tokens separated by one space`);
      if (!this.ids.has(parts[0] + parts[1])) throw new Error(`merges.txt line ${i + 1} merges ${JSON.stringify(parts[0])} + ${JSON.stringify(parts[1])}, which vocab.json does not list; the two files are from different tokenizers`);
      const key = parts[0] + ' ' + parts[1];
      if (!this.ranks.has(key)) this.ranks.set(key, rank++);
    });
    ALPHABET.toChar.forEach((ch, b) => {
      if (!this.ids.has(ch)) throw new Error(`vocab.json has no token for the byte 0x${b.toString(16).padStart(2, '0')} (written ${JSON.stringify(ch)}); GPT-2's byte-level BPE needs all 256`);
    });
    this.special.sort((a, b) => b.text.length - a.text.length); // longest first
  }

  /** The id of `<|endoftext|>` (GPT-2's BOS and EOS), if the vocabulary has it. */
  get endOfText(): number | undefined {
    return this.ids.get(END_OF_TEXT);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    let rest = text;
    // Special tokens written in the text are matched whole (Hugging Face's default), the rest BPE'd.
    while (rest.length) {
      let at = rest.length, hit: { text: string; id: number } | undefined;
      for (const s of this.special) {
        const i = rest.indexOf(s.text);
        if (i >= 0 && i < at) { at = i; hit = s; }
      }
      this.encodeOrdinary(rest.slice(0, at), out);
      if (!hit) break;
      out.push(hit.id);
      rest = rest.slice(at + hit.text.length);
    }
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    const utf8 = new TextEncoder();
    for (const m of text.matchAll(PIECES)) {
      const word = bytesToVocabText(utf8.encode(m[0]));
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.bpe(word).map((t) => this.ids.get(t)!);
        if (this.cache.size < 100_000) this.cache.set(word, ids);
      }
      out.push(...ids);
    }
  }

  /** Merges the lowest-ranked adjacent pair, every occurrence left to right, until none is listed. */
  private bpe(word: string): string[] {
    let parts = [...word];
    while (parts.length > 1) {
      let best = Infinity, pair = '';
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(parts[i] + ' ' + parts[i + 1]);
        if (r !== undefined && r < best) { best = r; pair = parts[i] + ' ' + parts[i + 1]; }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] + ' ' + parts[i + 1] === pair) { next.push(parts[i] + parts[i + 1]); i++; }
        else next.push(parts[i]);
      }
      parts = next;
    }
    return parts;
  }

  /** The bytes token `id` stands for. */
  tokenBytes(id: number): Uint8Array {
    const b = this.bytesOf[id];
    if (!b) throw new Error(`token id ${id} is not in vocab.json`);
    return b;
  }

  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.tokenBytes(id));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    return new TextDecoder().decode(all);
  }

  /**
   * One display string per token whose concatenation is decode(ids): a token ending inside a
   * multi-byte character (an emoji's bytes spread over tokens) shows '' and the token completing
   * the character shows all of it.
   */
  pieces(ids: readonly number[]): string[] {
    // A streaming decoder holds an incomplete character's bytes until the token that completes it.
    const stream = new TextDecoder();
    const out = ids.map((id) => stream.decode(this.tokenBytes(id), { stream: true }));
    if (out.length) out[out.length - 1] += stream.decode(); // a dangling partial character: U+FFFD
    return out;
  }
}
