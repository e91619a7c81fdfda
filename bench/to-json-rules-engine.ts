/**
 * Translates checked calmpay rules into json-rules-engine (v7) rules, so that the benchmark
 * runs the same rule set on both engines and can check that they fire the same rules.
 *
 * calmpay's logic is three-valued (true, false, missing; interpreter.ts) and a rule fires
 * only when its condition is exactly true; json-rules-engine's conditions are two-valued.
 * So every boolean node is translated for a wanted truth value, as in the usual
 * three-valued-to-two-valued translation of SQL predicates:
 *   T(a and b) = all[T(a), T(b)]     F(a and b) = any[F(a), F(b)]
 *   T(a or b)  = any[T(a), T(b)]     F(a or b)  = all[F(a), F(b)]
 *   T(not a)   = F(a)                F(not a)   = T(a)
 * and a leaf is true (or false) only when its operands are present. A rule's conditions are
 * T(when). This is why `not` never becomes json-rules-engine's `not`: `not x` with x missing
 * is missing (does not fire), while json-rules-engine's `not` of a failing condition passes.
 *
 * Leaves json-rules-engine can state natively (a feature against literals) become
 * fact/operator/value conditions. Missing values reach json-rules-engine as null facts:
 * `equal` and `in` never match null against a literal, and the numeric operators reject null
 * through their fact validator (`parseFloat(null)` is NaN), so only `notEqual` and `notIn`
 * need a guard `notEqual null`, and only on features the catalogue allows to be missing.
 * Vectors hold no NaN (a missing value is null, catalogue.ts), so the numeric operators'
 * rejection of NaN never differs from calmpay.
 *
 * Every other leaf (arithmetic, two features compared, functions, constants) becomes a
 * computed fact registered with `engine.addFact`: it reads the features it needs from the
 * almanac and evaluates the leaf with calmpay's interpreter, giving true, false or null; the
 * condition is then `fact equal true` (or `equal false`). json-rules-engine could compare two
 * facts with `value: {fact}`, but not arithmetic, and its numeric validator checks only the
 * left side (`x >= null` would pass), so the leaf is computed whole.
 */
import { Engine, type Almanac, type DynamicFactCallback, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { FEATURE_COUNT, featureIndex, vectorToRecord, type FeatureValue } from '../src/features/catalogue.ts';
import { interpret, type CheckedExpr, type ComparisonOp, type Expr, type Rule } from '../src/rules/language/index.ts';

/** A condition below the top level; the typings export only the top-level union. */
type AllConditions = Extract<TopLevelCondition, { all: unknown }>;
export type JreCondition = AllConditions['all'][number];

/** A leaf that json-rules-engine cannot state, evaluated by calmpay's interpreter. */
export interface ComputedFact {
  /** the fact id: `computed:` and the leaf's text */
  readonly id: string;
  readonly expr: CheckedExpr;
  /** the features the leaf reads, with their vector positions */
  readonly inputs: readonly { readonly name: string; readonly index: number }[];
}

export interface TranslatedRule {
  readonly ruleId: string;
  readonly properties: RuleProperties;
  /** leaves of the condition stated with json-rules-engine's own operators */
  readonly nativeLeaves: number;
  /** leaves that needed a computed fact */
  readonly computedLeaves: number;
}

export interface Translation {
  readonly rules: readonly TranslatedRule[];
  /** one per distinct leaf text, shared by the rules that use it */
  readonly facts: readonly ComputedFact[];
}

type Literal = string | number | boolean;
type FeatureNode = Extract<CheckedExpr, { kind: 'feature' }>;

/** A literal operand: a number, string or boolean, or a negated number (`-5`). */
function literal(e: Expr): Literal | null {
  if (e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean') return e.value;
  if (e.kind === 'negate' && e.operand.kind === 'number') return -e.operand.value;
  return null;
}

const FLIPPED: Readonly<Record<ComparisonOp, ComparisonOp>> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
/** the comparison that is true exactly when `op` is false, both operands being present */
const NEGATED: Readonly<Record<ComparisonOp, ComparisonOp>> = { '==': '!=', '!=': '==', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };
const OPERATOR: Readonly<Record<Exclude<ComparisonOp, '!='>, string>> = {
  '==': 'equal',
  '<': 'lessThan',
  '<=': 'lessThanInclusive',
  '>': 'greaterThan',
  '>=': 'greaterThanInclusive',
};

/** The expression as rule-language text, parenthesised wherever it is not a single token. */
export function exprText(e: Expr): string {
  const wrap = (x: Expr): string =>
    x.kind === 'number' || x.kind === 'string' || x.kind === 'boolean' || x.kind === 'feature' || x.kind === 'call' ? exprText(x) : `(${exprText(x)})`;
  switch (e.kind) {
    case 'number':
    case 'boolean':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'feature':
      return e.name;
    case 'negate':
      return `-${wrap(e.operand)}`;
    case 'not':
      return `not ${wrap(e.operand)}`;
    case 'arithmetic':
    case 'compare':
    case 'logical':
      return `${wrap(e.left)} ${e.op} ${wrap(e.right)}`;
    case 'between':
      return `${wrap(e.value)} between ${wrap(e.low)} and ${wrap(e.high)}`;
    case 'in':
      return `${wrap(e.value)} ${e.negated ? 'not in' : 'in'} [${e.items.map(exprText).join(', ')}]`;
    case 'missing':
      return `${wrap(e.value)} is ${e.negated ? 'not ' : ''}missing`;
    case 'call':
      return `${e.fn}(${e.args.map(exprText).join(', ')})`;
  }
}

function featuresOf(e: Expr, into: Set<string>): Set<string> {
  switch (e.kind) {
    case 'feature':
      into.add(e.name);
      break;
    case 'negate':
    case 'not':
      featuresOf(e.operand, into);
      break;
    case 'arithmetic':
    case 'compare':
    case 'logical':
      featuresOf(e.left, into);
      featuresOf(e.right, into);
      break;
    case 'between':
      for (const x of [e.value, e.low, e.high]) featuresOf(x, into);
      break;
    case 'in':
    case 'missing':
      featuresOf(e.value, into);
      break;
    case 'call':
      for (const x of e.args) featuresOf(x, into);
      break;
    case 'number':
    case 'string':
    case 'boolean':
      break;
  }
  return into;
}

function group(kind: 'all' | 'any', parts: readonly JreCondition[]): JreCondition {
  // nested groups of the same kind are spliced in: `a and b and c` is one `all` of three
  const flat: JreCondition[] = [];
  for (const p of parts) {
    if (kind === 'all' && 'all' in p) flat.push(...p.all);
    else if (kind === 'any' && 'any' in p) flat.push(...p.any);
    else flat.push(p);
  }
  return kind === 'all' ? { all: flat } : { any: flat };
}

class Translator {
  readonly facts = new Map<string, ComputedFact>();
  nativeLeaves = 0;
  computedLeaves = 0;

  /** Conditions that pass exactly when `e` evaluates to `want` (never when it is missing). */
  condition(e: CheckedExpr, want: boolean): JreCondition {
    if (e.kind === 'not') return this.condition(e.operand, !want);
    if (e.kind === 'logical') {
      const parts = [this.condition(e.left, want), this.condition(e.right, want)];
      return group((e.op === 'and') === want ? 'all' : 'any', parts);
    }
    const native = this.native(e, want);
    if (native !== null) {
      this.nativeLeaves++;
      return native;
    }
    this.computedLeaves++;
    return { fact: this.computedFact(e).id, operator: 'equal', value: want };
  }

  private native(e: CheckedExpr, want: boolean): JreCondition | null {
    switch (e.kind) {
      case 'feature':
        return e.type === 'boolean' ? { fact: e.name, operator: 'equal', value: want } : null;
      case 'compare': {
        // a literal on the left is moved to the right: `5_000 <= amount` is `amount >= 5_000`
        const flip = e.left.kind !== 'feature';
        const f = flip ? e.right : e.left;
        const value = literal(flip ? e.left : e.right);
        if (f.kind !== 'feature' || value === null) return null;
        const op = flip ? FLIPPED[e.op] : e.op;
        const wanted = want ? op : NEGATED[op];
        if (wanted === '!=') return present(f, { fact: f.name, operator: 'notEqual', value });
        return { fact: f.name, operator: OPERATOR[wanted], value };
      }
      case 'between': {
        const [lo, hi] = [literal(e.low), literal(e.high)];
        if (e.value.kind !== 'feature' || lo === null || hi === null) return null;
        const fact = e.value.name;
        return want
          ? { all: [{ fact, operator: 'greaterThanInclusive', value: lo }, { fact, operator: 'lessThanInclusive', value: hi }] }
          : { any: [{ fact, operator: 'lessThan', value: lo }, { fact, operator: 'greaterThan', value: hi }] };
      }
      case 'in': {
        if (e.value.kind !== 'feature') return null;
        const value = e.items.map((item) => item.value);
        return want !== e.negated
          ? { fact: e.value.name, operator: 'in', value }
          : present(e.value, { fact: e.value.name, operator: 'notIn', value });
      }
      case 'missing':
        if (e.value.kind !== 'feature') return null;
        return { fact: e.value.name, operator: want !== e.negated ? 'equal' : 'notEqual', value: null };
      default:
        return null;
    }
  }

  private computedFact(e: CheckedExpr): ComputedFact {
    const id = `computed:${exprText(e)}`;
    let fact = this.facts.get(id);
    if (fact === undefined) {
      const inputs = [...featuresOf(e, new Set())].map((name) => {
        const index = featureIndex(name);
        if (index === undefined) throw new Error(`to-json-rules-engine: unknown feature ${name} (the rule was not checked)`);
        return { name, index };
      });
      fact = { id, expr: e, inputs };
      this.facts.set(id, fact);
    }
    return fact;
  }
}

/** `notEqual` and `notIn` pass on null: they need the feature present, if it can be missing. */
function present(f: FeatureNode, c: JreCondition): JreCondition {
  return f.nullable ? { all: [{ fact: f.name, operator: 'notEqual', value: null }, c] } : c;
}

function topLevel(c: JreCondition): TopLevelCondition {
  return 'all' in c || 'any' in c || 'not' in c || 'condition' in c ? c : { all: [c] };
}

/** Each rule becomes a json-rules-engine rule named after it, whose event type is its id. */
export function translateRules(rules: readonly Pick<Rule, 'id' | 'condition'>[]): Translation {
  const t = new Translator();
  const translated = rules.map((r): TranslatedRule => {
    const [native0, computed0] = [t.nativeLeaves, t.computedLeaves];
    const conditions = topLevel(t.condition(r.condition, true));
    return {
      ruleId: r.id,
      properties: { name: r.id, conditions, event: { type: r.id } },
      nativeLeaves: t.nativeLeaves - native0,
      computedLeaves: t.computedLeaves - computed0,
    };
  });
  return { rules: translated, facts: [...t.facts.values()] };
}

/** The calculation of a computed fact: the leaf, interpreted on the features it reads. */
function calculate(fact: ComputedFact): DynamicFactCallback<Promise<FeatureValue>> {
  return async (_params, almanac: Almanac) => {
    const v: FeatureValue[] = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
    for (const { name, index } of fact.inputs) v[index] = (await almanac.factValue<FeatureValue | undefined>(name)) ?? null;
    return interpret(fact.expr, v);
  };
}

export function buildEngine(t: Translation): Engine {
  // every feature is passed on each run (null when missing), so no fact is ever undefined;
  // allowUndefinedFacts only keeps a catalogue/translation mismatch from throwing mid-run
  // (it would then show up as a disagreement with calmpay instead)
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const f of t.facts) engine.addFact<Promise<FeatureValue>>(f.id, calculate(f));
  for (const r of t.rules) engine.addRule(r.properties);
  return engine;
}

/** json-rules-engine's facts for a vector: every feature by name, null when missing. */
export const vectorToFacts: (v: readonly FeatureValue[]) => Record<string, FeatureValue> = vectorToRecord;

/** The ids of the rules that fired, in the order json-rules-engine reports them. */
export async function firedRuleIds(engine: Engine, facts: Record<string, FeatureValue>): Promise<string[]> {
  const { events } = await engine.run(facts);
  return events.map((e) => e.type);
}
