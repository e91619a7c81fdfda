/**
 * The rule side of a calibration proposal as a rule version (issue 16): the rule files with each
 * lowered rule's `action:` value rewritten in place, every other byte (comments, order, line
 * breaks, other keys) as it was, so the version's review diff shows only the actions. Published
 * with `PUT /v1/rules` they go through review, four-eyes approval, publish and rollback like any
 * rule version (docs/rules.md). Pure: text in, text out.
 */
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { RuleFileText } from '../rules/language/rule-set.ts';
import type { Action } from '../scoring/actions.ts';

export interface RuleActionChange {
  readonly ruleId: string;
  readonly to: Action;
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * The files with the changed rules' actions; throws naming a rule id no file defines. A rule
 * without an `action:` key (its action is `allow`) cannot be lowered, so every change has a value
 * to rewrite.
 */
export function ruleFilesWithActions(files: readonly RuleFileText[], changes: readonly RuleActionChange[]): RuleFileText[] {
  const pending = new Map(changes.map((c) => [c.ruleId, c.to]));
  const out = files.map((f) => {
    const doc = parseDocument(f.text);
    const edits: Edit[] = [];
    if (isSeq(doc.contents)) {
      for (const item of doc.contents.items) {
        if (!isMap(item)) continue;
        const raw: unknown = item.get('id');
        const id = typeof raw === 'string' ? raw : null;
        const to = id === null ? undefined : pending.get(id);
        if (id === null || to === undefined) continue;
        const value = item.get('action', true);
        if (!isScalar(value) || value.range == null) throw new Error(`rule ${id} in ${f.name} has no action: to lower`);
        edits.push({ start: value.range[0], end: value.range[1], text: to });
        pending.delete(id);
      }
    }
    if (edits.length === 0) return { name: f.name, text: f.text };
    let text = f.text;
    for (const e of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, e.start) + e.text + text.slice(e.end);
    return { name: f.name, text };
  });
  if (pending.size > 0) throw new Error(`no rule file defines ${[...pending.keys()].join(', ')}`);
  return out;
}
