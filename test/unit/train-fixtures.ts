/**
 * Small seeded data sets for the trainer tests, each with a known structure to recover.
 */
import { mulberry32 } from '../../src/sim/random.ts';
import type { Dataset } from '../../src/train/dataset.ts';

function dataset(n: number, nFeatures: number, fill: (row: Float32Array, rand: () => number) => number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * nFeatures);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) labels[r] = fill(x.subarray(r * nFeatures, (r + 1) * nFeatures), rand);
  return { x, nRows: n, nFeatures, labels, featureNames: Array.from({ length: nFeatures }, (_, j) => `f${j}`) };
}

/** y = (a > 0.5) XOR (b > 0.5), with a third, irrelevant feature: no linear signal at all. */
export const xorData = (n: number, seed: number): Dataset =>
  dataset(n, 3, (row, rand) => {
    row[0] = rand();
    row[1] = rand();
    row[2] = rand();
    return row[0]! > 0.5 !== row[1]! > 0.5 ? 1 : 0;
  }, seed);

/** x an integer 0..99, y = x >= 37: one exact step. */
export const stepData = (n: number, seed: number): Dataset =>
  dataset(n, 1, (row, rand) => {
    row[0] = Math.floor(rand() * 100);
    return row[0]! >= 37 ? 1 : 0;
  }, seed);

/**
 * x uniform or missing (30 %); fraud when x is missing or x is on the `side` of 0.5, so the
 * missing rows belong with the high (side 'high') or low ('low') values.
 */
export const missingData = (n: number, seed: number, side: 'high' | 'low'): Dataset =>
  dataset(n, 1, (row, rand) => {
    if (rand() < 0.3) {
      row[0] = Number.NaN;
      return 1;
    }
    row[0] = rand();
    return (side === 'high' ? row[0]! > 0.5 : row[0]! <= 0.5) ? 1 : 0;
  }, seed);

/** Labels independent of the features: every tree after the first few overfits. */
export const noiseData = (n: number, seed: number): Dataset =>
  dataset(n, 4, (row, rand) => {
    for (let j = 0; j < 4; j++) row[j] = rand();
    return rand() < 0.3 ? 1 : 0;
  }, seed);

/** Standard normal draws (Box-Muller). */
export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * A logistic model with known weights: logit = 0.5 + 1.5·x0 − 2·x1 + 1.2·[x2 missing], x0, x1
 * ~ N(0, 1) (x1 scaled by 10 to exercise standardising), x2 missing 30 % of the time.
 */
export const linearData = (n: number, seed: number): Dataset =>
  dataset(n, 3, (row, rand) => {
    row[0] = normal(rand);
    row[1] = 10 * normal(rand);
    const missing = rand() < 0.3;
    row[2] = missing ? Number.NaN : normal(rand);
    const logit = 0.5 + 1.5 * row[0]! - 2 * (row[1]! / 10) + (missing ? 1.2 : 0);
    return rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }, seed);
