import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { featureStoreOptions, registrationTimes } from '../../src/config-wiring.ts';
import { segmentPolicy } from '../../src/scoring/scoring-config.ts';
import { registrationFor } from '../../src/cooling/registration.ts';
import type { StoredDecision } from '../../src/scoring/decision.ts';
import { eventOnlyVector } from '../../src/features/build-vector.ts';
import { CATALOGUE_VERSION } from '../../src/features/catalogue.ts';
import { eventHash, type TransferEvent } from '../../src/features/transfer-event.ts';
import { DegradedReconciler } from '../../src/decisions/degraded-reconciler.ts';
import { degradedRecord, type DegradedRecord } from '../../src/decisions/degraded-record.ts';
import { DegradedSpool } from '../../src/decisions/degraded-spool.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { SpoolFile } from '../../src/store/spool-file.ts';
import { DecisionSink } from '../../src/decisions/decision-sink.ts';
import { DegradedSpoolTable } from '../../src/decisions/degraded-spool-table.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testSql } from '../helpers/sql.ts';

/**
 * Issue 19, the fallback: while the SQL store is down as well as Redis, a degraded decision is
 * appended to the spool file before it is answered; after a restart the file is read again, the
 * reconciler writes the decision into Redis (claim, decision, lifecycle, stream) and the
 * decision sink brings it to the history, exactly once even when a pass is repeated.
 */

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('the degraded-decision spool file (Redis and the SQL store both down)', () => {
  let dir: string;
  let redis: Redis;
  let sinkRedis: Redis;
  let keys: Keys;
  let config: Config;
  let sqlDown: SqlStore;
  let sqlUp: SqlStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'calmpay-spool-'));
    const prefix = `test-${randomUUID()}:`;
    config = loadConfig({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, DATA_DIR: dir });
    keys = makeKeys(prefix);
    redis = new Redis(redisUrl());
    sinkRedis = new Redis(redisUrl());
    sqlDown = await testSql('pglite').open();
    await sqlDown.close(); // every query now fails: the SQL store is down
    sqlUp = await testSql('pglite').open();
  }, 60_000);
  afterAll(async () => {
    await redis.quit();
    await sinkRedis.quit();
    await sqlUp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const event: TransferEvent = {
    transferId: `spool-${randomUUID()}`,
    occurredAt: new Date(Date.now() - 1_000).toISOString(),
    amount: 8000,
    currency: 'CNY',
    payer: { accountId: `spool-payer-${randomUUID()}`, birthYear: 1950, deviceId: 'spool-device' },
    payee: { accountId: 'spool-shop' },
  };

  function record(): { record: DegradedRecord; decision: StoredDecision } {
    const v = eventOnlyVector(event, Date.parse(event.occurredAt), config.features.ageBands);
    const decision: StoredDecision = {
      transferId: event.transferId,
      action: 'cool_off',
      riskScore: 0,
      ruleScore: 0,
      modelScore: null,
      modelFactors: [],
      scamType: 'other',
      segment: 'elderly',
      hits: [],
      shadowHits: [],
      ruleErrors: [],
      degraded: ['features'],
      guardian: null,
      rulesVersion: 'r-test',
      modelVersion: null,
      holdMinutes: 15,
      decidedAt: new Date().toISOString(),
      timingsUs: { validate: 1, features: 2, rules: 3, model: 0, decision: 4, total: 10 },
    };
    const features = JSON.stringify(v);
    return {
      decision,
      record: degradedRecord({
        event,
        eventHash: eventHash(event),
        decisionJson: JSON.stringify(decision),
        features,
        catalogue: CATALOGUE_VERSION,
        registration: registrationFor(decision, event, v, features, { language: config.i18n.defaultLanguage, policy: segmentPolicy(config.scoring, 'elderly') }, registrationTimes(config)),
        spooledAt: Date.now(),
      }),
    };
  }

  const spoolFile = () => join(dir, 'degraded-spool.jsonl');
  const spoolOver = (sql: SqlStore) =>
    new DegradedSpool({ table: new DegradedSpoolTable(sql), file: new SpoolFile(spoolFile()), sqlDeadlineMs: 500, log: quiet });

  it('refuses to record when neither the SQL store nor the file can take the decision', async () => {
    const spool = new DegradedSpool({
      table: new DegradedSpoolTable(sqlDown),
      file: new SpoolFile('/dev/null/degraded-spool.jsonl'),
      sqlDeadlineMs: 500,
      log: quiet,
    });
    const { record: r, decision } = record();
    await expect(spool.record(r, decision)).rejects.toThrow();
    expect(spool.replay(r.transferId)).toBeUndefined();
  });

  it('appends to the file when the SQL store is down, and after a restart writes it into Redis and the history once', async () => {
    const { record: r, decision } = record();
    const before = spoolOver(sqlDown);
    await before.record(r, decision);
    expect(before.replay(r.transferId)).toMatchObject({ eventHash: r.eventHash, decision });
    expect(readFileSync(spoolFile(), 'utf8')).toBe(`${JSON.stringify(r)}\n`);
    const line = readFileSync(spoolFile(), 'utf8');

    // a new process: the SQL store is back, and so is Redis
    const spool = spoolOver(sqlUp);
    const store = new FeatureStore(redis, keys, featureStoreOptions(config), (err) => {
      throw err;
    });
    const reconciler = new DegradedReconciler({
      redis, keys, store, spool, idempotencyTtlSeconds: 3600, decisionStreamMaxLen: 10_000, log: quiet,
    }); // prettier-ignore
    expect(await reconciler.run()).toEqual({ recorded: 1, completed: 0, superseded: 0, conflict: 0, left: 0 });
    expect(existsSync(spoolFile())).toBe(false);
    // the claim as the score script stores it: `<event hash>|<claim ms>|<state>` (docs/score-durability.md)
    expect((await redis.get(keys.tx(event.transferId)))?.split('|')[0]).toBe(r.eventHash);
    expect(await redis.get(keys.txDecision(event.transferId))).toBe(r.decision);
    expect(await redis.hget(keys.txState(event.transferId), 'state')).toBe('WARNED');

    // the same record again (a crash after the Redis writes, before the file was rewritten)
    writeFileSync(spoolFile(), line);
    expect(await reconciler.run()).toEqual({ recorded: 0, completed: 1, superseded: 0, conflict: 0, left: 0 });
    const out = await redis.hget(keys.accountOut(event.payer.accountId), 'm');
    expect(Number(out?.split(',')[0])).toBe(1); // counted once in the payer's windows

    const sink = new DecisionSink(sinkRedis, keys, sqlUp, { batchSize: 100, retentionDays: 3650 }, Date.now, quiet);
    await sink.catchUp();
    const rows = await sqlUp.query<{ transfer_id: string; action: string; decision: unknown }>(
      'SELECT transfer_id, action, decision FROM decisions WHERE transfer_id = $1',
      [event.transferId],
    );
    expect(rows.rows).toEqual([{ transfer_id: event.transferId, action: 'cool_off', decision }]);
  }, 60_000);
});
