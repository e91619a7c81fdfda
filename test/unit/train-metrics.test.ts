import { describe, expect, test } from 'vitest';
import {
  alertCount,
  averagePrecision,
  evaluateScores,
  positivesInTop,
  precisionAtK,
  recallAtAlertRate,
  recallAtK,
  rocAuc,
} from '../../src/train/metrics.ts';

describe('rocAuc', () => {
  test('hand-computed cases', () => {
    // 3 of the 4 positive-negative pairs are ordered right
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.4, 0.3, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  test('a tied positive-negative pair counts one half', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // pairs (pos, neg): (0.9, 0.5) 1, (0.9, 0.1) 1, (0.5, 0.5) ½, (0.5, 0.1) 1 → 3.5 / 4
    expect(rocAuc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBe(0.875);
    // the order of rows within a tie does not matter
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
  });

  test('undefined without both classes; bad input throws', () => {
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(() => rocAuc([0.1], [1, 0])).toThrow('1 scores for 2 labels');
    expect(() => rocAuc([Number.NaN, 0.1], [1, 0])).toThrow('score 0 is NaN');
    expect(() => rocAuc([0.2, 0.1], [2, 0])).toThrow('label 0 is 2, expected 0 or 1');
  });
});

describe('averagePrecision', () => {
  test('hand-computed: Σ (Rₙ − Rₙ₋₁)·Pₙ', () => {
    // ranked 0.8(1) 0.4(0) 0.35(1) 0.1(0): ½·1 + ½·⅔
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 12);
    expect(averagePrecision([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
  });

  test('a tie group is one step', () => {
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // 0.9(1): ½·1; {0.5(1), 0.5(0)}: ½·⅔
    expect(averagePrecision([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0])).toBeCloseTo(5 / 6, 12);
    expect(averagePrecision([0.1, 0.2], [0, 0])).toBeNaN();
  });
});

describe('top-k metrics', () => {
  const scores = [0.9, 0.8, 0.7, 0.7, 0.1];
  const labels = [1, 0, 1, 0, 1];

  test('a tie group at the cut contributes its positives pro rata', () => {
    expect(positivesInTop(scores, labels, 2)).toBe(1);
    // third place falls in {0.7 (1), 0.7 (0)}: half a positive
    expect(positivesInTop(scores, labels, 3)).toBe(1.5);
    expect(positivesInTop(scores, labels, 4)).toBe(2);
    expect(recallAtK(scores, labels, 3)).toBe(0.5);
    expect(precisionAtK(scores, labels, 3)).toBe(0.5);
    expect(precisionAtK(scores, labels, 0)).toBeNaN();
    expect(() => positivesInTop(scores, labels, 6)).toThrow('k must be an integer in 0..5, got 6');
  });

  test('alert rate: ceil(rate × n) rows', () => {
    expect(alertCount(1_000, 0.01)).toBe(10);
    expect(alertCount(150, 0.01)).toBe(2);
    expect(alertCount(100, 0.01)).toBe(1);
    expect(alertCount(10, 0)).toBe(0);
    expect(() => alertCount(10, 1.5)).toThrow('alert rate must be in [0, 1], got 1.5');
    // 200 rows, scores falling with the index, positives at ranks 1 and 5: the top 1 % (2 rows) catches one
    const s = Array.from({ length: 200 }, (_, i) => 1 - i / 200);
    const y = s.map((_, i) => (i === 1 || i === 5 ? 1 : 0));
    expect(recallAtAlertRate(s, y, 0.01)).toBe(0.5);
    expect(evaluateScores(s, y)).toEqual({
      // the positive at rank 1 is above 197 of the 198 negatives, the one at rank 5 above 194
      rocAuc: (197 + 194) / (2 * 198),
      averagePrecision: (1 / 2) * (1 / 2) + (1 / 2) * (2 / 6),
      recallAt1pct: 0.5,
      precisionAt1pct: 0.5,
      rows: 200,
      positives: 2,
    });
  });
});
