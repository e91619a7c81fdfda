import { describe, expect, it } from 'vitest';
import { VelocityModel, type ModelTransfer } from '../../src/features/velocity-model.ts';
import { compareBytewise, RecentMembers, REPLY_SUM_MAX, WINDOW_GEOMETRY, WindowHash } from '../../src/features/velocity-windows.ts';
import { mulberry32 } from '../../src/sim/random.ts';
import { reference, type Tx } from '../helpers/velocity-contract.ts';

const T0 = Date.UTC(2026, 5, 1);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const tx = (tMs: number, amount = 1, payerId = 'p', payeeId = 'q', deviceId: string | null = null): ModelTransfer => ({ tMs, amount, payerId, payeeId, deviceId });

describe('velocity model: the window contract on streams in time order', () => {
  it('equals the windows, pairs, devices and distinct counts defined from the whole history', () => {
    for (const seed of [1, 2, 3]) {
      const rand = mulberry32(seed);
      const model = new VelocityModel(10_000);
      const history: Tx[] = [];
      let t = T0;
      for (let i = 0; i < 1200; i++) {
        const r = rand();
        t += r < 0.6 ? Math.floor(rand() * 120_000) : r < 0.95 ? Math.floor(rand() * 6 * HOUR) : Math.floor(rand() * 3 * DAY);
        const x: Tx = {
          t,
          payer: `p${Math.floor(rand() * 6)}`,
          payee: `p${Math.floor(rand() * 5) + 3}`,
          amount: Math.round(rand() * 1_000_000) / 100,
          ...(rand() < 0.7 ? { device: `d${Math.floor(rand() * 4)}` } : {}),
        };
        if (x.payer === x.payee) continue;
        expect([seed, i, model.score(tx(x.t, x.amount, x.payer, x.payee, x.device ?? null))]).toEqual([seed, i, reference(history, x)]);
        history.push(x);
      }
    }
  });
});

describe('velocity model: bucket boundaries and eviction', () => {
  it('counts a transfer up to the edge of its oldest live bucket and not one bucket later', () => {
    const b = WINDOW_GEOMETRY[0]!.bucketMs;
    const n = WINDOW_GEOMETRY[0]!.buckets;
    const m = new VelocityModel(10);
    m.score(tx(10 * b, 5));
    // the transfer's bucket is the oldest of the window n - 1 buckets later: counted, whatever the ms
    expect(m.score(tx((10 + n) * b - 1, 1)).payerOut.counts[0]).toBe(1);
    // n buckets later it has left the 1h window (and is still in the 24h one)
    expect(m.score(tx((10 + n) * b, 1)).payerOut).toEqual({ counts: [1, 2, 2, 2], sums: [1, 6, 6, 6] });
  });

  it('evicts every bucket of an account idle for longer than a window, however many there are', () => {
    const m = new VelocityModel(10);
    for (let i = 0; i < 50; i++) m.score(tx(T0 + i * MIN, 2));
    const after = m.score(tx(T0 + 8 * DAY, 1));
    expect(after.payerOut).toEqual({ counts: [0, 0, 0, 50], sums: [0, 0, 0, 100] });
    const h = m.inspectAccount('p')!.out!.fields();
    expect(Object.keys(h).filter((f) => f.startsWith('w1:') || f.startsWith('w2:'))).toEqual(['w1:' + Math.floor((T0 + 8 * DAY) / MIN), 'w2:' + Math.floor((T0 + 8 * DAY) / (15 * MIN))]);
  });

  it('keeps what the script stores: running totals, head and tail per window, one field per live bucket, last', () => {
    const w = new WindowHash();
    w.add(T0, 1500);
    w.recordLast(T0);
    w.add(T0 + 61 * MIN, 2500);
    w.recordLast(T0 + 61 * MIN);
    const b = (k: number, t: number): number => Math.floor(t / WINDOW_GEOMETRY[k]!.bucketMs);
    const t1 = T0 + 61 * MIN;
    expect(w.fields()).toEqual({
      m: [1, 2500, b(0, t1), b(0, t1) - 59, 2, 4000, b(1, t1), b(1, T0), 2, 4000, b(2, t1), b(2, T0), 2, 4000, b(3, t1), b(3, T0)].join(','),
      [`w1:${b(0, t1)}`]: '1,2500',
      [`w2:${b(1, T0)}`]: '1,1500',
      [`w2:${b(1, t1)}`]: '1,2500',
      [`w3:${b(2, T0)}`]: '1,1500',
      [`w3:${b(2, t1)}`]: '1,2500',
      [`w4:${b(3, T0)}`]: '2,4000',
      last: String(t1),
    });
  });

  it('writes sums beyond 2^63 with every digit and answers a sum beyond 2^53 as that maximum', () => {
    const w = new WindowHash();
    for (let i = 0; i < 10; i++) w.add(T0 + i, 1e18);
    expect(w.fields().m!.split(',').slice(0, 2)).toEqual(['10', '10000000000000000000']);
    expect(w.add(T0 + 10, 1).sums).toEqual([REPLY_SUM_MAX, REPLY_SUM_MAX, REPLY_SUM_MAX, REPLY_SUM_MAX]);
  });
});

describe('velocity model: late events', () => {
  it('reads a late event against the newest state and adds it to its bucket while that bucket is live', () => {
    const m = new VelocityModel(10);
    m.score(tx(T0 + 2 * HOUR, 10));
    // 90 minutes older than the newest: outside the newest 1h window, inside the 24h one
    const late = m.score(tx(T0 + 30 * MIN, 4));
    expect(late.payerOut).toEqual({ counts: [1, 1, 1, 1], sums: [10, 10, 10, 10] });
    expect(late.payerLastMs).toBe(T0 + 2 * HOUR);
    const next = m.score(tx(T0 + 2 * HOUR + MIN, 1));
    expect(next.payerOut).toEqual({ counts: [1, 2, 2, 2], sums: [10, 14, 14, 14] });
    // `last` did not move back
    expect(next.payerLastMs).toBe(T0 + 2 * HOUR);
  });

  it('moves the oldest live bucket back for a late event older than it, so eviction later takes it', () => {
    const m = new VelocityModel(10);
    m.score(tx(T0 + 40 * MIN, 10));
    m.score(tx(T0 + 5 * MIN, 3));
    expect(m.score(tx(T0 + 50 * MIN, 1)).payerOut.counts[0]).toBe(2);
    // an hour after the late one's bucket it is gone, while the first still counts
    expect(m.score(tx(T0 + 65 * MIN, 1)).payerOut).toEqual({ counts: [2, 3, 3, 3], sums: [11, 14, 14, 14] });
  });

  it('leaves a late event out of every window it is too old for, and still counts it as a pair payment and as the first', () => {
    const m = new VelocityModel(10);
    m.score(tx(T0 + 40 * DAY, 10));
    const late = m.score(tx(T0, 7));
    expect(late.pairCount).toBe(1);
    expect(late.pairFirstMs).toBe(T0 + 40 * DAY);
    const next = m.score(tx(T0 + 40 * DAY + MIN, 1));
    expect(next.payerOut).toEqual({ counts: [1, 1, 1, 1], sums: [10, 10, 10, 10] });
    expect([next.pairCount, next.pairFirstMs]).toEqual([2, T0]);
  });

  it('reads the payee outgoing sums as of the transfer, leaving out what is older than its window', () => {
    const m = new VelocityModel(10);
    m.score(tx(T0, 8, 'q', 'r'));
    m.score(tx(T0 + 30 * MIN, 2, 'q', 'r'));
    const s = m.score(tx(T0 + 70 * MIN, 1, 'p', 'q'));
    expect([s.payeeOutSum1h, s.payeeOutSum24h]).toEqual([2, 10]);
    // a payment into q older than q's newest outgoing one reads q's newest state
    const late = m.score(tx(T0 - 10 * MIN, 1, 'p', 'q'));
    expect([late.payeeOutSum1h, late.payeeOutSum24h]).toEqual([10, 10]);
  });
});

describe('velocity model: distinct sets, devices, reports', () => {
  it('counts distinct payers of the last 24h, new payers only once per pair, and devices new to a payer', () => {
    const m = new VelocityModel(10);
    m.score(tx(T0, 1, 'a', 'mule', 'd1'));
    m.score(tx(T0 + MIN, 1, 'b', 'mule', 'd1'));
    m.score(tx(T0 + 2 * MIN, 1, 'a', 'mule', 'd2'));
    const s = m.score(tx(T0 + 3 * MIN, 1, 'c', 'mule', 'd1'));
    expect([s.payeeDistinctPayers24h, s.payeeNewPayers24h, s.deviceNewForPayer, s.deviceDistinctPayers24h]).toEqual([2, 2, true, 2]);
    expect(m.score(tx(T0 + 4 * MIN, 1, 'a', 'mule', 'd1')).deviceNewForPayer).toBe(false);
    const later = m.score(tx(T0 + DAY + 2 * MIN + 1, 1, 'd', 'mule'));
    // a and b were last seen more than 24h before; c and a (at +4 min) were not
    expect([later.payeeDistinctPayers24h, later.payeeNewPayers24h, later.deviceDistinctPayers24h]).toEqual([2, 1, null]);
  });

  it('saturates at the cap and, when maintained, keeps the newest members, ties broken by member bytes', () => {
    const s = new RecentMembers();
    for (const member of ['b', 'a', 'c', 'd']) s.countThenAdd(member, T0, T0 - DAY, 10, false);
    expect(s.countThenAdd('e', T0 + 1, T0 + 1 - DAY, 2, false)).toBe(2);
    expect(s.size).toBe(5);
    expect(s.countThenAdd(null, T0 + 2, T0 + 2 - DAY, 2, true)).toBe(2);
    expect(s.entries()).toEqual([
      ['d', T0],
      ['e', T0 + 1],
    ]);
  });

  it('orders members as Redis does, by code point, also beyond U+FFFF', () => {
    expect(['\u{1F600}', '\uFFFD', 'b', 'a', 'ab'].sort(compareBytewise)).toEqual(['a', 'ab', 'b', '\uFFFD', '\u{1F600}']);
  });

  it('counts a report once per case, reporters distinct, and the latest report time', () => {
    const m = new VelocityModel(10);
    expect(m.applyReport({ caseId: 'c1', payeeId: 'q', reporterKey: 'victim:1', reportedAtMs: T0 + HOUR })).toBe(true);
    expect(m.applyReport({ caseId: 'c1', payeeId: 'q', reporterKey: 'bank:9', reportedAtMs: T0 + 2 * HOUR })).toBe(false);
    expect(m.applyReport({ caseId: 'c2', payeeId: 'q', reporterKey: 'victim:1', reportedAtMs: T0 })).toBe(true);
    const s = m.score(tx(T0 + 3 * HOUR));
    expect([s.payeeReportCount, s.payeeDistinctReporters, s.payeeLastReportMs]).toEqual([2, 1, T0 + HOUR]);
  });
});
