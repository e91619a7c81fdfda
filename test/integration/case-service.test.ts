import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseReportSchema, type CaseReport } from '../../src/cases/case-schema.ts';
import { CaseService, type CaseLog } from '../../src/cases/case-service.ts';
import { ReportFlags } from '../../src/cases/report-flags.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { redisUrl } from '../helpers/redis.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';

const NOW = Date.parse('2026-11-21T03:10:00Z');

function report(payeeId: string, transferIds: string[], reporterId = 'p-1'): CaseReport {
  return CaseReportSchema.parse({
    reporter: { type: 'family', id: reporterId },
    payer: { accountId: 'p-1' },
    payee: { accountId: payeeId },
    transferIds,
    amountLost: 100,
    currency: 'CNY',
    scamType: 'romance',
    scamAt: '2026-11-20T10:00:00Z',
    reportedAt: '2026-11-21T01:00:00Z',
  });
}

/** Collects what the service logs, so a test can assert a failure was reported. */
function memoryLog(): CaseLog & { lines: string[] } {
  const lines: string[] = [];
  const push = (_obj: object, msg: string) => void lines.push(msg);
  return { lines, info: push, warn: push, error: push };
}

describe.each(SQL_BACKENDS)('report flags survive a Redis failure (%s)', (backend) => {
  const sql = testSql(backend);
  let store: SqlStore;
  let redis: Redis;
  // a Redis that is not there: nothing listens on port 1
  let deadRedis: Redis;
  const keys = makeKeys(`test-${randomUUID()}:`);

  beforeAll(async () => {
    store = await sql.open();
    await migrate(store);
    // a report names transfers the decision history records from its payer to its payee
    await recordPaid(store, paid('p-1', 'q-down', ['down-1']));
    await recordPaid(store, paid('p-1', 'q-half', ['half-1', 'half-2']));
    redis = new Redis(redisUrl());
    deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
  });
  afterAll(async () => {
    await store.close();
    await sql.cleanup();
    redis.disconnect();
    deadRedis.disconnect();
  });

  it('keeps the case, marks it pending, and re-applies it later exactly once', async () => {
    const reported: string[] = [];
    const log = memoryLog();
    const broken = new CaseService({
      sql: store,
      flags: new ReportFlags(deadRedis, keys, 400),
      clock: () => NOW,
      maxFutureSkewSeconds: 300,
      historyRetentionDays: 400,
      // no background retry during this test: it asserts the one failure logged
      retry: { firstMs: 3_600_000, maxMs: 3_600_000 },
      log,
      onReported: (payee, caseId) => void reported.push(`${payee}/${caseId}`),
    });
    const result = await broken.report(report('q-down', ['down-1']));
    expect(result.duplicate).toBe(false);
    expect(result.case.flagsApplied).toBe(false);
    // the listener (cooling-off escalation) still hears of the committed case
    expect(reported).toEqual([`q-down/${result.case.caseId}`]);
    expect(log.lines).toEqual(['case library: writing the payee report flags to Redis failed; the case stays pending']);
    expect((await store.query('SELECT flags_applied FROM cases WHERE case_id = $1', [result.case.caseId])).rows).toEqual([{ flags_applied: false }]);
    expect(await redis.exists(keys.accountReports('q-down'))).toBe(0);

    // a duplicate while Redis is still down: nothing new, still pending, listener not called
    const dup = await broken.report(report('q-down', ['down-1'], 'someone-else'));
    expect([dup.duplicate, dup.case.caseId, dup.case.flagsApplied]).toEqual([true, result.case.caseId, false]);
    expect(reported).toHaveLength(1);

    const healthy = new CaseService({ sql: store, flags: new ReportFlags(redis, keys, 400), clock: () => NOW, maxFutureSkewSeconds: 300, historyRetentionDays: 400, log: memoryLog() });
    expect(await healthy.reapplyPendingFlags()).toEqual({ applied: 1, pending: 0 });
    expect(await healthy.reapplyPendingFlags()).toEqual({ applied: 0, pending: 0 });
    expect(await redis.hgetall(keys.accountReports('q-down'))).toEqual({
      count: '1',
      reporters: '1',
      last: String(Date.parse('2026-11-21T01:00:00Z')),
    });
    expect((await healthy.get(result.case.caseId))?.flagsApplied).toBe(true);
    await broken.close();
  });

  it('counts a case once when Redis got it but the row was not marked applied', async () => {
    const flags = new ReportFlags(redis, keys, 400);
    const service = new CaseService({ sql: store, flags, clock: () => NOW, maxFutureSkewSeconds: 300, historyRetentionDays: 400, log: memoryLog() });
    const first = await service.report(report('q-half', ['half-1']));
    expect(first.case.flagsApplied).toBe(true);
    // as if the process died between the flags script and the UPDATE
    await store.query('UPDATE cases SET flags_applied = false WHERE case_id = $1', [first.case.caseId]);
    // the next report that reaches Redis re-applies pending cases in the background
    const second = await service.report(report('q-half', ['half-2'], 'p-2'));
    await service.drain();
    expect(second.case.flagsApplied).toBe(true);
    expect((await service.get(first.case.caseId))?.flagsApplied).toBe(true);
    expect(await redis.hgetall(keys.accountReports('q-half'))).toEqual({ count: '2', reporters: '2', last: String(Date.parse('2026-11-21T01:00:00Z')) });
  });

  it('lets flags of a report older than REPORT_TTL_DAYS expire at once', async () => {
    const flags = new ReportFlags(redis, keys, 1);
    const old = await flags.apply({ caseId: 'c-old', payeeId: 'q-old', reporterKey: 'victim:p', reportedAtMs: Date.now() - 2 * 86_400_000 });
    expect(old.recorded).toBe(true);
    expect(await redis.exists(keys.accountReports('q-old'), keys.accountReportCases('q-old'), keys.accountReporters('q-old'))).toBe(0);
    const fresh = await flags.apply({ caseId: 'c-new', payeeId: 'q-old', reporterKey: 'victim:p', reportedAtMs: Date.now() });
    expect(fresh).toEqual({ recorded: true, flags: { count: 1, reporters: 1, lastMs: expect.any(Number) } });
    expect(await flags.apply({ caseId: 'c-new', payeeId: 'q-old', reporterKey: 'bank:x', reportedAtMs: Date.now() })).toMatchObject({
      recorded: false,
      flags: { count: 1, reporters: 1 },
    });
  });
});
