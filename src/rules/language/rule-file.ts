/**
 * One rule file (YAML) → checked rule definitions, or errors with file, rule, line and
 * column in the file (expression errors are mapped from the `when` text into the file).
 *
 * A file is a list of rules, or a mapping `{rules: [...]}`; an empty file has no rules.
 * Unknown keys are errors: they are usually typos (`scor: 30`) that would otherwise silently
 * fall back to a default.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { ACTIONS, type Action } from '../../scoring/actions.ts';
import { SCAM_TYPES, type ScamType } from '../../scoring/scam-types.ts';
import { hasNul, NUL_MESSAGE } from '../../http/no-nul.ts';
import type { CheckedExpr } from './ast.ts';
import { checkExpression } from './checker.ts';
import { MAX_RULES } from './limits.ts';
import { parseExpression } from './parser.ts';
import type { RuleError } from './rule-error.ts';
import { LineIndex, scalarOffsetMapper } from './scalar-positions.ts';
import { didYouMean } from './suggest.ts';

export const RULE_MODES = ['active', 'shadow'] as const;
/** A shadow rule is evaluated and reported but never changes the score or the action. */
export type RuleMode = (typeof RULE_MODES)[number];

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface RuleDefinition {
  /** kebab-case, unique across the rule set; also the reason code of a hit */
  readonly id: string;
  /** the human reason shown on a hit (English) */
  readonly description: string;
  /** the reason in Simplified Chinese, when given */
  readonly descriptionZh: string | null;
  /** the condition; the rule fires when it is exactly true */
  readonly when: string;
  /** points added when the rule fires, 0..100 */
  readonly score: number;
  /** the minimum action the rule imposes when it fires (`allow`: points only) */
  readonly action: Action;
  readonly scamType: ScamType;
  readonly mode: RuleMode;
  /** where the rule starts */
  readonly location: SourceLocation;
  /** where the `when` expression starts */
  readonly whenLocation: SourceLocation;
}

/** A valid rule of one file: its definition and checked condition. */
export interface ParsedRule {
  readonly definition: RuleDefinition;
  readonly condition: CheckedExpr;
  /** file line and column of the `id` value (for duplicate-id errors across files) */
  readonly idAt: { readonly line: number; readonly column: number };
}

export interface ParsedRuleFile {
  readonly rules: readonly ParsedRule[];
  readonly errors: readonly RuleError[];
  /** the rules the file holds, valid or not (what it uses of MAX_RULES) */
  readonly ruleCount: number;
  /** set when the file holds more rules than it was allowed (MAX_RULES): its rules were not read */
  readonly tooMany?: string;
}

export const RULE_KEYS = ['id', 'description', 'description_zh', 'when', 'score', 'action', 'scam_type', 'mode'] as const;
const REQUIRED_KEYS = ['id', 'description', 'when', 'score'] as const;

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_ID_LENGTH = 100;

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === null ? 'nothing' : String(v));

const oneOf = (values: readonly string[]): string =>
  values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;

/** @param maxRules how many rules the file may hold (what is left of MAX_RULES for the set) */
export function parseRuleFile(file: string, text: string, maxRules: number = MAX_RULES): ParsedRuleFile {
  const lines = new LineIndex(text);
  const errors: RuleError[] = [];
  const at = (offset: number) => lines.at(offset);
  const nodeAt = (node: Node | null | undefined, fallback = 0) => at(node?.range?.[0] ?? fallback);
  const err = (ruleId: string | null, where: { line: number; column: number }, message: string): void => {
    errors.push({ file, ruleId, line: where.line, column: where.column, message });
  };

  // Postgres text cannot hold a NUL (issue 19): refuse it in the file, before YAML sees it
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    err(null, at(nul), `the file ${NUL_MESSAGE}`);
    return { rules: [], errors, ruleCount: 0 };
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) err(null, at(e.pos[0]), `YAML: ${e.message.split('\n')[0]}`);
    return { rules: [], errors, ruleCount: 0 };
  }

  const top = doc.contents;
  let list: Node[] = [];
  if (top === null || (isScalar(top) && top.value === null)) {
    list = [];
  } else if (isSeq(top)) {
    list = top.items as Node[];
  } else if (isMap(top)) {
    let found = false;
    for (const pair of top.items as Pair<Node, Node>[]) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (key === 'rules') {
        found = true;
        if (isSeq(pair.value)) list = pair.value.items as Node[];
        else if (!(isScalar(pair.value) && pair.value.value === null) && pair.value !== null) {
          err(null, nodeAt(pair.value), "'rules' must be a list of rules");
        }
      } else {
        const name = typeof key === 'string' ? `'${key}'` : show(key);
        const hint = typeof key === 'string' ? didYouMean(key, ['rules']) : '';
        err(null, nodeAt(pair.key), `unknown key ${name} at the top of a rule file${hint}`);
      }
    }
    if (!found) err(null, nodeAt(top), "a rule file is a list of rules, or a mapping with a 'rules' list");
  } else {
    err(null, nodeAt(top), "a rule file is a list of rules, or a mapping with a 'rules' list");
  }

  if (list.length > maxRules) {
    // nothing of the file is checked: the limit bounds the work a rule set can ask of a node
    const tooMany = `the rule set has more than ${MAX_RULES} rules (MAX_RULES); ${file} alone holds ${list.length}`;
    err(null, nodeAt(list[maxRules]), tooMany);
    return { rules: [], errors, ruleCount: list.length, tooMany };
  }
  const rules: ParsedRule[] = [];
  for (const item of list) {
    const rule = parseRule(item);
    if (rule !== null) rules.push(rule);
  }
  return { rules, errors, ruleCount: list.length };

  function parseRule(item: Node | null): ParsedRule | null {
    if (!isMap(item)) {
      err(null, nodeAt(item), 'a rule must be a mapping with the keys id, description, when, score, action, scam_type');
      return null;
    }
    const map = item as YAMLMap<Node, Node>;
    const values = new Map<string, Node | null>();
    const idNode = map.items.find((p) => isScalar(p.key) && p.key.value === 'id')?.value ?? null;
    const ruleId = isScalar(idNode) && typeof idNode.value === 'string' ? idNode.value : null;
    const before = errors.length;
    const fail = (node: Node | null | undefined, message: string): void => err(ruleId, nodeAt(node, map.range?.[0]), message);

    for (const pair of map.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string') {
        fail(pair.key, `rule keys must be names, found ${show(key)}`);
      } else if (!(RULE_KEYS as readonly string[]).includes(key)) {
        fail(pair.key, `unknown key '${key}'${didYouMean(key, RULE_KEYS)}; the keys are ${RULE_KEYS.join(', ')}`);
      } else {
        values.set(key, pair.value);
      }
    }
    for (const k of REQUIRED_KEYS) if (!values.has(k)) fail(map, `missing required key '${k}'`);

    const scalar = (key: string): Scalar | null | undefined => {
      const node = values.get(key);
      if (node === undefined) return undefined;
      if (isScalar(node)) return node;
      fail(node, `${key} must be a single value, not a ${isSeq(node) ? 'list' : isMap(node) ? 'mapping' : 'reference'}`);
      return null;
    };
    const nonEmptyText = (key: string): string | undefined => {
      const node = scalar(key);
      if (node === undefined || node === null) return undefined;
      if (typeof node.value === 'string' && hasNul(node.value)) {
        // a YAML escape ("\0") puts a NUL in the value, not in the file
        fail(node, `${key} ${NUL_MESSAGE}`);
        return undefined;
      }
      if (typeof node.value === 'string' && node.value.trim() !== '') return node.value;
      fail(node, `${key} must be a non-empty text, got ${show(node.value)}`);
      return undefined;
    };
    const choice = <T extends string>(key: string, choices: readonly T[], def: T): T => {
      const node = scalar(key);
      if (node === undefined || node === null) return def;
      if (typeof node.value === 'string' && (choices as readonly string[]).includes(node.value)) return node.value as T;
      const hint = typeof node.value === 'string' ? didYouMean(node.value, choices) : '';
      fail(node, `${key} must be ${oneOf(choices)}, got ${show(node.value)}${hint}`);
      return def;
    };

    let id = '';
    const idScalar = scalar('id');
    if (idScalar) {
      if (typeof idScalar.value !== 'string' || !KEBAB.test(idScalar.value) || idScalar.value.length > MAX_ID_LENGTH) {
        fail(idScalar, `id must be kebab-case (lower-case letters and digits joined by single '-', at most ${MAX_ID_LENGTH} characters), got ${show(idScalar.value)}`);
      } else {
        id = idScalar.value;
      }
    }
    const description = nonEmptyText('description') ?? '';
    const descriptionZh = values.has('description_zh') ? (nonEmptyText('description_zh') ?? null) : null;

    let score = 0;
    const scoreNode = scalar('score');
    if (scoreNode) {
      const s = scoreNode.value;
      if (typeof s === 'number' && Number.isFinite(s) && s >= 0 && s <= 100) score = s;
      else fail(scoreNode, `score must be a number from 0 to 100, got ${show(s)}`);
    }
    const action = choice('action', ACTIONS, 'allow');
    const scamType = choice('scam_type', SCAM_TYPES, 'other');
    const mode = choice('mode', RULE_MODES, 'active');

    let when = '';
    let whenNode: Scalar | null = null;
    let whenAt = { line: 0, column: 0 };
    const whenErrorsBefore = errors.length;
    const w = scalar('when');
    if (w) {
      whenNode = w;
      if (typeof w.value === 'string' && hasNul(w.value)) {
        fail(w, `when ${NUL_MESSAGE}`);
      } else if (typeof w.value === 'string') {
        when = w.value;
      } else if (w.type === 'PLAIN' && w.range) {
        // `when: true` is YAML for a boolean, but as a rule it is the expression `true`
        when = text.slice(w.range[0], w.range[1]);
      } else {
        fail(w, `when must be an expression, got ${show(w.value)}`);
      }
    }

    // The condition is checked even when other keys have errors: every error is reported.
    let condition: CheckedExpr | null = null;
    if (whenNode !== null && errors.length === whenErrorsBefore) {
      const toFile = scalarOffsetMapper(text, whenNode, when);
      const syntax = parseExpression(when);
      const checked = syntax.ok ? checkExpression(syntax.expr, { expect: 'boolean' }) : syntax;
      if (checked.ok) condition = checked.expr;
      else for (const e of checked.errors) err(ruleId, at(toFile(e.offset)), e.message);
      whenAt = at(toFile(0));
    }
    if (errors.length > before || condition === null) return null;
    return {
      definition: {
        id,
        description,
        descriptionZh,
        when,
        score,
        action,
        scamType,
        mode,
        location: { file, ...nodeAt(map) },
        whenLocation: { file, ...whenAt },
      },
      condition,
      idAt: nodeAt(idScalar),
    };
  }
}
