import type { z } from 'zod';

/**
 * Postgres `text` cannot hold the NUL character (U+0000): a string carrying one that reached
 * SQL was a 500 (issue 19). Every string a request or a rule file can carry into SQL is checked
 * with these, so the client gets a 400 naming the field instead, and nothing is half-written.
 */
export const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';

export const hasNul = (s: string): boolean => s.includes('\u0000');

/**
 * The schema, refusing a string that holds a NUL with NUL_MESSAGE. The check aborts the field's
 * later checks (a time zone with a NUL is not also "not a time zone"): the answer names the NUL.
 */
export function noNul<S extends z.ZodString>(schema: S): S {
  return schema.refine((s) => !hasNul(s), { message: NUL_MESSAGE, abort: true });
}
