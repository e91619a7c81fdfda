/**
 * "Did you mean" suggestions for unknown feature names and unknown YAML keys.
 */

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * Up to three candidates close to `name`: those within an edit distance of about a third of
 * its length (at most 3), best first; failing that, dotted candidates whose last part is
 * `name` (`age` → `payer.age`).
 */
export function suggestions(name: string, candidates: readonly string[]): string[] {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  const close = candidates
    .map((c) => ({ c, d: editDistance(name, c) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0))
    .map((x) => x.c);
  if (close.length > 0) return close.slice(0, 3);
  return candidates.filter((c) => c.endsWith(`.${name}`)).slice(0, 3);
}

/** ` (did you mean 'a' or 'b'?)`, or '' when nothing is close. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const s = suggestions(name, candidates).map((c) => `'${c}'`);
  if (s.length === 0) return '';
  const list = s.length === 1 ? s[0] : `${s.slice(0, -1).join(', ')} or ${s[s.length - 1]}`;
  return ` (did you mean ${list}?)`;
}
