/**
 * The process's own configuration: where its data lives, how much it logs, and how long a
 * graceful shutdown may take (src/process-lifetime.ts). A slice of src/config.ts's composition;
 * must not import src/config.ts.
 */
import path from 'node:path';
import { int, type Env } from './config-env.ts';

export interface ProcessConfig {
  /** the local redis-server's data, the embedded PGlite, the degraded spool file, exports */
  readonly dataDir: string;
  readonly logLevel: string;
  /** SIGTERM / SIGINT / launcher gone: close gracefully, then exit anyway after this long (src/process-lifetime.ts) */
  readonly shutdownTimeoutMs: number;
}

export const PROCESS_VARIABLES = ['DATA_DIR', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS'] as const;

export function loadProcessConfig(env: Env, cwd: string): ProcessConfig {
  return Object.freeze({
    dataDir: path.resolve(cwd, env.DATA_DIR || 'data'),
    logLevel: env.LOG_LEVEL || 'info',
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
  });
}
