/**
 * What changed between two rule sets, by rule id: for the audit trail, the validate answer and
 * the approver's view. Pure. A rule counts as changed when anything an analyst wrote differs
 * (its place in the files does not count: moving a rule is not a change of behaviour).
 */
import type { RuleDefinition } from '../language/rule-file.ts';

export interface ChangedRule {
  readonly id: string;
  /** the rule-file keys that differ, e.g. ['score', 'mode'] */
  readonly fields: readonly string[];
}

export interface RuleDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly ChangedRule[];
}

export const NO_DIFF: RuleDiff = Object.freeze({ added: [], removed: [], changed: [] });

/** rule-file key → the definition field it sets */
const FIELDS = [
  ['description', 'description'],
  ['description_zh', 'descriptionZh'],
  ['when', 'when'],
  ['score', 'score'],
  ['action', 'action'],
  ['scam_type', 'scamType'],
  ['mode', 'mode'],
] as const;

export function diffRules(before: readonly RuleDefinition[], after: readonly RuleDefinition[]): RuleDiff {
  const old = new Map(before.map((r) => [r.id, r]));
  const now = new Map(after.map((r) => [r.id, r]));
  const added = after.filter((r) => !old.has(r.id)).map((r) => r.id);
  const removed = before.filter((r) => !now.has(r.id)).map((r) => r.id);
  const changed: ChangedRule[] = [];
  for (const r of after) {
    const o = old.get(r.id);
    if (o === undefined) continue;
    const fields = FIELDS.filter(([, f]) => o[f] !== r[f]).map(([key]) => key);
    if (fields.length > 0) changed.push({ id: r.id, fields });
  }
  return { added, removed, changed };
}

/** `+2 -1 ~3` style, for logs. */
export function summariseDiff(d: RuleDiff): string {
  const parts: string[] = [];
  if (d.added.length > 0) parts.push(`added ${d.added.join(', ')}`);
  if (d.removed.length > 0) parts.push(`removed ${d.removed.join(', ')}`);
  if (d.changed.length > 0) parts.push(`changed ${d.changed.map((c) => `${c.id} (${c.fields.join(', ')})`).join(', ')}`);
  return parts.length === 0 ? 'no rule changed' : parts.join('; ');
}
