/**
 * Reading a Lua script's reply (src/store/lua/). A reply is positional, so each script's is
 * read by one named decoder beside its caller (decodeScoreReply, decodeReportFlagsReply,
 * decodeTransitionReply, ...), built from these readers: a reply of another shape (a script
 * and its caller out of step) fails at once with an error naming the script, the position
 * and the reply, instead of becoming NaN or undefined further on.
 */

export class ScriptReplyError extends Error {
  constructor(script: string, reply: unknown, problem: string) {
    super(`${script} script replied ${preview(reply)}: ${problem}`);
    this.name = 'ScriptReplyError';
  }
}

function preview(reply: unknown): string {
  const text = JSON.stringify(reply) ?? String(reply);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The reply as an array of at least `min` elements. */
export function replyArray(script: string, reply: unknown, min: number): readonly unknown[] {
  if (!Array.isArray(reply)) throw new ScriptReplyError(script, reply, 'expected an array');
  if (reply.length < min) throw new ScriptReplyError(script, reply, `expected at least ${min} elements, got ${reply.length}`);
  return reply;
}

/** An integer: the reply itself (i undefined) or its element i. */
export function replyInteger(script: string, reply: unknown, i?: number): number {
  const v = i === undefined ? reply : replyArray(script, reply, i + 1)[i];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ScriptReplyError(script, reply, `expected an integer${i === undefined ? '' : ` at ${i}`}, got ${preview(v)}`);
  }
  return v;
}

/** A string element. */
export function replyString(script: string, reply: unknown, i: number): string {
  const v = replyArray(script, reply, i + 1)[i];
  if (typeof v !== 'string') throw new ScriptReplyError(script, reply, `expected a string at ${i}, got ${preview(v)}`);
  return v;
}

/** A status code (the reply or its first element) that must be one of `codes`. */
export function replyCode<C extends number>(script: string, reply: unknown, codes: readonly C[], i?: number): C {
  const v = replyInteger(script, reply, i);
  if (!(codes as readonly number[]).includes(v)) {
    throw new ScriptReplyError(script, reply, `unknown code ${v}${i === undefined ? '' : ` at ${i}`} (expected ${codes.join(', ')})`);
  }
  return v as C;
}

/** A count (the reply itself): an integer from 0 to `max`. */
export function replyCount(script: string, reply: unknown, max: number): number {
  const n = replyInteger(script, reply);
  if (n < 0 || n > max) throw new ScriptReplyError(script, reply, `expected a count from 0 to ${max}`);
  return n;
}
