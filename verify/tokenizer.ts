// Character-level tokenizer shared by every task. The table is the model's vocabulary: ids are part
// of every checkpoint, so entries may be appended but never reordered or removed.

/** Token id → text. Special tokens are written as <pad>/<bos>/<eos> (what decodeDebug prints). */
export const TOKENS = [
  '<pad>', '<bos>', '<eos>',
  '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
  '+', '-', '*', '/', '(', ')', '=', ',', ';',
] as const;

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
export const VOCAB_SIZE = TOKENS.length;
/** What decodeDebug writes for EOS; verify() cuts answer text at its first occurrence. */
export const EOS_MARK = '<eos>';

const SPECIALS = 3;
const charToId = new Map<string, number>();
for (let id = SPECIALS; id < TOKENS.length; id++) charToId.set(TOKENS[id], id);

/** Describes a character so that invisible and look-alike characters are unmistakable in errors. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) ? hex : `'${ch}' (${hex})`;
}

/** Text → ids (no BOS/EOS). Throws on any character outside the table, naming it and its position. */
export function encode(text: string): number[] {
  const ids = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    const id = charToId.get(text[i]);
    if (id === undefined) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      throw new Error(`encode: character ${describeChar(ch)} at index ${i} is not in the vocabulary (${TOKENS.slice(SPECIALS).join('')})`);
    }
    ids[i] = id;
  }
  return ids;
}

function checkId(id: number, i: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) {
    throw new RangeError(`decode: id ${id} at index ${i} is not a token id (0..${VOCAB_SIZE - 1})`);
  }
}

/**
 * Ids → text the way generation reads them: PAD and BOS are skipped and the first EOS ends the text,
 * so whatever a sampler wrote after EOS is ignored. decode(encode(s)) === s for every encodable s.
 */
export function decode(ids: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    checkId(id, i);
    if (id === EOS) break;
    if (id >= SPECIALS) out += TOKENS[id];
  }
  return out;
}

/** Every id, specials included as <pad>/<bos>/<eos>: for logs and sample dumps. */
export function decodeDebug(ids: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < ids.length; i++) {
    checkId(ids[i], i);
    out += TOKENS[ids[i]];
  }
  return out;
}

/**
 * One training/generation sequence: [BOS, prompt…, answer…, EOS]. Without an answer it is the
 * generation prefix [BOS, prompt…]. `promptLength` is the index of the first answer token.
 */
export function encodeExample(prompt: string, answer?: string): { ids: number[]; promptLength: number } {
  const head = [BOS, ...encode(prompt)];
  if (answer === undefined) return { ids: head, promptLength: head.length };
  return { ids: [...head, ...encode(answer), EOS], promptLength: head.length };
}
