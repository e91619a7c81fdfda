/**
 * The logging the lifecycle needs: fastify's pino logger fits it, and the standalone worker
 * (src/cli/worker.ts) passes one that writes JSON lines.
 */
export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** JSON lines on stdout, pino's shape (level, time, name, msg), from `level` (a LOG_LEVEL) up. */
export function jsonLog(name: string, level: string): Log {
  const min = LEVELS[level] ?? LEVELS.info!;
  const write = (n: number, obj: object, msg: string): void => {
    if (n < min) return;
    const o = obj as Record<string, unknown>;
    const err = o.err instanceof Error ? { err: { message: o.err.message, stack: o.err.stack } } : {};
    process.stdout.write(`${JSON.stringify({ level: n, time: Date.now(), name, ...o, ...err, msg })}\n`);
  };
  return {
    info: (obj, msg) => write(30, obj, msg),
    warn: (obj, msg) => write(40, obj, msg),
    error: (obj, msg) => write(50, obj, msg),
  };
}
