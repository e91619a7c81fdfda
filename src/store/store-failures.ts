import { CalmpayError } from '../errors.ts';
import { sqlState } from './sql/sql-store.ts';

/**
 * Which thrown errors mean "a store is unavailable" (503) rather than a bug (500): Redis that
 * is down, frozen past its deadline (ioredis `commandTimeout`) or refusing work for now, and
 * SQL that is unreachable or past its deadline (statement_timeout, pg's query_timeout).
 */

const REDIS_MESSAGES = /^(Command timed out|Connection is closed|Stream isn't writeable|Reached the max retries|Connection in subscriber mode)/;
/** replies of a Redis that is loading, busy with a script, failing over or out of memory */
const REDIS_BUSY_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|OOM)\b/;

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(err.message)) return true;
  return err.name === 'ReplyError' && REDIS_BUSY_REPLIES.test(err.message);
}

/** Connection-level SQL failures are "unavailable" (503); anything else is a bug (500). */
export function isSqlUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code))) {
    return true;
  }
  const message = (err as { message?: unknown }).message;
  // PGlite runs in a thread of its own (sql-store.ts): once it has exited, every query fails so
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|PGlite is closed|the PGlite thread exited/i.test(message);
}

/**
 * The one mapping of an unreachable SQL store to its 503 (the case library, the rule versions,
 * the backtest and shadow routes and the end of a hold all use it, as `.catch(sqlFailure)`): a connection-level
 * failure becomes CALMPAY_ERR_SQL_UNAVAILABLE; anything else is thrown on as it is.
 */
export function sqlFailure(err: unknown): never {
  if (isSqlUnavailable(err)) throw new CalmpayError('CALMPAY_ERR_SQL_UNAVAILABLE', `The SQL store failed: ${(err as Error).message}`);
  throw err;
}

/** A statement cancelled by statement_timeout (57014), or pg's client-side query_timeout. */
export function isSqlTimeout(err: unknown): boolean {
  return sqlState(err) === '57014' || (err instanceof Error && /^Query read timeout/.test(err.message));
}

export type StoreFailure = 'CALMPAY_ERR_STORE_UNAVAILABLE' | 'CALMPAY_ERR_SQL_UNAVAILABLE';

/** The error code a store failure answers with, or null when the error is not one. */
export function storeFailure(err: unknown): StoreFailure | null {
  if (isRedisUnavailable(err)) return 'CALMPAY_ERR_STORE_UNAVAILABLE';
  if (isSqlTimeout(err) || isSqlUnavailable(err)) return 'CALMPAY_ERR_SQL_UNAVAILABLE';
  return null;
}

/**
 * Runs one Redis step of a request: its failure or deadline is a 503 naming `what`, never a
 * 500 (issue 19); a CalmpayError it throws passes as it is.
 */
export async function redisStep<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CalmpayError) throw err;
    throw new CalmpayError('CALMPAY_ERR_STORE_UNAVAILABLE', `Redis failed while ${what}: ${(err as Error).message}`);
  }
}
