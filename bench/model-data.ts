/**
 * Labelled synthetic data in the model's encoding, for the model benchmark and the model
 * tests: feature vectors from feature-vectors.ts (realistic-enough values, one in eight
 * following a scam pattern) with a label drawn from a hidden risk function of a few features
 * with interactions (on a call × new payee, elderly × large amount, ...), so a tree model has
 * something to find that a linear one only partly can. Seeded: the same seed gives the same
 * rows and labels.
 */
import { idx, type FeatureValue } from '../src/features/catalogue.ts';
import { encodeVectorInto, MODEL_FEATURE_COUNT, MODEL_FEATURE_NAMES } from '../src/model/encode.ts';
import type { Dataset } from '../src/train/dataset.ts';
import { mulberry32 } from '../src/sim/random.ts';
import { generateFeatureVectors } from './feature-vectors.ts';

const I = {
  amount: idx('amount'),
  onCall: idx('context.on_call'),
  remote: idx('context.remote_access'),
  pasted: idx('context.payee_pasted'),
  firstSeen: idx('payee.first_seen'),
  ageBand: idx('payer.age_band'),
  newPayers: idx('payee.new_payers_24h'),
  reports: idx('payee.report_count'),
  toAvg: idx('payer.amount_to_avg_30d'),
  newDevice: idx('device.new_for_payer'),
  hour: idx('hour_of_day'),
  payeeAge: idx('payee.account_age_days'),
};

const num = (v: FeatureValue | undefined): number => (typeof v === 'number' ? v : 0);
const yes = (v: FeatureValue | undefined): number => (v === true ? 1 : 0);

/** The hidden log-odds of fraud for a vector. */
export function hiddenLogit(v: readonly FeatureValue[]): number {
  const elderly = v[I.ageBand] === 'elderly' ? 1 : 0;
  const amount = num(v[I.amount]);
  const hour = v[I.hour];
  const night = typeof hour === 'number' && (hour < 6 || hour >= 23) ? 1 : 0;
  const youngPayee = typeof v[I.payeeAge] === 'number' && num(v[I.payeeAge]) < 30 ? 1 : 0;
  return (
    -4.2 +
    2.6 * yes(v[I.onCall]) * yes(v[I.firstSeen]) +
    1.8 * elderly * (amount >= 5_000 ? 1 : 0) +
    2.2 * yes(v[I.remote]) +
    0.8 * yes(v[I.pasted]) * yes(v[I.firstSeen]) +
    0.9 * Math.log1p(num(v[I.newPayers])) * youngPayee +
    1.5 * Math.min(num(v[I.reports]), 3) +
    0.6 * Math.log1p(Math.max(num(v[I.toAvg]) - 1, 0)) +
    1.0 * yes(v[I.newDevice]) * night
  );
}

export interface SyntheticModelData {
  readonly vectors: FeatureValue[][];
  readonly dataset: Dataset;
}

export function syntheticModelData(rows: number, seed: number): SyntheticModelData {
  const vectors = generateFeatureVectors(rows, seed);
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const x = new Float32Array(rows * MODEL_FEATURE_COUNT);
  const labels = new Uint8Array(rows);
  vectors.forEach((v, r) => {
    encodeVectorInto(v, x, r * MODEL_FEATURE_COUNT);
    labels[r] = rand() < 1 / (1 + Math.exp(-hiddenLogit(v))) ? 1 : 0;
  });
  return { vectors, dataset: { x, nRows: rows, nFeatures: MODEL_FEATURE_COUNT, labels, featureNames: MODEL_FEATURE_NAMES } };
}
