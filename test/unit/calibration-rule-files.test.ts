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

  it('leaves files without a change byte for byte', () => {
    const other = { name: 'other.yaml', text: '# untouched\n- id: x\n  description: X\n  when: amount > 0\n  score: 1\n' };
    const out = ruleFilesWithActions([{ name: 'basic.yaml', text: BASIC }, other], [{ ruleId: 'large-to-new-payee', to: 'allow' }]);
    expect(out[1]).toEqual(other);
  });
});
