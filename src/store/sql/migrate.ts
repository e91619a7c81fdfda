import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SqlStoreError, type SqlStore } from './sql-store.ts';

/**
 * Plain-SQL migrations, the same files for Postgres and PGlite, applied at start.
 *
 * Files are `migrations/NNN_name.sql`, applied once each in version order. All pending files run
 * in one transaction under an advisory lock, so nodes starting together apply them once and a
 * failing file leaves the schema as it was. An applied file must never change: its checksum is
 * recorded and a mismatch stops start-up (write a new migration instead).
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** the file name, e.g. 001_case_library.sql */
  readonly file: string;
  readonly sql: string;
  readonly checksum: string;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
/** arbitrary, fixed: the advisory lock key of calmpay's migrations (scoped per schema below) */
const LOCK_KEY = 'calmpay-migrations';

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (m === null) continue;
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    out.push({
      version: Number(m[1]),
      name: m[2]!,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16),
    });
  }
  const versions = out.map((x) => x.version);
  if (new Set(versions).size !== versions.length) throw new SqlStoreError(`duplicate migration versions in ${dir}`);
  return out;
}

export interface MigrationReport {
  /** file names of the migrations this run applied */
  readonly applied: readonly string[];
  /** the schema's newest version after the run */
  readonly version: number;
}

export async function migrate(store: SqlStore, migrations: readonly Migration[] = loadMigrations()): Promise<MigrationReport> {
  // unbounded: a migration may wait for another node's lock and rewrite big tables, so the
  // request deadline (STORE_DEADLINE_MS) does not apply
  return store.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1))`, [LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS calmpay_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      checksum    text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM calmpay_migrations ORDER BY version',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior !== undefined && prior.checksum !== m.checksum) {
        throw new SqlStoreError(
          `migration ${m.file} changed after it was applied (checksum ${prior.checksum}, now ${m.checksum}); add a new migration instead`,
        );
      }
    }
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO calmpay_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push(m.file);
    }
    const all = [...done.keys(), ...migrations.map((m) => m.version)];
    return { applied, version: all.length === 0 ? 0 : Math.max(...all) };
  }, { unbounded: true });
}
