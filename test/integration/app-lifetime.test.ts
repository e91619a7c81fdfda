import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { testApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');

const transfer = (transferId: string) => ({
  transferId,
  occurredAt: new Date(Date.now() - 60_000).toISOString(),
  amount: 4_999,
  currency: 'CNY',
  payer: { accountId: `${transferId}-payer`, birthYear: 1950 },
  payee: { accountId: `${transferId}-payee`, accountCreatedAt: '2026-11-01T00:00:00Z' },
  context: { onCall: true, remoteAccess: false },
});

/** Issue 18: building wires and begins nothing; start() begins the loops; close() drains, then closes in reverse. */
describe('the app lifetime', () => {
  it('answers a score in flight during close() with the model: the server drains before the model closes', async () => {
    const app = await testApp({ MODELS_DIR: MODELS });
    // hold one score after routing until close() has begun draining the server
    let arrived!: () => void;
    const inHandler = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.server.addHook('preHandler', async (request) => {
      if (request.url === '/v1/transfers/score') {
        arrived();
        await gate;
      }
    });
    app.server.addHook('preClose', async () => release());
    const answer = app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer('in-flight-1') });
    await inHandler;
    const closing = app.close();
    const res = await answer;
    await closing;
    expect(res.statusCode).toBe(200);
    const body = res.json<{ modelVersion: string | null; modelScore: number | null }>();
    expect(body.modelVersion).not.toBeNull();
    expect(body.modelScore).not.toBeNull();
  }, 60_000);

  it('begins no loop when built: the decision sink copies nothing and the rule version is not announced until start()', async () => {
    const app = await testApp();
    try {
      const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer('built-1') });
      expect(res.statusCode).toBe(200);
      const stream = `${app.prefix}{decisions}`;
      await until(async () => (await app.redis.xlen(stream)) === 1, 'the decision in the stream');
      expect(await app.redis.xinfo('GROUPS', stream)).toEqual([]);
      expect((await app.sql.query(`SELECT 1 FROM decisions WHERE transfer_id = 'built-1'`)).rows).toHaveLength(0);
      expect(app.sink.getStats().running).toBe(false);
      expect(await app.redis.exists(`${app.prefix}{rules}:active`)).toBe(0);

      await app.start();
      expect(app.sink.getStats().running).toBe(true);
      await until(async () => (await app.sql.query(`SELECT 1 FROM decisions WHERE transfer_id = 'built-1'`)).rows.length === 1, 'built-1 in the decision history');
      expect(await app.redis.exists(`${app.prefix}{rules}:active`)).toBe(1);
    } finally {
      await app.close();
    }
  });

  describe('a build that fails half-way', () => {
    let dataDir: string;
    let redis: LocalRedis;
    let admin: Redis;
    beforeAll(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'calmpay-lifetime-'));
      redis = await startLocalRedis({ dataDir, appendOnly: false, log: () => undefined });
      admin = new Redis(redis.url);
    });
    afterAll(async () => {
      admin.disconnect();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('closes the connections it had opened', async () => {
      // room for the admin connection and two of the app's: the third (the decision sink's) is refused
      await admin.config('SET', 'maxclients', '3');
      try {
        await expect(testApp({ REDIS_URL: redis.url })).rejects.toThrow(/Cannot connect to Redis/);
      } finally {
        await admin.config('SET', 'maxclients', '10000');
      }
      await until(async () => !/name=calmpay:/.test(String(await admin.client('LIST'))), 'no calmpay connection left');
      expect(String(await admin.client('LIST')).trim().split('\n')).toHaveLength(1);
    });
  });
});
