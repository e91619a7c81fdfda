import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WINDOWS } from '../../src/features/catalogue.ts';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import type { VelocityState } from '../../src/features/velocity-state.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import { toStoredAmount } from '../../src/features/velocity-state.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { mulberry32 } from '../../bench/transfer-gen.ts';
import { redisUrl } from '../helpers/redis.ts';
import { reference, type Tx } from '../helpers/velocity-contract.ts';

/** The score-features script against the contract of its windows (test/helpers/velocity-contract.ts). */

function event(x: Tx, id: string): TransferEvent {
  return {
    transferId: id,
    occurredAt: new Date(x.t).toISOString(),
    amount: x.amount,
    currency: 'CNY',
    payer: { accountId: x.payer, ...(x.device === undefined ? {} : { deviceId: x.device }) },
    payee: { accountId: x.payee },
  };
}

describe('score-features script', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  const store = (prefix: string, distinctCap = 10_000) =>
    new FeatureStore(
      redis,
      makeKeys(prefix),
      { idempotencyTtlSeconds: 3600, pairTtlDays: 400, distinctCap, decisionStreamMaxLen: 1000 },
      (err) => {
        throw err;
      },
    );

  it('matches the reference windows on a random ordered stream over 40 days', async () => {
    const rand = mulberry32(7);
    const s = store(`test-${randomUUID()}:`);
    const start = Date.UTC(2026, 0, 1);
    let t = start;
    const history: Tx[] = [];
    for (let i = 0; i < 1500; i++) {
      // bursts of seconds apart mixed with gaps of hours and days
      const r = rand();
      t += r < 0.6 ? Math.floor(rand() * 120_000) : r < 0.95 ? Math.floor(rand() * 6 * 3_600_000) : Math.floor(rand() * 3 * 86_400_000);
      const x: Tx = {
        t,
        payer: `p${Math.floor(rand() * 6)}`,
        payee: `q${Math.floor(rand() * 5)}`,
        amount: Math.round(rand() * 1_000_000) / 100,
        ...(rand() < 0.7 ? { device: `d${Math.floor(rand() * 4)}` } : {}),
      };
      const got = await s.claimAndUpdate(event(x, `t${i}`), x.t, 'h');
      expect(got).toEqual({ kind: 'new', state: reference(history, x) });
      history.push(x);
    }
    expect(t - start).toBeGreaterThan(40 * 86_400_000);
  });

  it('returns the claim for a transferId seen before, with the state it answered, and changes nothing', async () => {
    const s = store(`test-${randomUUID()}:`);
    const x: Tx = { t: Date.UTC(2026, 5, 1), payer: 'a', payee: 'b', amount: 10 };
    const claimedAt = x.t + 42;
    const first = await s.claimAndUpdate(event(x, 'dup'), x.t, 'hash-1', claimedAt);
    if (first.kind !== 'new') throw new Error('not claimed');
    expect(await s.claimAndUpdate(event(x, 'dup'), x.t, 'hash-1')).toEqual({ kind: 'duplicate', eventHash: 'hash-1', decision: null, claimedAtMs: claimedAt, state: first.state });
    expect(await s.recordDecision('dup', '{"action":"allow"}', { event: '{}', features: '[]', catalogue: 'c' })).toEqual({ kind: 'recorded' });
    expect(await s.storedDecision('dup')).toBe('{"action":"allow"}');
    expect(await s.claimAndUpdate(event(x, 'dup'), x.t, 'hash-2')).toEqual({
      kind: 'duplicate',
      eventHash: 'hash-1',
      decision: '{"action":"allow"}',
      claimedAtMs: claimedAt,
      state: first.state,
    });
    // a second record of the transfer keeps the first decision and answers it
    expect(await s.recordDecision('dup', '{"action":"block"}', { event: '{}', features: '[]', catalogue: 'c' })).toEqual({
      kind: 'existing',
      decision: '{"action":"allow"}',
    });
    expect(await s.storedDecision('dup')).toBe('{"action":"allow"}');
    // the duplicate did not count: the next transfer sees exactly one earlier transfer
    const next = await s.claimAndUpdate(event({ ...x, t: x.t + 1000 }, 'next'), x.t + 1000, 'h');
    expect(next.kind === 'new' && next.state.payerOut.counts).toEqual([1, 1, 1, 1]);
  });

  it('reads a claim written by an earlier version (the bare event hash) as one without a stored state', async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    const x: Tx = { t: Date.UTC(2026, 5, 1), payer: 'old-a', payee: 'old-b', amount: 10 };
    await redis.set(makeKeys(prefix).tx('old-claim'), 'hash-1', 'PX', 60_000);
    expect(await s.claimAndUpdate(event(x, 'old-claim'), x.t, 'hash-1')).toEqual({ kind: 'duplicate', eventHash: 'hash-1', decision: null, claimedAtMs: null, state: null });
  });

  it("reads the split score's pending claim (issue 15) as one with a time and no state, and changes nothing", async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    const x: Tx = { t: Date.UTC(2026, 5, 1), payer: 'pend-a', payee: 'pend-b', amount: 10 };
    await redis.set(makeKeys(prefix).tx('pending-claim'), 'hash-1|1800000000123|pending', 'PX', 60_000);
    expect(await s.claimAndUpdate(event(x, 'pending-claim'), x.t, 'hash-1')).toEqual({
      kind: 'duplicate',
      eventHash: 'hash-1',
      decision: null,
      claimedAtMs: 1_800_000_000_123,
      state: null,
    });
    // nothing but the claim exists
    expect(await redis.keys(`${prefix}*`)).toEqual([makeKeys(prefix).tx('pending-claim')]);
  });

  it("keeps the guardian limits' currency in a duplicate's state (the claim stores it)", async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    await redis.hset(makeKeys(prefix).accountGuardian('minor'), 'tz', 'UTC', 'currency', 'CNY', 'daily', toStoredAmount(100));
    const t = Date.UTC(2026, 5, 1);
    for (const [id, currency] of [
      ['in-cny', 'CNY'],
      ['in-usd', 'USD'],
    ] as const) {
      const e = { ...event({ t, payer: 'minor', payee: 'shop', amount: 10 }, id), currency };
      const first = await s.claimAndUpdate(e, t, 'h');
      if (first.kind !== 'new') throw new Error('not claimed');
      expect(first.state.guardian?.currency).toBe('CNY');
      const dup = await s.claimAndUpdate(e, t, 'h');
      expect(dup.kind === 'duplicate' && dup.state?.guardian).toEqual(first.state.guardian);
    }
  });

  it('caps distinct-account sets and saturates the feature at the cap', async () => {
    const s = store(`test-${randomUUID()}:`, 10);
    const t0 = Date.UTC(2026, 5, 1);
    let last: VelocityState | null = null;
    for (let i = 0; i < 15; i++) {
      const r = await s.claimAndUpdate(event({ t: t0 + i * 1000, payer: `m${i}`, payee: 'mule', amount: 5 }, `c${i}`), t0 + i * 1000, 'h');
      if (r.kind === 'new') last = r.state;
    }
    expect(last?.payeeDistinctPayers24h).toBe(10);
    expect(last?.payeeNewPayers24h).toBe(10);
    expect(last?.payeeIn.counts).toEqual([14, 14, 14, 14]);
  });

  it('folds window state of the earlier hash layout in exactly, also while that version still writes beside it', async () => {
    // the script as it was before the packed layout (one field per count, sum, head and tail)
    const v1 = readFileSync(new URL('../fixtures/score-features-before-packing.lua', import.meta.url), 'utf8');
    const prefix = `test-${randomUUID()}:`;
    const k = makeKeys(prefix);
    const s = store(prefix);
    const scoreV1 = async (x: Tx, id: string): Promise<void> => {
      const windows = WINDOWS.flatMap((w, i) => {
        const bucket = String(Math.floor(x.t / (w.bucketSeconds * 1000)));
        return [String(w.seconds / w.bucketSeconds), bucket, `w${i + 1}:${bucket}c`, `w${i + 1}:${bucket}s`];
      });
      const device = x.device ?? '';
      const reply = (await redis.eval(
        v1, 13,
        k.tx(id), k.txDecision(id), k.accountOut(x.payer), k.accountPayees(x.payer), k.pair(x.payer, x.payee),
        k.accountDevices(x.payer), device === '' ? k.accountDevices(x.payer) : k.devicePayers(device),
        k.accountIn(x.payee), k.accountOut(x.payee), k.accountPayers(x.payee), k.accountNewPayers(x.payee),
        k.accountReports(x.payee), k.accountGuardian(x.payer),
        x.t, toStoredAmount(x.amount), 'h', x.payer, x.payee, device, 3_600_000, 400 * 86_400_000, 10_000,
        (30 * 86_400 + 2 * 21_600) * 1000, x.t - 86_400_000, ...windows, '', '', 'CNY',
      )) as number[];
      expect(reply[0]).toBe(0);
    };
    const rand = mulberry32(11);
    let t = Date.UTC(2026, 2, 1);
    const history: Tx[] = [];
    let checked = 0;
    for (let i = 0; i < 900; i++) {
      const r = rand();
      t += r < 0.6 ? Math.floor(rand() * 120_000) : r < 0.95 ? Math.floor(rand() * 6 * 3_600_000) : Math.floor(rand() * 2 * 86_400_000);
      // payees also pay, so the payee-out windows are folded by the read too
      const x: Tx = {
        t,
        payer: `p${Math.floor(rand() * 4)}`,
        payee: `p${Math.floor(rand() * 4) + 2}`,
        amount: Math.round(rand() * 1_000_000) / 100,
        ...(rand() < 0.7 ? { device: `d${Math.floor(rand() * 3)}` } : {}),
      };
      if (x.payee === x.payer) continue;
      // the earlier version alone, then both side by side (a rolling deploy), then this one
      const old = i < 250 || (i < 600 && rand() < 0.5);
      if (old) {
        await scoreV1(x, `t${i}`);
      } else {
        const got = await s.claimAndUpdate(event(x, `t${i}`), x.t, 'h');
        expect(got).toEqual({ kind: 'new', state: reference(history, x) });
        checked++;
      }
      history.push(x);
    }
    expect(checked).toBeGreaterThan(400);
    // nothing of the earlier layout is left
    for (const id of ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']) {
      for (const key of [k.accountOut(id), k.accountIn(id)]) {
        expect(Object.keys(await redis.hgetall(key)).filter((f) => /^w\d[csht]$|^w\d:\d+[cs]$/.test(f))).toEqual([]);
      }
    }
  });

  it('gives a TTL to a distinct set that a late event creates', async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    const k = makeKeys(prefix);
    const t = Date.now();
    await s.claimAndUpdate(event({ t, payer: 'late-p', payee: 'late-q', amount: 1 }, 'late-1'), t, 'h');
    // the 24h sets expire (25 h without a newer transfer) while the window hashes live on
    await redis.del(k.accountPayees('late-p'), k.accountPayers('late-q'));
    // an event an hour older than the newest: its 24h bucket is not new, so no maintenance runs
    await s.claimAndUpdate(event({ t: t - 3_600_000, payer: 'late-p', payee: 'late-q', amount: 1 }, 'late-2'), t - 3_600_000, 'h');
    for (const key of [k.accountPayees('late-p'), k.accountPayers('late-q')]) {
      expect(await redis.exists(key)).toBe(1);
      expect(await redis.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('stores sums beyond 2^63 thousandths without wrapping, and reads a sum beyond 2^53 as that maximum', async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    const t = Date.UTC(2026, 5, 1);
    // 1e15 major units is past the API's limit per transfer; the store itself does not check it
    for (let i = 0; i < 10; i++) await s.claimAndUpdate(event({ t: t + i, payer: 'big-p', payee: 'big-q', amount: 1e15 }, `big-${i}`), t + i, 'h');
    const m = await redis.hget(makeKeys(prefix).accountOut('big-p'), 'm');
    // running count and sum of the 1h window: 10 transfers, 1e19 thousandths (> 2^63)
    expect(m?.split(',').slice(0, 2)).toEqual(['10', '10000000000000000000']);
    const next = await s.claimAndUpdate(event({ t: t + 10, payer: 'big-p', payee: 'big-q', amount: 1 }, 'big-10'), t + 10, 'h');
    expect(next.kind === 'new' && next.state.payerOut.sums[0]).toBe(9_007_199_254_740.991);
  });

  it('sets a TTL on every key it writes', async () => {
    const prefix = `test-${randomUUID()}:`;
    const s = store(prefix);
    const t = Date.now();
    await s.claimAndUpdate(event({ t, payer: 'ttl-p', payee: 'ttl-q', amount: 1, device: 'ttl-d' }, 'ttl-t'), t, 'h');
    const keys = await redis.keys(`${prefix}*`);
    // tx claim, payer out/payees/devices, pair, device payers, payee in/payers/newpayers, and
    // the pair in the payee's slot (issue 15 release A's dual write)
    expect(keys.length).toBe(10);
    expect(keys).toContain(makeKeys(prefix).pairIn('ttl-q', 'ttl-p'));
    const withoutTtl = [];
    for (const k of keys) if ((await redis.pttl(k)) <= 0) withoutTtl.push(k);
    expect(withoutTtl).toEqual([]);
  });
});
