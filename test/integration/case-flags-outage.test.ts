import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseReportSchema } from '../../src/cases/case-schema.ts';
import { CaseService } from '../../src/cases/case-service.ts';
import { ReportFlags } from '../../src/cases/report-flags.ts';
import { loadConfig } from '../../src/config.ts';
import { lifecycleSettings } from '../../src/config-wiring.ts';
import { LifecycleService } from '../../src/cooling/lifecycle-service.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';
import { coolOffTransfer, waitFor } from './cooling-helpers.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19: a scam report filed while Redis is away is committed to the case library with its
 * payee flags pending. The flags must reach Redis as soon as it is back, without another report
 * or a restart, and no hold to that payee may be released while its report is unapplied.
 * Each app runs on a redis-server of the test's own, stopped and started again on its port.
 */

const MINUTE = 60_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function report(payer: string, payee: string, transferIds: string[]) {
  return {
    reporter: { type: 'victim' },
    payer: { accountId: payer },
    payee: { accountId: payee },
    transferIds,
    amountLost: 20_000,
    currency: 'CNY',
    scamType: 'impersonation',
    scamAt: new Date(Date.now() - 60 * MINUTE).toISOString(),
  };
}

describe.each(SQL_BACKENDS)('report flags and holds across a Redis outage (%s)', (backend) => {
  const sql = testSql(backend);
  let dataDir: string;
  let redis: LocalRedis;
  let app: TestApp;
  /** added to the app's clock: moves holds to their end without waiting 15 minutes */
  let offsetMs = 0;
  const redisLog: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-case-outage-'));
    redis = await startLocalRedis({ dataDir, appendOnly: true, log: (l) => redisLog.push(l) });
    app = await startedApp({ ...sql.env, REDIS_URL: redis.url }, { clock: () => Date.now() + offsetMs });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
    await sql.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const inject = (method: 'GET' | 'POST', url: string, body?: unknown) =>
    app.server.inject({
      method,
      url,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }),
    });

  /** Scores a transfer the fixture rules cool off, confirms it, and returns once it is COOLING_OFF. */
  async function holdTo(id: string, payee: string): Promise<void> {
    expect((await inject('POST', '/v1/transfers/score', coolOffTransfer(id, { payee }))).json()).toMatchObject({ action: 'cool_off' });
    await waitFor(`${id} registered`, async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
    expect((await inject('POST', `/v1/transfers/${id}/confirm`)).json()).toMatchObject({ state: 'COOLING_OFF' });
  }

  /** The payee's report count in Redis; null while the connection is not back. */
  async function reportCount(payee: string): Promise<string | null> {
    try {
      return await app.redis.hget(`${app.prefix}{a:${payee}}:reports`, 'count');
    } catch {
      return null;
    }
  }

  it('applies the flags of a report filed during the outage as soon as Redis is back, and holds the payee\'s transfers for review', async () => {
    const payee = 'q-outage';
    await holdTo('out-hold', payee);
    await recordPaid(app.sql, paid('p-outage-victim', payee, ['out-victim-1']));

    await redis.stop();
    const res = await inject('POST', '/v1/cases', report('p-outage-victim', payee, ['out-victim-1']));
    expect(res.statusCode).toBe(201);
    const filed = res.json().case as { caseId: string; flagsApplied: boolean };
    expect(filed.flagsApplied).toBe(false);

    redis = await startLocalRedis({ dataDir, port: redis.port, appendOnly: true, log: (l) => redisLog.push(l) });
    // no other report and no restart: the engine re-applies the pending case by itself
    await waitFor('the report flags in Redis', async () => (await reportCount(payee)) === '1');
    await waitFor('the case marked applied', async () => (await app.cases.get(filed.caseId))?.flagsApplied === true);
    // and the hold to the reported payee goes to review (the re-applied report escalates it)
    const held = await waitFor('the hold to leave COOLING_OFF', async () => {
      const s = (await inject('GET', '/v1/transfers/out-hold')).json() as { state?: string; reason?: string };
      return s.state !== undefined && s.state !== 'COOLING_OFF' ? s : null;
    });
    expect(held).toMatchObject({ state: 'HELD_FOR_REVIEW', reason: `new scam report ${filed.caseId} names the payee` });
  }, 60_000);

  it('holds for review, never releases, a hold that ends while a report on its payee is not applied to its flags', async () => {
    const payee = 'q-unapplied';
    await holdTo('unapplied-hold', payee);
    // a report committed by a node whose Redis write failed: in the case library, not in the flags
    const deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const elsewhere = new CaseService({
      sql: app.sql,
      flags: new ReportFlags(deadRedis, makeKeys(`unused-${randomUUID()}:`), 400),
      clock: () => Date.now() + offsetMs,
      maxFutureSkewSeconds: 300,
      historyRetentionDays: 400,
      retry: { firstMs: 3_600_000, maxMs: 3_600_000 },
      log: quiet,
    });
    try {
      await recordPaid(app.sql, paid('p-unapplied-victim', payee, ['unapplied-victim-1']));
      const filed = await elsewhere.report(CaseReportSchema.parse(report('p-unapplied-victim', payee, ['unapplied-victim-1'])));
      expect(filed.case.flagsApplied).toBe(false);

      // the hold's 15 minutes pass; the worker's timer or sweep ends it
      offsetMs += 16 * MINUTE;
      const ended = await waitFor('the hold to end', async () => {
        const s = (await inject('GET', '/v1/transfers/unapplied-hold')).json() as { state?: string; reason?: string };
        return s.state !== undefined && s.state !== 'COOLING_OFF' ? s : null;
      });
      expect(ended).toMatchObject({
        state: 'HELD_FOR_REVIEW',
        reason: `cooling-off ended; the payee is named by scam report ${filed.case.caseId}, not yet applied to its report flags (Redis failed when it was filed)`,
      });
      // it was the case library that held it: the flags still know nothing of the report
      expect(await reportCount(payee)).toBeNull();
    } finally {
      await elsewhere.close();
      deadRedis.disconnect();
    }
  }, 60_000);

  it('retries pending flags on its own timer, with backoff, when no ready event wakes it', async () => {
    // a case library of its own, so that the app's re-apply on 'ready' cannot do the work
    const own = testSql(backend);
    const store = await own.open();
    await migrate(store);
    const conn = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    conn.on('error', () => undefined);
    const keys = makeKeys(`retry-${randomUUID()}:`);
    const service = new CaseService({
      sql: store,
      flags: new ReportFlags(conn, keys, 400),
      clock: Date.now,
      maxFutureSkewSeconds: 300,
      historyRetentionDays: 400,
      retry: { firstMs: 50, maxMs: 400 },
      log: quiet,
    });
    try {
      await recordPaid(store, paid('p-retry', 'q-retry', ['retry-1']));
      await redis.stop();
      const filed = await service.report(CaseReportSchema.parse(report('p-retry', 'q-retry', ['retry-1'])));
      expect(filed.case.flagsApplied).toBe(false);
      redis = await startLocalRedis({ dataDir, port: redis.port, appendOnly: true, log: (l) => redisLog.push(l) });
      await waitFor('the retry timer to apply the flags', async () => (await service.get(filed.case.caseId))?.flagsApplied === true);
      expect(await conn.hget(keys.accountReports('q-retry'), 'count')).toBe('1');
    } finally {
      await service.close();
      conn.disconnect();
      await store.close();
      await own.cleanup();
    }
  }, 120_000);

  it('postpones the end of a hold, neither releasing nor holding it, while the case library cannot answer', async () => {
    const payee = 'q-sql-down';
    await holdTo('sql-down-hold', payee);
    // a case library whose SQL store is gone
    const own = testSql(backend);
    const gone = await own.open();
    await gone.close();
    const unreachable = new CaseService({
      sql: gone,
      flags: new ReportFlags(app.redis, makeKeys(app.prefix), 400),
      clock: Date.now,
      maxFutureSkewSeconds: 300,
      historyRetentionDays: 400,
      log: quiet,
    });
    // the end of the hold as a worker would run it, 16 minutes on (the app's own worker is not moved)
    const expiry = (unappliedReports: (payeeId: string) => Promise<readonly string[]>) =>
      new LifecycleService({
        store: app.lifecycle.store,
        timers: app.lifecycle.timers,
        ...lifecycleSettings(loadConfig({})),
        ruleSet: () => app.rules.current,
        clock: () => Date.now() + offsetMs + 16 * MINUTE,
        log: quiet,
        unappliedReports,
      });
    try {
      await expect(expiry((p) => unreachable.unappliedReports(p)).expireHold('sql-down-hold', 'timer')).rejects.toMatchObject({
        code: 'CALMPAY_ERR_SQL_UNAVAILABLE',
      });
      expect((await inject('GET', '/v1/transfers/sql-down-hold')).json()).toMatchObject({ state: 'COOLING_OFF' });
      // once it answers (no report on the payee), the hold ends as usual
      expect(await expiry((p) => app.cases.unappliedReports(p)).expireHold('sql-down-hold', 'timer')).toMatchObject({ kind: 'moved', state: 'RELEASED' });
    } finally {
      await own.cleanup();
    }
  }, 120_000);
});
