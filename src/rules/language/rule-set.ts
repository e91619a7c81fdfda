/**
 * A rule set: the rules of all files, checked and compiled into one function, with a
 * version derived from the file contents. Building one is pure (text in, value out); the
 * loader and the watcher do the IO.
 */
import { createHash } from 'node:crypto';
import { FEATURE_COUNT, type FeatureValue } from '../../features/catalogue.ts';
import type { Action } from '../../scoring/actions.ts';
import type { ScamType } from '../../scoring/scam-types.ts';
import type { CheckedExpr } from './ast.ts';
import { compileConditions } from './compiler.ts';
import { capErrors, MAX_RULES, ruleSetSizeProblem } from './limits.ts';
import type { RuleError } from './rule-error.ts';
import { parseRuleFile, type ParsedRule, type RuleDefinition, type RuleMode } from './rule-file.ts';

export interface Rule extends RuleDefinition {
  /** the checked `when` expression */
  readonly condition: CheckedExpr;
}

/** A rule that fired. Shadow hits are reported but must not change the score or the action. */
export interface RuleHit {
  readonly ruleId: string;
  readonly score: number;
  readonly action: Action;
  readonly scamType: ScamType;
  readonly mode: RuleMode;
  /** the rule's description */
  readonly reason: string;
  /** the rule's description_zh, or null */
  readonly reasonZh: string | null;
}

/** A rule that could not be evaluated: an explicit reason, never a silent "did not fire". */
export interface RuleEvaluationError {
  readonly ruleId: string;
  readonly message: string;
}

export interface RuleEvaluation {
  /** in rule order (files by name, rules in file order) */
  readonly hits: readonly RuleHit[];
  readonly errors: readonly RuleEvaluationError[];
}

export interface RuleFileText {
  /** a file name such as `default.yaml` (no directories) */
  readonly name: string;
  readonly text: string;
}

export interface RuleSet {
  /** `files-` + the first 12 hex digits of the sha256 of the sorted files (see ruleSetVersion) */
  readonly version: string;
  readonly rules: readonly Rule[];
  /** the source files, sorted by name */
  readonly files: readonly RuleFileText[];
  /** Evaluates every rule on a feature vector in catalogue order. */
  evaluate(v: readonly FeatureValue[]): RuleEvaluation;
}

export type RuleSetResult =
  | { readonly ok: true; readonly ruleSet: RuleSet }
  | {
      readonly ok: false;
      readonly errors: readonly RuleError[];
      /** set when the set is beyond a size limit (files, characters, rules): the limit, as said in `errors` */
      readonly tooLarge?: string;
    };

const FILE_NAME = /^[^/\\\0]+\.ya?ml$/;
const NO_ERRORS: readonly RuleEvaluationError[] = Object.freeze([]);

/** The ruleId of an evaluation error that no single rule reproduces. */
export const WHOLE_SET = '(rule set)';

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const byName = (a: RuleFileText, b: RuleFileText): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * `files-` + the first 12 hex digits of sha256 over JSON `[[name, text], ...]` of the files
 * sorted by name: the same files always give the same version, on every node.
 */
export function ruleSetVersion(files: readonly RuleFileText[]): string {
  const pairs = [...files].sort(byName).map((f) => [f.name, f.text]);
  return `files-${createHash('sha256').update(JSON.stringify(pairs)).digest('hex').slice(0, 12)}`;
}

/**
 * Parses, checks and compiles the given files into one rule set, or returns every error
 * (capped at MAX_ERRORS) with file, rule, line and column.
 */
export function compileRuleSetFromText(files: readonly RuleFileText[]): RuleSetResult {
  const tooLarge = ruleSetSizeProblem(files);
  if (tooLarge !== null) return { ok: false, errors: [{ file: null, ruleId: null, line: 0, column: 0, message: tooLarge }], tooLarge };
  const sorted = [...files].sort(byName);
  const errors: RuleError[] = [];
  const parsed: ParsedRule[] = [];
  let ruleCount = 0;
  const seenFiles = new Set<string>();

  for (const f of sorted) {
    if (!FILE_NAME.test(f.name) || f.name.startsWith('.')) {
      errors.push({ file: f.name, ruleId: null, line: 0, column: 0, message: 'a rule file name must end in .yaml or .yml, with no directory and no leading dot' });
      continue;
    }
    if (seenFiles.has(f.name)) {
      errors.push({ file: f.name, ruleId: null, line: 0, column: 0, message: 'the same file name is given twice' });
      continue;
    }
    seenFiles.add(f.name);
    const file = parseRuleFile(f.name, f.text, MAX_RULES - ruleCount);
    ruleCount += file.ruleCount;
    errors.push(...file.errors);
    parsed.push(...file.rules);
    if (file.tooMany !== undefined) return { ok: false, errors: capErrors(inReadingOrder(errors)), tooLarge: file.tooMany };
  }

  const firstById = new Map<string, ParsedRule>();
  const rules: Rule[] = [];
  for (const p of parsed) {
    const d = p.definition;
    const first = firstById.get(d.id);
    if (first !== undefined) {
      const f = first.definition.location;
      errors.push({
        file: d.location.file,
        ruleId: d.id,
        ...p.idAt,
        message: `duplicate rule id '${d.id}'; it is first defined in ${f.file} at line ${f.line}`,
      });
    } else {
      firstById.set(d.id, p);
    }
    rules.push(Object.freeze({ ...d, condition: p.condition }));
  }

  if (errors.length > 0) return { ok: false, errors: capErrors(inReadingOrder(errors)) };
  return { ok: true, ruleSet: buildRuleSet(rules, sorted) };
}

function buildRuleSet(rules: readonly Rule[], files: readonly RuleFileText[]): RuleSet {
  const hits: RuleHit[] = rules.map((r) =>
    Object.freeze({
      ruleId: r.id,
      score: r.score,
      action: r.action,
      scamType: r.scamType,
      mode: r.mode,
      reason: r.description,
      reasonZh: r.descriptionZh,
    }),
  );
  const compiled = compileConditions(
    rules.map((r) => r.condition),
    hits,
  );

  /** The slow path: only taken if the compiled function threw, which it should never do. */
  const oneByOne = (v: readonly FeatureValue[], cause: unknown): RuleEvaluation => {
    const fired: RuleHit[] = [];
    const failed: RuleEvaluationError[] = [];
    compiled.each.forEach((fires, i) => {
      try {
        if (fires(v)) fired.push(hits[i]!);
      } catch (e) {
        failed.push({ ruleId: rules[i]!.id, message: `rule failed to evaluate: ${errorMessage(e)}` });
      }
    });
    if (failed.length === 0) {
      // no single rule reproduces the failure: still say that it happened
      failed.push({ ruleId: WHOLE_SET, message: `the compiled rule set failed and was evaluated rule by rule: ${errorMessage(cause)}` });
    }
    return { hits: fired, errors: failed };
  };

  return Object.freeze({
    version: ruleSetVersion(files),
    rules: Object.freeze([...rules]),
    files: Object.freeze(files.map((f) => Object.freeze({ name: f.name, text: f.text }))),
    evaluate(v: readonly FeatureValue[]): RuleEvaluation {
      if (v.length !== FEATURE_COUNT) {
        throw new Error(`rule set: a feature vector has ${FEATURE_COUNT} values, got ${v.length}`);
      }
      try {
        return { hits: compiled.evaluateAll(v), errors: NO_ERRORS };
      } catch (e) {
        return oneByOne(v, e);
      }
    },
  });
}

/** Sorted by file, then line and column (stable: errors at one place keep their order). */
function inReadingOrder(errors: readonly RuleError[]): RuleError[] {
  return [...errors].sort((a, b) => {
    const fa = a.file ?? '';
    const fb = b.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return a.line - b.line || a.column - b.column;
  });
}
