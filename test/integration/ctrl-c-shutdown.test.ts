import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SHUTDOWN_DEADLINE_MESSAGE } from '../../src/process-lifetime.ts';
import { until } from '../helpers/until.ts';

/**
 * Issue 19: Ctrl-C at a terminal sends SIGINT to the whole foreground process group. With
 * REDIS_URL unset, `npm start` runs its own redis-server; when that server shared the engine's
 * group it died at once, and the engine's shutdown then waited its whole SHUTDOWN_TIMEOUT_MS
 * on a Redis that was gone (10.1 s, "did not close"). The engine runs here as a terminal would
 * run it: the leader of its own process group, and the SIGINT goes to the group.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NO_MODELS = path.join(ROOT, 'test/fixtures/no-models');
const FIXTURE_RULES = path.join(ROOT, 'test/fixtures/rules');
const SHUTDOWN_TIMEOUT_MS = 10_000;

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

interface Engine {
  readonly child: ChildProcess;
  readonly redisPid: number;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node --import tsx src/main.ts` in a new process group, with its own redis-server. */
async function startEngine(dataDir: string): Promise<Engine> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    RULES_DIR: FIXTURE_RULES,
    MODELS_DIR: NO_MODELS,
    WATCH_RULES: 'false',
    WATCH_MODELS: 'false',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  };
  delete env.REDIS_URL;
  delete env.npm_lifecycle_event;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env,
    detached: true, // a process group of its own, as a shell's job would be
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  await until(() => gone || /calmpay listening on /.test(out), 'the engine to listen', 120_000, 50);
  if (gone) throw new Error(`the engine exited before it listened:\n${out}`);
  const redisPid = Number(out.match(/started redis-server pid (\d+)/)?.[1]);
  expect(redisPid).toBeGreaterThan(0);
  return { child, redisPid, output: () => out, exited };
}

describe('npm start with its own redis-server', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'calmpay-ctrl-c-'));
  const leftovers: number[] = [];

  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('Ctrl-C (SIGINT to the process group) shuts down quickly and cleanly, stopping Redis last', async () => {
    const engine = await startEngine(path.join(root, 'sigint'));
    leftovers.push(engine.child.pid!, engine.redisPid);
    expect(alive(engine.redisPid)).toBe(true);

    const t0 = Date.now();
    process.kill(-engine.child.pid!, 'SIGINT');
    const { code } = await engine.exited;
    const tookMs = Date.now() - t0;

    expect(engine.output()).not.toContain(SHUTDOWN_DEADLINE_MESSAGE);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS / 2);
    await until(() => !alive(engine.redisPid), 'redis-server to exit', 5_000, 25);
  }, 180_000);

  it('a SIGKILLed engine still takes its redis-server with it', async () => {
    const engine = await startEngine(path.join(root, 'sigkill'));
    leftovers.push(engine.child.pid!, engine.redisPid);
    engine.child.kill('SIGKILL');
    await engine.exited;
    await until(() => !alive(engine.redisPid), 'redis-server to exit after its engine was killed', 10_000, 25);
  }, 180_000);
});
