import { describe, expect, it } from 'vitest';
import { diffRules, summariseDiff } from '../../src/rules/versions/rule-diff.ts';
import type { RuleSet } from '../../src/rules/language/rule-set.ts';
import { compileRules } from '../helpers/rules.ts';
import { findTrips, sumMinutes } from '../../src/rules/versions/safety-cap.ts';
import { shadowRuleInFiles } from '../../src/rules/language/shadow-rule.ts';

const compile = (text: string): RuleSet => compileRules(text, 'a.yaml');
const rule = (id: string, score = 10, extra = '') => `- id: ${id}\n  description: ${id}\n  when: amount > 1\n  score: ${score}\n${extra}`;

describe('diffRules', () => {
  it('names rules added, removed and changed, and the changed keys', () => {
    const before = compile(rule('a') + rule('b') + rule('c'));
    const after = compile(rule('c', 10, '  mode: shadow\n') + rule('a', 20) + rule('d'));
    const d = diffRules(before.rules, after.rules);
    expect(d).toEqual({ added: ['d'], removed: ['b'], changed: [{ id: 'c', fields: ['mode'] }, { id: 'a', fields: ['score'] }] });
    expect(summariseDiff(d)).toBe('added d; removed b; changed c (mode), a (score)');
    expect(diffRules(before.rules, before.rules)).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe('shadowRuleInFiles', () => {
  it('sets or adds mode: shadow on the one rule, keeping comments and the other rules', () => {
    const text = `# keep me\n${rule('a')}${rule('b', 10, '  mode: active  # acting\n')}`;
    const out = shadowRuleInFiles([{ name: 'a.yaml', text }], 'b')!;
    const set = compile(out[0]!.text);
    expect(set.rules.map((r) => [r.id, r.mode])).toEqual([['a', 'active'], ['b', 'shadow']]);
    expect(out[0]!.text.startsWith('# keep me\n')).toBe(true);
    const added = compile(shadowRuleInFiles([{ name: 'a.yaml', text }], 'a')![0]!.text);
    expect(added.rules.map((r) => r.mode)).toEqual(['shadow', 'active']);
    expect(shadowRuleInFiles([{ name: 'a.yaml', text }], 'zzz')).toBeNull();
  });
});

describe('findTrips', () => {
  const cfg = { multiple: 10, minShare: 0.05, minSample: 100, windowMinutes: 5 };
  const counts = (total: number, hits: Record<string, number>) => ({ total, hits: new Map(Object.entries(hits)) });

  it('trips a rule at 10x its hourly share and over 5% of traffic', () => {
    const trips = findTrips(counts(1_000, { x: 200, y: 60 }), counts(10_000, { x: 100, y: 500 }), cfg);
    expect(trips.map((t) => [t.ruleId, t.share, t.baselineShare])).toEqual([['x', 0.2, 0.01]]);
    expect(trips[0]!.reason).toBe(
      'safety cap: the rule fired on 20.0% of 1000 decisions in the last 5 min, against 1.0% of 10000 in the hour before (limits: 10x its hourly share and 5.0% of traffic)',
    );
  });

  it('does not trip on a traffic peak, a small share, a small sample or without an hour of history', () => {
    expect(findTrips(counts(50_000, { x: 500 }), counts(10_000, { x: 100 }), cfg)).toEqual([]); // same share
    expect(findTrips(counts(1_000, { x: 40 }), counts(10_000, { x: 1 }), cfg)).toEqual([]); // 4% < 5%
    expect(findTrips(counts(99, { x: 99 }), counts(10_000, { x: 1 }), cfg)).toEqual([]);
    expect(findTrips(counts(1_000, { x: 900 }), counts(99, {}), cfg)).toEqual([]);
    expect(findTrips(counts(1_000, { x: 900 }), counts(100, {}), cfg).map((t) => t.ruleId)).toEqual(['x']); // new rule
  });

  it('sums minute hashes as Redis returns them', () => {
    const s = sumMinutes([{ total: '10', 'r:a': '2' }, {}, { total: '5', 'r:a': '1', 'r:b': '4' }]);
    expect([s.total, [...s.hits]]).toEqual([15, [['a', 3], ['b', 4]]]);
  });
});
