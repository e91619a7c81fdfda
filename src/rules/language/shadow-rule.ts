/**
 * Rewrites rule files so that one rule runs in shadow mode (the safety cap, issue 7). Pure:
 * files in, files out. The YAML is edited as a document, so comments and the other rules stay
 * as the analyst wrote them; only the rule's `mode` is set (or added).
 */
import { isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import type { RuleFileText } from './rule-set.ts';

/** The files with `ruleId` in shadow mode, or null when no file defines that rule. */
export function shadowRuleInFiles(files: readonly RuleFileText[], ruleId: string): RuleFileText[] | null {
  let found = false;
  const out = files.map((f) => {
    if (found) return f;
    const doc = parseDocument(f.text, { uniqueKeys: true });
    if (doc.errors.length > 0) return f;
    const rule = findRule(doc.contents, ruleId);
    if (rule === null) return f;
    found = true;
    rule.set('mode', 'shadow');
    return { name: f.name, text: doc.toString() };
  });
  return found ? out : null;
}

function findRule(top: Node | null, ruleId: string): YAMLMap | null {
  let list: unknown[] = [];
  if (isSeq(top)) list = top.items;
  else if (isMap(top)) {
    const rules = top.get('rules', true);
    if (isSeq(rules)) list = rules.items;
  }
  for (const item of list) {
    if (!isMap(item)) continue;
    const id = item.get('id', true);
    if (isScalar(id) && id.value === ruleId) return item;
  }
  return null;
}
