/**
 * A private redis-server for `npm start` and `npm test` on a machine where REDIS_URL is unset
 * (DESIGN §8): found on PATH (installed with apt-get when we are root on Debian/Ubuntu),
 * run in the foreground as our child, bound to 127.0.0.1 only, data under `dataDir`.
 *
 * Lifetime contract: the server lives exactly as long as its parent.
 * - It runs in its own process group (spawned detached), so the SIGINT a terminal sends to the
 *   engine's group on Ctrl-C does not reach it: the engine closes what uses Redis first and
 *   stops Redis last (src/main.ts), instead of waiting out its shutdown deadline on a dead Redis.
 * - stop() sends SIGTERM (redis fsyncs the append-only file and exits) and waits; SIGKILL
 *   after a timeout.
 * - process 'exit' (natural exit, process.exit()) sends SIGTERM to every server still running.
 * - On Linux the server is started through `setpriv --pdeathsig TERM`, so the kernel sends it
 *   SIGTERM even when the parent dies without running any JS (SIGKILL, a crash). PDEATHSIG
 *   fires when the *thread* that spawned the child exits; Node spawns from the thread whose
 *   event loop calls spawn, so a server started in a worker thread ends with that thread.
 * - Where none of that ran (macOS and a killed parent), the next start on the same dataDir
 *   finds the server left behind through its pid file and stops it before starting anew:
 *   two servers must never append to the same AOF.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface LocalRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  /** Stop the server and wait until it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartLocalRedisOptions {
  dataDir: string;
  /** default: a free port chosen by the OS */
  port?: number;
  /** default true: `--appendonly yes --appendfsync everysec`, so data survives a restart */
  appendOnly?: boolean;
  /** progress and install output, one line per call; default: stderr */
  log?: (line: string) => void;
  /** more redis-server arguments, after ours (e.g. `--cluster-enabled yes`: src/store/local-cluster.ts) */
  extraArgs?: readonly string[];
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const HOST = '127.0.0.1';
const APT_INSTALL = ['install', '-y', 'redis-server'] as const;

const defaultLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The first executable file called `name` on PATH, or null. */
export function findExecutable(name: string, pathEnv: string | undefined = process.env.PATH): string | null {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function findRedisServer(pathEnv: string | undefined = process.env.PATH): string | null {
  return findExecutable('redis-server', pathEnv);
}

export const REDIS_SERVER_MISSING =
  'redis-server was not found on PATH. Install it with `apt-get install -y redis-server` ' +
  '(Debian/Ubuntu, as root) or `brew install redis` (macOS), ' +
  'or set REDIS_URL to use an existing Redis server instead.';

/** What ensureRedisServerInstalled touches, injectable so the install path can be tested. */
export interface InstallEnvironment {
  log: (line: string) => void;
  isRoot: boolean;
  findExecutable: (name: string) => string | null;
  /** run a command to completion, streaming its output lines to `log`; rejects on failure */
  run: (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<void>;
}

/**
 * The path of redis-server, installing it first with apt-get when it is missing and we are
 * root on a machine that has apt-get. Throws an Error (message: REDIS_SERVER_MISSING, plus
 * the failure when an install was attempted) otherwise.
 */
export async function ensureRedisServerInstalled(overrides: Partial<InstallEnvironment> = {}): Promise<string> {
  const log = overrides.log ?? defaultLog;
  const env: InstallEnvironment = {
    log,
    isRoot: overrides.isRoot ?? process.getuid?.() === 0,
    findExecutable: overrides.findExecutable ?? ((name) => findExecutable(name)),
    run: overrides.run ?? ((command, args, childEnv) => runStreaming(command, args, childEnv, log)),
  };
  const found = env.findExecutable('redis-server');
  if (found) return found;
  const aptGet = env.findExecutable('apt-get');
  if (!env.isRoot || !aptGet) throw new Error(REDIS_SERVER_MISSING);

  env.log(`redis-server not found; installing it with: apt-get ${APT_INSTALL.join(' ')}`);
  const childEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await env.run(aptGet, ['update'], childEnv);
    await env.run(aptGet, APT_INSTALL, childEnv);
  } catch (err) {
    throw new Error(`installing redis-server failed: ${(err as Error).message}. ${REDIS_SERVER_MISSING}`, {
      cause: err,
    });
  }
  const installed = env.findExecutable('redis-server');
  if (!installed) {
    throw new Error(
      `apt-get ${APT_INSTALL.join(' ')} finished but redis-server is still not on PATH. ${REDIS_SERVER_MISSING}`,
    );
  }
  env.log(`installed ${installed}`);
  return installed;
}

function runStreaming(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', log);
    }
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? `code ${code}`}`));
    });
  });
}

/** A port nobody listens on right now (the OS picks it; it may be taken again before we bind). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePromise(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** `setpriv --pdeathsig` when this Linux has it (util-linux >= 2.33), else null. */
function pdeathsigWrapper(): string | null {
  if (process.platform !== 'linux') return null;
  const setpriv = findExecutable('setpriv');
  if (!setpriv) return null;
  try {
    const help = execFileSync(setpriv, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return help.includes('--pdeathsig') ? setpriv : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLineOf(pid: number): string {
  try {
    if (process.platform === 'linux') return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** The working directory of a process (redis-server chdirs to its --dir), or null if unknown. */
function cwdOf(pid: number): string | null {
  try {
    if (process.platform === 'linux') return readlinkSync(`/proc/${pid}/cwd`);
    const out = execFileSync('lsof', ['-a', '-p', String(pid), '-d', 'cwd', '-Fn'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = out.split('\n').find((l) => l.startsWith('n'));
    return line ? line.slice(1) : null;
  } catch {
    return null;
  }
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await sleep(POLL_INTERVAL_MS);
  }
  return predicate();
}

function sameDirectory(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false; // e.g. Linux reports a removed cwd as "/path (deleted)"
  }
}

/** Stop a redis-server a dead parent left running on this dataDir (see the file comment). */
async function stopLeftover(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'redis.pid');
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return;
  // The pid file may be stale and its pid reused: only a redis-server (redis rewrites its
  // title to "redis-server 127.0.0.1:PORT") whose working directory is this dataDir is ours.
  if (!commandLineOf(pid).includes('redis-server')) return;
  const cwd = cwdOf(pid);
  if (cwd === null || !sameDirectory(cwd, dataDir)) {
    log(`${pidFile} names redis-server pid ${pid}, which does not run in ${dataDir}; leaving it alone`);
    return;
  }
  log(`stopping redis-server pid ${pid} left running on ${pidFile}`);
  process.kill(pid, 'SIGTERM');
  if (await waitUntil(() => !isAlive(pid), STOP_TIMEOUT_MS)) return;
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => !isAlive(pid), STOP_TIMEOUT_MS);
}

async function tailOf(file: string, bytes = 4096): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/**
 * `INFO` over a raw socket: the server answers as soon as it listens, also while it is still
 * loading the AOF (INFO is allowed then, PING is not). null when nothing answers.
 */
function info(port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: HOST, port });
    let data = Buffer.alloc(0);
    const finish = (value: string | null): void => {
      socket.destroy();
      resolvePromise(value);
    };
    socket.setTimeout(timeoutMs, () => finish(null));
    socket.once('error', () => finish(null));
    socket.once('connect', () => socket.write('INFO\r\n'));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const headerEnd = data.indexOf('\r\n');
      if (headerEnd < 0) return;
      const header = data.subarray(0, headerEnd).toString();
      if (!header.startsWith('$')) return finish(null); // an error reply, e.g. NOAUTH: not ours
      const length = Number(header.slice(1));
      if (data.length >= headerEnd + 2 + length) {
        finish(data.subarray(headerEnd + 2, headerEnd + 2 + length).toString());
      }
    });
  });
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class EarlyExitError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

/**
 * Start a redis-server for this process. Resolves once the server answers and has loaded its
 * data; rejects with the tail of its log when it exits early or is not ready within 10 s.
 */
export async function startLocalRedis(opts: StartLocalRedisOptions): Promise<LocalRedis> {
  const log = opts.log ?? defaultLog;
  const bin = await ensureRedisServerInstalled({ log });
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  await stopLeftover(dataDir, log);
  const wrapper = pdeathsigWrapper();

  // A free port can be taken between our probe and redis binding it: try a few.
  const attempts = opts.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await startOnce({ bin, wrapper, dataDir, port, appendOnly: opts.appendOnly ?? true, extraArgs: opts.extraArgs ?? [], log });
    } catch (err) {
      if (!(err instanceof EarlyExitError && err.addressInUse && attempt < attempts)) throw err;
      log(`port ${port} was taken; retrying on another port`);
    }
  }
}

async function startOnce(o: {
  bin: string;
  wrapper: string | null;
  dataDir: string;
  port: number;
  appendOnly: boolean;
  extraArgs: readonly string[];
  log: (line: string) => void;
}): Promise<LocalRedis> {
  const logFile = join(o.dataDir, 'redis.log');
  const args = [
    '--port', String(o.port),
    '--bind', HOST,
    '--protected-mode', 'yes',
    '--daemonize', 'no',
    '--dir', o.dataDir,
    '--logfile', logFile,
    '--pidfile', join(o.dataDir, 'redis.pid'),
    '--save', '',
    '--appendonly', o.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    ...o.extraArgs,
  ]; // prettier-ignore
  const [command, argv] = o.wrapper
    ? [o.wrapper, ['--pdeathsig', 'TERM', '--', o.bin, ...args]]
    : [o.bin, args];
  o.log(`starting ${o.bin} on ${HOST}:${o.port}, data in ${o.dataDir}`);

  // detached: its own process group, so a Ctrl-C at the terminal (SIGINT to our whole group)
  // does not stop Redis under an engine that is still shutting down; the engine stops it last.
  // The parent-death signal (above) and the 'exit' hook (below) still end it with the engine.
  const child: ChildProcess = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Output before the log file is opened (config errors) lands here; keep the tail for errors.
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exit: Exit | null = null;
  let markExited: (e: Exit) => void = () => {};
  const exited = new Promise<Exit>((resolvePromise) => {
    markExited = (e) => {
      exit ??= e;
      resolvePromise(exit);
    };
  });
  child.once('exit', (code, signal) => markExited({ code, signal }));
  const spawnError = new Promise<Error>((resolvePromise) =>
    child.once('error', (err) => {
      // A child that could not be spawned emits no 'exit'; one that could has a pid.
      if (child.pid === undefined) markExited({ code: null, signal: null });
      resolvePromise(err);
    }),
  );
  const onParentExit = (): void => {
    if (!exit) child.kill('SIGTERM');
  };
  process.on('exit', onParentExit);

  const explain = async (what: string): Promise<string> => {
    const tail = [output.trim(), (await tailOf(logFile)).trim()].filter(Boolean).join('\n');
    return `${what}\n--- redis output and ${logFile} (tail) ---\n${tail.split('\n').slice(-20).join('\n')}`;
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exit) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const done = await Promise.race([
          exited,
          new Promise<null>((r) => (timer = setTimeout(() => r(null), STOP_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
        if (!done) {
          o.log(`redis-server pid ${child.pid} did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.off('exit', onParentExit);
    })();
    return stopping;
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  const failure = await Promise.race([
    spawnError.then((err) => `could not run ${command}: ${err.message}`),
    exited.then((e) => `redis-server exited before it was ready (${e.signal ?? `code ${e.code}`})`),
    (async () => {
      while (Date.now() < deadline && !exit) {
        const text = await info(o.port, 1_000);
        // Answered by our child (not another server on that port) and done loading the AOF.
        if (text?.includes(`\r\nprocess_id:${child.pid}\r\n`) && text.includes('\r\nloading:0\r\n')) return null;
        await sleep(POLL_INTERVAL_MS);
      }
      return exit ? null : `redis-server did not answer on ${HOST}:${o.port} within ${READY_TIMEOUT_MS} ms`;
    })(),
  ]);
  if (failure === null && !exit && child.pid !== undefined) {
    o.log(`redis-server ready at redis://${HOST}:${o.port} (pid ${child.pid})`);
    return { url: `redis://${HOST}:${o.port}`, port: o.port, pid: child.pid, stop };
  }
  await stop();
  const message = await explain(failure ?? 'redis-server exited before it was ready');
  throw new EarlyExitError(message, /Address already in use/i.test(message));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
