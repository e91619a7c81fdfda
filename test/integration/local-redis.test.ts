/**
 * The local redis-server shell, against a real redis-server on free ports in temp dirs.
 * Never touches the shared Redis (REDIS_URL / 127.0.0.1:6379).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  REDIS_SERVER_MISSING,
  ensureRedisServerInstalled,
  findRedisServer,
  freePort,
  startLocalRedis,
  type LocalRedis,
} from '../../src/store/local-redis.ts';
import { redisUrl } from '../helpers/redis.ts';

const root = mkdtempSync(join(tmpdir(), 'calmpay-local-redis-'));
const started: LocalRedis[] = [];
const quiet = (): void => {};

afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop()));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function start(dataDir: string, extra: { port?: number; appendOnly?: boolean } = {}): Promise<LocalRedis> {
  const r = await startLocalRedis({ dataDir, log: quiet, ...extra });
  started.push(r);
  return r;
}

/** Running = in the process table and not a zombie waiting for init to reap it. */
function isRunning(pid: number): boolean {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

async function withClient<T>(url: string, fn: (c: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

describe('startLocalRedis', () => {
  it('serves on 127.0.0.1, keeps data across a restart (append-only) and leaves no process behind', async () => {
    const dataDir = join(root, 'persist');
    const port = await freePort();
    const first = await start(dataDir, { port });
    expect(first).toMatchObject({ url: `redis://127.0.0.1:${port}`, port });
    expect(isRunning(first.pid)).toBe(true);

    const config = await withClient(first.url, async (c) => {
      await c.set('calmpay:test:key', 'survives');
      expect(await c.get('calmpay:test:key')).toBe('survives');
      const flat = (await Promise.all(
        ['bind', 'protected-mode', 'appendonly', 'appendfsync', 'save', 'dir'].map((k) => c.config('GET', k)),
      )) as string[][];
      return Object.fromEntries(flat.map(([k, v]) => [k, v]));
    });
    expect(config).toEqual({
      bind: '127.0.0.1',
      'protected-mode': 'yes',
      appendonly: 'yes',
      appendfsync: 'everysec',
      save: '',
      dir: resolve(dataDir),
    });

    await first.stop();
    expect(isRunning(first.pid)).toBe(false);
    await first.stop(); // idempotent

    const second = await start(dataDir);
    expect(second.pid).not.toBe(first.pid);
    expect(await withClient(second.url, (c) => c.get('calmpay:test:key'))).toBe('survives');
    await second.stop();
    expect(isRunning(second.pid)).toBe(false);
    expect(readFileSync(join(dataDir, 'redis.log'), 'utf8')).toContain('Calling fsync() on the AOF file');
  });

  it('keeps nothing across a restart when appendOnly is false', async () => {
    const dataDir = join(root, 'volatile');
    const first = await start(dataDir, { appendOnly: false });
    await withClient(first.url, (c) => c.set('k', 'v'));
    await first.stop();
    const second = await start(dataDir, { appendOnly: false });
    expect(await withClient(second.url, (c) => c.get('k'))).toBeNull();
  });

  it('fails with the tail of the log when the port is taken', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((r) =>
      blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)),
    );
    try {
      const error = await startLocalRedis({ dataDir: join(root, 'taken'), port, log: quiet }).then(
        (r) => (started.push(r), null),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error?.message).toMatch(/^redis-server exited before it was ready \(code 1\)\n--- redis output and /);
      expect(error?.message).toMatch(/Address already in use/);
    } finally {
      blocker.close();
    }
  });

  it('stops a redis-server that a dead parent left running on the same dataDir', async () => {
    const dataDir = join(root, 'leftover');
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const bin = findRedisServer();
    expect(bin).not.toBeNull();
    const dir = resolve(dataDir);
    // A server started without us and still running, as a parent killed on macOS leaves it.
    const orphan = spawn(
      bin!,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--pidfile', join(dir, 'redis.pid'), '--save', '',
        '--logfile', join(dir, 'orphan.log')],
      { stdio: 'ignore' },
    );
    const orphanExit = new Promise((r) => orphan.once('exit', r));
    try {
      expect(await eventually(() => readPid(join(dataDir, 'redis.pid')) === orphan.pid)).toBe(true);
      const fresh = await start(dataDir);
      expect(fresh.pid).not.toBe(orphan.pid);
      await orphanExit;
      expect(isRunning(orphan.pid!)).toBe(false);
    } finally {
      orphan.kill('SIGKILL');
    }
  });

  it('leaves alone a redis-server named by a stale pid file that runs in another dataDir', async () => {
    const other = await start(join(root, 'other'));
    const dataDir = join(root, 'stale-pid');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'redis.pid'), `${other.pid}\n`);
    const lines: string[] = [];
    const fresh = await startLocalRedis({ dataDir, log: (l) => lines.push(l) });
    started.push(fresh);
    expect(isRunning(other.pid)).toBe(true);
    expect(await withClient(other.url, (c) => c.ping())).toBe('PONG');
    expect(lines).toContain(
      `${join(dataDir, 'redis.pid')} names redis-server pid ${other.pid}, which does not run in ${dataDir}; leaving it alone`,
    );
  });

  const script = (dataDir: string, then: string): string =>
    `import { startLocalRedis } from ${JSON.stringify(resolve('src/store/local-redis.ts'))};` +
    `const r = await startLocalRedis({ dataDir: ${JSON.stringify(dataDir)}, log: () => {} });` +
    `process.stdout.write(String(r.pid) + '\\n'); ${then}`;

  /** Runs the script in a child node; resolves with the redis pid it printed and the child. */
  function runParent(dataDir: string, then: string) {
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(dataDir, then)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => parent.once('exit', () => r()));
    const pid = new Promise<number>((resolvePid, reject) => {
      let out = '';
      let err = '';
      parent.stderr.on('data', (d: Buffer) => (err += d.toString()));
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolvePid(Number(out.trim()));
      });
      parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before printing a pid: ${err}`)));
    });
    return { parent, pid, exited };
  }

  it('holds no handle after stop(), so its parent can exit by itself', async () => {
    const { pid, exited } = runParent(join(root, 'parent-stop'), 'await r.stop();');
    const redisPid = await pid;
    // A leaked stop timer (10 s) or socket would keep the parent alive past this.
    const outcome = await Promise.race([
      exited.then(() => 'exited'),
      new Promise((r) => setTimeout(() => r('still running'), 5_000)),
    ]);
    expect(outcome).toBe('exited');
    expect(isRunning(redisPid)).toBe(false);
  });

  it('does not outlive a parent that exits without calling stop()', async () => {
    const { pid, exited } = runParent(join(root, 'parent-exit'), 'process.exit(0);');
    const redisPid = await pid;
    await exited;
    expect(await eventually(() => !isRunning(redisPid))).toBe(true);
  });

  const onLinux = it.runIf(process.platform === 'linux');
  onLinux('does not outlive a parent killed with SIGKILL (Linux pdeathsig)', async () => {
    const { parent, pid, exited } = runParent(join(root, 'parent-kill'), 'setInterval(() => {}, 1000);');
    const redisPid = await pid;
    expect(isRunning(redisPid)).toBe(true);
    parent.kill('SIGKILL');
    await exited;
    expect(await eventually(() => !isRunning(redisPid))).toBe(true);
  });
});

function readPid(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

describe('test/global-setup.ts', () => {
  it('hands the test Redis URL to workers through inject() and process.env', () => {
    expect(redisUrl()).toMatch(/^redis:\/\/[^/]+:\d+/);
    expect(process.env.REDIS_URL).toBe(redisUrl());
  });
});

describe('ensureRedisServerInstalled', () => {
  type Run = { command: string; args: readonly string[]; frontend: string | undefined };

  function fakeMachine(o: { redis: boolean; aptGet: boolean; isRoot: boolean; installWorks?: boolean }) {
    const lines: string[] = [];
    const runs: Run[] = [];
    let installed = o.redis;
    const env = {
      log: (line: string) => lines.push(line),
      isRoot: o.isRoot,
      findExecutable: (name: string) => {
        if (name === 'redis-server') return installed ? '/usr/bin/redis-server' : null;
        return name === 'apt-get' && o.aptGet ? '/usr/bin/apt-get' : null;
      },
      run: async (command: string, args: readonly string[], childEnv: NodeJS.ProcessEnv) => {
        runs.push({ command, args, frontend: childEnv.DEBIAN_FRONTEND });
        lines.push(`(output of ${args.join(' ')})`);
        if (args[0] === 'install') {
          if (o.installWorks === false) throw new Error('apt-get install -y redis-server exited with code 100');
          installed = true;
        }
      },
    };
    return { env, lines, runs };
  }

  it('finds the real redis-server on this machine', () => {
    expect(findRedisServer()).toMatch(/\/redis-server$/);
    expect(findRedisServer('/nonexistent:/also-not')).toBeNull();
  });

  it('returns the path without installing when redis-server is on PATH', async () => {
    const m = fakeMachine({ redis: true, aptGet: true, isRoot: true });
    await expect(ensureRedisServerInstalled(m.env)).resolves.toBe('/usr/bin/redis-server');
    expect(m.runs).toEqual([]);
    expect(m.lines).toEqual([]);
  });

  it('installs with apt-get as root, saying so first', async () => {
    const m = fakeMachine({ redis: false, aptGet: true, isRoot: true });
    await expect(ensureRedisServerInstalled(m.env)).resolves.toBe('/usr/bin/redis-server');
    expect(m.runs).toEqual([
      { command: '/usr/bin/apt-get', args: ['update'], frontend: 'noninteractive' },
      { command: '/usr/bin/apt-get', args: ['install', '-y', 'redis-server'], frontend: 'noninteractive' },
    ]);
    expect(m.lines).toEqual([
      'redis-server not found; installing it with: apt-get install -y redis-server',
      '(output of update)',
      '(output of install -y redis-server)',
      'installed /usr/bin/redis-server',
    ]);
  });

  it.each([
    { why: 'not root', isRoot: false, aptGet: true },
    { why: 'no apt-get', isRoot: true, aptGet: false },
  ])('explains how to install it when it cannot ($why)', async ({ isRoot, aptGet }) => {
    const m = fakeMachine({ redis: false, aptGet, isRoot });
    await expect(ensureRedisServerInstalled(m.env)).rejects.toThrow(new Error(REDIS_SERVER_MISSING));
    expect(m.runs).toEqual([]);
    expect(REDIS_SERVER_MISSING).toBe(
      'redis-server was not found on PATH. Install it with `apt-get install -y redis-server` (Debian/Ubuntu, as root) ' +
        'or `brew install redis` (macOS), or set REDIS_URL to use an existing Redis server instead.',
    );
  });

  it('reports a failed install with the hint', async () => {
    const m = fakeMachine({ redis: false, aptGet: true, isRoot: true, installWorks: false });
    await expect(ensureRedisServerInstalled(m.env)).rejects.toThrow(
      new Error(
        `installing redis-server failed: apt-get install -y redis-server exited with code 100. ${REDIS_SERVER_MISSING}`,
      ),
    );
  });
});
