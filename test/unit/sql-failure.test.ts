import { describe, expect, it } from 'vitest';
import { CalmpayError } from '../../src/errors.ts';
import { isSqlUnavailable, sqlFailure } from '../../src/store/store-failures.ts';

/** The one SQL-unavailable → 503 mapping used by the case library, the rule versions and the backtest routes. */
describe('sqlFailure', () => {
  const thrown = (err: unknown): unknown => {
    try {
      sqlFailure(err);
    } catch (e) {
      return e;
    }
    throw new Error('sqlFailure returned');
  };

  it('turns a connection-level failure into CALMPAY_ERR_SQL_UNAVAILABLE naming the cause', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('Connection terminated unexpectedly'),
      new Error('PGlite is closed'),
      // the PGlite thread of a closed (or crashed) store
      new Error('the PGlite thread exited (code 1)'),
    ]) {
      expect(isSqlUnavailable(err)).toBe(true);
      const e = thrown(err);
      expect(e).toBeInstanceOf(CalmpayError);
      expect({ code: (e as CalmpayError).code, status: (e as CalmpayError).status, message: (e as CalmpayError).message }).toEqual({
        code: 'CALMPAY_ERR_SQL_UNAVAILABLE',
        status: 503,
        message: `The SQL store failed: ${err.message}`,
      });
    }
  });

  it('throws anything else on unchanged (a bug stays a 500, a CalmpayError keeps its code)', () => {
    const bug = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    const notFound = new CalmpayError('CALMPAY_ERR_NOT_FOUND');
    expect(isSqlUnavailable(bug)).toBe(false);
    expect(thrown(bug)).toBe(bug);
    expect(thrown(notFound)).toBe(notFound);
    expect(thrown('a string')).toBe('a string');
  });
});
