import { exitOnStartFailure, serve } from './serve.ts';

/** `npm start`: everything in one process (API, lifecycle worker, decision sink), the embedded default (src/serve.ts). */
serve('all').catch(exitOnStartFailure);
