import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Degraded mode with a real Redis of the test's own (own port, own data dir), stopped,
 * started again and blocked: the engine answers with the configured fail mode, says so, and
 * recovers by itself.
 */

let seq = 0;
function transfer(amount: number, payer = 'payer-a') {
  seq += 1;
  return {
    transferId: `deg-${seq}`,
    occurredAt: new Date(Date.now() - 1_000).toISOString(),
    amount,
    currency: 'CNY',
    payer: { accountId: payer, birthYear: 1980 },
    payee: { accountId: 'shop-1' },
  };
}

describe('degraded mode: the feature store (Redis) is unavailable', () => {
  let dataDir: string;
  let redis: LocalRedis;
  let app: TestApp;
  const log: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-'));
    redis = await startLocalRedis({ dataDir, appendOnly: true, log: (l) => log.push(l) });
    app = await testApp({ REDIS_URL: redis.url, FEATURES_DEADLINE_MS: '200', DEGRADED_FEATURES_POLICY: '1000:allow,*:warn' });
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const score = async (body: object) => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  it('scores normally, then answers by amount band while Redis is down, then recovers by itself with its data', async () => {
    expect(await score(transfer(100))).toMatchObject({ action: 'allow', degraded: [] });
    expect(await score(transfer(100))).toMatchObject({ action: 'allow', degraded: [] });

    await redis.stop();
    const small = await score(transfer(999.99));
    expect(small).toMatchObject({ action: 'allow', degraded: ['features'], hits: [], warning: null });
    const large = await score(transfer(1000));
    expect(large).toMatchObject({ action: 'warn', degraded: ['features'], scamType: 'other', riskScore: 0 });
    expect(large.warning).not.toBeNull();
    expect(large.timingsUs.total).toBeLessThan(200_000);

    redis = await startLocalRedis({ dataDir, port: redis.port, appendOnly: true, log: (l) => log.push(l) });
    let recovered: { degraded: string[]; hits: { ruleId: string }[] } | null = null;
    for (let i = 0; i < 100 && recovered === null; i++) {
      const d = await score(transfer(100));
      if (d.degraded.length === 0) recovered = d;
      else await sleep(100);
    }
    // the third transfer of payer-a in the hour that the store saw: the two before the outage
    // survived the restart (append-only file), the degraded ones were never recorded
    expect(recovered).toMatchObject({ degraded: [], hits: [{ ruleId: 'rapid-repeat' }] });
  });

  it('answers a score that Redis is too slow for within the deadline, and replays give that same decision', async () => {
    const blocker = new Redis(redis.url);
    const body = transfer(5000, 'payer-b');
    // a script that keeps Redis busy for 700 ms
    const busy = blocker.eval(
      "local s = redis.call('TIME'); local t0 = s[1] * 1000000 + s[2]; while true do local n = redis.call('TIME'); if n[1] * 1000000 + n[2] - t0 > 700000 then break end end return 1",
      0,
    );
    await sleep(50);
    const slow = await score(body);
    expect(slow).toMatchObject({ action: 'warn', degraded: ['features'] });
    await busy;
    await sleep(100);
    const replay = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    // (a replay shows the timings stored with the decision, which stop at the decision)
    const { timingsUs: _replayed, ...replayed } = replay.json();
    const { timingsUs: _first, ...first } = slow;
    expect(replayed).toEqual(first);
    await blocker.quit();
  });
});
