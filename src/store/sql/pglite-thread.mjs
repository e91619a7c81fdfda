// Entry of the PGlite worker thread (see pglite-worker.ts). Worker threads do not inherit the
// parent's TypeScript loader, so this plain module registers tsx before loading the worker.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
