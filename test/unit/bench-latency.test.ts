import { describe, expect, it } from 'vitest';
import { occurredAtTooOld } from '../../src/features/transfer-event.ts';
import { simulate } from '../../src/sim/index.ts';
import { ActionTally, ArrivalSchedule, parseLoadShares, percentile, stageRates, summarizeLatencies } from '../../bench/latency-core.ts';
import { arraySource, collect, latencyMixFromEnv, simPlan, simTraffic } from '../../bench/latency-traffic.ts';

/** The pure parts of `npm run bench:latency` (issue 15): no timing here, only the arithmetic and the traffic. */

const DAY_MS = 86_400_000;

describe('latency percentiles', () => {
  const oneToThousand = Float64Array.from({ length: 1000 }, (_, i) => i + 1);

  it('are nearest-rank: the smallest value with at least p % at or below it', () => {
    expect(percentile(oneToThousand, 50)).toBe(500);
    expect(percentile(oneToThousand, 99)).toBe(990);
    expect(percentile(oneToThousand, 99.9)).toBe(999);
    expect(percentile(oneToThousand, 100)).toBe(1000);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 50.1)).toBe(2);
  });

  it('are NaN for no values and refuse a p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(/percentile/);
    expect(() => percentile([1], 101)).toThrow(/percentile/);
  });

  it('summarise unsorted latencies without changing them', () => {
    const values = [5, 1, 4, 2, 3];
    const s = summarizeLatencies(values);
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(s).toEqual({ count: 5, p50: 3, p99: 5, p999: 5, max: 5, mean: 3 });
    // one slow request in a thousand is the p99.9, not the p99
    const tail = summarizeLatencies([...Array.from({ length: 999 }, () => 1), 250]);
    expect([tail.p99, tail.p999, tail.max]).toEqual([1, 1, 250]);
    const tail2 = summarizeLatencies([...Array.from({ length: 998 }, () => 1), 250, 250]);
    expect([tail2.p99, tail2.p999]).toEqual([1, 250]);
  });
});

describe('the open-loop arrival schedule', () => {
  it('puts request i at i / rate seconds, floor(rate * seconds) requests in a stage', () => {
    const s = new ArrivalSchedule(1000, 2);
    expect(s.total).toBe(2000);
    expect(s.dueAt(0)).toBe(0);
    expect(s.dueAt(500)).toBe(500);
    expect(new ArrivalSchedule(3, 1).dueAt(1)).toBeCloseTo(333.333, 3);
    expect(new ArrivalSchedule(2.5, 3).total).toBe(7);
  });

  it('counts the requests due by a time, never more than the stage holds', () => {
    const s = new ArrivalSchedule(1000, 2);
    expect(s.dueBy(-1)).toBe(0);
    expect(s.dueBy(0)).toBe(1);
    expect(s.dueBy(0.999)).toBe(1);
    expect(s.dueBy(1)).toBe(2);
    expect(s.dueBy(10.5)).toBe(11);
    expect(s.dueBy(1e9)).toBe(2000);
    // every request is due by the time the schedule says
    for (const i of [0, 1, 7, 999, 1999]) expect(s.dueBy(s.dueAt(i))).toBeGreaterThan(i);
  });

  it('refuses a rate or a length that is not positive', () => {
    expect(() => new ArrivalSchedule(0, 1)).toThrow(/rate/);
    expect(() => new ArrivalSchedule(Number.NaN, 1)).toThrow(/rate/);
    expect(() => new ArrivalSchedule(10, 0)).toThrow(/seconds/);
  });
});

describe('the stages', () => {
  it('run at shares of the measured maximum', () => {
    expect(stageRates(1234, [0.25, 0.5, 0.75])).toEqual([309, 617, 926]);
    expect(stageRates(2, [0.1])).toEqual([1]);
    expect(() => stageRates(0, [0.5])).toThrow(/maximum/);
  });

  it('are 25 %, 50 % and 75 % unless BENCH_LOADS says otherwise, and a bad share is refused', () => {
    expect(parseLoadShares(undefined)).toEqual([0.25, 0.5, 0.75]);
    expect(parseLoadShares(' 0.5 , 0.9')).toEqual([0.5, 0.9]);
    for (const bad of ['0', 'half', '0.5,2', '0.5,,0.6']) expect(() => parseLoadShares(bad)).toThrow(/BENCH_LOADS/);
  });
});

describe('the action tally', () => {
  it('gives each action its share of a label and of all events', () => {
    const t = new ActionTally();
    for (let i = 0; i < 8; i++) t.add('allow', 'legit');
    t.add('warn', 'legit');
    t.add('cool_off', 'legit');
    t.add('block', 'scam');
    t.add('allow', 'scam');
    expect(t.shares('legit')).toEqual({ allow: 0.8, warn: 0.1, cool_off: 0.1, block: 0 });
    expect(t.shares('scam')).toEqual({ allow: 0.5, warn: 0, cool_off: 0, block: 0.5 });
    expect(t.total()).toBe(12);
    expect(t.shares().allow).toBeCloseTo(9 / 12, 12);
    expect(t.shares('unlabelled')).toEqual({ allow: 0, warn: 0, cool_off: 0, block: 0 });
    const merged = new ActionTally();
    merged.add('warn', 'legit');
    merged.merge(t);
    expect(merged.total('legit')).toBe(11);
    expect(merged.toJSON().legit).toEqual({ events: 11, shares: { allow: 8 / 11, warn: 2 / 11, cool_off: 1 / 11, block: 0 } });
    expect(() => t.add('hold', 'legit')).toThrow(/unknown action/);
  });
});

describe('the traffic', () => {
  it('is the simulator unless BENCH_MIX picks a generated mix', () => {
    expect(latencyMixFromEnv({})).toBe('sim');
    expect(latencyMixFromEnv({ BENCH_MIX: 'retail' })).toBe('retail');
    expect(() => latencyMixFromEnv({ BENCH_MIX: 'real' })).toThrow(/BENCH_MIX must be sim, retail, hot/);
  });

  it('puts the simulated days just before today, within the engine age bound', () => {
    const now = Date.parse('2026-12-06T02:50:00Z');
    expect(simPlan(now, 7, 7)).toEqual({ start: '2026-11-22', days: 14, boundaryMs: Date.parse('2026-11-29T00:00:00Z'), endMs: Date.parse('2026-12-06T00:00:00Z') });
    expect(simPlan(now, 20, 9).start).toBe('2026-11-07');
    expect(() => simPlan(now, 20, 10)).toThrow(/MAX_EVENT_AGE_DAYS/);
    expect(() => simPlan(now, 0, 7)).toThrow(/BENCH_WARM_DAYS/);
    expect(() => simPlan(now, 7, 1.5)).toThrow(/BENCH_RUN_DAYS/);
  });

  it('splits the simulated stream into the warm-up history and the timed run, nothing lost, scams labelled', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const plan = simPlan(now, 2, 2);
    const o = { payers: 300, seed: 3, fraudRate: 0.05 };
    const { warm, run } = simTraffic(plan, o);
    const history = collect(warm, Infinity);
    expect(warm.next()).toBeUndefined();
    const timed = collect(run, Infinity);
    const all = [...simulate({ ...o, days: plan.days, start: plan.start })];
    expect(history.length).toBeGreaterThan(0);
    expect(timed.length).toBeGreaterThan(0);
    expect(history.length + timed.length).toBe(all.length);
    expect([...history, ...timed].map((e) => e.transferId)).toEqual(all.map((r) => r.event.transferId));
    const at = (e: { body: string }) => Date.parse((JSON.parse(e.body) as { occurredAt: string }).occurredAt);
    for (const e of history) expect(at(e)).toBeLessThan(plan.boundaryMs);
    for (const e of timed) {
      expect(at(e)).toBeGreaterThanOrEqual(plan.boundaryMs);
      expect(at(e)).toBeLessThan(plan.endMs);
    }
    // the scoring route would accept every event (not too old, not in the future)
    for (const e of [...history, ...timed]) expect(occurredAtTooOld((JSON.parse(e.body) as { occurredAt: string }).occurredAt, now, 30)).toBeNull();
    expect(Math.max(...[...history, ...timed].map(at))).toBeLessThanOrEqual(now);
    const scams = [...history, ...timed].filter((e) => e.label === 'scam').length;
    expect(scams).toBe(all.filter((r) => r.label.fraud).length);
    expect(scams).toBeGreaterThan(0);
    expect([...history, ...timed].every((e) => e.label === 'scam' || e.label === 'legit')).toBe(true);
  });

  it('read for the timed run first, skips the history', () => {
    const plan = simPlan(Date.parse('2026-12-06T12:00:00Z'), 1, 1);
    const { run } = simTraffic(plan, { payers: 100, seed: 1, fraudRate: 0 });
    const first = run.next()!;
    expect(Date.parse((JSON.parse(first.body) as { occurredAt: string }).occurredAt)).toBeGreaterThanOrEqual(plan.boundaryMs);
  });

  it('made up front, ends or goes round again', () => {
    const events = ['a', 'b'].map((id) => ({ transferId: id, body: '{}', label: 'legit' as const }));
    const once = arraySource(events);
    expect([once.next()?.transferId, once.next()?.transferId, once.next()]).toEqual(['a', 'b', undefined]);
    const round = arraySource(events, true);
    expect([1, 2, 3].map(() => round.next()?.transferId)).toEqual(['a', 'b', 'a']);
    expect(arraySource([], true).next()).toBeUndefined();
  });
});
