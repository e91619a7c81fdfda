import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseReportSchema } from '../../src/cases/case-schema.ts';
import { CaseService } from '../../src/cases/case-service.ts';
import { ReportFlags } from '../../src/cases/report-flags.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { testApp } from '../helpers/app.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';
import { coolOffTransfer, waitFor } from './cooling-helpers.ts';

/**
 * Issue 19: `npm run worker` (a worker apart from the API) opened no SQL, so the end of a hold saw
 * the Redis report flags only: a hold whose payee was named by a report filed while Redis was
 * failing (committed in the case library, flags not applied) was RELEASED by it. With
 * DATABASE_URL the worker asks the case library as an API node does, and holds for review.
 * The worker is the real CLI in its own process, on the API's Redis prefix and the Postgres
 * where the report is; the API (RUN_WORKER=false) only scores and confirms.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE_RULES = path.join(ROOT, 'test/fixtures/rules');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const HOLD_SECONDS = '3';

describe('a separately run worker and a report not yet applied to the Redis flags (Postgres)', () => {
  const pg = testSql('postgres');
  let store: SqlStore;
  let app: Awaited<ReturnType<typeof testApp>>;
  let worker: ChildProcess | undefined;
  let workerOutput = '';

  beforeAll(async () => {
    store = await pg.open();
    await migrate(store);
    // the API node: its own embedded SQL (it never sees the report), no worker, short holds
    app = await testApp({ RUN_WORKER: 'false', COOLING_OFF_SECONDS: HOLD_SECONDS, COOLING_OFF_SECONDS_ELDERLY: HOLD_SECONDS });
  }, 120_000);
  afterAll(async () => {
    if (worker !== undefined && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    await store?.close();
    await pg.cleanup();
  }, 60_000);

  it('holds for review, never releases, a hold to a payee named by an unapplied report', async () => {
    const payee = `q-worker-${randomUUID().slice(0, 8)}`;
    // a report committed by a node whose Redis write failed: in the case library, not in the flags
    const deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const elsewhere = new CaseService({
      sql: store,
      flags: new ReportFlags(deadRedis, makeKeys(`unused-${randomUUID()}:`), 400),
      clock: Date.now,
      maxFutureSkewSeconds: 300,
      historyRetentionDays: 400,
      retry: { firstMs: 3_600_000, maxMs: 3_600_000 },
      log: quiet,
    });
    let caseId: string;
    try {
      await recordPaid(store, paid('p-worker-victim', payee, ['worker-victim-1']));
      const filed = await elsewhere.report(
        CaseReportSchema.parse({
          reporter: { type: 'victim' },
          payer: { accountId: 'p-worker-victim' },
          payee: { accountId: payee },
          transferIds: ['worker-victim-1'],
          amountLost: 20_000,
          currency: 'CNY',
          scamType: 'impersonation',
          scamAt: new Date(Date.now() - 3_600_000).toISOString(),
        }),
      );
      expect(filed.case.flagsApplied).toBe(false);
      caseId = filed.case.caseId;
    } finally {
      await elsewhere.close();
      deadRedis.disconnect();
    }

    worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/worker.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...pg.env,
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: app.prefix,
        RULES_DIR: FIXTURE_RULES,
        COOLING_OFF_SECONDS: HOLD_SECONDS,
        COOLING_OFF_SECONDS_ELDERLY: HOLD_SECONDS,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    await until(() => /"msg":"worker ready"/.test(workerOutput) || worker!.exitCode !== null, 'the worker to be ready', 90_000, 50);
    expect(worker.exitCode, workerOutput).toBeNull();

    const id = `worker-hold-${randomUUID().slice(0, 8)}`;
    const inject = (method: 'GET' | 'POST', url: string, payload?: object) => app.server.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
    expect((await inject('POST', '/v1/transfers/score', coolOffTransfer(id, { payee }))).json()).toMatchObject({ action: 'cool_off' });
    await waitFor(`${id} registered`, async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
    expect((await inject('POST', `/v1/transfers/${id}/confirm`)).json()).toMatchObject({ state: 'COOLING_OFF' });

    // the hold's 3 s pass; the worker's timer ends it
    const ended = await waitFor(
      'the worker to end the hold',
      async () => {
        const s = (await inject('GET', `/v1/transfers/${id}`)).json() as { state?: string; reason?: string };
        return s.state !== undefined && s.state !== 'COOLING_OFF' ? s : null;
      },
      30_000,
      100,
    );
    expect(ended, workerOutput).toMatchObject({
      state: 'HELD_FOR_REVIEW',
      reason: `cooling-off ended; the payee is named by scam report ${caseId}, not yet applied to its report flags (Redis failed when it was filed)`,
    });
  }, 180_000);
});
