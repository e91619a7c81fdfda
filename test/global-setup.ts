/**
 * vitest globalSetup: one Redis for the whole test run.
 * - REDIS_URL set: used as it is (CI or a developer's own server); nothing is started.
 * - unset: a private redis-server (src/store/local-redis.ts) on a free port, data in a temp
 *   dir, stopped and removed in teardown.
 *
 * How the URL reaches the test workers: `project.provide('redisUrl', url)`, read with
 * `inject('redisUrl')` through test/helpers/redis.ts. That is vitest's documented channel from
 * globalSetup to tests and works with every pool. We also set process.env.REDIS_URL for code
 * under test that reads the environment: with `pool: 'forks'` in vitest 4.1 this reaches the
 * workers too, because the pool copies process.env into each fork's env when a run starts,
 * which is after globalSetup (the per-run `projectEnvs` map in vitest's node pool); vitest
 * documents no such guarantee, so tests go through redisUrl(). The ProvidedContext type for
 * 'redisUrl' is declared in test/helpers/redis.ts (not imported here: it imports vitest's
 * runtime, which belongs in workers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalRedis } from '../src/store/local-redis.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.REDIS_URL;
  if (existing) {
    project.provide('redisUrl', existing);
    return async () => {};
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'calmpay-test-redis-'));
  const redis = await startLocalRedis({
    dataDir,
    appendOnly: false, // throwaway data: skip the fsyncs
    log: (line) => process.stderr.write(`[test redis] ${line}\n`),
  });
  process.env.REDIS_URL = redis.url;
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    delete process.env.REDIS_URL;
    rmSync(dataDir, { recursive: true, force: true });
  };
}
