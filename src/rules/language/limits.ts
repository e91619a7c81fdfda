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

/**
 * Characters of all the files of one rule set together (the shipped rules/ hold about 9,000).
 * With the expression limits it bounds what parsing, checking and compiling a set can cost a
 * node (issue 19: 1 MiB of long expressions held an API node's event loop for 2 s).
 */
export const MAX_RULE_SET_CHARS = 131_072;

/** Files in one rule set. */
export const MAX_RULE_FILES = 100;

/** Rules in one rule set, over all its files. */
export const MAX_RULES = 1_000;

/**
 * Why a rule set is too large to be read at all (too many files, too many characters), or
 * null. Checked before any parsing, by the routes (a 400 naming `files`) and by every loader.
 */
export function ruleSetSizeProblem(files: readonly { readonly text: string }[]): string | null {
  if (files.length > MAX_RULE_FILES) return `the rule set has ${files.length} files; the limit is ${MAX_RULE_FILES} (MAX_RULE_FILES)`;
  let chars = 0;
  for (const f of files) chars += f.text.length;
  if (chars > MAX_RULE_SET_CHARS) return `the rule files hold ${chars} characters; the limit is ${MAX_RULE_SET_CHARS} for the whole rule set (MAX_RULE_SET_CHARS)`;
  return null;
}

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
