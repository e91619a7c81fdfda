import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

/**
 * Issue 19: a SIGKILL of the `npm start` process left the engine running and holding its port
 * (npm runs the script through `sh -c`, which outlives npm; the engine never noticed). The same
 * for `npm run worker`. Each test spawns the real npm script, waits until it is ready, kills npm
 * with SIGKILL and waits for the engine to be gone; the bound is the test timeout.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NO_MODELS = path.join(ROOT, 'test/fixtures/no-models');
const FIXTURE_RULES = path.join(ROOT, 'test/fixtures/rules');

/** Every live descendant of `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    out.push(...next);
    frontier = next;
  }
  return out;
}

function alive(pid: number): boolean {
  // a zombie still has a /proc entry: state Z counts as gone
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface Launched {
  readonly npm: ChildProcess;
  readonly output: () => string;
}

function npmRun(args: string[], env: Record<string, string>, readyPattern: RegExp): Promise<Launched & { match: RegExpMatchArray }> {
  const npm = spawn('npm', args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const match = out.match(readyPattern);
      if (match) resolve({ npm, output: () => out, match });
    };
    npm.stdout.on('data', onData);
    npm.stderr.on('data', onData);
    npm.once('exit', (code) => reject(new Error(`npm ${args.join(' ')} exited (${code}) before it was ready:\n${out}`)));
  });
}

describe('when the npm process that launched it is killed', () => {
  let dataDir: string;
  const leftovers: number[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-launcher-'));
  });

  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('npm start: the engine exits and frees its port', async () => {
    const { npm, match, output } = await npmRun(
      ['start'],
      {
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: `launcher-${randomUUID()}:`,
        PORT: '0',
        DATA_DIR: path.join(dataDir, 'start'),
        DATABASE_URL: '',
        RULES_DIR: FIXTURE_RULES,
        MODELS_DIR: NO_MODELS,
        WATCH_RULES: 'false',
        WATCH_MODELS: 'false',
      },
      /calmpay listening on http:\/\/[^:]+:(\d+)/,
    );
    const port = Number(match[1]);
    const tree = descendants(npm.pid!);
    leftovers.push(...tree);
    expect(await portOpen(port)).toBe(true);
    npm.kill('SIGKILL');
    await until(async () => !(await portOpen(port)), `port ${port} to be freed`, 30_000, 100);
    await until(() => tree.every((pid) => !alive(pid)), `the engine's processes to exit:\n${output()}`, 30_000, 100);
    expect(existsSync(`/proc/${npm.pid}`) && alive(npm.pid!)).toBe(false);
  }, 180_000);

  it('npm start: an engine still starting exits too', async () => {
    const { npm, match, output } = await npmRun(
      ['start'],
      {
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: `launcher-${randomUUID()}:`,
        PORT: '0',
        DATA_DIR: path.join(dataDir, 'starting'),
        DATABASE_URL: '',
        RULES_DIR: FIXTURE_RULES,
        MODELS_DIR: NO_MODELS,
      },
      /calmpay: starting \(pid (\d+),/,
    );
    const engine = Number(match[1]);
    leftovers.push(...descendants(npm.pid!));
    npm.kill('SIGKILL');
    await until(() => !alive(engine), `the starting engine to exit:\n${output()}`, 60_000, 100);
  }, 180_000);

  it('npm run worker: the worker exits', async () => {
    const { npm, output } = await npmRun(
      ['run', 'worker'],
      {
        REDIS_URL: redisUrl(),
        REDIS_KEY_PREFIX: `launcher-${randomUUID()}:`,
        RULES_DIR: FIXTURE_RULES,
      },
      /"msg":"worker ready"/,
    );
    const tree = descendants(npm.pid!);
    leftovers.push(...tree);
    expect(tree.length).toBeGreaterThan(0);
    npm.kill('SIGKILL');
    await until(() => tree.every((pid) => !alive(pid)), `the worker's processes to exit:\n${output()}`, 30_000, 100);
  }, 180_000);
});
