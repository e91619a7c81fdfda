import { describe, expect, test } from 'vitest';
import { renderFactor, saabasContributions, topFactors, type ModelFactor } from '../../src/model/contributions.ts';
import { encodeVector, MODEL_FEATURE_NAMES } from '../../src/model/encode.ts';
import { englishLabel, factorLabel, hasChineseLabel } from '../../src/i18n/factor-labels.ts';
import { compileEnsemble, predictMargin, predictMarginCompiled, type TreeEnsemble } from '../../src/model/tree-ensemble.ts';
import { trainGbdt } from '../../src/train/gbdt.ts';
import { syntheticModelData } from '../../bench/model-data.ts';
import { vector } from './rules-fixtures.ts';

/** f0 <= 0.5 (missing left) → left leaf 1.0 (cover 3), right leaf −1.0 (cover 1): root value ½. */
const STUMP: TreeEnsemble = {
  baseMargin: 0.25,
  nFeatures: 2,
  trees: [
    { feature: [0, -1, -1], threshold: [0.5, 0, 0], defaultLeft: [1, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0.5, 1, -1], cover: [4, 3, 1] },
    // f1 <= 2 (missing right) → 0.25 (cover 1) / 0.75 (cover 1): root value ½
    { feature: [1, -1, -1], threshold: [2, 0, 0], defaultLeft: [0, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0.5, 0.25, 0.75], cover: [2, 1, 1] },
  ],
};

describe('saabasContributions', () => {
  test('hand-computed: each split credits its feature with the change of expected value', () => {
    const a = saabasContributions(STUMP, [0.2, 5]);
    expect(a.bias).toBe(1.25);
    expect([...a.values]).toEqual([0.5, 0.25]);
    expect(a.margin).toBe(2);
    const b = saabasContributions(STUMP, [0.9, 1]);
    expect([...b.values]).toEqual([-1.5, -0.25]);
    expect(b.margin).toBe(-0.5);
    // missing f0 goes left (default), missing f1 goes right
    const c = saabasContributions(STUMP, [Number.NaN, Number.NaN]);
    expect([...c.values]).toEqual([0.5, 0.25]);
  });

  test('on a trained model, contributions sum to margin − bias and the margin is the prediction', () => {
    const { dataset } = syntheticModelData(2_000, 21);
    const { model } = trainGbdt(dataset, null, { maxRounds: 40 });
    const compiled = compileEnsemble(model);
    for (let r = 0; r < 500; r++) {
      const c = saabasContributions(compiled, dataset.x, r * dataset.nFeatures);
      expect(predictMarginCompiled(compiled, dataset.x, r * dataset.nFeatures)).toBe(predictMargin(model, dataset.x, r * dataset.nFeatures));
      expect(saabasContributions(model, dataset.x, r * dataset.nFeatures)).toEqual(c);
      const sum = c.values.reduce((s, x) => s + x, 0);
      expect(Math.abs(sum - (c.margin - c.bias))).toBeLessThan(1e-9);
      expect(Math.abs(c.margin - predictMargin(model, dataset.x, r * dataset.nFeatures))).toBeLessThan(1e-9);
    }
  });
});

describe('topFactors and their words', () => {
  const { dataset } = syntheticModelData(3_000, 22);
  const { model } = trainGbdt(dataset, null, { maxRounds: 60 });

  test('the largest contributions first, with the values the model saw', () => {
    const v = vector({
      amount: 48_000,
      'payer.age_band': 'elderly',
      'payer.age': 76,
      'context.on_call': true,
      'payee.first_seen': true,
      'context.remote_access': true,
      'payee.report_count': 2,
    });
    const row = encodeVector(v);
    const c = saabasContributions(model, row);
    const all = topFactors(c, row, 100, { minAbs: 0 });
    expect(all.length).toBe(MODEL_FEATURE_NAMES.length);
    for (let i = 1; i < all.length; i++) expect(Math.abs(all[i - 1]!.contribution)).toBeGreaterThanOrEqual(Math.abs(all[i]!.contribution));
    const top = topFactors(c, row, 3);
    expect(top).toEqual(all.filter((f) => Math.abs(f.contribution) >= 1e-9).slice(0, 3));
    const byName = new Map(all.map((f) => [f.feature, f]));
    expect(byName.get('payer.age_band')?.value).toBe('elderly');
    expect(byName.get('context.on_call')?.value).toBe(true);
    expect(byName.get('amount')?.value).toBe(48_000);
    expect(byName.get('hour_of_day')?.value).toBeNull();
    const raising = topFactors(c, row, 100, { raisingOnly: true });
    expect(raising.length).toBeGreaterThan(0);
    expect(raising.every((f) => f.contribution > 0)).toBe(true);
    expect(c.values[MODEL_FEATURE_NAMES.indexOf('context.remote_access')]!).toBeGreaterThan(0);
  });

  test('a factor reads as a short phrase in English and Chinese', () => {
    const f = (feature: string, value: ModelFactor['value'], contribution: number): ModelFactor => ({ feature, value, contribution });
    expect(renderFactor(f('amount', 48_000, 0.8), 'en')).toEqual({
      feature: 'amount',
      value: 48_000,
      contribution: 0.8,
      direction: 'raises',
      text: 'Amount of this transfer in major units: 48,000 (raises the risk)',
    });
    expect(renderFactor(f('amount', 48_000, 0.8), 'zh').text).toBe('转账金额：48,000（使风险升高）');
    expect(renderFactor(f('context.on_call', true, 1.2), 'en').text).toBe('The payer is on a phone call while paying: yes (raises the risk)');
    expect(renderFactor(f('context.on_call', false, -0.3), 'zh').text).toBe('付款时正在通话：否（使风险降低）');
    expect(renderFactor(f('payer.age_band', 'elderly', 0.5), 'zh').text).toBe('付款人年龄段：老年（使风险升高）');
    expect(renderFactor(f('hour_of_day', null, 0.1), 'en').text).toBe("Hour of day of the transfer in the payer's time zone: unknown (raises the risk)");
    expect(renderFactor(f('payer.out_count_24h', 3, -0.2), 'en').text).toBe('Number of transfers sent by the payer in the last 24h: 3 (lowers the risk)');
    expect(renderFactor(f('payee.in_sum_7d', 1234.5, 0.2), 'zh').text).toBe('收款人近7天收款金额：1,234.5（使风险升高）');
  });

  test('every model feature has a Chinese name and an English phrase from its description', () => {
    expect(MODEL_FEATURE_NAMES.filter((n) => !hasChineseLabel(n))).toEqual([]);
    for (const n of MODEL_FEATURE_NAMES) expect(factorLabel(n, 'en')).not.toMatch(/\(|, before this/);
    expect(englishLabel('Distinct payers into the payee in the last 24h, before this transfer (fan-in)')).toBe('Distinct payers into the payee in the last 24h');
  });
});
