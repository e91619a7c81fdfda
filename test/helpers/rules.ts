import { compileRuleSetFromText, type RuleSet } from '../../src/rules/language/rule-set.ts';

/** A rule set from one YAML file's text, for tests; a text that does not compile throws with its errors. */
export function compileRules(text: string, name = 'test.yaml'): RuleSet {
  const r = compileRuleSetFromText([{ name, text }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.ruleSet;
}
