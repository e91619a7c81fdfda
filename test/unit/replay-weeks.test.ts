import { describe, expect, it } from 'vitest';
import { consecutiveWindows, unweightedProbabilities, weightFrauds, windowProblems, type ReplayWindows } from '../../src/replay/replay-run.ts';
import { handbookTable, interventionTable, summaryTable, weekSummary } from '../../src/replay/replay-summary.ts';
import type { WeekOutcome } from '../../src/replay/replay-run.ts';
import { loadConfig } from '../../src/config.ts';
import { enginePolicy } from '../../src/scoring/decide.ts';
import { rulePerformance } from '../../src/rules/performance/rule-performance.ts';

const DAY = 86_400_000;
const d = (s: string): number => Date.parse(`${s}T00:00:00Z`);

describe('several test weeks', () => {
  const first: ReplayWindows = {
    fromMs: d('2018-05-30'),
    trainFromMs: d('2018-06-13'),
    trainToMs: d('2018-06-20'),
    testFromMs: d('2018-06-27'),
    testToMs: d('2018-07-04'),
    labelDelayDays: 7,
    validDays: 2,
  };

  it('moves train, gap and test on together, step days at a time', () => {
    const w = consecutiveWindows(first, 3, 7);
    expect(w.map((x) => [x.trainFromMs, x.testFromMs, x.testToMs].map((ms) => new Date(ms).toISOString().slice(0, 10)))).toEqual([
      ['2018-06-13', '2018-06-27', '2018-07-04'],
      ['2018-06-20', '2018-07-04', '2018-07-11'],
      ['2018-06-27', '2018-07-11', '2018-07-18'],
    ]);
    for (const x of w) {
      expect(windowProblems(x)).toEqual([]);
      expect(x.testFromMs - x.trainToMs).toBe(7 * DAY);
    }
  });
});

describe('class weighting of the replay trainer', () => {
  it('repeats each fraud row weight times, keeping the order', () => {
    expect(weightFrauds([0, 1, 0, 1], [0, 1, 2, 3], 3)).toEqual([0, 1, 1, 1, 2, 3, 3, 3]);
    expect(weightFrauds([0, 1, 0, 1], [3, 0], 2)).toEqual([3, 3, 0]);
    expect(weightFrauds([0, 1], [0, 1], 1)).toEqual([0, 1]);
    expect(() => weightFrauds([0], [0], 0.5)).toThrow('positive integer');
  });

  it('moves the scores back by ln(weight) in log-odds: the odds are divided by the weight', () => {
    // margin 0 (p = ½ under weight 4) → odds 1/4 → p = 0.2; margin ln 4 → p = ½
    const p = unweightedProbabilities(Float64Array.from([0, Math.log(4)]), 4);
    expect(p[0]).toBeCloseTo(0.2, 12);
    expect(p[1]).toBeCloseTo(0.5, 12);
  });
});

describe('the summary over weeks', () => {
  const rates = (warn: number, hold: number, block: number) => ({
    transfers: 100,
    counts: { allow: 0, warn: 0, cool_off: 0, block: 0 },
    warnRate: warn,
    holdRate: hold,
    blockRate: block,
    interventionRate: warn + hold + block,
  });
  const metrics = (ap: number) => ({
    rows: 100,
    frauds: 10,
    rocAuc: 0.9,
    averagePrecision: ap,
    cardPrecisionAt100: 0.5,
    cardPrecisionAt100ExcludingDetected: 0.4,
    recallAt1pct: 0.6,
    recallAt5pct: 0.8,
    fraudValueRecallAt1pct: 0.7,
    fraudValueRecallAt5pct: 0.9,
  });
  const week = (testFrom: string, ap: number, legitHold: number, handbookAp = 0.5): WeekOutcome => {
    const decisions = { legitimate: rates(0.01, legitHold, 0), fraud: rates(0.1, 0.3, 0.4), fraudValueInterventionRate: 0.9, fraudByScenario: {}, byAgeBand: { unavailable: 'x' }, ruleErrors: 0 };
    return {
      windows: { fromMs: 0, trainFromMs: 0, trainToMs: 0, testFromMs: d(testFrom), testToMs: d(testFrom) + 7 * DAY, labelDelayDays: 7, validDays: 2 },
      rows: { train: 1, trainFrauds: 1, trainLabelNotYetKnown: 0, test: 100, testFrauds: 10 },
      gbdt: { trees: 40, stopReason: 'early_stopping', metrics: { overall: metrics(ap), byScenario: {} } },
      logisticBaseline: { metrics: { overall: metrics(0.4), byScenario: {} } },
      decisions: { engine: decisions, rulesOnly: decisions },
      rulePerformance: rulePerformance([], [], enginePolicy(loadConfig({}).scoring)),
      handbookTestSet: {
        rows: 90,
        frauds: 6,
        leftOutRows: 10,
        leftOutFrauds: 4,
        gbdt: { overall: { ...metrics(handbookAp), rocAuc: 0.85, cardPrecisionAt100: 0.35, cardPrecisionAt100ExcludingDetected: 0.3 }, byScenario: {} },
        logisticBaseline: { overall: { ...metrics(0.2), rocAuc: 0.8, cardPrecisionAt100ExcludingDetected: 0.25 }, byScenario: {} },
      },
      trainSeconds: 1,
    };
  };

  it('has a line per week and their unweighted mean, and renders as a Markdown table', () => {
    const s = weekSummary([week('2018-07-04', 0.6, 0.1), week('2018-07-11', 0.7, 0.2)]);
    expect(s.weeks.map((l) => [l.testWeek, l.averagePrecision])).toEqual([
      ['2018-07-04..2018-07-10', 0.6],
      ['2018-07-11..2018-07-17', 0.7],
    ]);
    expect(s.mean.averagePrecision).toBeCloseTo(0.65, 12);
    expect(s.mean.legitimate.hold).toBeCloseTo(0.15, 12);
    const table = summaryTable(s).split('\n');
    expect(table).toHaveLength(5);
    expect(table[2]).toBe('| 2018-07-04..2018-07-10 | 10 | 40 | 0.900 | 0.600 | 0.500 (0.400) | 0.600 | 0.700 | 0.400 | 1.0% / 10.0% / 0.0% | 10.0% / 30.0% / 40.0% |');
    expect(table[4]).toContain('| mean | 10 | 40 | 0.900 | 0.650 |');
    const decisions = interventionTable(s).split('\n');
    expect(decisions[2]).toBe('| 2018-07-04..2018-07-10 | 1.00% | 10.00% | 0.00% | 11.00% | 80.0% | 90.0% |');
    expect(decisions[4]).toBe('| mean | 1.00% | 15.00% | 0.00% | 16.00% | 80.0% | 90.0% |');
  });

  it("has the handbook test set's figures per week and their mean, with card precision as the handbook computes it", () => {
    const s = weekSummary([week('2018-07-04', 0.6, 0.1, 0.5), week('2018-07-11', 0.7, 0.2, 0.4)]);
    expect(s.weeks[0]!.handbook).toEqual({
      testRows: 90,
      testFrauds: 6,
      leftOutRows: 10,
      leftOutFrauds: 4,
      rocAuc: 0.85,
      averagePrecision: 0.5,
      cardPrecisionAt100: 0.3,
      logisticRocAuc: 0.8,
      logisticAveragePrecision: 0.2,
      logisticCardPrecisionAt100: 0.25,
    });
    expect(s.mean.handbook.averagePrecision).toBeCloseTo(0.45, 12);
    const table = handbookTable(s).split('\n');
    expect(table).toHaveLength(5);
    expect(table[2]).toBe('| 2018-07-04..2018-07-10 | 90 (6) | 10 (4) | 0.850 | 0.500 | 0.300 | 0.800 | 0.200 | 0.250 |');
    expect(table[4]).toBe('| mean | 90 (6) | 10 (4) | 0.850 | 0.450 | 0.300 | 0.800 | 0.200 | 0.250 |');
  });
});
