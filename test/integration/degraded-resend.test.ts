import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { startedApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';

/**
 * Issue 19: a transfer decided normally whose decision the sink had not yet copied to the
 * decision history, re-sent while Redis is unavailable, was decided anew in degraded mode (a
 * second, possibly other, answer; 1-5 per chaos run). The node that decided it now answers it
 * from its memory of recent decisions, as Redis would. The sink is off here, so the history
 * never has the decision: only that memory can answer.
 */

function sansTimings(d: Record<string, unknown>): Record<string, unknown> {
  const { timingsUs: _timings, ...rest } = d;
  return rest;
}

const OCCURRED_AT = new Date(Date.now() - 1_000).toISOString();

/** 8,000 to a new payee: allowed by the fixture rules, a cool_off under the degraded policy below */
function transfer(id: string, amount = 8_000) {
  return {
    transferId: id,
    occurredAt: OCCURRED_AT,
    amount,
    currency: 'CNY',
    payer: { accountId: `resend-payer-${id}`, birthYear: 1980 },
    payee: { accountId: `resend-shop-${id}` },
  };
}

describe('a re-send during a Redis outage of a decision not yet in the history', () => {
  let redisDir: string;
  let dataDir: string;
  let redis: LocalRedis;
  let app: Awaited<ReturnType<typeof startedApp>>;

  beforeAll(async () => {
    redisDir = mkdtempSync(join(tmpdir(), 'calmpay-resend-redis-'));
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-resend-data-'));
    redis = await startLocalRedis({ dataDir: redisDir, appendOnly: true, log: () => undefined });
    app = await startedApp({
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      DECISION_SINK: 'false',
      // no lifecycle worker: none is needed here, and its BullMQ close after an outage can be slow
      RUN_WORKER: 'false',
      FEATURES_DEADLINE_MS: '2000',
      DEGRADED_FEATURES_POLICY: '1000:allow,5000:warn,*:cool_off',
    });
  }, 180_000);
  afterAll(async () => {
    redis = await startLocalRedis({ dataDir: redisDir, port: redis.port, appendOnly: true, log: () => undefined });
    await until(async () => (await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'ready again', 60_000, 200);
    await app.close();
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  const post = (body: object) => app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body });

  it('answers it with the first decision, as an idempotent replay, and records nothing new', async () => {
    const first = await post(transfer('resend-1'));
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ action: 'allow', degraded: [] });

    await redis.stop();
    const again = await post(transfer('resend-1'));
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(sansTimings(again.json())).toEqual(sansTimings(first.json()));
    // another event under its id is a conflict, as it would be with Redis up
    const other = await post(transfer('resend-1', 8_001));
    expect([other.statusCode, other.json().code]).toEqual([409, 'CALMPAY_ERR_TRANSFER_ID_CONFLICT']);
    // nothing spooled for it: nothing to reconcile
    expect(app.degraded.spool.replay('resend-1')).toBeUndefined();
    expect((await app.sql.query('SELECT 1 FROM degraded_spool WHERE transfer_id = $1', ['resend-1'])).rows).toEqual([]);

    // a transfer never scored is still decided in degraded mode
    const fresh = await post(transfer('resend-2'));
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json()).toMatchObject({ action: 'cool_off', degraded: ['features'] });
  }, 60_000);
});
