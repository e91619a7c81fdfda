/**
 * How long-running processes (`npm start`, `npm run worker`) end (issue 19):
 *
 * - `closeWithin()`: a graceful shutdown with a deadline. The parts close in order; when the
 *   deadline passes first (a Redis that is gone keeps BullMQ's and ioredis' close() waiting on
 *   reconnects for ever), it logs which parts did not close and the caller exits anyway.
 * - `onStopSignals()`: SIGTERM / SIGINT start the shutdown once; a second signal (Ctrl-C
 *   pressed again) exits at once.
 * - `watchLauncher()`: the process ends when the process that launched it dies without
 *   passing a signal on (SIGKILL of `npm start`): npm runs a script through `sh -c`, and the
 *   shell outlives npm, so watching our parent alone is not enough. The watch covers the
 *   parent and, when an npm script started us, every ancestor up to that npm process.
 */
import { readFileSync } from 'node:fs';

export interface ClosablePart {
  readonly name: string;
  close(): Promise<unknown>;
}

export interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const SHUTDOWN_DEADLINE_MESSAGE = 'shutdown deadline passed: exiting with parts still open';

/**
 * Closes `parts` one after the other. Resolves true when all closed (a part whose close()
 * rejects counts as closed: it is logged, and the next one goes on), false when `deadlineMs`
 * passed first, after logging the parts still open.
 */
export async function closeWithin(parts: readonly ClosablePart[], deadlineMs: number, log: ShutdownLog): Promise<boolean> {
  const open = new Set(parts.map((p) => p.name));
  const all = (async () => {
    for (const part of parts) {
      try {
        await part.close();
      } catch (err) {
        log.error({ part: part.name, err }, 'shutdown: a part failed to close');
      }
      open.delete(part.name);
    }
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  const closed = await Promise.race([all, late]);
  clearTimeout(timer);
  if (!closed) log.error({ deadlineMs, pending: [...open] }, SHUTDOWN_DEADLINE_MESSAGE);
  return closed;
}

/** SIGTERM / SIGINT call `stop` (once); a second signal exits at once with 128 + its number. */
export function onStopSignals(stop: (signal: string) => void, log: ShutdownLog): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals, code: number): void => {
    if (!stopping) {
      stopping = true;
      stop(signal);
      return;
    }
    log.error({ signal }, 'second signal during shutdown: exiting now');
    process.exit(code);
  };
  process.on('SIGINT', () => handle('SIGINT', 130));
  process.on('SIGTERM', () => handle('SIGTERM', 143));
}

interface ProcInfo {
  readonly ppid: number;
  /** clock ticks since boot: tells a live ancestor from a new process that reuses its pid */
  readonly startTime: string;
  readonly argv: readonly string[];
}

/** /proc/<pid>/stat and cmdline (Linux), or null where there is no such process or no /proc. */
function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    return { ppid: Number(fields[1]), startTime: fields[19] ?? '', argv };
  } catch {
    return null;
  }
}

/** npm shows its command as its process title ("npm start", "npm run worker"); npx, pnpm and yarn alike. */
export function isPackageManager(argv: readonly string[]): boolean {
  return argv.some((a, i) => (i === 0 && /^(npm|npx|pnpm|yarn)( |$)/.test(a)) || /(^|\/)(npm-cli|npx-cli|pnpm|yarn)\.c?js$/.test(a));
}

interface Ancestor {
  readonly pid: number;
  readonly startTime: string;
  readonly argv: readonly string[];
}

/** Our parent and, when an npm script started us, the ancestors up to that npm process. */
export function launcherChain(pid: number = process.pid, startedByScript = process.env.npm_lifecycle_event !== undefined): Ancestor[] {
  const self = procInfo(pid);
  if (self === null) return [];
  const chain: Ancestor[] = [];
  let next = self.ppid;
  for (let depth = 0; depth < 8 && next > 1; depth++) {
    const info = procInfo(next);
    if (info === null) break;
    chain.push({ pid: next, startTime: info.startTime, argv: info.argv });
    if (!startedByScript || isPackageManager(info.argv)) break;
    next = info.ppid;
  }
  // no npm among the ancestors (npm_lifecycle_event inherited from elsewhere): the parent only
  if (startedByScript && !chain.some((a) => isPackageManager(a.argv))) return chain.slice(0, 1);
  return chain;
}

export interface LauncherWatch {
  readonly watched: readonly number[];
  stop(): void;
}

/**
 * Calls `onGone` (once) when our parent changes (we were orphaned: re-parented to init or a
 * subreaper) or an ancestor of the launch chain exits. Polls every `intervalMs` on an unref'd
 * timer, so it never keeps the process alive. Where there is no /proc, the parent only.
 */
export function watchLauncher(onGone: (why: string) => void, intervalMs = 500): LauncherWatch {
  const parent = process.ppid;
  const chain = launcherChain().filter((a) => a.pid !== parent);
  let fired = false;
  const check = (): void => {
    if (fired) return;
    let why: string | null = null;
    if (process.ppid !== parent) why = `parent process ${parent} is gone`;
    for (const a of chain) {
      if (why !== null) break;
      if (procInfo(a.pid)?.startTime !== a.startTime) why = `launcher process ${a.pid} (${a.argv.join(' ').slice(0, 60)}) is gone`;
    }
    if (why === null) return;
    fired = true;
    clearInterval(timer);
    onGone(why);
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return {
    watched: [parent, ...chain.map((a) => a.pid)],
    stop: () => clearInterval(timer),
  };
}
