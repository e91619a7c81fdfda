import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';

/**
 * A decision without its timings: a new answer's timings run to its serialised reply (record and
 * render stages), a replay's are the ones stored with the first decision.
 */
function sansTimings(d: Record<string, unknown>): Record<string, unknown> {
  const { timingsUs: _timings, ...rest } = d;
  return rest;
}

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19: decisions answered while Redis is down are recorded before the answer (SQL, or a
 * spool file), reach the decision history exactly once, answer their replays with the same
 * decision before and after Redis returns, count in the payer's windows once, and a degraded
 * cool_off can be confirmed into its hold once Redis is back. A Redis of the test's own,
 * stopped and started again on the same port and data.
 */

const PAYER = 'deg-payer';
/** allow below 1,000, warn below 5,000, cool_off from 5,000 */
const POLICY = '1000:allow,5000:warn,*:cool_off';
const AMOUNTS = [100, 200, 300, 400, 2000, 2100, 2200, 2300, 8000, 8100, 8200, 8300];

function transfer(id: string, amount: number, payer = PAYER) {
  return {
    transferId: id,
    occurredAt: new Date(Date.now() - 1_000).toISOString(),
    amount,
    currency: 'CNY',
    payer: { accountId: payer, birthYear: 1980, deviceId: 'deg-device' },
    payee: { accountId: `deg-shop-${amount}` },
  };
}

describe('decisions made while Redis is down (issue 19)', () => {
  let redisDir: string;
  let dataDir: string;
  let redis: LocalRedis;
  let app: TestApp;
  /** a second API node: same Redis, key prefix and SQL store, its own DATA_DIR */
  let other: TestApp;

  beforeAll(async () => {
    redisDir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-redis-'));
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-data-'));
    redis = await startLocalRedis({ dataDir: redisDir, appendOnly: true, log: () => undefined });
    app = await startedApp({ REDIS_URL: redis.url, DATA_DIR: dataDir, FEATURES_DEADLINE_MS: '200', DEGRADED_FEATURES_POLICY: POLICY });
    other = await startedApp(
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: app.prefix, DATA_DIR: join(dataDir, 'other'), FEATURES_DEADLINE_MS: '200', DEGRADED_FEATURES_POLICY: POLICY },
      { sql: app.sql },
    );
  }, 180_000);
  afterAll(async () => {
    await other.close();
    await app.close();
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const post = (url: string, body?: object) =>
    app.server.inject({ method: 'POST', url, ...(body === undefined ? {} : { payload: body }) });

  const history = async (ids: readonly string[]) =>
    (
      await app.sql.query<{ transfer_id: string; action: string; decision: unknown }>(
        'SELECT transfer_id, action, decision FROM decisions WHERE transfer_id = ANY($1::text[]) ORDER BY transfer_id',
        [`{${ids.join(',')}}`],
      )
    ).rows;

  /** the payer's 1h transfer count in Redis (first number of the window hash's `m` field) */
  const payerCount1h = async () => {
    const m = await app.redis.hget(`${app.prefix}{a:${PAYER}}:out`, 'm');
    return m === null ? 0 : Number(m.split(',')[0]);
  };

  // one outage shared by the steps below, in order; each step fails on its own on the old code
  const bodies = AMOUNTS.map((amount, i) => transfer(`deg-${i + 1}`, amount));
  const ids = bodies.map((b) => b.transferId);
  const answered: { action: string; degraded: string[]; decidedAt: string }[] = [];

  it('answers a transfer decided before Redis became unavailable, re-sent during the outage, with its first decision', async () => {
    // 8,000 to a new payee: allowed by the rules, a cool_off in degraded mode (POLICY)
    const body = transfer('deg-before', 8000, 'deg-before-payer');
    const first = await post('/v1/transfers/score', body);
    expect(first.json()).toMatchObject({ action: 'allow', degraded: [] });
    await until(async () => (await history(['deg-before'])).length === 1, 'the decision in the history', 10_000, 20);
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const replay = await post('/v1/transfers/score', body);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(sansTimings(replay.json())).toEqual(sansTimings(first.json()));
      const other = await post('/v1/transfers/score', { ...body, amount: 8001 });
      expect([other.statusCode, other.json().code]).toEqual([409, 'CALMPAY_ERR_TRANSFER_ID_CONFLICT']);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    // nothing was spooled for it: nothing to reconcile, no memory of it
    expect(app.degraded.spool.replay('deg-before')).toBeUndefined();
    expect((await app.sql.query('SELECT 1 FROM degraded_spool WHERE transfer_id = $1', ['deg-before'])).rows).toEqual([]);
  });

  it('records every degraded decision in the decision history before answering, and answers its replays with it', async () => {
    await redis.stop();
    for (const body of bodies) {
      const res = await post('/v1/transfers/score', body);
      expect(res.statusCode).toBe(200);
      answered.push(res.json());
    }
    expect(answered.map((d) => d.action)).toEqual([...Array(4).fill('allow'), ...Array(4).fill('warn'), ...Array(4).fill('cool_off')]);
    for (const d of answered) expect(d.degraded).toEqual(['features']);

    // in the decision history already, while Redis is still down
    const during = await history(ids);
    expect(during.map((r) => r.transfer_id)).toEqual([...ids].sort());

    // a replay during the outage: the same decision, not a new one
    const replayDown = await post('/v1/transfers/score', bodies[8]!);
    expect(replayDown.statusCode).toBe(200);
    expect(replayDown.headers['idempotent-replayed']).toBe('true');
    expect(sansTimings(replayDown.json())).toEqual(sansTimings(answered[8]!));

    // confirming the cool_off while Redis is down: retryable 503, as before
    const confirmDown = await post(`/v1/transfers/${ids[8]}/confirm`);
    expect(confirmDown.statusCode).toBe(503);
    expect(confirmDown.json().code).toBe('CALMPAY_ERR_STORE_UNAVAILABLE');
  });

  it('answers a replay that reaches another node while Redis is down with the first node\'s decision', async () => {
    // the SQL store is shared: the other node finds the transfer spooled and answers that decision
    const replay = await other.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: bodies[5]! });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(sansTimings(replay.json())).toEqual(sansTimings(answered[5]!));
    const conflict = await other.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: { ...bodies[6]!, amount: 7 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('CALMPAY_ERR_TRANSFER_ID_CONFLICT');
  });

  it('answers a transfer re-sent after Redis returns with its degraded decision, and counts it once in the windows', async () => {
    redis = await startLocalRedis({ dataDir: redisDir, port: redis.port, appendOnly: true, log: () => undefined });
    // wait until the engine scores normally again (a transfer of another payer)
    let probe = 0;
    for (let back = false; !back; ) {
      const res = await post('/v1/transfers/score', transfer(`deg-probe-${++probe}`, 50, 'deg-probe-payer'));
      back = res.statusCode === 200 && res.json().degraded.length === 0;
      if (!back) await sleep(100);
      expect(probe).toBeLessThan(100);
    }
    // the reconnect started a pass; a pass that met Redis still reconnecting leaves the rest for
    // the next one (every 5 s): run passes until everything is written
    for (let pass = 0; pass < 20 && (app.degraded?.spool.size ?? 0) > 0; pass++) {
      await app.degraded?.reconciler.run();
      if ((app.degraded?.spool.size ?? 0) > 0) await sleep(200);
    }
    // written into Redis: replays are answered from there, no longer from this node's memory
    expect(app.degraded?.spool.size ?? 0).toBe(0);

    // re-sent after the recovery: the same decisions, as idempotent replays
    for (const [i, body] of bodies.entries()) {
      const res = await post('/v1/transfers/score', body);
      expect(res.statusCode).toBe(200);
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(sansTimings(res.json())).toEqual(sansTimings(answered[i]!));
    }
    // another event under a used id is a conflict
    const other = await post('/v1/transfers/score', { ...bodies[0]!, amount: 999 });
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('CALMPAY_ERR_TRANSFER_ID_CONFLICT');

    // the windows count each degraded transfer once, also after another pass
    expect(await payerCount1h()).toBe(AMOUNTS.length);
    await app.degraded?.reconciler.run();
    expect(await payerCount1h()).toBe(AMOUNTS.length);
  }, 60_000);

  it('has each degraded decision exactly once in the decision history once the sink has copied the stream', async () => {
    // once the sink has copied the stream (which now carries them too): each exactly once, as answered
    await app.sink.catchUp();
    const after = await history(ids);
    expect(after.map((r) => r.transfer_id)).toEqual([...ids].sort());
    const byId = new Map(after.map((r) => [r.transfer_id, r]));
    for (const [i, id] of ids.entries()) {
      expect(byId.get(id)).toMatchObject({ action: answered[i]!.action });
      expect(byId.get(id)!.decision).toMatchObject({ transferId: id, decidedAt: answered[i]!.decidedAt, degraded: ['features'] });
    }
  });

  it('holds a degraded cool_off confirmed after Redis returns, and releases a low-risk degraded warn', async () => {
    const confirmed = await post(`/v1/transfers/${ids[8]}/confirm`);
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json()).toMatchObject({ transferId: ids[8], state: 'COOLING_OFF', action: 'cool_off', payerId: PAYER });
    const warned = await post(`/v1/transfers/${ids[4]}/confirm`);
    expect(warned.statusCode).toBe(200);
    // riskScore 0 is below HOLD_RISK_AT: released at once
    expect(warned.json()).toMatchObject({ transferId: ids[4], state: 'RELEASED', action: 'warn' });
  });
});
