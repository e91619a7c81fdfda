import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportFlags } from '../../src/cases/report-flags.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import { VelocityModel } from '../../src/features/velocity-model.ts';
import { DEFAULT_REPORT_HALF_LIFE_HOURS, REPORT_TIMES_CAP } from '../../src/features/report-age.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { redisUrl } from '../helpers/redis.ts';
import { transferEvent, velocityStream, type StreamOptions } from '../helpers/velocity-streams.ts';

/**
 * The score script (and report-flags.lua) against the velocity model of src/features: the same
 * seeded random stream goes to both, and after every transfer the whole velocity state the
 * script answers must equal the model's; at the end every key the script wrote must hold what
 * the model keeps, field by field and member by member.
 */

const REPORT_TTL_DAYS = 36_500;

describe('score-features.lua against the velocity model', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  /** Checks every reply, and every key at the end and after each `keysEvery` items; returns how many transfers were late. */
  async function check(o: StreamOptions, distinctCap: number, keysEvery = Infinity, reportTimesCap = REPORT_TIMES_CAP, reportHalfLifeHours = DEFAULT_REPORT_HALF_LIFE_HOURS): Promise<number> {
    const keys = makeKeys(`test-${randomUUID()}:`);
    const store = new FeatureStore(redis, keys, { idempotencyTtlSeconds: 3600, pairTtlDays: 400, distinctCap, decisionStreamMaxLen: 1000, reportHalfLifeHours }, (err) => {
      throw err;
    });
    const flags = new ReportFlags(redis, keys, REPORT_TTL_DAYS, reportTimesCap);
    const model = new VelocityModel(distinctCap, reportHalfLifeHours, reportTimesCap);
    let late = 0;
    let newest = -Infinity;
    for (const [i, item] of velocityStream(o).entries()) {
      if (item.kind === 'report') {
        const { recorded } = await flags.apply(item.r);
        expect([i, recorded]).toEqual([i, model.applyReport(item.r)]);
        continue;
      }
      const { x } = item;
      if (x.tMs < newest) late += 1;
      newest = Math.max(newest, x.tMs);
      const got = await store.claimAndUpdate(transferEvent(x, `t${i}`), x.tMs, 'h');
      // the index names the first transfer that differs
      expect([i, got]).toEqual([i, { kind: 'new', state: model.score(x) }]);
      if ((i + 1) % keysEvery === 0) await expectSameKeys(keys, model, o);
    }
    await expectSameKeys(keys, model, o);
    return late;
  }

  async function expectSameKeys(keys: Keys, model: VelocityModel, o: StreamOptions): Promise<void> {
    for (let a = 0; a < o.accounts; a++) {
      const id = `a${a}`;
      const m = model.inspectAccount(id);
      expect([id, 'out', await redis.hgetall(keys.accountOut(id))]).toEqual([id, 'out', m?.out?.fields() ?? {}]);
      // the `in` hash has no `last` (the script reads it there, but never writes it)
      expect([id, 'in', await redis.hgetall(keys.accountIn(id))]).toEqual([id, 'in', m?.in?.fields() ?? {}]);
      for (const [what, key, set] of [
        ['payees', keys.accountPayees(id), m?.payees],
        ['payers', keys.accountPayers(id), m?.payers],
        ['new payers', keys.accountNewPayers(id), m?.newPayers],
      ] as const) {
        expect([id, what, await zsetEntries(key)]).toEqual([id, what, set?.entries() ?? []]);
      }
      expect([id, 'devices', (await redis.hkeys(keys.accountDevices(id))).sort()]).toEqual([id, 'devices', [...(m?.devices ?? [])].sort()]);
      const times = m?.reports?.times.map((r): [string, number] => [r.caseId, r.atMs]) ?? [];
      expect([id, 'report times', await zsetEntries(keys.accountReportTimes(id))]).toEqual([id, 'report times', times]);
      for (const [payee, pair] of m?.pairs ?? []) {
        expect([id, payee, await redis.get(keys.pair(id, payee))]).toEqual([id, payee, `${pair.firstMs},${pair.count}`]);
      }
    }
    const pairs = [...Array(o.accounts).keys()].reduce((n, a) => n + (model.inspectAccount(`a${a}`)?.pairs?.size ?? 0), 0);
    expect((await redis.keys(`${keys.prefix}*:pair:*`)).length).toBe(pairs);
    for (let d = 0; d < o.devices; d++) {
      expect([`d${d}`, await zsetEntries(keys.devicePayers(`d${d}`))]).toEqual([`d${d}`, model.inspectDevice(`d${d}`)?.entries() ?? []]);
    }
  }

  async function zsetEntries(key: string): Promise<[string, number][]> {
    const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
    const out: [string, number][] = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
    return out;
  }

  it('agrees on a stream in time order with bursts, equal timestamps, bucket boundaries and long gaps', async () => {
    expect(await check({ seed: 1, length: 1500, startMs: Date.UTC(2026, 0, 1), accounts: 7, devices: 4, lateShare: 0 }, 10_000)).toBe(0);
  });

  it('agrees on a stream with late events, some older than every window', async () => {
    expect(await check({ seed: 2, length: 1500, startMs: Date.UTC(2026, 1, 1), accounts: 6, devices: 3, lateShare: 0.25 }, 10_000)).toBeGreaterThan(300);
  });

  it('agrees where the distinct sets reach their cap and are trimmed to the newest members', async () => {
    expect(await check({ seed: 3, length: 1500, startMs: Date.UTC(2026, 2, 1), accounts: 12, devices: 2, lateShare: 0.1 }, 3)).toBeGreaterThan(100);
  });

  it('agrees, key by key along the way, on a stream of many accounts (new pairs throughout) with late events', async () => {
    expect(await check({ seed: 4, length: 1500, startMs: Date.UTC(2026, 4, 1), accounts: 40, devices: 5, lateShare: 0.3 }, 4, 50)).toBeGreaterThan(300);
  });

  it('agrees where the report times reach their cap (the oldest dropped) with a short half-life', async () => {
    await check({ seed: 5, length: 1500, startMs: Date.UTC(2026, 5, 1), accounts: 3, devices: 2, lateShare: 0.2 }, 10_000, 100, 4, 5);
  });

  it('agrees on many seeds of short streams', async () => {
    for (let seed = 10; seed < 30; seed++) {
      await check({ seed, length: 150, startMs: Date.UTC(2026, 3, 1) + seed * 7_919, accounts: 4, devices: 2, lateShare: (seed % 4) * 0.1 }, 2 + (seed % 3));
    }
  });
});
