/**
 * Tokeniser of rule expressions. It accepts a deliberately small alphabet: ASCII names,
 * decimal numbers, quoted strings and the operators of the grammar. Everything else (`;`,
 * `=`, backticks, `{`, non-ASCII letters, escapes outside strings) is an error at its
 * position, which is what keeps hostile text from ever reaching the compiler.
 */
import { expressionError, type ExpressionError, type Position } from './ast.ts';

export type Punctuator =
  | '(' | ')' | '[' | ']' | ','
  | '+' | '-' | '*' | '/' | '%'
  | '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Token =
  | { readonly kind: 'number'; readonly value: number; readonly text: string; readonly pos: Position }
  | { readonly kind: 'string'; readonly value: string; readonly text: string; readonly pos: Position }
  /** a name, or a dotted name such as `payer.age`; keywords are names too */
  | { readonly kind: 'name'; readonly text: string; readonly pos: Position }
  | { readonly kind: 'punct'; readonly text: Punctuator; readonly pos: Position }
  | { readonly kind: 'eof'; readonly text: ''; readonly pos: Position };

export type LexResult =
  | { readonly ok: true; readonly tokens: readonly Token[] }
  | { readonly ok: false; readonly error: ExpressionError };

const SINGLE: ReadonlySet<string> = new Set(['(', ')', '[', ']', ',', '+', '-', '*', '/', '%']);

/** Hints for characters people bring from other languages. */
const HINTS: Readonly<Record<string, string>> = {
  '=': "unexpected '='; use '==' to compare",
  '!': "unexpected '!'; use 'not' (or '!=' to compare)",
  '&': "unexpected '&'; use 'and'",
  '|': "unexpected '|'; use 'or'",
};

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
const isNameChar = (c: string | undefined): boolean => isNameStart(c) || isDigit(c);
const isLowerName = (s: string): boolean => /^[a-z_][a-z0-9_]*$/.test(s);

/**
 * `'x'` for printable ASCII, `'á' (U+00E1)` for other visible characters (look-alikes such as
 * Cyrillic `а` become obvious), and `U+200B` alone for controls and invisible characters.
 */
export function describeChar(source: string, offset: number): string {
  const cp = source.codePointAt(offset) ?? 0;
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const ch = String.fromCodePoint(cp);
  if (cp >= 0x21 && cp < 0x7f) return `'${ch}'`;
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}' (${code})` : code;
}

class LexError extends Error {
  constructor(
    readonly detail: string,
    readonly at: Position,
  ) {
    super(detail);
  }
}

export function tokenize(source: string): LexResult {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (offset: number): Position => ({ offset, line, column: offset - lineStart + 1 });
  const fail = (message: string, offset: number): never => {
    throw new LexError(message, pos(offset));
  };

  const digits = (start: number): number => {
    // [0-9] ('_'? [0-9])*  -- an underscore only between two digits
    let j = start;
    if (!isDigit(source[j])) return j;
    j++;
    for (;;) {
      if (isDigit(source[j])) j++;
      else if (source[j] === '_' && isDigit(source[j + 1])) j += 2;
      else if (source[j] === '_') fail("misplaced '_' in number; it may only separate digits", j);
      else return j;
    }
  };

  const number = (start: number): number => {
    let j = digits(start);
    if (source[j] === '.') {
      if (!isDigit(source[j + 1])) fail("expected a digit after '.' in number", j + 1);
      j = digits(j + 1);
    }
    if (source[j] === 'e' || source[j] === 'E') {
      let k = j + 1;
      if (source[k] === '+' || source[k] === '-') k++;
      if (!isDigit(source[k])) fail('expected digits in the exponent of number', k);
      j = digits(k);
    }
    if (isNameChar(source[j]) || source[j] === '.') {
      let end = j;
      while (isNameChar(source[end]) || source[end] === '.') end++;
      fail(`invalid number '${source.slice(start, end)}'`, start);
    }
    const text = source.slice(start, j);
    const value = Number(text.replaceAll('_', ''));
    if (!Number.isFinite(value)) fail(`number ${text} is out of range`, start);
    tokens.push({ kind: 'number', value, text, pos: pos(start) });
    return j;
  };

  const string = (start: number): number => {
    const quote = source[start]!;
    let value = '';
    let j = start + 1;
    for (;;) {
      const c = source[j];
      if (c === undefined || c === '\n' || c === '\r') fail('unterminated string', start);
      if (c === quote) break;
      if (c === '\\') {
        const e = source[j + 1];
        if (e === '\\' || e === "'" || e === '"') {
          value += e;
          j += 2;
          continue;
        }
        if (e === undefined) fail('unterminated string', start);
        const shown = e! > ' ' && e! <= '~' ? `'\\${e}'` : describeChar(source, j + 1);
        fail(`unsupported escape ${shown} in string; only \\\\, \\' and \\" are allowed`, j);
      }
      const cp = c!.charCodeAt(0);
      if (cp < 0x20 || cp === 0x7f) fail(`control character ${describeChar(source, j)} in string`, j);
      value += c;
      j++;
    }
    tokens.push({ kind: 'string', value, text: source.slice(start, j + 1), pos: pos(start) });
    return j + 1;
  };

  const name = (start: number): number => {
    let j = start;
    for (;;) {
      const segStart = j;
      while (isNameChar(source[j])) j++;
      const segment = source.slice(segStart, j);
      if (!isLowerName(segment)) {
        let end = j;
        while (isNameChar(source[end]) || source[end] === '.') end++;
        fail(
          `invalid name '${source.slice(start, end)}'; names use lower-case letters, digits and '_'`,
          start,
        );
      }
      if (source[j] !== '.') break;
      if (!isNameStart(source[j + 1])) fail("expected a name after '.'", j + 1);
      j++;
    }
    tokens.push({ kind: 'name', text: source.slice(start, j), pos: pos(start) });
    return j;
  };

  try {
    while (i < source.length) {
      const c = source[i]!;
      if (c === '\n') {
        i++;
        line++;
        lineStart = i;
      } else if (c === ' ' || c === '\t' || c === '\r') {
        i++;
      } else if (isDigit(c)) {
        i = number(i);
      } else if (c === '"' || c === "'") {
        i = string(i);
      } else if (isNameStart(c)) {
        i = name(i);
      } else if ((c === '=' || c === '!' || c === '<' || c === '>') && source[i + 1] === '=') {
        tokens.push({ kind: 'punct', text: `${c}=` as Punctuator, pos: pos(i) });
        i += 2;
      } else if (c === '<' || c === '>' || SINGLE.has(c)) {
        tokens.push({ kind: 'punct', text: c as Punctuator, pos: pos(i) });
        i++;
      } else {
        fail(HINTS[c] ?? `unexpected character ${describeChar(source, i)}`, i);
      }
    }
  } catch (e) {
    if (e instanceof LexError) return { ok: false, error: expressionError(e.detail, e.at) };
    throw e;
  }
  tokens.push({ kind: 'eof', text: '', pos: pos(i) });
  return { ok: true, tokens };
}
