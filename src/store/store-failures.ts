import { isSqlUnavailable } from '../cases/case-service.ts';
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
