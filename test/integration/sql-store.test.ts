import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, type Migration } from '../../src/store/sql/migrate.ts';
import { openSqlStore, redactUrl, type SqlStore } from '../../src/store/sql/sql-store.ts';
import { SQL_BACKENDS, TEST_DATABASE_URL, testSql, uniqueSchema } from '../helpers/sql.ts';

describe.each(SQL_BACKENDS)('SQL store on %s', (backend) => {
  const sql = testSql(backend);
  let store: SqlStore;
  beforeAll(async () => {
    store = await sql.open();
  });
  afterAll(async () => {
    await store.close();
    await sql.cleanup();
  });

  it('applies the migrations once, and a second run applies nothing', async () => {
    const all = loadMigrations();
    const first = await migrate(store);
    const again = await migrate(store);
    expect(again).toEqual({ applied: [], version: Math.max(...all.map((m) => m.version)) });
    // a PGlite template already has them; a fresh Postgres schema gets them all now
    expect(first.applied).toEqual(backend === 'postgres' ? all.map((m) => m.file) : []);
    const tables = await store.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'backtest_jobs',
      'calmpay_migrations',
      'case_transfers',
      'cases',
      'decisions',
      'degraded_spool',
      'rule_active',
      'rule_audit',
      'rule_versions',
    ]);
  });

  it('refuses to start when an applied migration file changed', async () => {
    const changed: Migration[] = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
    await expect(migrate(store, changed)).rejects.toThrow(/migration 001_case_library\.sql changed after it was applied/);
  });

  it('rolls a failing migration back entirely', async () => {
    const bad: Migration[] = [
      ...loadMigrations(),
      { version: 900, name: 'half', file: '900_half.sql', sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();', checksum: 'x' },
    ];
    await expect(migrate(store, bad)).rejects.toThrow(/no_such_function/);
    const t = await store.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'half_done'`);
    expect(t.rowCount).toBe(0);
    const v = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM calmpay_migrations WHERE version = 900');
    expect(v.rows).toEqual([{ n: 0 }]);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await store.exec('CREATE TABLE tx_probe (x int PRIMARY KEY)');
    await store.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_probe VALUES ($1)', [1]);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_probe VALUES ($1)', [2]);
        await tx.query('INSERT INTO tx_probe VALUES ($1)', [1]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    const r = await store.query<{ x: number }>('SELECT x FROM tx_probe ORDER BY x');
    expect(r.rows).toEqual([{ x: 1 }]);
  });

  it('passes parameters and parses results the same way on both backends', async () => {
    const r = await store.query<Record<string, unknown>>(
      `SELECT $1::text[] AS arr, $2::timestamptz AS ts, $3::numeric::float8 AS num, $4::jsonb AS j, count(*)::int AS n FROM (VALUES (1), (2)) v(x)`,
      [['a', 'b'], new Date(Date.UTC(2026, 10, 21)), 12.5, JSON.stringify({ f: [1, null, 'x', true] })],
    );
    expect(r.rows).toEqual([{ arr: ['a', 'b'], ts: new Date(Date.UTC(2026, 10, 21)), num: 12.5, j: { f: [1, null, 'x', true] }, n: 2 }]);
    expect(r.rowCount).toBe(1);
  });
});

describe('SQL store: embedded PGlite in its own thread', () => {
  it('makes a query wait while a transaction is open on its one session', async () => {
    const store = await testSql('pglite').open();
    try {
      await store.exec('CREATE TABLE one_session (x int)');
      let finish = (): void => undefined;
      const held = new Promise<void>((r) => (finish = r));
      let inserted = (): void => undefined;
      const insertDone = new Promise<void>((r) => (inserted = r));
      const tx = store.transaction(async (t) => {
        await t.query('INSERT INTO one_session VALUES (1)');
        inserted();
        await held;
        throw new Error('roll back');
      });
      await insertDone;
      // issued while the transaction is open: run inside it, it would see the row that is rolled back
      const during = store.query<{ n: number }>('SELECT count(*)::int AS n FROM one_session');
      await new Promise((r) => setTimeout(r, 20));
      finish();
      await expect(tx).rejects.toThrow('roll back');
      expect((await during).rows).toEqual([{ n: 0 }]);
      await expect(store.transaction(async (t) => t.query('SELECT no_such_column FROM one_session'))).rejects.toMatchObject({ code: '42703' });
      expect((await store.query<{ n: number }>('SELECT count(*)::int AS n FROM one_session')).rows).toEqual([{ n: 0 }]);
    } finally {
      await store.close();
    }
  });
});

describe('SQL store: embedded PGlite on disk', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-pglite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps its data across reopening, and refuses a directory another live process holds', async () => {
    const first = await openSqlStore({ databaseUrl: undefined, pgliteDir: dir, schema: 'cp' });
    await migrate(first);
    await first.query(`INSERT INTO cases (case_id, reporter_type, reporter_key, payer_id, payee_id, transfer_ids, amount_lost, currency, scam_type, scam_at, reported_at, received_at)
      VALUES ('c-1', 'victim', 'victim:p', 'p', 'q', ARRAY['t'], 1, 'CNY', 'romance', now(), now(), now())`);
    expect(first.location).toBe(dir);
    await first.close();

    const again = await openSqlStore({ databaseUrl: undefined, pgliteDir: dir, schema: 'cp' });
    expect((await migrate(again)).applied).toEqual([]);
    expect((await again.query<{ case_id: string }>('SELECT case_id FROM cases')).rows).toEqual([{ case_id: 'c-1' }]);
    await again.close();

    // pid 1 is alive in every environment: its lock must be respected
    writeFileSync(path.join(dir, 'calmpay.lock'), '1');
    await expect(openSqlStore({ databaseUrl: undefined, pgliteDir: dir, schema: undefined })).rejects.toThrow(
      `The embedded database in ${dir} is in use by process 1; stop it first, or set DATABASE_URL to share a Postgres`,
    );
  });
});

describe('SQL store: Postgres connection problems', () => {
  it.runIf(SQL_BACKENDS.includes('postgres'))('names the server (without the password) when it cannot connect', async () => {
    const url = 'postgres://calmpay:secret@127.0.0.1:1/none';
    await expect(openSqlStore({ databaseUrl: url, pgliteDir: 'memory://', schema: uniqueSchema() })).rejects.toThrow(
      /^Cannot connect to Postgres at postgres:\/\/calmpay:\*\*\*@127\.0\.0\.1:1\/none: /,
    );
    expect(redactUrl(TEST_DATABASE_URL)).not.toContain('secret');
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await expect(openSqlStore({ databaseUrl: undefined, pgliteDir: 'memory://', schema: 'x"; DROP TABLE cases; --' })).rejects.toThrow(
      'invalid schema name "x"; DROP TABLE cases; --"',
    );
  });
});
