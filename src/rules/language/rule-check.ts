import type { RuleDefinition } from './rule-file.ts';
import type { RuleError } from './rule-error.ts';
import { compileRuleSetFromText, type RuleFileText } from './rule-set.ts';

/** A rule set's check as plain data, which can cross threads (compiled functions cannot). */
export type RuleCheck =
  | {
      readonly ok: true;
      /** the content version the files would have */
      readonly version: string;
      /** the rules, for the diff against the active version */
      readonly rules: readonly RuleDefinition[];
    }
  | { readonly ok: false; readonly errors: readonly RuleError[]; readonly tooLarge?: string };

/** Parses, checks and compiles the files (what the rule-check thread runs; see rule-checker.ts). */
export function checkRuleFiles(files: readonly RuleFileText[]): RuleCheck {
  const result = compileRuleSetFromText(files);
  if (!result.ok) return result.tooLarge === undefined ? { ok: false, errors: result.errors } : { ok: false, errors: result.errors, tooLarge: result.tooLarge };
  return {
    ok: true,
    version: result.ruleSet.version,
    rules: result.ruleSet.rules.map(({ condition: _condition, ...definition }) => definition),
  };
}
