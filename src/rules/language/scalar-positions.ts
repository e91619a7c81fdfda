/**
 * Positions in a YAML file: offsets to line/column, and offsets inside a scalar's value
 * (a rule's `when` expression) back to offsets in the file.
 */
import type { Scalar } from 'yaml';

/** 1-based line and column of file offsets. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Maps offsets within `value` (the scalar's parsed string) to offsets in `text`.
 *
 * Each non-blank character of the value is aligned with its next occurrence in the raw
 * scalar source. That is exact for plain and quoted single-line scalars (quotes and escape
 * backslashes are skipped over), and for multi-line and block scalars it lands on the right
 * line and column as long as no escape sequence changes the character (`\u0041`); should the
 * alignment ever fail, the remaining offsets map to the last aligned place, never outside
 * the scalar.
 */
export function scalarOffsetMapper(text: string, node: Scalar, value: string): (offset: number) => number {
  const [start, end] = node.range ?? [0, 0];
  let p = start;
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') p = start + 1;
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    // skip the header line (`|`, `>-`, an optional comment)
    const nl = text.indexOf('\n', start);
    p = nl === -1 || nl >= end ? start : nl + 1;
  }
  let map: Int32Array | null = null;
  const build = (): Int32Array => {
    const m = new Int32Array(value.length + 1);
    let q = p;
    let i = 0;
    for (; i < value.length; i++) {
      const c = value[i]!;
      if (isSpace(c)) {
        m[i] = q;
        if (text[q] === c) q++;
        continue;
      }
      let r = q;
      while (r < end && text[r] !== c) r++;
      if (r >= end) break;
      m[i] = r;
      q = r + 1;
    }
    for (; i <= value.length; i++) m[i] = Math.min(q, end);
    return m;
  };
  return (offset) => {
    map ??= build();
    return map[Math.max(0, Math.min(offset, value.length))]!;
  };
}
