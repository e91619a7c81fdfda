import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGE_BANDS } from '../../src/features/build-vector.ts';
import { idx, type FeatureValue } from '../../src/features/catalogue.ts';
import { FeatureReplay } from '../../src/features/feature-replay.ts';
import type { VectorReplay } from '../../src/features/replay-batches.ts';
import { WindowReplay } from '../../src/features/window-replay.ts';
import { fdhRows } from '../../src/replay/row-sources.ts';
import { simulate } from '../../src/sim/index.ts';
import { labelled, replayLabelled, type LabelledEvent } from '../../src/train/pipeline.ts';
import { redisUrl } from '../helpers/redis.ts';

/**
 * The Redis-free replay (the velocity model) against the replay through the score script, on
 * real streams through the training pipeline: every vector, every encoded row, label and time
 * must be identical.
 */

const FDH = path.resolve(import.meta.dirname, '../../../shared/data/fdh/fdh_2018-04-01_2018-07-31.csv.gz');

interface Replayed {
  readonly vectors: FeatureValue[][];
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly times: Float64Array;
}

async function replayed<L extends LabelledEvent>(replay: VectorReplay, rows: () => Iterable<L> | AsyncIterable<L>): Promise<Replayed> {
  const vectors: FeatureValue[][] = [];
  const set = await replayLabelled(replay, rows(), undefined, { onRow: (i, _r, v) => (vectors[i] = [...v]) });
  return { vectors, x: set.data.x, labels: set.data.labels, times: set.times };
}

describe('WindowReplay', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  async function expectIdentical<L extends LabelledEvent>(rows: () => Iterable<L> | AsyncIterable<L>, batchSize: number): Promise<Replayed> {
    const onRedis = await replayed(new FeatureReplay({ redis, ageBands: DEFAULT_AGE_BANDS, batchSize }), rows);
    const inMemory = await replayed(new WindowReplay({ ageBands: DEFAULT_AGE_BANDS, batchSize }), rows);
    expect(inMemory.vectors.length).toBe(onRedis.vectors.length);
    const differs = onRedis.vectors.findIndex((v, i) => JSON.stringify(v) !== JSON.stringify(inMemory.vectors[i]));
    // the first row that differs, with both vectors
    expect([differs, inMemory.vectors[differs]]).toEqual([-1, onRedis.vectors[differs]]);
    expect(Buffer.from(inMemory.x.buffer).equals(Buffer.from(onRedis.x.buffer))).toBe(true);
    expect(inMemory.labels).toEqual(onRedis.labels);
    expect(inMemory.times).toEqual(onRedis.times);
    return onRedis;
  }

  const count = (r: Replayed, feature: string): number => r.vectors.filter((v) => typeof v[idx(feature)] === 'number' && (v[idx(feature)] as number) > 0).length;

  it('gives the vectors of the score-script replay on three simulated weeks, scam reports included', { timeout: 180_000 }, async () => {
    const rows = (): Iterable<LabelledEvent> => [...simulate({ payers: 250, days: 21, seed: 4, start: '2026-06-01', fraudRate: 0.03 })].map(labelled);
    const r = await expectIdentical(rows, 300);
    expect(r.vectors.length).toBeGreaterThan(3_000);
    // the history matters: windows, pairs, devices, fan-in and reports all carry something
    for (const f of ['payer.out_count_24h', 'payee.paid_before_count', 'device.distinct_payers_24h', 'payee.distinct_payers_24h', 'payee.out_sum_24h', 'payee.report_count']) {
      expect([f, count(r, f) > 0]).toEqual([f, true]);
    }
  });

  // labels reach the flags a day after the transfer here (7 days in the handbook's protocol), so the slice has reports
  it.skipIf(!existsSync(FDH))('gives the vectors of the score-script replay on two days of the Fraud Detection Handbook data', { timeout: 180_000 }, async () => {
    const rows = () => fdhRows(FDH, { fromMs: Date.parse('2018-04-01T00:00:00Z'), toMs: Date.parse('2018-04-03T00:00:00Z'), labelDelayDays: 1 }, { linesRead: 0, skippedZeroAmount: 0 });
    const r = await expectIdentical(rows, 2_000);
    expect(r.vectors.length).toBeGreaterThan(15_000);
    expect(count(r, 'payee.report_count')).toBeGreaterThan(0);
  });

  it('refuses a transferId seen twice, as the score-script replay does', async () => {
    const event = simulate({ payers: 20, days: 2, seed: 9, start: '2026-06-01' }).next().value!.event;
    const replay = new WindowReplay({ ageBands: DEFAULT_AGE_BANDS });
    await expect(replay.replay([event, event], () => {})).rejects.toThrow(`replay: transferId ${event.transferId} appears twice`);
  });
});
