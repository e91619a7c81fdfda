/**
 * docs/rule-language.md is checked against the code so that it cannot drift: its YAML
 * examples load (or give exactly the errors it shows), and its limits are the real ones.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { FUNCTION_NAMES } from '../../src/rules/language/ast.ts';
import { MAX_ERRORS, MAX_EXPRESSION_LENGTH, MAX_LIST_ITEMS, MAX_NESTING_DEPTH, MAX_RULE_FILES, MAX_RULE_SET_CHARS, MAX_RULES } from '../../src/rules/language/limits.ts';
import { formatRuleError } from '../../src/rules/language/rule-error.ts';
import { RULE_KEYS } from '../../src/rules/language/rule-file.ts';
import { compileRuleSetFromText } from '../../src/rules/language/rule-set.ts';

const DOC = readFileSync(new URL('../../docs/rule-language.md', import.meta.url), 'utf8');

/** Fenced blocks of one language, in order. */
function blocks(lang: string): string[] {
  return [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** `# rules/<name>` on the first line names the file; otherwise `example.yaml`. */
function fileOf(block: string): { name: string; text: string } {
  const m = /^# rules\/(\S+)/.exec(block);
  return { name: m?.[1] ?? 'example.yaml', text: block };
}

describe('docs/rule-language.md', () => {
  const yamlBlocks = blocks('yaml');

  test('every YAML example but the one showing errors loads', () => {
    const results = yamlBlocks
      .map(fileOf)
      .filter((f) => f.name !== 'typos.yaml')
      .map((f) => {
        const r = compileRuleSetFromText([f]);
        return r.ok ? `${f.name}: ${r.ruleSet.rules.length} rules` : r.errors.map(formatRuleError).join('\n');
      });
    expect(results).toEqual(['elderly.yaml: 2 rules', 'example.yaml: 1 rules', 'example.yaml: 5 rules']);
  });

  test('the error example gives exactly the errors shown', () => {
    const typos = yamlBlocks.map(fileOf).find((f) => f.name === 'typos.yaml')!;
    const r = compileRuleSetFromText([typos]);
    const shown = blocks('text')[0]!.trimEnd().split('\n');
    expect(r.ok ? [] : r.errors.map(formatRuleError)).toEqual(shown);
  });

  test('limits, functions and keys are the real ones', () => {
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect([
      DOC.includes(`| characters in one expression | ${fmt(MAX_EXPRESSION_LENGTH)} |`),
      DOC.includes(`| nesting of parentheses, function calls, \`not\` and unary \`-\` | ${MAX_NESTING_DEPTH} levels |`),
      DOC.includes(`| items in one \`in\` list | ${fmt(MAX_LIST_ITEMS)} |`),
      DOC.includes(`| errors reported for one expression, and for one rule set | ${MAX_ERRORS} |`),
      DOC.includes(`the keys are ${RULE_KEYS.join(', ')}`),
      DOC.includes(`| characters of all the files of one rule set together | ${fmt(MAX_RULE_SET_CHARS)} |`),
      DOC.includes(`| files in one rule set | ${fmt(MAX_RULE_FILES)} |`),
      DOC.includes(`| rules in one rule set | ${fmt(MAX_RULES)} |`),
    ]).toEqual([true, true, true, true, true, true, true, true]);
    const documented = /^function := (.*)$/m.exec(DOC)?.[1]?.match(/[a-z]+/g) ?? [];
    expect(documented.sort()).toEqual([...FUNCTION_NAMES].sort());
  });
});
