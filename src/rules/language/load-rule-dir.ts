/**
 * Reads a rule directory: every `*.yaml` / `*.yml` file directly in it (dot files, such as
 * editor lock files, are skipped), sorted by name.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RuleError } from './rule-error.ts';
import { compileRuleSetFromText, type RuleFileText, type RuleSetResult } from './rule-set.ts';

export const RULE_FILE = /^[^.].*\.ya?ml$/;

export async function loadRuleDir(dir: string): Promise<RuleSetResult> {
  let names: string[];
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    names = entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && RULE_FILE.test(e.name))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (e) {
    return { ok: false, errors: [ioError(null, `cannot read the rule directory ${dir}: ${(e as Error).message}`)] };
  }
  const files: RuleFileText[] = [];
  const errors: RuleError[] = [];
  for (const name of names) {
    try {
      files.push({ name, text: await readFile(path.join(dir, name), 'utf8') });
    } catch (e) {
      errors.push(ioError(name, `cannot read the file: ${(e as Error).message}`));
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return compileRuleSetFromText(files);
}

function ioError(file: string | null, message: string): RuleError {
  return { file, ruleId: null, line: 0, column: 0, message };
}
