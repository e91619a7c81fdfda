import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DegradedSpool } from '../../src/decisions/degraded-spool.ts';
import { DegradedSpoolTable } from '../../src/decisions/degraded-spool-table.ts';
import { degradedRecord } from '../../src/decisions/degraded-record.ts';
import type { StoredDecision } from '../../src/scoring/decision.ts';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { SpoolFile } from '../../src/store/spool-file.ts';
import { startedApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';
import { testSql } from '../helpers/sql.ts';

/**
 * Issue 19: the memory of degraded answers (replays of transfers answered while Redis is down,
 * before the reconciler writes them into Redis) grew with the outage. It is bounded now; a
 * replay of an answer dropped from memory is answered from the SQL spool, with the same decision.
 */

const CAP = 3;
const COUNT = 8;
const PAYER = 'mem-payer';

const OCCURRED_AT = new Date(Date.now() - 1_000).toISOString();

function transfer(i: number) {
  return {
    transferId: `mem-${i}`,
    occurredAt: OCCURRED_AT,
    amount: 100 + i * 1_000,
    currency: 'CNY',
    payer: { accountId: PAYER, birthYear: 1980 },
    payee: { accountId: `mem-shop-${i}` },
  };
}

function sansTimings(d: Record<string, unknown>): Record<string, unknown> {
  const { timingsUs: _timings, ...rest } = d;
  return rest;
}

describe('the bounded memory of degraded answers', () => {
  let redisDir: string;
  let dataDir: string;
  let redis: LocalRedis;
  let app: Awaited<ReturnType<typeof startedApp>>;

  beforeAll(async () => {
    redisDir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-mem-redis-'));
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-mem-data-'));
    redis = await startLocalRedis({ dataDir: redisDir, appendOnly: true, log: () => undefined });
    app = await startedApp(
      { REDIS_URL: redis.url, DATA_DIR: dataDir, RUN_WORKER: 'false', FEATURES_DEADLINE_MS: '2000', DEGRADED_FEATURES_POLICY: '1000:allow,5000:warn,*:cool_off' },
      { degradedAnswersInMemory: CAP },
    );
  }, 180_000);
  afterAll(async () => {
    // Redis back, so that closing does not wait on reconnects
    redis = await startLocalRedis({ dataDir: redisDir, port: redis.port, appendOnly: true, log: () => undefined });
    await until(async () => (await app.server.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'ready again', 60_000, 200);
    await app.close();
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('keeps at most its cap in memory, and answers a replay of a dropped one with its first decision', async () => {
    await redis.stop();
    // (FEATURES_DEADLINE_MS is also the SQL write's deadline: 2 s, so that all go to SQL, not the file)
    const answered: Record<string, unknown>[] = [];
    for (let i = 0; i < COUNT; i++) {
      const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer(i) });
      expect(res.statusCode).toBe(200);
      expect(res.json().degraded).toEqual(['features']);
      answered.push(res.json());
    }
    expect(app.degraded.spool.size).toBeLessThanOrEqual(CAP);
    expect(app.degraded.spool.replay('mem-0')).toBeUndefined(); // dropped: the oldest
    // still known as answered and waiting for Redis (confirm/GET answer 409 "retry", not 404)
    expect(await app.degraded.spool.isPending('mem-0')).toBe(true);
    expect(await app.degraded.spool.isPending('mem-never-scored')).toBe(false);

    // replays of every one, dropped or not: the decision first answered (decidedAt included)
    for (let i = 0; i < COUNT; i++) {
      await sleep(5); // a new decision would carry a later decidedAt
      const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: transfer(i) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(sansTimings(res.json())).toEqual(sansTimings(answered[i]!));
    }
    expect(app.degraded.spool.size).toBeLessThanOrEqual(CAP);
    // and the history holds each once, with the first decision
    const rows = await app.sql.query<{ transfer_id: string; decision: { decidedAt: string } }>(
      "SELECT transfer_id, decision FROM decisions WHERE transfer_id LIKE 'mem-%' ORDER BY transfer_id",
    );
    expect(rows.rows.map((r) => [r.transfer_id, r.decision.decidedAt])).toEqual(
      answered.map((d) => [d.transferId, d.decidedAt]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  }, 60_000);
});

describe('degraded answers that only reached the spool file', () => {
  it('are never dropped from memory: the file has no index to find them in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calmpay-degraded-mem-file-'));
    const sql = await testSql('pglite').open();
    await sql.close(); // the SQL store fails too: every record goes to the file
    const spool = new DegradedSpool({
      table: new DegradedSpoolTable(sql),
      file: new SpoolFile(join(dir, 'degraded-spool.jsonl')),
      sqlDeadlineMs: 1_000,
      log: { warn: () => undefined, error: () => undefined },
      maxRemembered: CAP,
    });
    try {
      for (let i = 0; i < COUNT; i++) {
        const e = transfer(i) as unknown as TransferEvent;
        const decision = { transferId: e.transferId, action: 'allow' } as unknown as StoredDecision;
        const r = degradedRecord({ event: e, eventHash: `h${i}`, decisionJson: JSON.stringify(decision), features: '[]', catalogue: 'c', registration: null, spooledAt: i });
        await spool.record(r, decision);
      }
      expect(spool.size).toBe(COUNT);
      for (let i = 0; i < COUNT; i++) expect(spool.replay(`mem-${i}`)?.eventHash).toBe(`h${i}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
