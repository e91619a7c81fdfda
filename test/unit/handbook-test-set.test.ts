import { describe, expect, it } from 'vitest';
import { handbookTestRows, knownCompromised, type FraudDay } from '../../src/replay/handbook-test-set.ts';

// the handbook's protocol from day 0: training days 0..6, delay period 7..13, test days 14..20
const TEST_DAYS = [14, 15, 16, 17, 18, 19, 20];
const W = { firstDay: 0, delayDays: 7 };
const sorted = (s: ReadonlySet<string> | undefined): string[] => [...(s ?? [])].sort();

describe('customers known compromised on a test day (the handbook test set)', () => {
  const frauds: FraudDay[] = [
    { payer: 'train', day: 3 }, // compromised in training: known on every test day
    { payer: 'lastTrainDay', day: 6 }, // label on day 13: known from day 14
    { payer: 'delayFirst', day: 7 }, // first day of the delay period: label on day 14, known from 15
    { payer: 'delay', day: 10 }, // within the delay: label on day 17, known from 18
    { payer: 'delayLast', day: 13 }, // label on day 20, known from 21: never in this test week
    { payer: 'afterTest', day: 15 }, // fraud on a test day, reported after the week: never known
    { payer: 'before', day: -2 }, // before the first training day: not looked at
    { payer: 'delay', day: 16 }, // a later fraud does not move the first one
  ];

  it('counts a fraud from the first training day on once its label, delay days later, has arrived before the test day', () => {
    const known = knownCompromised(frauds, W, TEST_DAYS);
    expect(sorted(known.get(14))).toEqual(['lastTrainDay', 'train']);
    expect(sorted(known.get(15))).toEqual(['delayFirst', 'lastTrainDay', 'train']);
    expect(sorted(known.get(17))).toEqual(['delayFirst', 'lastTrainDay', 'train']);
    expect(sorted(known.get(18))).toEqual(['delay', 'delayFirst', 'lastTrainDay', 'train']);
    expect(sorted(known.get(20))).toEqual(['delay', 'delayFirst', 'lastTrainDay', 'train']);
    for (const d of TEST_DAYS) {
      expect(known.get(d)!.has('afterTest')).toBe(false);
      expect(known.get(d)!.has('delayLast')).toBe(false);
      expect(known.get(d)!.has('before')).toBe(false);
    }
  });

  it('with no delay, knows a fraud from the day after it', () => {
    const known = knownCompromised([{ payer: 'x', day: 15 }], { firstDay: 0, delayDays: 0 }, [15, 16]);
    expect([known.get(15)!.has('x'), known.get(16)!.has('x')]).toEqual([false, true]);
  });

  it('refuses a delay that is not a non-negative integer', () => {
    expect(() => knownCompromised([], { firstDay: 0, delayDays: -1 }, [1])).toThrow('non-negative integer');
  });

  it("is the handbook's get_train_test_set: known = the training week's frauds, plus day start + 7 + k - 1 for test day start + 14 + k", () => {
    // random customers and frauds over days 0..20, the handbook's loop written out as it is
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const rows = Array.from({ length: 3_000 }, () => ({ payer: `c${Math.floor(rand() * 200)}`, day: Math.floor(rand() * 21), fraud: rand() < 0.03 }));
    const handbook = new Set(rows.filter((r) => r.fraud && r.day >= 0 && r.day < 7).map((r) => r.payer));
    const expected = new Map<number, string[]>();
    for (let k = 0; k < 7; k++) {
      for (const r of rows) if (r.fraud && r.day === 7 + k - 1) handbook.add(r.payer);
      expected.set(14 + k, [...handbook].sort());
    }
    const known = knownCompromised(rows.filter((r) => r.fraud), W, TEST_DAYS);
    for (const d of TEST_DAYS) expect([d, sorted(known.get(d))]).toEqual([d, expected.get(d)]);
    expect(expected.get(20)!.length).toBeGreaterThan(expected.get(14)!.length);
  });
});

describe('the rows of the handbook test set', () => {
  it("leaves out a row when its payer is known compromised on the row's day, and keeps the payer's rows of earlier days", () => {
    const known = knownCompromised([{ payer: 'a', day: 7 }, { payer: 'b', day: 2 }], W, TEST_DAYS);
    const payers = ['a', 'a', 'b', 'c', 'a'];
    const days = [14, 15, 14, 14, 20];
    expect(handbookTestRows(payers, days, known)).toEqual([true, false, false, true, false]);
  });
});
