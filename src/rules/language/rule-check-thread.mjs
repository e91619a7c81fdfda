// Entry of a rule-check thread (see rule-check-thread.ts). Worker threads do not inherit the
// parent's TypeScript loader, so this plain module registers tsx before loading the checker,
// as store/sql/pglite-thread.mjs does for PGlite.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
