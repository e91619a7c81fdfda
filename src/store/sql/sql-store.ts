import { PGlite } from '@electric-sql/pglite';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { INIT_ID, type PgliteInit, type PgliteReply, type PgliteRequest } from './pglite-protocol.ts';

/**
 * The SQL system of record (DESIGN §7, §8): Postgres through `pg` when DATABASE_URL is set,
 * embedded PGlite otherwise. Both speak the same SQL, so repositories and migrations are
 * written once against `SqlStore`; backend differences stop here.
 *
 * Values come back as each driver parses them (both: timestamptz → Date, numeric → string,
 * jsonb → parsed JSON, text[] → string[]); int8 differs (pg: string, PGlite: number), so
 * repositories cast counts to int and amounts to float8 in SQL rather than guess here.
 */

export type SqlParam = string | number | boolean | null | Date | readonly string[];

export interface SqlResult<R> {
  readonly rows: R[];
  /** rows returned by a SELECT, or changed by an INSERT / UPDATE / DELETE */
  readonly rowCount: number;
}

export interface SqlExecutor {
  query<R>(text: string, params?: readonly SqlParam[]): Promise<SqlResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export type SqlBackend = 'postgres' | 'pglite';

export interface SqlStore extends SqlExecutor {
  readonly backend: SqlBackend;
  /** where the data is, for logs and readiness (a Postgres URL without its password) */
  readonly location: string;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * `unbounded`: on a connection of its own without the store's deadline (migrations, which
   * may wait for another node's lock); request paths never use it.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  readonly unbounded?: boolean;
}

export interface SqlStoreOptions {
  /** Postgres connection string; unset: embedded PGlite in `pgliteDir` */
  readonly databaseUrl: string | undefined;
  /** a directory, or `memory://` for a throwaway in-memory database (tests) */
  readonly pgliteDir: string;
  /** schema to create (if absent) and use; undefined: the server's default search_path */
  readonly schema: string | undefined;
  /** errors of idle Postgres connections (they must not crash the process) */
  readonly onIdleError?: (err: Error) => void;
  /**
   * Postgres only: every statement ends within this (server-side statement_timeout, and pg's
   * client-side query_timeout for a server that does not answer at all: frozen, unreachable),
   * failing with SQLSTATE 57014 or "Query read timeout". PGlite (one session in a thread of its
   * own): a call that has no answer within this, waiting for an open transaction included, fails
   * with SQLSTATE 57014 too; the statement itself runs to its end in the thread (nothing can
   * cancel it there), and a transaction that missed the deadline is rolled back after it.
   * Unset: no deadline (the CLIs).
   */
  readonly deadlineMs?: number;
  /** PGlite only: start from this dump (`PGlite.dumpDataDir()`) instead of an empty database */
  readonly pgliteTemplate?: Blob | File;
}

export class SqlStoreError extends Error {
  override name = 'SqlStoreError';
}

/** The SQLSTATE of a failed query (pg's and PGlite's errors both carry it as `code`), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Schema names are interpolated into SQL, so they are restricted to plain identifiers. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new SqlStoreError(`invalid schema name "${schema}"`);
  return `"${schema}"`;
}

/**
 * The URL without its password (in the user info, or a `password` query parameter as ioredis
 * and libpq also accept), for logs and readiness output. `what` names an unparseable URL.
 */
export function redactUrl(url: string, what = 'postgres'): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return `${what} (unparseable URL)`;
  }
}

export async function openSqlStore(opts: SqlStoreOptions): Promise<SqlStore> {
  if (opts.schema !== undefined) quoteSchema(opts.schema);
  return opts.databaseUrl !== undefined ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

// --- Postgres

class PgExecutor implements SqlExecutor {
  constructor(private readonly client: pg.Pool | pg.PoolClient | pg.Client) {}

  async query<R>(text: string, params: readonly SqlParam[] = []): Promise<SqlResult<R>> {
    const r = await this.client.query(text, params as unknown[]);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
  }

  async exec(script: string): Promise<void> {
    // without parameters pg uses the simple query protocol, which accepts several statements
    await this.client.query(script);
  }
}

async function openPostgres(url: string, opts: SqlStoreOptions): Promise<SqlStore> {
  const location = redactUrl(url);
  if (opts.schema !== undefined) {
    const setup = new pg.Client({ connectionString: url });
    try {
      await setup.connect();
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(opts.schema)}`);
    } catch (err) {
      throw new SqlStoreError(`Cannot connect to Postgres at ${location}: ${(err as Error).message}`);
    } finally {
      await setup.end().catch(() => undefined);
    }
  }
  // every connection works in the configured schema
  const searchPath = opts.schema !== undefined ? { options: `-c search_path=${quoteSchema(opts.schema)}` } : {};
  const deadline =
    opts.deadlineMs !== undefined
      ? { statement_timeout: opts.deadlineMs, query_timeout: opts.deadlineMs, connectionTimeoutMillis: Math.min(5_000, opts.deadlineMs) }
      : { connectionTimeoutMillis: 5_000 };
  const pool = new pg.Pool({
    connectionString: url,
    ...searchPath,
    max: 10,
    idleTimeoutMillis: 30_000,
    ...deadline,
  });
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new SqlStoreError(`Cannot connect to Postgres at ${location}: ${(err as Error).message}`);
  }
  const root = new PgExecutor(pool);
  return {
    backend: 'postgres',
    location,
    query: (text, params) => root.query(text, params),
    exec: (script) => root.exec(script),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      if (options.unbounded === true && opts.deadlineMs !== undefined) {
        const own = new pg.Client({ connectionString: url, ...searchPath });
        // a connection lost mid-way emits 'error' besides failing the query: unheard, it would end the process
        own.on('error', () => undefined);
        await own.connect();
        try {
          return await pgTransaction(own, fn, () => undefined);
        } finally {
          await own.end().catch(() => undefined);
        }
      }
      const client = await pool.connect();
      let broken = false;
      // the pool listens for the errors of idle connections only: a checked-out one that is lost
      // (Postgres killed mid-transaction) emits 'error' besides failing its query, and unheard
      // that would end the process
      const onLost = (): void => {
        broken = true;
      };
      client.on('error', onLost);
      try {
        return await pgTransaction(client, fn, onLost);
      } finally {
        client.off('error', onLost);
        // a connection whose ROLLBACK failed, or that was lost, is not handed out again
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** BEGIN, `fn`, COMMIT on one connection; ROLLBACK when anything throws (`onRollbackFailed` if that fails too). */
async function pgTransaction<T>(client: pg.PoolClient | pg.Client, fn: (tx: SqlExecutor) => Promise<T>, onRollbackFailed: () => void): Promise<T> {
  try {
    await client.query('BEGIN');
    const result = await fn(new PgExecutor(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(onRollbackFailed);
    throw err;
  }
}

// --- PGlite

interface PgliteLike {
  query<T>(query: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(query: string): Promise<unknown>;
}

class PgliteExecutor implements SqlExecutor {
  constructor(private readonly db: PgliteLike) {}

  async query<R>(text: string, params: readonly SqlParam[] = []): Promise<SqlResult<R>> {
    const r = await this.db.query<R>(text, params as unknown[]);
    return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }
}

const LOCK_FILE = 'calmpay.lock';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A lock file with the owner's pid makes the second opener stop with a clear message.
 */
function takeDirLock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  let owner: number | null = null;
  try {
    owner = Number(readFileSync(file, 'utf8').trim());
  } catch {
    owner = null;
  }
  if (owner !== null && Number.isInteger(owner) && owner !== process.pid && pidAlive(owner)) {
    throw new SqlStoreError(
      `The embedded database in ${dir} is in use by process ${owner}; stop it first, or set DATABASE_URL to share a Postgres`,
    );
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

async function openPglite(opts: SqlStoreOptions): Promise<SqlStore> {
  const inMemory = opts.pgliteDir.startsWith('memory://');
  let release = (): void => undefined;
  if (!inMemory) {
    mkdirSync(opts.pgliteDir, { recursive: true });
    release = takeDirLock(opts.pgliteDir);
  }
  const location = inMemory ? opts.pgliteDir : path.resolve(opts.pgliteDir);
  try {
    return await openPgliteThread(
      {
        entry: new URL('./pglite-worker.ts', import.meta.url).href,
        dataDir: opts.pgliteDir,
        schema: opts.schema,
        template: opts.pgliteTemplate === undefined ? undefined : await opts.pgliteTemplate.arrayBuffer(),
      },
      location,
      release,
      opts.deadlineMs,
    );
  } catch (err) {
    release();
    throw new SqlStoreError(`Cannot open the embedded database in ${opts.pgliteDir}: ${(err as Error).message}`);
  }
}

class PgliteThreadError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

/** The error a PGlite call answers past the store's deadline: SQLSTATE 57014, as Postgres' statement_timeout. */
function pgliteDeadlineError(ms: number): PgliteThreadError {
  return new PgliteThreadError(`canceling statement due to statement timeout: the embedded database did not answer within ${ms} ms`, '57014');
}

/** `p`, or a rejection with pgliteDeadlineError once `ms` passed; no deadline when `ms` is undefined. */
async function withinDeadline<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(pgliteDeadlineError(ms)), ms);
  });
  p.catch(() => undefined); // its failure after the deadline has no one awaiting it
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * PGlite in a worker thread of its own (pglite-worker.ts), so its queries never hold the API's
 * event loop. The thread serves one PGlite session in arrival order; a transaction is made
 * exclusive here: requests made while one is open wait until it ends. With `deadlineMs`, every
 * call outside an `unbounded` transaction answers within it (see SqlStoreOptions.deadlineMs).
 */
async function openPgliteThread(init: PgliteInit, location: string, onClosed: () => void, deadlineMs?: number): Promise<SqlStore> {
  const worker = new Worker(new URL('./pglite-thread.mjs', import.meta.url), {
    workerData: init,
    transferList: init.template === undefined ? [] : [init.template],
  });
  const waiting = new Map<number, { resolve: (r: SqlResult<unknown>) => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: PgliteReply) => {
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve({ rows: m.rows, rowCount: m.rowCount });
    else w.reject(new PgliteThreadError(m.message, m.code));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`the PGlite thread exited (code ${code})`)));

  let nextId = INIT_ID + 1;
  const call = (req: DistributiveOmit<PgliteRequest, 'id'>, id = nextId++): Promise<SqlResult<unknown>> =>
    new Promise((resolve, reject) => {
      if (failure !== null) {
        reject(failure);
        return;
      }
      waiting.set(id, { resolve, reject });
      if (id !== INIT_ID) worker.postMessage({ ...req, id });
    });
  // the thread answers INIT_ID once the database is open (or failed to open)
  await call({ op: 'close' }, INIT_ID).catch(async (err: Error) => {
    await worker.terminate();
    throw err;
  });

  const direct: SqlExecutor = {
    query: async <R>(text: string, params: readonly SqlParam[] = []) => (await call({ op: 'query', sql: text, params })) as SqlResult<R>,
    exec: async (script: string) => {
      await call({ op: 'exec', sql: script });
    },
  };
  // each statement of a bounded transaction within the deadline: one that misses it makes the
  // transaction fail, and its ROLLBACK reaches the thread after that statement (arrival order)
  const bounded: SqlExecutor = {
    query: <R>(text: string, params?: readonly SqlParam[]) => withinDeadline(direct.query<R>(text, params), deadlineMs),
    exec: (script: string) => withinDeadline(direct.exec(script), deadlineMs),
  };
  // resolves when the latest transaction has ended; other requests queue behind it
  let txTail: Promise<void> = Promise.resolve();
  let closed = false;
  /**
   * `run` once no transaction is open. The wait counts against the deadline, as a lock wait does
   * on Postgres; a call that gave up waiting is not run later (statement_timeout cancels it too).
   */
  const queued = <T>(run: () => Promise<T>): Promise<T> => {
    if (deadlineMs === undefined) return txTail.then(run);
    const since = Date.now();
    return withinDeadline(
      txTail.then(() => (Date.now() - since >= deadlineMs ? Promise.reject(pgliteDeadlineError(deadlineMs)) : run())),
      deadlineMs,
    );
  };
  return {
    backend: 'pglite',
    location,
    query: <R>(text: string, params?: readonly SqlParam[]) => queued(() => direct.query<R>(text, params)),
    exec: (script) => queued(() => direct.exec(script)),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const limit = options.unbounded === true ? undefined : deadlineMs;
      const before = txTail;
      let end = (): void => undefined;
      txTail = new Promise((resolve) => (end = resolve));
      try {
        await withinDeadline(before, limit);
      } catch (err) {
        void before.then(end); // the transactions queued behind this one still wait for the open one
        throw err;
      }
      const tx = limit === undefined ? direct : bounded;
      try {
        await tx.exec('BEGIN');
        const result = await fn(tx);
        await tx.exec('COMMIT');
        return result;
      } catch (err) {
        await direct.exec('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        end();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await txTail;
        await call({ op: 'close' }).catch(() => undefined);
        await worker.terminate();
      } finally {
        onClosed();
      }
    },
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A SqlStore over an open PGlite instance; `close()` closes it, then calls `onClosed`. */
export function wrapPglite(db: PGlite, location: string, onClosed: () => void = () => undefined): SqlStore {
  const root = new PgliteExecutor(db);
  return {
    backend: 'pglite',
    location,
    query: (text, params) => root.query(text, params),
    exec: (script) => root.exec(script),
    // PGlite serialises a transaction against every other query of the instance
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => db.transaction((tx) => fn(new PgliteExecutor(tx))),
    async close() {
      try {
        await db.close();
      } finally {
        onClosed();
      }
    },
  };
}

/** Where the configured store is, for the CLIs' messages. */
export function describeSqlConfig(c: { readonly databaseUrl: string | undefined; readonly pgliteDir: string }): string {
  return c.databaseUrl !== undefined ? redactUrl(c.databaseUrl) : `the embedded database in ${c.pgliteDir}`;
}
