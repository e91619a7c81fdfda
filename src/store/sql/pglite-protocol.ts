/** Messages between the API thread (sql-store.ts) and the PGlite thread (pglite-worker.ts). */

export interface PgliteInit {
  /** the module pglite-thread.mjs loads in the thread (pglite-worker.ts) */
  readonly entry: string;
  readonly dataDir: string;
  readonly schema: string | undefined;
  /** a dump (PGlite.dumpDataDir) to start from */
  readonly template: ArrayBuffer | undefined;
}

export type PgliteRequest =
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[] }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  | { readonly id: number; readonly op: 'close' };

export type PgliteReply =
  | { readonly id: number; readonly ok: true; readonly rows: unknown[]; readonly rowCount: number }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string | undefined };

/** id 0 answers the start-up: ok once the database is open. */
export const INIT_ID = 0;
