/**
 * The rule side of a calibration proposal as a rule version (issue 16): the rule files with each
 * lowered rule's `action:` rewritten, everything else (comments, order, other keys) as it was.
 * Published with `PUT /v1/rules` they go through review, four-eyes approval, publish and
 * rollback like any rule version (docs/rules.md). Pure: text in, text out.
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import type { RuleFileText } from '../rules/language/rule-set.ts';
import type { Action } from '../scoring/actions.ts';

export interface RuleActionChange {
  readonly ruleId: string;
  readonly to: Action;
}

/** The files with the changed rules' actions; throws naming a rule id no file defines. */
export function ruleFilesWithActions(files: readonly RuleFileText[], changes: readonly RuleActionChange[]): RuleFileText[] {
  const pending = new Map(changes.map((c) => [c.ruleId, c.to]));
  const out = files.map((f) => {
    const doc = parseDocument(f.text);
    let changed = false;
    if (isSeq(doc.contents)) {
      const items = doc.contents.items;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (!isMap(item)) continue;
        const id = item.get('id');
        if (typeof id !== 'string' || !pending.has(id)) continue;
        doc.setIn([i, 'action'], pending.get(id)!);
        pending.delete(id);
        changed = true;
      }
    }
    return changed ? { name: f.name, text: doc.toString() } : { name: f.name, text: f.text };
  });
  if (pending.size > 0) throw new Error(`no rule file defines ${[...pending.keys()].join(', ')}`);
  return out;
}
