/**
 * Where the rule files are (src/rules/language/load-rule-dir.ts) and whether edits to them are
 * watched and published as versions. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import path from 'node:path';
import { bool, type Env } from '../../config-env.ts';

export interface RuleFilesConfig {
  readonly dir: string;
  readonly watch: boolean;
}

export const RULE_FILE_VARIABLES = ['RULES_DIR', 'WATCH_RULES'] as const;

export function loadRuleFilesConfig(env: Env, cwd: string): RuleFilesConfig {
  return Object.freeze({
    dir: path.resolve(cwd, env.RULES_DIR || 'rules'),
    watch: bool(env, 'WATCH_RULES', true),
  });
}
