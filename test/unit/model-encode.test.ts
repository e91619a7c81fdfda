import { expect, test } from 'vitest';
import { FEATURES, idx } from '../../src/features/catalogue.ts';
import {
  encodeVector,
  ENCODING_VERSION,
  EXCLUDED_FEATURES,
  featureNameMismatch,
  MODEL_COLUMNS,
  MODEL_FEATURE_COUNT,
  MODEL_FEATURE_NAMES,
} from '../../src/model/encode.ts';
import { vector } from './rules-fixtures.ts';

test('every catalogue feature is a column in catalogue order, except open-set strings and features marked modelInput: false', () => {
  const input = (f: (typeof FEATURES)[number]): boolean => f.modelInput !== false && (f.type !== 'string' || f.values !== undefined);
  const expected = FEATURES.filter(input).map((f) => f.name);
  expect(MODEL_FEATURE_NAMES).toEqual(expected);
  expect(MODEL_FEATURE_COUNT).toBe(expected.length);
  expect(EXCLUDED_FEATURES).toEqual(FEATURES.filter((f) => !input(f)).map((f) => f.name));
  expect(EXCLUDED_FEATURES).toContain('payee.report_weight');
  expect(EXCLUDED_FEATURES).toContain('currency');
  expect(MODEL_COLUMNS.find((c) => c.name === 'payer.age_band')?.encoding).toEqual({ kind: 'ordinal', values: ['minor', 'adult', 'elderly'] });
  expect(ENCODING_VERSION).toMatch(new RegExp(`^enc-${MODEL_FEATURE_COUNT}-[0-9a-f]{8}$`));
});

test('numbers become float32, booleans 0/1, closed-set strings their position, missing NaN', () => {
  const col = (name: string): number => MODEL_FEATURE_NAMES.indexOf(name);
  const row = encodeVector(
    vector({
      amount: 4_999.99,
      'context.on_call': true,
      'context.remote_access': false,
      'payer.age_band': 'elderly',
      'payer.age': null,
      'payee.first_seen': true,
    }),
  );
  expect(row).toBeInstanceOf(Float32Array);
  expect(row.length).toBe(MODEL_FEATURE_COUNT);
  expect(row[col('amount')]).toBe(Math.fround(4_999.99));
  expect(row[col('context.on_call')]).toBe(1);
  expect(row[col('context.remote_access')]).toBe(0);
  expect(row[col('payer.age_band')]).toBe(2);
  expect(row[col('payer.age')]).toBeNaN();
  expect(row[col('payee.first_seen')]).toBe(1);
  expect(encodeVector(vector({ 'payer.age_band': 'minor' }))[col('payer.age_band')]).toBe(0);
  expect(encodeVector(vector({ 'context.new_device': null }))[col('context.new_device')]).toBeNaN();
});

test('a value that breaks the catalogue contract is encoded as missing, never guessed', () => {
  const v = vector();
  v[idx('payer.age_band')] = 'teen';
  v[idx('amount')] = 'lots';
  v[idx('context.on_call')] = 1;
  const row = encodeVector(v);
  expect(row[MODEL_FEATURE_NAMES.indexOf('payer.age_band')]).toBeNaN();
  expect(row[MODEL_FEATURE_NAMES.indexOf('amount')]).toBeNaN();
  expect(row[MODEL_FEATURE_NAMES.indexOf('context.on_call')]).toBeNaN();
});

test('featureNameMismatch names what differs', () => {
  expect(featureNameMismatch(MODEL_FEATURE_NAMES)).toBeNull();
  expect(featureNameMismatch([...MODEL_FEATURE_NAMES.slice(1), 'payer.shoe_size'])).toBe(
    `the model's features do not match the current encoding ${ENCODING_VERSION}: not in the model: ${MODEL_FEATURE_NAMES[0]}; unknown to the current catalogue: payer.shoe_size`,
  );
  const swapped = [MODEL_FEATURE_NAMES[1]!, MODEL_FEATURE_NAMES[0]!, ...MODEL_FEATURE_NAMES.slice(2)];
  expect(featureNameMismatch(swapped)).toBe(
    `the model's features do not match the current encoding ${ENCODING_VERSION}: same names in another order (first difference at column 0: model ${MODEL_FEATURE_NAMES[1]}, current ${MODEL_FEATURE_NAMES[0]})`,
  );
});
