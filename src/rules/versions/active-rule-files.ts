/**
 * The active rule version's files as Redis holds them (`<prefix>{rules}:active:files`, written
 * with the pointer by rules-pointer.lua): what a process without SQL (the standalone worker)
 * follows. Pure: text in, value out.
 */
import type { RuleFileText } from '../language/rule-set.ts';

export interface ActiveRuleFiles {
  /** the pointer's generation (grows with every activation in the SQL store) */
  readonly generation: number;
  readonly versionId: number;
  readonly files: readonly RuleFileText[];
}

export type ParsedActiveRuleFiles =
  | { readonly ok: true; readonly value: ActiveRuleFiles }
  | { readonly ok: false; readonly reason: string };

export function encodeActiveRuleFiles(v: ActiveRuleFiles): string {
  return JSON.stringify({ generation: v.generation, versionId: v.versionId, files: v.files.map((f) => ({ name: f.name, text: f.text })) });
}

/** `<generation>:<version id>`, the form of the pointer. */
export const pointerOf = (v: { readonly generation: number; readonly versionId: number }): string => `${v.generation}:${v.versionId}`;

const positiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks the stored JSON's shape; the rule text itself is checked by compiling it. */
export function parseActiveRuleFiles(text: string): ParsedActiveRuleFiles {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(raw)) return { ok: false, reason: 'not a JSON object' };
  if (!positiveInt(raw.generation)) return { ok: false, reason: 'generation is not a positive integer' };
  if (!positiveInt(raw.versionId)) return { ok: false, reason: 'versionId is not a positive integer' };
  if (!Array.isArray(raw.files)) return { ok: false, reason: 'files is not a list' };
  const files: RuleFileText[] = [];
  for (const [i, f] of raw.files.entries()) {
    if (!isRecord(f) || typeof f.name !== 'string' || typeof f.text !== 'string') {
      return { ok: false, reason: `files.${i} is not {name, text} with two strings` };
    }
    files.push({ name: f.name, text: f.text });
  }
  return { ok: true, value: { generation: raw.generation, versionId: raw.versionId, files } };
}
