/**
 * SQL stores for tests, isolated per test: an in-memory PGlite, or a schema of its own in the
 * test Postgres (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) that is
 * dropped afterwards. Case-library tests run over SQL_BACKENDS; TEST_SQL_BACKENDS=pglite limits
 * a run to the embedded backend where no Postgres is available (CI runs both).
 */
import { PGlite } from '@electric-sql/pglite';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/store/sql/migrate.ts';
import { openSqlStore, wrapPglite, type SqlBackend, type SqlStore } from '../../src/store/sql/sql-store.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export const SQL_BACKENDS: readonly SqlBackend[] = (() => {
  const raw = process.env.TEST_SQL_BACKENDS;
  if (!raw) return ['pglite', 'postgres'];
  const list = raw.split(',').map((s) => s.trim());
  for (const b of list) if (b !== 'pglite' && b !== 'postgres') throw new Error(`TEST_SQL_BACKENDS: unknown backend ${b}`);
  return list as SqlBackend[];
})();

export function uniqueSchema(): string {
  return `t_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

let template: Promise<Blob> | null = null;

/**
 * An in-memory PGlite with every migration applied, dumped once per test process: opening a
 * copy of it takes about a third of the time of a fresh initdb.
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const db = await PGlite.create('memory://');
    await migrate(wrapPglite(db, 'memory://'));
    const dump = await db.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return template;
}

export interface TestSql {
  readonly backend: SqlBackend;
  /** environment for loadConfig that points an app at this database */
  readonly env: Record<string, string>;
  open(): Promise<SqlStore>;
  /** drops the Postgres schema (PGlite memory needs nothing) */
  cleanup(): Promise<void>;
}

export function testSql(backend: SqlBackend): TestSql {
  if (backend === 'pglite') {
    return {
      backend,
      env: {},
      open: async () => openSqlStore({ databaseUrl: undefined, pgliteDir: 'memory://', schema: undefined, pgliteTemplate: await pgliteTemplate() }),
      cleanup: async () => undefined,
    };
  }
  const schema = uniqueSchema();
  return {
    backend,
    env: { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema },
    open: () => openSqlStore({ databaseUrl: TEST_DATABASE_URL, pgliteDir: 'memory://', schema }),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
