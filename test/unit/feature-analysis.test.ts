import { describe, expect, it } from 'vitest';
import { analyseFeatures, informationValue, type AnalysisRow } from '../../src/cases/feature-analysis.ts';
import { FEATURES, idx, type FeatureValue } from '../../src/features/catalogue.ts';

function row(id: string, set: Record<string, FeatureValue>, over: Partial<AnalysisRow> = {}): AnalysisRow {
  const features = new Array<FeatureValue>(FEATURES.length).fill(null);
  for (const [name, v] of Object.entries(set)) features[idx(name)] = v;
  return { transferId: id, payeeId: `q-${id}`, occurredAtMs: 0, features, action: 'allow', hitRules: [], shadowRules: [], reportedAs: null, weight: 1, ...over };
}

/**
 * Ten transfers with a known answer: the four reported scams were all made on a call, one of the
 * six others was; three scams are elderly payers. Every other feature is missing everywhere, so
 * it cannot separate anything.
 */
const ROWS: AnalysisRow[] = [
  row('s1', { 'context.on_call': true, 'payer.age_band': 'elderly' }, { reportedAs: 'impersonation', action: 'cool_off', hitRules: ['r-a'], shadowRules: ['s-x'] }),
  row('s2', { 'context.on_call': true, 'payer.age_band': 'elderly' }, { reportedAs: 'impersonation', action: 'cool_off', hitRules: ['r-a'] }),
  row('s3', { 'context.on_call': true, 'payer.age_band': 'elderly' }, { reportedAs: 'impersonation', action: 'warn', hitRules: ['r-a'] }),
  row('s4', { 'context.on_call': true, 'payer.age_band': 'adult' }, { reportedAs: 'romance' }),
  row('n1', { 'context.on_call': true, 'payer.age_band': 'adult' }, { hitRules: ['r-a'], action: 'warn' }),
  row('n2', { 'context.on_call': false, 'payer.age_band': 'adult' }),
  row('n3', { 'context.on_call': false, 'payer.age_band': 'adult' }),
  row('n4', { 'context.on_call': false, 'payer.age_band': 'adult' }),
  row('n5', { 'context.on_call': false, 'payer.age_band': 'elderly' }),
  row('n6', { 'context.on_call': false, 'payer.age_band': 'elderly' }),
];

describe('feature analysis on a seeded set with a known answer', () => {
  const a = analyseFeatures(ROWS, { top: 3 });

  it('ranks the feature that separates scams first, with its information value', () => {
    // IV by hand: non-empty buckets true/false, scams 4/0 of 4, others 1/5 of 6, add-0.5 smoothing
    const ps = [4.5 / 5, 0.5 / 5];
    const po = [1.5 / 7, 5.5 / 7];
    const iv = ps.reduce((s, p, k) => s + (p - po[k]!) * Math.log(p / po[k]!), 0);
    expect(iv).toBeCloseTo(2.3976, 4);
    expect(a.overall.ranking[0]).toEqual({ feature: 'context.on_call', separation: 2.3976 });
    expect(a.overall.ranking[1]!.feature).toBe('payer.age_band');
    expect(a.overall.ranking.slice(2).every((r) => r.separation === 0)).toBe(true);
    expect(a.overall.ranking).toHaveLength(FEATURES.length);
  });

  it('gives the lift of every bucket', () => {
    expect(a.overall).toMatchObject({ segment: 'all', transfers: 10, reported: 4 });
    expect(a.overall.features[0]).toEqual({
      feature: 'context.on_call',
      separation: 2.3976,
      buckets: [
        { label: 'true', scamCount: 4, allCount: 5, scamShare: 1, allShare: 0.5, lift: 2 },
        { label: 'false', scamCount: 0, allCount: 5, scamShare: 0, allShare: 0.5, lift: 0 },
        { label: 'missing', scamCount: 0, allCount: 0, scamShare: 0, allShare: 0, lift: null },
      ],
    });
    expect(a.overall.features[1]!.buckets).toEqual([
      { label: 'minor', scamCount: 0, allCount: 0, scamShare: 0, allShare: 0, lift: null },
      { label: 'adult', scamCount: 1, allCount: 5, scamShare: 0.25, allShare: 0.5, lift: 0.5 },
      { label: 'elderly', scamCount: 3, allCount: 5, scamShare: 0.75, allShare: 0.5, lift: 1.5 },
      { label: '(other)', scamCount: 0, allCount: 0, scamShare: 0, allShare: 0, lift: null },
      { label: 'missing', scamCount: 0, allCount: 0, scamShare: 0, allShare: 0, lift: null },
    ]);
  });

  it('breaks the comparison down by scam type and by age band', () => {
    expect(a.byScamType.map((s) => [s.segment, s.transfers, s.reported])).toEqual([
      ['impersonation', 10, 3],
      ['romance', 10, 1],
    ]);
    const imp = a.byScamType[0]!.features.find((f) => f.feature === 'payer.age_band')!;
    expect(imp.buckets.find((b) => b.label === 'elderly')).toEqual({ label: 'elderly', scamCount: 3, allCount: 5, scamShare: 1, allShare: 0.5, lift: 2 });
    // within each band: elderly 3 scams of 5 transfers (on a call 3 of 3 vs 3 of 5); adult 1 of 5 (1 of 1 vs 2 of 5)
    expect(a.byAgeBand.map((s) => [s.segment, s.transfers, s.reported])).toEqual([
      ['adult', 5, 1],
      ['elderly', 5, 3],
    ]);
    const onCall = (seg: number) => a.byAgeBand[seg]!.features.find((f) => f.feature === 'context.on_call')!.buckets[0]!;
    expect(onCall(0)).toEqual({ label: 'true', scamCount: 1, allCount: 2, scamShare: 1, allShare: 0.4, lift: 2.5 });
    expect(onCall(1)).toEqual({ label: 'true', scamCount: 3, allCount: 3, scamShare: 1, allShare: 0.6, lift: 1.6667 });
  });

  it('says which rules fired on reported scams, and how precise they were', () => {
    expect(a.rules).toEqual([
      { ruleId: 'r-a', mode: 'active', firedOnReported: 3, shareOfReported: 0.75, firedOnAll: 4, precision: 0.75 },
      { ruleId: 's-x', mode: 'shadow', firedOnReported: 1, shareOfReported: 0.25, firedOnAll: 1, precision: 1 },
    ]);
  });

  it('lists the reported scams nothing caught, with their common traits', () => {
    expect(a.missed).toEqual({
      count: 1,
      shareOfReported: 0.25,
      byScamType: { romance: 1 },
      byAgeBand: { adult: 1 },
      traits: [
        { feature: 'context.on_call', bucket: 'true', missedCount: 1, missedShare: 1, allShare: 0.5, lift: 2 },
        { feature: 'payer.age_band', bucket: 'adult', missedCount: 1, missedShare: 1, allShare: 0.5, lift: 2 },
      ],
      examples: [{ transferId: 's4', payeeId: 'q-s4', scamType: 'romance', occurredAt: '1970-01-01T00:00:00.000Z' }],
    });
  });
});

describe('feature analysis: buckets and weights', () => {
  it('cuts a number with many values into weighted deciles of all transfers', () => {
    const rows = Array.from({ length: 100 }, (_, i) => row(`t${i}`, { amount: i + 1 }, i >= 95 ? { reportedAs: 'investment' } : {}));
    const amount = analyseFeatures(rows, { top: 1 }).overall.features[0]!;
    expect(amount.feature).toBe('amount');
    expect(amount.buckets.map((b) => [b.label, b.allCount, b.scamCount])).toEqual([
      ['< 10', 9, 0], ['10 to < 20', 10, 0], ['20 to < 30', 10, 0], ['30 to < 40', 10, 0], ['40 to < 50', 10, 0],
      ['50 to < 60', 10, 0], ['60 to < 70', 10, 0], ['70 to < 80', 10, 0], ['80 to < 90', 10, 0], ['>= 90', 11, 5],
      ['missing', 0, 0],
    ]);
    expect(amount.buckets[9]!.lift).toBe(9.0909);
  });

  it('counts a sampled transfer with its weight', () => {
    const rows = [
      row('s', { 'context.remote_access': true }, { reportedAs: 'account_takeover' }),
      row('n1', { 'context.remote_access': true }, { weight: 3 }),
      row('n2', { 'context.remote_access': false }, { weight: 6 }),
    ];
    const a = analyseFeatures(rows, { top: 1 });
    expect(a.transfers).toBe(10);
    expect(a.overall.features[0]!.buckets.slice(0, 2)).toEqual([
      { label: 'true', scamCount: 1, allCount: 4, scamShare: 1, allShare: 0.4, lift: 2.5 },
      { label: 'false', scamCount: 0, allCount: 6, scamShare: 0, allShare: 0.6, lift: 0 },
    ]);
  });

  it('finds no separation where scams look like everything else, and none without scams', () => {
    expect(informationValue([1, 1], [4, 4])).toBe(0);
    expect(informationValue([0, 0], [4, 4])).toBe(0);
    const none = analyseFeatures([row('n', { amount: 5 })], { top: 2 });
    expect([none.reported, none.byScamType, none.byAgeBand, none.missed.count]).toEqual([0, [], [], 0]);
  });
});
