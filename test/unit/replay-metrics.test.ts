import { describe, expect, it } from 'vitest';
import { cardPrecisionAtK, detectionReport, fraudValueRecallAtAlertRate } from '../../src/replay/replay-metrics.ts';

describe('card precision@k per day', () => {
  // day 0: per payer max score / any fraud: A .9 (fraud on its low-scored row), B .8 legit, C .7 fraud, D .2 legit
  // day 1: A .95 fraud, B .3 legit, C .6 fraud
  const scores = [0.9, 0.1, 0.8, 0.7, 0.2, 0.95, 0.3, 0.6];
  const labels = [0, 1, 0, 1, 0, 1, 0, 1];
  const payers = ['A', 'A', 'B', 'C', 'D', 'A', 'B', 'C'];
  const days = [0, 0, 0, 0, 0, 1, 1, 1];

  it('takes the k highest-scored distinct payers of each day and averages over days', () => {
    // day 0: top 2 = A (hit), B (miss) → 1/2; day 1: top 2 = A, C (both hits) → 2/2; mean 0.75
    expect(cardPrecisionAtK(scores, labels, payers, days, 2)).toBe(0.75);
  });

  it('leaves out payers found compromised on an earlier day, as the handbook does', () => {
    // A was a hit in day 0's top 2; day 1 ranks C (hit), B (miss) → 1/2; mean (0.5 + 0.5) / 2
    expect(cardPrecisionAtK(scores, labels, payers, days, 2, true)).toBe(0.5);
  });

  it('uses the payers there are on a day with fewer than k', () => {
    // day 0: 2 hits of 4 payers; day 1: 2 of 3
    expect(cardPrecisionAtK(scores, labels, payers, days, 100)).toBeCloseTo((2 / 4 + 2 / 3) / 2, 12);
  });

  it('splits a tie at the cut pro rata', () => {
    // one day, X and Y tied at the cut for one place, only X has fraud → ½
    expect(cardPrecisionAtK([0.5, 0.5], [1, 0], ['X', 'Y'], [3, 3], 1)).toBe(0.5);
  });
});

describe('recall of fraud value at an alert rate', () => {
  // 10 rows; frauds: row 0 (100, score .9), row 2 (300, score .7), row 5 (600, score .4); total 1000
  const scores = [0.9, 0.8, 0.7, 0.65, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
  const labels = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0];
  const amounts = [100, 5000, 300, 10, 10, 600, 10, 10, 10, 10];

  it('is the fraud amount among the top k rows over all fraud amount', () => {
    expect(fraudValueRecallAtAlertRate(scores, labels, amounts, 0.2)).toBe(0.1); // rows 0, 1
    expect(fraudValueRecallAtAlertRate(scores, labels, amounts, 0.3)).toBe(0.4); // rows 0, 1, 2
    expect(fraudValueRecallAtAlertRate(scores, labels, amounts, 1)).toBe(1);
  });

  it('splits a tie group at the cut pro rata', () => {
    const tied = [0.9, 0.8, 0.8, 0.65, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    // k = 2: row 0 (100) + half of the {1, 2} tie group's 300
    expect(fraudValueRecallAtAlertRate(tied, labels, amounts, 0.2)).toBe(0.25);
  });

  it('is NaN without fraud', () => {
    expect(fraudValueRecallAtAlertRate([0.1, 0.2], [0, 0], [1, 2], 0.5)).toBeNaN();
  });
});

describe('detection report per scenario', () => {
  it('ranks each scenario against the legitimate rows only', () => {
    // legit .1 .2 .3 .4; scenario 1 frauds at .9 and .8 (perfectly ranked); scenario 2 at .25 (beats 2 of 4 legit)
    const r = detectionReport({
      scores: [0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.25],
      labels: [0, 0, 0, 0, 1, 1, 1],
      amounts: [1, 1, 1, 1, 10, 20, 40],
      payers: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      days: [0, 0, 0, 0, 0, 0, 0],
      scenarios: ['0', '0', '0', '0', '1', '1', '2'],
    });
    expect(Object.keys(r.byScenario)).toEqual(['1', '2']);
    expect(r.byScenario['1']!.rocAuc).toBe(1);
    expect(r.byScenario['1']!.frauds).toBe(2);
    expect(r.byScenario['1']!.rows).toBe(6);
    expect(r.byScenario['2']!.rocAuc).toBe(0.5);
    // overall: 3 frauds × 4 legit = 12 pairs, the .25 fraud loses 2 → 10/12
    expect(r.overall.rocAuc).toBeCloseTo(10 / 12, 12);
    // top 1 % of 7 rows = 1 row (.9, amount 10 of 70)
    expect(r.overall.recallAt1pct).toBeCloseTo(1 / 3, 12);
    expect(r.overall.fraudValueRecallAt1pct).toBeCloseTo(10 / 70, 12);
    // one day, 7 payers, 3 with fraud
    expect(r.overall.cardPrecisionAt100).toBeCloseTo(3 / 7, 12);
  });
});
