import { describe, expect, it } from 'vitest';
import { evaluateSegments, tuneWarnThresholds, type ScoredTransfer } from '../../src/train/segment-fairness.ts';

const T = { warn: 30, coolOff: 60, block: 95 };
const rows = (band: ScoredTransfer['band'], fraud: boolean, scores: number[]): ScoredTransfer[] => scores.map((riskScore) => ({ riskScore, fraud, band }));

describe('evaluateSegments', () => {
  it('counts warn and hold rates on legitimate transfers, detection, and the elderly / others FPR ratio', () => {
    const data = [
      ...rows('elderly', false, [10, 35, 65, 20]), // warn 2/4, hold 1/4
      ...rows('elderly', true, [40, 25]), // caught 1/2
      ...rows('adult', false, [31, 5, 5, 5, 5, 5, 5, 5]), // warn 1/8
      ...rows(null, true, [90]),
    ];
    const out = evaluateSegments(data, () => T);
    expect(out.byBand.elderly).toEqual({ transfers: 6, legitimate: 4, scams: 2, warnRateLegit: 0.5, holdRateLegit: 0.25, detectionRate: 0.5 });
    expect(out.byBand.adult.warnRateLegit).toBe(0.125);
    expect(out.byBand.unknown.detectionRate).toBe(1);
    expect(out.fprRatioElderly).toBe(4);
    expect(out.alertRate).toBeCloseTo(5 / 15);
    expect(out.detectionRate).toBeCloseTo(2 / 3);
  });
});

describe('tuneWarnThresholds', () => {
  it('finds thresholds that equalise false positives and catch more elderly scams at no more alerts', () => {
    // elderly legitimate transfers score like everyone else's; elderly scams score just under
    // the general threshold, where a segment-blind policy misses them
    const legit = Array.from({ length: 100 }, (_, i) => i % 50);
    const data = [
      ...rows('elderly', false, legit),
      ...rows('adult', false, legit),
      ...rows('elderly', true, [26, 27, 28, 29, 45]),
      ...rows('adult', true, [45, 46, 20]),
    ];
    const blind = evaluateSegments(data, () => T);
    const tuned = tuneWarnThresholds(data, T, blind.alertRate);
    expect(tuned).not.toBeNull();
    expect(tuned!.outcome.alertRate).toBeLessThanOrEqual(blind.alertRate);
    expect(tuned!.outcome.fprRatioElderly).toBeGreaterThanOrEqual(0.8);
    expect(tuned!.outcome.fprRatioElderly).toBeLessThanOrEqual(1.25);
    expect(tuned!.outcome.byBand.elderly.detectionRate).toBeGreaterThan(blind.byBand.elderly.detectionRate);
    expect(tuned!.elderlyWarn).toBeLessThan(30);
  });

  it('is null when no pair of thresholds meets the bounds', () => {
    const data = [...rows('elderly', false, [50]), ...rows('adult', false, [10])];
    expect(tuneWarnThresholds(data, T, 0)).toBeNull();
  });
});
