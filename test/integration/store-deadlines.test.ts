import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/sql/migrate.ts';
import { openSqlStore, type SqlStore } from '../../src/store/sql/sql-store.ts';
import { storeFailure } from '../../src/store/store-failures.ts';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { testApp } from '../helpers/app.ts';
import { exampleTransfer } from '../helpers/example-event.ts';
import { pgliteTemplate, TEST_DATABASE_URL, testSql, uniqueSchema } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19, "hangs": every Redis and SQL call of a request has a deadline (STORE_DEADLINE_MS),
 * and /readyz answers within one. A Redis of the test's own is frozen (SIGSTOP: the socket
 * stays open, nothing answers) and then stopped; the routes answer 503, never hang and never
 * 500. A request that hung would fail this test by its timeout; the assertions are on statuses.
 */

const limits = { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 200, daily: 500 };
const unavailable = (res: { statusCode: number; json(): unknown }) => [res.statusCode, (res.json() as { code: string }).code];

describe('deadlines: a frozen or stopped Redis', () => {
  let dataDir: string;
  let server: LocalRedis;
  let app: TestApp;
  const transferId = `dl-${Date.now()}`;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-deadlines-'));
    server = await startLocalRedis({ dataDir, appendOnly: false, log: () => undefined });
    app = await testApp({ REDIS_URL: server.url, STORE_DEADLINE_MS: '300', RUN_WORKER: 'false' });
    const scored = await app.server.inject({
      method: 'POST',
      url: '/v1/transfers/score',
      payload: exampleTransfer({ transferId, occurredAt: new Date().toISOString() }),
    });
    expect(scored.statusCode).toBe(200);
    const set = await app.server.inject({ method: 'PUT', url: '/v1/accounts/minor-1/guardian-limits', payload: limits });
    expect(set.statusCode).toBe(200);
  }, 120_000);
  afterAll(async () => {
    // whatever happened above, the server must not stay frozen
    if (server !== undefined) {
      try {
        process.kill(server.pid, 'SIGCONT');
      } catch {
        // already stopped
      }
    }
    await app?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const guardianCalls = () => [
    app.server.inject({ method: 'GET', url: '/v1/accounts/minor-1/guardian-limits' }),
    app.server.inject({ method: 'PUT', url: '/v1/accounts/minor-1/guardian-limits', payload: limits }),
    app.server.inject({ method: 'DELETE', url: '/v1/accounts/minor-1/guardian-limits' }),
  ];

  /** GET /v1/transfers/:id and the three guardian routes answer 503 STORE_UNAVAILABLE. */
  async function expectRedisRoutesUnavailable(): Promise<void> {
    const view = await app.server.inject({ method: 'GET', url: `/v1/transfers/${transferId}` });
    expect(unavailable(view)).toEqual([503, 'CALMPAY_ERR_STORE_UNAVAILABLE']);
    const answers = await Promise.all(guardianCalls());
    expect(answers.map(unavailable)).toEqual([
      [503, 'CALMPAY_ERR_STORE_UNAVAILABLE'],
      [503, 'CALMPAY_ERR_STORE_UNAVAILABLE'],
      [503, 'CALMPAY_ERR_STORE_UNAVAILABLE'],
    ]);
  }

  it('frozen (SIGSTOP): /readyz, GET /v1/transfers/:id and the guardian routes answer 503', async () => {
    expect((await app.server.inject({ method: 'GET', url: `/v1/transfers/${transferId}` })).statusCode).toBe(200);
    process.kill(server.pid, 'SIGSTOP');
    try {
      const ready = await app.server.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        status: 'not_ready',
        checks: { redis: { ready: false, detail: expect.stringMatching(/no answer within 300 ms \(STORE_DEADLINE_MS\)|Command timed out/) } },
      });
      await expectRedisRoutesUnavailable();
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
    // it thaws by itself: the same connection answers again
    await until(async () => (await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'ready after SIGCONT', 15_000, 100);
    expect((await app.server.inject({ method: 'GET', url: `/v1/transfers/${transferId}` })).statusCode).toBe(200);
  });

  it('stopped: /readyz, GET /v1/transfers/:id and the guardian routes answer 503, not 500', async () => {
    const port = server.port;
    await server.stop();
    try {
      expect((await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      await expectRedisRoutesUnavailable();
    } finally {
      server = await startLocalRedis({ dataDir, port, appendOnly: false, log: () => undefined });
    }
  });
});

describe('deadlines: Postgres', () => {
  const sql = testSql('postgres');
  let app: TestApp;
  let locker: pg.Client;

  beforeAll(async () => {
    app = await testApp({ ...sql.env, STORE_DEADLINE_MS: '300', RUN_WORKER: 'false', DECISION_SINK: 'false' });
    locker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await locker.connect();
  }, 120_000);
  afterAll(async () => {
    await locker?.end();
    await app?.close();
    await sql.cleanup();
  });

  it('a request whose statement waits past the deadline answers 503 CALMPAY_ERR_SQL_UNAVAILABLE', async () => {
    expect((await app.server.inject({ method: 'GET', url: '/v1/cases' })).statusCode).toBe(200);
    const schema = sql.env.DATABASE_SCHEMA!;
    await locker.query('BEGIN');
    try {
      // another session holds the tables: the route's statements wait, as on a stuck server
      await locker.query(`LOCK TABLE "${schema}".cases, "${schema}".rule_versions IN ACCESS EXCLUSIVE MODE`);
      const cases = await app.server.inject({ method: 'GET', url: '/v1/cases' });
      expect(unavailable(cases)).toEqual([503, 'CALMPAY_ERR_SQL_UNAVAILABLE']);
      const versions = await app.server.inject({ method: 'GET', url: '/v1/rules/versions' });
      expect(unavailable(versions)).toEqual([503, 'CALMPAY_ERR_SQL_UNAVAILABLE']);
    } finally {
      await locker.query('ROLLBACK');
    }
    expect((await app.server.inject({ method: 'GET', url: '/v1/cases' })).statusCode).toBe(200);
  });

  it('bounds every statement of the store, but not a migration', async () => {
    const schema = uniqueSchema();
    const store: SqlStore = await openSqlStore({ databaseUrl: TEST_DATABASE_URL, pgliteDir: 'memory://', schema, deadlineMs: 200 });
    try {
      const late = await store.query('SELECT pg_sleep(2)').then(
        () => null,
        (err: unknown) => err,
      );
      expect(storeFailure(late)).toBe('CALMPAY_ERR_SQL_UNAVAILABLE');
      expect(await store.transaction(async (tx) => (await tx.query<{ ok: number }>('SELECT 1 AS ok FROM pg_sleep(0.4)')).rows, { unbounded: true })).toEqual([{ ok: 1 }]);
      expect((await migrate(store)).applied.length).toBeGreaterThan(0);
    } finally {
      await store.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });
});

describe('deadlines: PGlite (the embedded database, one session in a thread of its own)', () => {
  const DEADLINE_MS = 300;
  let sql: SqlStore;
  let app: TestApp;

  beforeAll(async () => {
    // the store as the app opens it from its config: with STORE_DEADLINE_MS as its deadline
    sql = await openSqlStore({ databaseUrl: undefined, pgliteDir: 'memory://', schema: undefined, pgliteTemplate: await pgliteTemplate(), deadlineMs: DEADLINE_MS });
    app = await testApp({ STORE_DEADLINE_MS: String(DEADLINE_MS), RUN_WORKER: 'false', DECISION_SINK: 'false' }, { sql });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await sql?.close();
  });

  it('a request waiting behind an open transaction answers 503 CALMPAY_ERR_SQL_UNAVAILABLE within the deadline', async () => {
    expect((await app.server.inject({ method: 'GET', url: '/v1/cases' })).statusCode).toBe(200);
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const safety = setTimeout(release, 5_000); // on the old code the route waits for this
    const holder = sql.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await released;
    });
    try {
      const t0 = performance.now();
      const cases = await app.server.inject({ method: 'GET', url: '/v1/cases' });
      const tookMs = performance.now() - t0;
      expect(unavailable(cases)).toEqual([503, 'CALMPAY_ERR_SQL_UNAVAILABLE']);
      expect(tookMs).toBeLessThan(DEADLINE_MS + 1_500);
    } finally {
      release();
      clearTimeout(safety);
      await holder;
    }
    expect((await app.server.inject({ method: 'GET', url: '/v1/cases' })).statusCode).toBe(200);
  });

  it('a request waiting behind a slow statement in the thread answers 503 too', async () => {
    const slow = sql.query('SELECT pg_sleep(1.5)').then(
      () => null,
      (err: unknown) => err,
    );
    const cases = await app.server.inject({ method: 'GET', url: '/v1/cases' });
    expect(unavailable(cases)).toEqual([503, 'CALMPAY_ERR_SQL_UNAVAILABLE']);
    expect(storeFailure(await slow)).toBe('CALMPAY_ERR_SQL_UNAVAILABLE');
    await until(async () => (await app.server.inject({ method: 'GET', url: '/v1/cases' })).statusCode === 200, 'the thread free again', 10_000, 50);
  });

  it('rolls back a transaction whose statement missed the deadline; an unbounded one (migrations) has none', async () => {
    await sql.transaction(async (tx) => tx.exec('CREATE TABLE deadline_probe (x int)'), { unbounded: true });
    const late = await sql
      .transaction(async (tx) => {
        await tx.query('INSERT INTO deadline_probe VALUES (1)');
        await tx.query('SELECT pg_sleep(0.6)');
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(storeFailure(late)).toBe('CALMPAY_ERR_SQL_UNAVAILABLE');
    await until(async () => (await sql.query('SELECT 1').then(() => true, () => false)), 'the thread free again', 10_000, 50);
    expect((await sql.query('SELECT count(*)::int AS n FROM deadline_probe')).rows).toEqual([{ n: 0 }]);
    const rows = await sql.transaction(async (tx) => (await tx.query<{ ok: number }>('SELECT 1 AS ok FROM pg_sleep(0.6)')).rows, { unbounded: true });
    expect(rows).toEqual([{ ok: 1 }]);
  });
});
