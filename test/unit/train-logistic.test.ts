import { expect, test } from 'vitest';
import { datasetFromRows } from '../../src/train/dataset.ts';
import { logisticMargin, logisticProbabilities, trainLogistic } from '../../src/train/logistic.ts';
import { linearData } from './train-fixtures.ts';

test('recovers known weights, including a missing-value indicator, on standardised inputs', () => {
  const d = linearData(30_000, 1);
  const m = trainLogistic(d, { l2: 0 });
  expect(m.converged).toBe(true);
  // weights per unit of the original feature: coef / scale
  expect(Math.abs(m.coef[0]! / m.scales[0]! - 1.5)).toBeLessThan(0.1);
  expect(Math.abs((m.coef[1]! / m.scales[1]!) * 10 + 2)).toBeLessThan(0.12);
  expect(Math.abs(m.coef[2]!)).toBeLessThan(0.1);
  expect(m.hasIndicator).toEqual([false, false, true]);
  expect(Math.abs(m.missingCoef[2]! - 1.2)).toBeLessThan(0.15);
  expect(m.missingCoef[0]).toBe(0);
});

test('a missing value is scored as the mean plus its indicator weight; L2 shrinks the weights', () => {
  const d = linearData(5_000, 2);
  const m = trainLogistic(d, { l2: 0 });
  const atMean = logisticMargin(m, [m.means[0]!, m.means[1]!, m.means[2]!]);
  expect(logisticMargin(m, [Number.NaN, m.means[1]!, m.means[2]!])).toBeCloseTo(atMean, 12);
  expect(logisticMargin(m, [m.means[0]!, m.means[1]!, Number.NaN])).toBeCloseTo(atMean + m.missingCoef[2]!, 12);
  const shrunk = trainLogistic(d, { l2: 1 });
  expect(Math.abs(shrunk.coef[0]!)).toBeLessThan(Math.abs(m.coef[0]!));
  const p = logisticProbabilities(m, d);
  expect(p.every((x) => x > 0 && x < 1)).toBe(true);
});

test('a constant feature gets no weight and no division by zero', () => {
  const d = datasetFromRows(
    Array.from({ length: 40 }, (_, i) => [5, i % 2]),
    Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 1 : 0)),
  );
  const m = trainLogistic(d, { l2: 1e-3 });
  expect(m.scales[0]).toBe(1);
  expect(Math.abs(m.coef[0]!)).toBeLessThan(1e-9);
  expect(Number.isFinite(m.intercept)).toBe(true);
});
