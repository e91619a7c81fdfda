import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleFilesWithActions } from '../../src/calibration/rule-files.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';

const BASIC = readFileSync(path.resolve(import.meta.dirname, '../fixtures/rules/basic.yaml'), 'utf8');

describe('the rule side of a calibration proposal as rule files (issue 16)', () => {
  it("rewrites only the lowered rules' action, keeping comments and every other line", () => {
    const [out] = ruleFilesWithActions([{ name: 'basic.yaml', text: BASIC }], [{ ruleId: 'elderly-on-call-new-payee', to: 'warn' }]);
    expect(out!.name).toBe('basic.yaml');
    const before = BASIC.split('\n');
    const after = out!.text.split('\n');
    expect(after.length).toBe(before.length);
    const changed = after.map((l, i) => [before[i], l]).filter(([a, b]) => a !== b);
    expect(changed).toEqual([['  action: cool_off', '  action: warn']]);
    expect(after[0]).toMatch(/^# A small, fixed rule set/);
    const compiled = compileRuleSetFromText([out!]);
    expect(compiled.ok && compiled.ruleSet.rules.find((r) => r.id === 'elderly-on-call-new-payee')?.action).toBe('warn');
  });

  it('lowers a rule to points only (allow), and refuses a rule no file defines', () => {
    const [out] = ruleFilesWithActions([{ name: 'basic.yaml', text: BASIC }], [{ ruleId: 'large-to-new-payee', to: 'allow' }]);
    const compiled = compileRuleSetFromText([out!]);
    expect(compiled.ok && compiled.ruleSet.rules.find((r) => r.id === 'large-to-new-payee')?.action).toBe('allow');
    expect(() => ruleFilesWithActions([{ name: 'basic.yaml', text: BASIC }], [{ ruleId: 'no-such-rule', to: 'allow' }])).toThrow('no rule file defines no-such-rule');
  });

  it('changes nothing but the action value, however long the lines', () => {
    const text = [
      '# Rules about the payee.',
      '- id: long-one',
      '  description: The payee received money from 5 or more first-time payers in the last 24 hours, most of its payers being new (possible money mule)',
      '  when: payee.new_payers_24h >= 5 and payee.new_payers_24h >= 0.6 * payee.distinct_payers_24h and amount >= 10_000',
      '  score: 30',
      '  action: warn   # lowered by calibrations',
      '  scam_type: mule',
      '',
    ].join('\n');
    const [out] = ruleFilesWithActions([{ name: 'payee.yaml', text }], [{ ruleId: 'long-one', to: 'allow' }]);
    expect(out!.text).toBe(text.replace('  action: warn   #', '  action: allow   #'));
    const compiled = compileRuleSetFromText([out!]);
    expect(compiled.ok && compiled.ruleSet.rules[0]!.action).toBe('allow');
  });

  it('leaves files without a change byte for byte', () => {
    const other = { name: 'other.yaml', text: '# untouched\n- id: x\n  description: X\n  when: amount > 0\n  score: 1\n' };
    const out = ruleFilesWithActions([{ name: 'basic.yaml', text: BASIC }, other], [{ ruleId: 'large-to-new-payee', to: 'allow' }]);
    expect(out[1]).toEqual(other);
  });
});
