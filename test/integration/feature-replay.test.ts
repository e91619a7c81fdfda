import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferGenerator } from '../../bench/transfer-gen.ts';
import { DEFAULT_AGE_BANDS } from '../../src/features/build-vector.ts';
import { idx, type FeatureValue } from '../../src/features/catalogue.ts';
import { TransferEventSchema, type TransferEvent } from '../../src/features/transfer-event.ts';
import { FeatureReplay } from '../../src/features/feature-replay.ts';
import { testApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';

describe('FeatureReplay', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('gives exactly the vectors the scoring route recorded for the same events', async () => {
    const next = transferGenerator({ seed: 7, payers: 25, payees: 15, runId: `replay-${Date.now()}` });
    const events: TransferEvent[] = Array.from({ length: 400 }, () => TransferEventSchema.parse(next()));

    const app = await testApp();
    for (const e of events) {
      const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: e });
      expect(res.statusCode).toBe(200);
    }
    await app.close();
    const entries = await redis.xrange(`${app.prefix}{decisions}`, '-', '+');
    const scored = new Map(entries.map(([, fields]) => [fields[fields.indexOf('transferId') + 1]!, fields[fields.indexOf('features') + 1]!]));
    expect(scored.size).toBe(events.length);

    const replay = new FeatureReplay({ redis, ageBands: DEFAULT_AGE_BANDS, batchSize: 64 });
    const replayed = new Map<string, FeatureValue[]>();
    expect(await replay.replay(events, (e, v) => replayed.set(e.transferId, v))).toBe(events.length);
    for (const e of events) expect([e.transferId, replayed.get(e.transferId)]).toEqual([e.transferId, JSON.parse(scored.get(e.transferId)!)]);
    // the history matters: some vectors carry earlier transfers of the same payer
    expect([...replayed.values()].filter((v) => (v[idx('payer.out_count_24h')] as number) > 0).length).toBeGreaterThan(100);

    await replay.close();
    expect(await redis.keys(`${replay.prefix}*`)).toEqual([]);
  });

  it('refuses a transferId seen twice', async () => {
    const next = transferGenerator({ seed: 8, payers: 5, payees: 5, runId: `dup-${Date.now()}` });
    const e = TransferEventSchema.parse(next());
    const replay = new FeatureReplay({ redis, ageBands: DEFAULT_AGE_BANDS });
    await expect(replay.replay([e, e], () => {})).rejects.toThrow(`replay: transferId ${e.transferId} appears twice`);
    await replay.close();
  });
});
