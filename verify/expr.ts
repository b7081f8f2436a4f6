// Arithmetic expressions over + - * / and parentheses: a hand-written recursive-descent parser (model
// output is untrusted, so no eval), exact BigInt rational evaluation, and a minimal-parentheses printer.
import { describeChar } from './tokenizer.js';

export type Op = '+' | '-' | '*' | '/';
export type Expr = { kind: 'num'; text: string } | { kind: 'bin'; op: Op; left: Expr; right: Expr };

export type ParseResult =
  | { ok: true; expr: Expr; /** number literals in order of appearance */ literals: string[] }
  | { ok: false; /** stable first word: parse-error | too-deep | leading-zero */ error: string };

/** Parenthesis nesting beyond this is rejected: no real answer needs it, and it bounds recursion. */
export const MAX_DEPTH = 32;

class ParseError extends Error {}

const show = (ch: string | undefined) => (ch === undefined ? 'end of input' : describeChar(ch));

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Grammar (no whitespace, no unary signs — the tokenizer has neither):
 *   expr := term (('+'|'-') term)*     term := factor (('*'|'/') factor)*     factor := NUMBER | '(' expr ')'
 * NUMBER is ASCII digits without leading zeros ("0" itself is fine). Never throws.
 */
export function parseExpr(text: string, maxDepth = MAX_DEPTH): ParseResult {
  let pos = 0;
  let depth = 0;
  const literals: string[] = [];

  const factor = (): Expr => {
    const c = text[pos];
    if (c === '(') {
      const open = pos++;
      if (++depth > maxDepth) throw new ParseError(`too-deep: more than ${maxDepth} nested '(' at ${open}`);
      const e = expr();
      if (text[pos] !== ')') {
        throw new ParseError(pos >= text.length
          ? `parse-error: missing ')' for '(' at ${open}`
          : `parse-error: expected ')' at ${pos}, got ${show(text[pos])}`);
      }
      pos++;
      depth--;
      return e;
    }
    if (!isDigit(c)) throw new ParseError(`parse-error: expected a number or '(' at ${pos}, got ${show(c)}`);
    const start = pos;
    while (isDigit(text[pos])) pos++;
    const lit = text.slice(start, pos);
    if (lit.length > 1 && lit[0] === '0') throw new ParseError(`leading-zero: number at ${start} starts with 0`);
    literals.push(lit);
    return { kind: 'num', text: lit };
  };
  const term = (): Expr => {
    let e = factor();
    while (text[pos] === '*' || text[pos] === '/') {
      const op = text[pos++] as Op;
      e = { kind: 'bin', op, left: e, right: factor() };
    }
    return e;
  };
  const expr = (): Expr => {
    let e = term();
    while (text[pos] === '+' || text[pos] === '-') {
      const op = text[pos++] as Op;
      e = { kind: 'bin', op, left: e, right: term() };
    }
    return e;
  };

  try {
    const e = expr();
    if (pos < text.length) {
      throw new ParseError(text[pos] === ')'
        ? `parse-error: unmatched ')' at ${pos}`
        : `parse-error: unexpected ${show(text[pos])} at ${pos}`);
    }
    return { ok: true, expr: e, literals };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: err.message };
    // Only a stack overflow can land here; report it rather than throw.
    return { ok: false, error: 'too-deep: expression nests too deeply' };
  }
}

/** Exact rational: d > 0 and gcd(|n|, d) = 1, so equal values have equal fields. */
export interface Rat { n: bigint; d: bigint }

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rat(n: bigint, d = 1n): Rat {
  if (d === 0n) throw new RangeError('rat: zero denominator');
  if (d < 0n) { n = -n; d = -d; }
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

export function ratEq(a: Rat, b: Rat): boolean {
  return a.n === b.n && a.d === b.d;
}

export function ratToString(r: Rat): string {
  return r.d === 1n ? r.n.toString() : `${r.n}/${r.d}`;
}

/** null for division by zero. */
export function applyOp(op: Op, a: Rat, b: Rat): Rat | null {
  switch (op) {
    case '+': return rat(a.n * b.d + b.n * a.d, a.d * b.d);
    case '-': return rat(a.n * b.d - b.n * a.d, a.d * b.d);
    case '*': return rat(a.n * b.n, a.d * b.d);
    case '/': return b.n === 0n ? null : rat(a.n * b.d, a.d * b.n);
  }
}

/**
 * Exact value, or null on division by zero anywhere (even in a part that would not change the result).
 * `visit` sees every operator node's value, bottom-up. Callers bound the size: cost grows with the
 * digits of the literals, so check literals against the allowed numbers first.
 */
export function evaluate(e: Expr, visit?: (v: Rat) => void): Rat | null {
  if (e.kind === 'num') return rat(BigInt(e.text));
  const l = evaluate(e.left, visit);
  if (l === null) return null;
  const r = evaluate(e.right, visit);
  if (r === null) return null;
  const v = applyOp(e.op, l, r);
  if (v !== null) visit?.(v);
  return v;
}

const prec = (op: Op) => (op === '+' || op === '-' ? 1 : 2);

/** Prints with only the parentheses the precedence rules need; parseExpr(formatExpr(e)) has e's value. */
export function formatExpr(e: Expr): string {
  if (e.kind === 'num') return e.text;
  const p = prec(e.op);
  const side = (c: Expr, right: boolean): string => {
    const s = formatExpr(c);
    if (c.kind === 'num') return s;
    const q = prec(c.op);
    // a-(b-c) and a/(b/c) keep their parentheses; a+(b-c) and a*(b/c) do not need them.
    const wrap = q < p || (right && q === p && (e.op === '-' || e.op === '/'));
    return wrap ? `(${s})` : s;
  };
  return side(e.left, false) + e.op + side(e.right, true);
}
