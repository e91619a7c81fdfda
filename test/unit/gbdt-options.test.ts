import { describe, expect, it } from 'vitest';
import { GBDT_OPTION_NAMES, GBDT_USAGE, gbdtOptions } from '../../src/cli/gbdt-options.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { trainGbdt } from '../../src/train/gbdt.ts';

const parse = (values: Record<string, string>) => {
  const errors: string[] = [];
  const params = gbdtOptions(values, errors);
  return { params, errors };
};

describe('the GBDT options shared by npm run train and npm run replay', () => {
  it('takes every option under one name, and the older spelling as an alias', () => {
    expect(GBDT_OPTION_NAMES).toEqual(
      expect.arrayContaining(['max-rounds', 'learning-rate', 'max-depth', 'max-leaves', 'lambda', 'min-child-weight', 'min-child-samples', 'subsample', 'early-stopping-rounds', 'early-stopping', 'seed']),
    );
    expect(
      parse({
        'max-rounds': '20', 'learning-rate': '0.3', 'max-depth': '4', 'max-leaves': '12', lambda: '5', 'min-child-weight': '0.2',
        'min-child-samples': '50', subsample: '0.8', 'early-stopping-rounds': '5', seed: '3',
      }),
    ).toEqual({
      params: { maxRounds: 20, learningRate: 0.3, maxDepth: 4, maxLeaves: 12, lambda: 5, minChildWeight: 0.2, minChildSamples: 50, subsample: 0.8, earlyStoppingRounds: 5, seed: 3 },
      errors: [],
    });
    expect(parse({ 'early-stopping': '7' })).toEqual({ params: { earlyStoppingRounds: 7 }, errors: [] });
    // absent options are left to the trainer's defaults
    expect(parse({})).toEqual({ params: {}, errors: [] });
  });

  it('keeps min-child-weight (hessian) and min-child-samples (rows) apart', () => {
    expect(parse({ 'min-child-weight': '0.5' }).params).toEqual({ minChildWeight: 0.5 });
    expect(parse({ 'min-child-samples': '5' }).params).toEqual({ minChildSamples: 5 });
    expect(parse({ 'min-child-samples': '0.5' }).errors).toEqual(['--min-child-samples must be an integer >= 1, got "0.5"']);
    expect(GBDT_USAGE).toContain('--min-child-weight: hessian sum on each side of a split; --min-child-samples: rows on each side');
    expect(GBDT_USAGE).toContain('--early-stopping: the same as --early-stopping-rounds');
  });

  it('names each bad option as given, and refuses both spellings at once', () => {
    expect(
      parse({ 'max-depth': '31', 'max-leaves': '3.5', 'early-stopping': '-1', 'learning-rate': '2', subsample: '0', lambda: 'lots', seed: '' }).errors,
    ).toEqual([
      '--max-depth must be at most 30, got "31"',
      '--max-leaves must be an integer >= 2, got "3.5"',
      '--early-stopping must be a non-negative integer, got "-1"',
      '--seed must be a non-negative integer, got ""',
      '--learning-rate must be greater than 0 and at most 1, got "2"',
      '--lambda must be a number >= 0, got "lots"',
      '--subsample must be greater than 0 and at most 1, got "0"',
    ]);
    expect(parse({ 'early-stopping': '5', 'early-stopping-rounds': '6' }).errors).toEqual([
      'give one of --early-stopping-rounds and --early-stopping (the same option)',
    ]);
  });

  it('takes exactly what the trainer takes at the edges', () => {
    const edges = { 'max-depth': '30', 'learning-rate': '1', subsample: '1', 'min-child-weight': '0', lambda: '0', 'early-stopping-rounds': '0', 'min-child-samples': '1', 'max-leaves': '2' };
    const { params, errors } = parse(edges);
    expect(errors).toEqual([]);
    const data: Dataset = { nRows: 4, nFeatures: 1, x: new Float32Array([0, 1, 2, 3]), labels: new Uint8Array([0, 0, 1, 1]), featureNames: ['f'] };
    expect(() => trainGbdt(data, null, { ...params, maxRounds: 1 })).not.toThrow();
    // and the trainer refuses what the options refuse (one step past each edge)
    expect(parse({ 'max-depth': '31' }).errors).toHaveLength(1);
    expect(() => trainGbdt(data, null, { maxDepth: 31, maxRounds: 1 })).toThrow('maxDepth');
  });
});
