/**
 * A Postgres cluster of a test's own, for tests that freeze or kill the SQL store (the chaos
 * test): never the shared test Postgres. Uses the Debian server binaries
 * (/usr/lib/postgresql/<version>/bin), run as the `postgres` user when we are root (Postgres
 * refuses to run as root); the data directory is a temp dir, the port a free one. The server is
 * started through `setpriv`, which execs it: `runuser` would stay as its parent and, seeing
 * its child stopped by freeze(), stop itself too (job control) and never reap it.
 *
 * - freeze() / thaw(): SIGSTOP / SIGCONT to the postmaster and every backend (sockets stay
 *   open, nothing answers);
 * - kill(): SIGKILL to all of them (a crash; start() then recovers from the WAL);
 * - start(): the same data dir on the same port;
 * - stop(): a fast shutdown, then the data dir is removed.
 *
 * `ownPostgresBinaries()` is null where no server binaries are installed: the caller falls back
 * to PGlite.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from '../../src/store/local-redis.ts';

const READY_TIMEOUT_MS = 20_000;

/** The bin directory of the newest installed Postgres server, or null. */
export function ownPostgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : join(root, versions[0]!, 'bin');
}

export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** SIGSTOP to every process of the cluster */
  freeze(): void;
  thaw(): void;
  /** SIGKILL to every process of the cluster; waits until the postmaster is gone */
  kill(): Promise<void>;
  /** starts the cluster again (same data dir, same port) and waits until it takes connections */
  start(): Promise<void>;
  /** a fast shutdown (thawing first), then removes the data directory; safe to call twice */
  stop(): Promise<void>;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Runs a server binary, as `postgres` when we are root; the server gets SIGKILL when this
 * process dies, so a killed test run leaves no cluster behind.
 */
function command(bin: string, args: readonly string[]): [string, string[]] {
  const user = asRoot ? ['--reuid', 'postgres', '--regid', 'postgres', '--init-groups'] : [];
  return ['setpriv', [...user, '--pdeathsig', 'KILL', '--', bin, ...args]];
}

/** Pids of the process `pid` and all its descendants (from /proc). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // the command name is in parentheses and may hold spaces: the fields after its ')' are fixed
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function startOwnPostgres(log: (line: string) => void = () => undefined): Promise<OwnPostgres> {
  const bin = ownPostgresBinaries();
  if (bin === null) throw new Error('no Postgres server binaries under /usr/lib/postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'calmpay-own-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const initdb = [join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  const [initCmd, initArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', ...initdb]] : [initdb[0]!, initdb.slice(1)];
  execFileSync(initCmd, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | null = null;
  let stopped = false;

  /** the postmaster's pid from its pid file, or null when it is not running */
  const postmaster = (): number | null => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
    } catch {
      return null;
    }
  };
  const signalAll = (signal: NodeJS.Signals): void => {
    const pid = postmaster();
    if (pid === null) return;
    for (const p of processTree(pid)) {
      try {
        process.kill(p, signal);
      } catch {
        // exited meanwhile
      }
    }
  };
  const onExit = (): void => {
    signalAll('SIGCONT');
    signalAll('SIGKILL');
  };
  process.on('exit', onExit);

  const start = async (): Promise<void> => {
    const [cmd, args] = command(join(bin, 'postgres'), [
      '-D', data, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      // a test cluster: it need not survive an OS crash, only a process crash (commits reach the
      // OS at once: synchronous_commit stays on)
      '-c', 'fsync=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=50', '-c', 'shared_buffers=16MB',
    ]); // prettier-ignore
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (b: Buffer) => log(b.toString().trimEnd()));
    child = c;
    const end = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (c.exitCode !== null || Date.now() > end) throw new Error(`own Postgres on port ${port} did not start: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  };

  const waitGone = async (pid: number | null): Promise<void> => {
    const end = Date.now() + READY_TIMEOUT_MS;
    while (pid !== null && alive(pid) && Date.now() < end) await sleep(20);
    const c = child;
    if (c !== null && c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
    child = null;
  };

  await start();
  return {
    url,
    port,
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    async kill() {
      const pid = postmaster();
      signalAll('SIGKILL');
      await waitGone(pid);
    },
    start,
    async stop() {
      if (stopped) return;
      stopped = true;
      signalAll('SIGCONT');
      const pid = postmaster();
      if (pid !== null) process.kill(pid, 'SIGINT'); // fast shutdown
      await waitGone(pid);
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
