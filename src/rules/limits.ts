/**
 * Hard limits of the rule language. Input beyond them is a reported error, never a stack
 * overflow or an unbounded allocation (analysts and the API both submit expressions).
 */

/** Characters in one `when` expression. */
export const MAX_EXPRESSION_LENGTH = 4_000;

/** Nested parentheses, function calls, `not` and unary `-` within one expression. */
export const MAX_NESTING_DEPTH = 64;

/** Items in one `in [...]` list. */
export const MAX_LIST_ITEMS = 1_000;

/** Errors reported for one expression, and for one rule set load. */
export const MAX_ERRORS = 50;

/**
 * At most MAX_ERRORS errors: when there are more, the first MAX_ERRORS - 1 are kept and the
 * last place holds a note (a copy of the first omitted error, so it keeps its position and
 * rule) saying how many there were.
 */
export function capErrors<T extends { readonly message: string }>(errors: readonly T[]): readonly T[] {
  if (errors.length <= MAX_ERRORS) return errors;
  const kept = errors.slice(0, MAX_ERRORS - 1);
  const first = errors[MAX_ERRORS - 1]!;
  kept.push({
    ...first,
    message: `too many errors (${errors.length}); only the first ${MAX_ERRORS - 1} are listed`,
  });
  return kept;
}
