import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { featureStoreOptions, registrationTimes } from '../../src/config-wiring.ts';
import { registrationFor } from '../../src/cooling/registration.ts';
import { DegradedReconciler } from '../../src/decisions/degraded-reconciler.ts';
import { degradedRecord, type DegradedRecord } from '../../src/decisions/degraded-record.ts';
import { DegradedSpool } from '../../src/decisions/degraded-spool.ts';
import { DegradedSpoolTable } from '../../src/decisions/degraded-spool-table.ts';
import { eventOnlyVector } from '../../src/features/build-vector.ts';
import { CATALOGUE_VERSION } from '../../src/features/catalogue.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import { eventHash, type TransferEvent } from '../../src/features/transfer-event.ts';
import type { StoredDecision } from '../../src/scoring/decision.ts';
import { segmentPolicy } from '../../src/scoring/scoring-config.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { plainIds } from '../../src/store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { SpoolFile } from '../../src/store/spool-file.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testSql } from '../helpers/sql.ts';

/**
 * The degraded reconciler on a 3-primary Redis Cluster (issue 15): a decision answered while
 * Redis was down is written into the cluster per slot — the claim and the windows (the split
 * score's steps), the decision key, the lifecycle registration through its cluster form (the
 * transition in the transfer's slot, its effects in `{lifecycle}`), the stream entry in
 * `{decisions}` — and a repeated pass counts and registers nothing twice.
 */

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('the degraded reconciler on a cluster', () => {
  let cluster: LocalCluster;
  let dir: string;
  let redis: RedisClient;
  let keys: Keys;
  let config: Config;
  let sql: SqlStore;

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(join(tmpdir(), 'calmpay-spool-cluster-'));
    const prefix = `test-${randomUUID().slice(0, 8)}:`;
    config = loadConfig({ REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, DATA_DIR: dir });
    keys = makeKeys(prefix, plainIds, { cluster: true });
    redis = await new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000).openClient('score');
    sql = await testSql('pglite').open();
  }, 120_000);
  afterAll(async () => {
    await closeRedis(redis);
    await sql?.close();
    await cluster?.stop();
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

  function record(): DegradedRecord {
    const v = eventOnlyVector(event, Date.parse(event.occurredAt), config.features.ageBands);
    const decision: StoredDecision = {
      transferId: event.transferId, action: 'cool_off', riskScore: 0, ruleScore: 0, modelScore: null, modelFactors: [],
      scamType: 'other', segment: 'elderly', hits: [], shadowHits: [], ruleErrors: [], degraded: ['features'], guardian: null,
      rulesVersion: 'r-test', modelVersion: null, holdMinutes: 15, decidedAt: new Date().toISOString(),
      timingsUs: { validate: 1, features: 2, rules: 3, model: 0, decision: 4, total: 10 },
    }; // prettier-ignore
    const features = JSON.stringify(v);
    return degradedRecord({
      event,
      eventHash: eventHash(event),
      decisionJson: JSON.stringify(decision),
      features,
      catalogue: CATALOGUE_VERSION,
      registration: registrationFor(decision, event, v, features, { language: config.i18n.defaultLanguage, policy: segmentPolicy(config.scoring, 'elderly') }, registrationTimes(config)),
      spooledAt: Date.now(),
    });
  }

  it('writes a spooled decision per slot, and a repeated pass changes nothing twice', async () => {
    const spoolFile = join(dir, 'degraded-spool.jsonl');
    const r = record();
    writeFileSync(spoolFile, `${JSON.stringify(r)}\n`);
    const spool = new DegradedSpool({ table: new DegradedSpoolTable(sql), file: new SpoolFile(spoolFile), sqlDeadlineMs: 5_000, log: quiet });
    const store = new FeatureStore(redis, keys, featureStoreOptions(config), (err) => {
      throw err;
    });
    const reconciler = new DegradedReconciler({ redis, keys, store, spool, idempotencyTtlSeconds: 3600, decisionStreamMaxLen: 10_000, log: quiet });
    expect(await reconciler.run()).toEqual({ recorded: 1, completed: 0, superseded: 0, conflict: 0, left: 0 });
    expect(existsSync(spoolFile) ? readFileSync(spoolFile, 'utf8') : '').toBe('');
    const id = event.transferId;
    expect(await redis.get(keys.txDecision(id))).toBe(r.decision);
    expect(await redis.hget(keys.txState(id), 'state')).toBe('WARNED');
    expect(await redis.zscore(keys.lifecycleAwaiting(), id)).not.toBeNull();
    expect(await redis.zcard(keys.lifecyclePending())).toBe(0);
    expect(await redis.xlen(keys.lifecycleEvents())).toBe(1);
    expect(await redis.xlen(keys.decisionStream())).toBe(1);

    // the same record again (a crash after the Redis writes, before the file was rewritten)
    writeFileSync(spoolFile, `${JSON.stringify(r)}\n`);
    expect(await reconciler.run()).toEqual({ recorded: 0, completed: 1, superseded: 0, conflict: 0, left: 0 });
    expect(Number((await redis.hget(keys.accountOut(event.payer.accountId), 'm'))?.split(',')[0])).toBe(1); // counted once
    expect(await redis.xlen(keys.lifecycleEvents())).toBe(1); // registered once
    expect(await redis.llen(keys.txAudit(id))).toBe(1);
    // the stream entry is written again, as on one Redis: the sink's insert keeps one row
    expect(await redis.xlen(keys.decisionStream())).toBe(2);
  }, 60_000);
});
