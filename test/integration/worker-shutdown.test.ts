import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';

/**
 * Issue 19: `npm run worker` never exited on SIGTERM once its Redis was gone (BullMQ and
 * ioredis kept reconnecting and every close() waited on them). The worker is a child process
 * against a redis-server of this test's own; the Redis is killed, then the worker gets SIGTERM
 * and must exit. It first did so at its shutdown deadline, naming the parts that did not
 * close; since the lifecycle worker drops what it has in hand when Redis is gone
 * (CLOSE_GRACE_MS in src/cooling/lifecycle-worker.ts), every part closes: exit 0, before the deadline.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('npm run worker when its Redis is gone', () => {
  let redis: LocalRedis;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-worker-shutdown-'));
    redis = await startLocalRedis({ dataDir, appendOnly: false, log: () => undefined });
  });

  afterAll(async () => {
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits on SIGTERM, every part closed before the shutdown deadline', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'worker-shutdown:', SHUTDOWN_TIMEOUT_MS: '3000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"msg":"worker ready"')) resolve();
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${out}`)));
      });
      await redis.stop();
      const signalled = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      expect(Date.now() - signalled).toBeLessThan(3_000);
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; pending?: string[] });
      expect(lines.find((l) => l.msg === 'shutdown deadline passed: exiting with parts still open')).toBeUndefined();
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);
});
