import { describe, expect, it } from 'vitest';
import { compileRuleSetFromText } from '../../src/rules/language/index.ts';
import { RuleReasons } from '../../src/rules/language/rule-reasons.ts';

const set = (description: string, zh: string | null) => {
  const r = compileRuleSetFromText([
    {
      name: 'a.yaml',
      text: `- id: big\n  description: ${description}\n${zh ? `  description_zh: ${zh}\n` : ''}  when: amount > 1\n  score: 1\n`,
    },
  ]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.ruleSet;
};

describe('rule reasons by version', () => {
  it('renders the reason of the version that made the decision, then the newest, then the id', () => {
    const reasons = new RuleReasons(2);
    const v1 = set('Old reason', null);
    const v2 = set('New reason', '新原因');
    reasons.remember(v1);
    reasons.remember(v2);
    expect(reasons.lookup(v1.version, 'big')).toEqual({ reason: 'Old reason', reasonZh: null });
    expect(reasons.lookup(v2.version, 'big')).toEqual({ reason: 'New reason', reasonZh: '新原因' });
    expect(reasons.lookup('files-unknown', 'big')).toEqual({ reason: 'New reason', reasonZh: '新原因' });
    expect(reasons.lookup(v2.version, 'gone')).toEqual({ reason: 'gone', reasonZh: null });
    reasons.remember(set('Third', null));
    expect(reasons.lookup(v1.version, 'big')).toEqual({ reason: 'Third', reasonZh: null });
  });
});
