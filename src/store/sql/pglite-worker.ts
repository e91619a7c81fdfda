import { PGlite } from '@electric-sql/pglite';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { INIT_ID, type PgliteInit, type PgliteReply, type PgliteRequest } from './pglite-protocol.ts';

/**
 * The embedded database's own thread. PGlite runs Postgres as WebAssembly on the thread that
 * calls it, so every query would otherwise hold the API's event loop (a 500-row insert of the
 * decision sink: tens of milliseconds, during which no transfer is scored). Here it holds only
 * this thread. Requests (pglite-protocol.ts) run in arrival order on the one PGlite session;
 * transactions are made exclusive by the caller (sql-store.ts). Loaded only as a thread's entry.
 */

/**
 * Scoring comes first: this thread (decision-history inserts, case-library queries) yields the
 * CPU to the API thread and Redis when they are busy and catches up when they are not. On Linux
 * setpriority(PRIO_PROCESS, 0) — os.setPriority with no pid — applies to the calling thread
 * only. Elsewhere it may apply to the process or fail; then the thread keeps the normal priority.
 */
function lowerThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // not permitted: run at the normal priority
  }
}

function errorReply(id: number, err: unknown): PgliteReply {
  const e = err as { message?: unknown; code?: unknown };
  return { id, ok: false, message: String(e.message ?? err), code: typeof e.code === 'string' ? e.code : undefined };
}

async function start(port: NonNullable<typeof parentPort>, init: PgliteInit): Promise<void> {
  lowerThreadPriority();
  let db: PGlite;
  try {
    db =
      init.template !== undefined
        ? await PGlite.create({ dataDir: init.dataDir, loadDataDir: new Blob([init.template]) })
        : await PGlite.create(init.dataDir);
    if (init.schema !== undefined) {
      // the one session of this instance keeps the search_path for every later request
      await db.exec(`CREATE SCHEMA IF NOT EXISTS "${init.schema}"; SET search_path TO "${init.schema}";`);
    }
  } catch (err) {
    port.postMessage(errorReply(INIT_ID, err));
    return;
  }
  port.on('message', (m: PgliteRequest) => {
    const run = async (): Promise<PgliteReply> => {
      switch (m.op) {
        case 'query': {
          const r = await db.query(m.sql, m.params as unknown[]);
          return { id: m.id, ok: true, rows: r.rows, rowCount: r.affectedRows || r.rows.length };
        }
        case 'exec':
          await db.exec(m.sql);
          return { id: m.id, ok: true, rows: [], rowCount: 0 };
        case 'close':
          await db.close();
          return { id: m.id, ok: true, rows: [], rowCount: 0 };
      }
    };
    run().then(
      (reply) => port.postMessage(reply),
      (err: unknown) => port.postMessage(errorReply(m.id, err)),
    );
  });
  port.postMessage({ id: INIT_ID, ok: true, rows: [], rowCount: 0 } satisfies PgliteReply);
}

if (parentPort !== null) await start(parentPort, workerData as PgliteInit);
