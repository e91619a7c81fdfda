import { describe, expect, test } from 'vitest';
import { buildBinMapper, classBoundaryCuts } from '../../src/train/binning.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { gbdtProbabilities, trainGbdt } from '../../src/train/gbdt.ts';
import { mulberry32 } from '../../src/sim/random.ts';

/**
 * Issue 20: every amount above 220 is fraud (the Fraud Detection Handbook's scenario 1), yet
 * frauds of 221-234 scored 0.003-0.10. Amounts are drawn like the handbook's (a customer mean
 * uniform in 5..100, a normal spread around it: mostly below 200, a thin tail), with ~0.2% of
 * the rows above 220 as in an FDH week (107 of 66,709 in 2018-05-30..06-05): fewer than one
 * equal-frequency bin of 255, so the last quantile bin held both the legitimate 190-220 and
 * the fraudulent 221+.
 */
const THRESHOLD = 220;

function amountSet(n: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const nFeatures = 4;
  const x = new Float32Array(n * nFeatures);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const mean = 5 + rand() * 95;
    const amount = Math.round(Math.abs(mean + (mean * 0.6) * normal()) * 100) / 100;
    x[i * nFeatures] = amount;
    for (let f = 1; f < nFeatures; f++) x[i * nFeatures + f] = rand() * 100;
    // the sharp rule, plus 0.5% background fraud that no feature explains
    labels[i] = amount > THRESHOLD || rand() < 0.005 ? 1 : 0;
  }
  return { x, nRows: n, nFeatures, labels, featureNames: ['amount', 'noise1', 'noise2', 'noise3'] };
}

function rowsOf(d: Dataset, keep: (amount: number) => boolean): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < d.nRows; i++) if (keep(d.x[i * d.nFeatures]!)) idx.push(i);
  const x = new Float32Array(idx.length * d.nFeatures);
  idx.forEach((r, k) => x.set(d.x.subarray(r * d.nFeatures, (r + 1) * d.nFeatures), k * d.nFeatures));
  return { x, nRows: idx.length, nFeatures: d.nFeatures, labels: Uint8Array.from(idx, (r) => d.labels[r]!), featureNames: d.featureNames };
}

describe('a sharp threshold in a raw feature that separates a class (issue 20)', () => {
  const train = amountSet(60_000, 1);
  const valid = amountSet(20_000, 2);
  const test_ = amountSet(200_000, 3);

  test('the bins put a cut between the last legitimate amount and the first fraud-only amount', () => {
    let lastLegit = -Infinity;
    let firstAbove = Infinity;
    for (let i = 0; i < train.nRows; i++) {
      const a = train.x[i * train.nFeatures]!;
      if (a <= THRESHOLD && a > lastLegit) lastLegit = a;
      if (a > THRESHOLD && a < firstAbove) firstAbove = a;
    }
    const cuts = buildBinMapper(train, 255, 200_000, mulberry32(1)).cuts[0]!;
    expect(cuts.length).toBeLessThanOrEqual(254);
    expect([...cuts].some((c) => c >= lastLegit && c < firstAbove)).toBe(true);
  });

  test.each([
    ['default settings', {}],
    ['regularised (min 50 rows a side, λ 10, subsample 0.8)', { learningRate: 0.05, maxRounds: 600, earlyStoppingRounds: 60, lambda: 10, minChildSamples: 50, subsample: 0.8 }],
  ])('the GBDT scores frauds just above the threshold high and the amounts just below low (%s)', (_, params) => {
    const { model } = trainGbdt(train, valid, params);
    const above = rowsOf(test_, (a) => a > 221 && a <= 234);
    const below = rowsOf(test_, (a) => a > 195 && a <= 219);
    expect(above.nRows).toBeGreaterThan(20);
    expect(below.nRows).toBeGreaterThan(100);
    const pa = gbdtProbabilities(model, above);
    const pb = gbdtProbabilities(model, below);
    expect(Math.min(...pa)).toBeGreaterThan(0.5);
    expect(Math.max(...pb)).toBeLessThan(0.5);
  });
});

/** classBoundaryCuts on values (ascending) with their labels, class 1 the rare one */
function boundaryCuts(values: Float32Array, labels: Uint8Array, minRun: number, maxCuts: number): number[] {
  return [...classBoundaryCuts(values, values.filter((_, i) => labels[i] === 1), minRun, maxCuts)];
}

describe('classBoundaryCuts', () => {
  test('cuts at both ends of a long run of the rare class, none for scattered ones', () => {
    // values 0..999, class 1 at 500..529 (a run of 30) and at scattered 100, 300, 700
    const values = Float32Array.from({ length: 1_000 }, (_, i) => i);
    const labels = Uint8Array.from({ length: 1_000 }, (_, i) => ((i >= 500 && i < 530) || i === 100 || i === 300 || i === 700 ? 1 : 0));
    expect(boundaryCuts(values, labels, 10, 8)).toEqual([499.5, 529.5]);
  });

  test('a value shared by both classes ends a run (ties are never split)', () => {
    const values = Float32Array.from([1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    const labels = Uint8Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    // the run of 1s starts after the mixed value 5 and ends before 12
    expect(boundaryCuts(values, labels, 5, 8)).toEqual([5.5, 11.5]);
  });

  test('keeps the longest runs when there are more than the budget', () => {
    const labels: number[] = [];
    // runs of the rare class of lengths 12, 20, 15 separated by long negative stretches
    for (const len of [12, 20, 15]) {
      for (let i = 0; i < 300; i++) labels.push(0);
      for (let i = 0; i < len; i++) labels.push(1);
    }
    for (let i = 0; i < 300; i++) labels.push(0);
    const values = Float32Array.from(labels, (_, i) => i);
    const cuts = boundaryCuts(values, Uint8Array.from(labels), 10, 4);
    // the runs of 20 (rows 612..631) and 15 (rows 932..946) are kept
    expect(cuts).toEqual([611.5, 631.5, 931.5, 946.5]);
  });

  test('a run at the top of the range needs one cut; a run shorter than the minimum none', () => {
    const values = Float32Array.from({ length: 100 }, (_, i) => i);
    expect(boundaryCuts(values, Uint8Array.from({ length: 100 }, (_, i) => (i >= 88 ? 1 : 0)), 10, 8)).toEqual([87.5]);
    expect(boundaryCuts(values, Uint8Array.from({ length: 100 }, (_, i) => (i >= 91 ? 1 : 0)), 10, 8)).toEqual([]);
  });
});
