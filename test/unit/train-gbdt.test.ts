import { describe, expect, test } from 'vitest';
import { binOf, binRows, MISSING_BIN, quantileCuts } from '../../src/train/binning.ts';
import { datasetFromRows } from '../../src/train/dataset.ts';
import { gbdtMargins, gbdtProbabilities, logLoss, trainGbdt } from '../../src/train/gbdt.ts';
import { logisticProbabilities, trainLogistic } from '../../src/train/logistic.ts';
import { rocAuc } from '../../src/train/metrics.ts';
import { mulberry32 } from '../../src/sim/random.ts';
import { missingData, noiseData, stepData, xorData } from './train-fixtures.ts';

const f32 = (x: number): number => Math.fround(x);
/** the next float32 above x (x > 0) */
const nextUp = (x: number): number => {
  const a = new Float32Array([x]);
  const u = new Uint32Array(a.buffer);
  u[0]! += 1;
  return a[0]!;
};

describe('binning', () => {
  test('few distinct values: one cut between each pair, at the float32 midpoint', () => {
    expect([...quantileCuts(Float32Array.from([1, 1, 2, 3]), 255)]).toEqual([1.5, 2.5]);
    expect([...quantileCuts(Float32Array.from([0, 0, 0, 1]), 255)]).toEqual([0.5]);
    expect([...quantileCuts(new Float32Array(0), 255)]).toEqual([]);
    expect([...quantileCuts(Float32Array.from([7, 7]), 255)]).toEqual([]);
  });

  test('adjacent float32 values and infinities: the cut is the lower value, so both sides stay apart', () => {
    const a = f32(0.1);
    const b = nextUp(a);
    expect([...quantileCuts(Float32Array.from([a, b]), 255)]).toEqual([a]);
    expect([...quantileCuts(Float32Array.from([1, Number.POSITIVE_INFINITY]), 255)]).toEqual([1]);
    expect([...quantileCuts(Float32Array.from([Number.NEGATIVE_INFINITY, 1]), 255)]).toEqual([Number.NEGATIVE_INFINITY]);
  });

  test('many distinct values: at most maxBins − 1 ascending float32 cuts; a heavy value gets its own bin', () => {
    const values = new Float32Array(2_000);
    for (let i = 0; i < 2_000; i++) values[i] = i < 900 ? 0 : i * 0.37;
    const cuts = quantileCuts(values.sort(), 10);
    expect(cuts.length).toBeLessThanOrEqual(9);
    expect(cuts.length).toBeGreaterThanOrEqual(7);
    for (let i = 1; i < cuts.length; i++) expect(cuts[i]!).toBeGreaterThan(cuts[i - 1]!);
    for (const c of cuts) expect(Math.fround(c)).toBe(c);
    // the 900 zeros are one bin: the first cut lies between 0 and the smallest other value
    expect(cuts[0]!).toBeGreaterThanOrEqual(0);
    expect(cuts[0]!).toBeLessThan(f32(900 * 0.37));
  });

  test('bin <= b exactly when x <= cuts[b] (the ONNX BRANCH_LEQ comparison), NaN in the missing bin', () => {
    const rand = mulberry32(3);
    const sorted = Float32Array.from({ length: 500 }, () => Math.floor(rand() * 1000) / 7).sort();
    const cuts = quantileCuts(sorted, 32);
    const probes: number[] = [];
    for (const c of cuts) probes.push(c, nextUp(c), -nextUp(-c));
    for (let i = 0; i < 200; i++) probes.push(f32(rand() * 200 - 20));
    probes.push(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    for (const x of probes) {
      const bin = binOf(cuts, x);
      for (let b = 0; b < cuts.length; b++) expect(bin <= b).toBe(x <= cuts[b]!);
    }
    expect(binOf(cuts, Number.NaN)).toBe(MISSING_BIN);
    const rows = binRows(Float32Array.from([Number.NaN, cuts[0]!]), 2, 1, { cuts: [cuts] });
    expect([...rows]).toEqual([MISSING_BIN, 0]);
  });
});

describe('trainGbdt', () => {
  test('learns an XOR interaction the logistic baseline cannot see', () => {
    const train = xorData(4_000, 1);
    const valid = xorData(1_000, 2);
    const test_ = xorData(2_000, 3);
    const { model } = trainGbdt(train, valid, { maxRounds: 200, maxDepth: 3, minChildSamples: 10 });
    const gbdtAuc = rocAuc(gbdtProbabilities(model, test_), test_.labels);
    const logistic = trainLogistic(train);
    const logisticAuc = rocAuc(logisticProbabilities(logistic, test_), test_.labels);
    expect(gbdtAuc).toBeGreaterThan(0.98);
    expect(Math.abs(logisticAuc - 0.5)).toBeLessThan(0.06);
  });

  test('recovers a step exactly: one stump splits at the midpoint between 36 and 37', () => {
    const d = stepData(2_000, 4);
    const { model } = trainGbdt(d, null, { maxRounds: 1, maxDepth: 1, learningRate: 1, minChildSamples: 1 });
    const t = model.trees[0]!;
    expect(t.feature).toEqual([0, -1, -1]);
    expect(t.threshold[0]).toBe(36.5);
    expect(t.value[t.left[0]!]!).toBeLessThan(0);
    expect(t.value[t.right[0]!]!).toBeGreaterThan(0);
    const more = trainGbdt(d, null, { maxRounds: 30, maxDepth: 1, minChildSamples: 1 }).model;
    const p = gbdtProbabilities(more, datasetFromRows([[36], [36.49], [36.5], [36.51], [37], [99], [0]], [0, 0, 0, 1, 1, 1, 0]));
    expect([...p].map((x) => x > 0.5)).toEqual([false, false, false, true, true, true, false]);
  });

  test.each([
    ['high', 0],
    ['low', 1],
  ] as const)('learns where missing values go (they behave like the %s values)', (side, defaultLeft) => {
    const d = missingData(3_000, 5, side);
    const { model } = trainGbdt(d, null, { maxRounds: 1, maxDepth: 1, learningRate: 1, minChildSamples: 5 });
    const t = model.trees[0]!;
    expect(t.feature[0]).toBe(0);
    expect(Math.abs(t.threshold[0]! - 0.5)).toBeLessThan(0.01);
    expect(t.defaultLeft[0]).toBe(defaultLeft);
    const full = trainGbdt(d, null, { maxRounds: 40, maxDepth: 2 }).model;
    const p = gbdtProbabilities(full, datasetFromRows([[null], [0.1], [0.9]], [1, 0, 0]));
    expect(p[0]!).toBeGreaterThan(0.9);
    expect(side === 'high' ? p[2]! : p[1]!).toBeGreaterThan(0.9);
    expect(side === 'high' ? p[1]! : p[2]!).toBeLessThan(0.1);
  });

  test('without missing values in training, a missing value follows the heavier child', () => {
    const d = stepData(2_000, 6); // x >= 37 holds about 63 % of the rows
    const { model } = trainGbdt(d, null, { maxRounds: 1, maxDepth: 1, learningRate: 1, minChildSamples: 1 });
    const t = model.trees[0]!;
    const heavierLeft = t.cover[t.left[0]!]! >= t.cover[t.right[0]!]!;
    expect(t.defaultLeft[0]).toBe(heavierLeft ? 1 : 0);
  });

  test('early stopping stops on a validation set that stops improving and keeps the best round', () => {
    const { model, report } = trainGbdt(noiseData(2_000, 7), noiseData(1_000, 8), {
      maxRounds: 300,
      earlyStoppingRounds: 10,
      maxDepth: 6,
      minChildSamples: 2,
      learningRate: 0.3,
    });
    expect(report.stopReason).toBe('early_stopping');
    expect(report.stoppedEarly).toBe(true);
    expect(report.rounds).toBeLessThan(300);
    const best = report.validLoss.indexOf(Math.min(...report.validLoss)) + 1;
    expect(report.trees).toBe(best);
    expect(report.rounds).toBe(best + 10);
    expect(model.trees.length).toBe(best);
    expect(report.trainLoss.length).toBe(report.rounds);
  });

  test('the same seed gives the same model; another seed with subsampling gives another', () => {
    const train = xorData(1_500, 9);
    const params = { maxRounds: 15, subsample: 0.7, seed: 42 };
    const a = trainGbdt(train, null, params).model;
    const b = trainGbdt(train, null, params).model;
    const c = trainGbdt(train, null, { ...params, seed: 43 }).model;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.trees)).not.toBe(JSON.stringify(c.trees));
  });

  test('training loss falls; thresholds, leaves and the base margin are float32; internal values are the cover-weighted mean', () => {
    const d = xorData(2_000, 10);
    const { model, report } = trainGbdt(d, null, { maxRounds: 20 });
    expect(report.trainLoss[19]!).toBeLessThan(report.trainLoss[0]!);
    expect(logLoss(gbdtMargins(model, d), d.labels)).toBeCloseTo(report.trainLoss[19]!, 10);
    expect(Math.fround(model.baseMargin)).toBe(model.baseMargin);
    for (const t of model.trees) {
      for (let i = 0; i < t.feature.length; i++) {
        if (t.feature[i]! < 0) expect(Math.fround(t.value[i]!)).toBe(t.value[i]);
        else {
          expect(Math.fround(t.threshold[i]!)).toBe(t.threshold[i]);
          const l = t.left[i]!;
          const r = t.right[i]!;
          expect(t.cover[i]!).toBeCloseTo(t.cover[l]! + t.cover[r]!, 8);
          expect(t.value[i]!).toBeCloseTo((t.cover[l]! * t.value[l]! + t.cover[r]! * t.value[r]!) / t.cover[i]!, 12);
        }
      }
    }
  });

  test('respects maxLeaves and maxDepth', () => {
    const d = xorData(3_000, 11);
    const { model } = trainGbdt(d, null, { maxRounds: 5, maxLeaves: 5, maxDepth: 10, minChildSamples: 1 });
    for (const t of model.trees) expect(t.feature.filter((f) => f < 0).length).toBeLessThanOrEqual(5);
    const depth = (t: (typeof model.trees)[number], n: number): number => (t.feature[n]! < 0 ? 0 : 1 + Math.max(depth(t, t.left[n]!), depth(t, t.right[n]!)));
    const shallow = trainGbdt(d, null, { maxRounds: 5, maxLeaves: 64, maxDepth: 2, minChildSamples: 1 }).model;
    for (const t of shallow.trees) expect(depth(t, 0)).toBeLessThanOrEqual(2);
  });

  test('stops when no split is possible', () => {
    const d = datasetFromRows([[1], [1], [1], [1]], [0, 1, 0, 1]);
    const { model, report } = trainGbdt(d, null, { minChildSamples: 1 });
    expect(report.stopReason).toBe('no_split');
    expect(model.trees).toEqual([]);
    expect(model.baseMargin).toBe(0);
  });

  test('rejects bad parameters and mismatched data with a message naming them', () => {
    const d = xorData(100, 12);
    expect(() => trainGbdt(d, null, { maxBins: 300 })).toThrow('maxBins must be an integer in 2..255, got 300');
    expect(() => trainGbdt(d, null, { learningRate: 0 })).toThrow('GBDT parameter learningRate must be in (0, 1], got 0');
    expect(() => trainGbdt(d, null, { subsample: 1.5 })).toThrow('GBDT parameter subsample must be in (0, 1], got 1.5');
    expect(() => trainGbdt(d, stepData(10, 1), {})).toThrow('validation set has 1 features, training set 3');
    expect(() => trainGbdt({ ...d, labels: d.labels.subarray(1) }, null)).toThrow('training set: labels has 99 entries, expected 100');
  });
});
