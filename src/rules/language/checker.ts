/**
 * Type checker: resolves every identifier against the feature catalogue and computes the
 * static type and nullability of every node. All errors are collected (capped at
 * MAX_ERRORS); a node with an error is "poisoned" so that one mistake is reported once, not
 * again by every operator above it.
 *
 * Types: `and`/`or`/`not` take booleans; `< <= > >=`, `between`, arithmetic, `min`, `max`
 * and `abs` take numbers; `==`/`!=` and `coalesce` need one type on every side; `in` list
 * items must have the type of the value; a string literal compared with (or listed against) a
 * feature with a closed set of values must be one of them.
 *
 * Nullability (can the node evaluate to missing?) drives the compiler's choice between plain
 * JS operators and null-aware helpers; see the semantics in interpreter.ts.
 */
import { FEATURES, featureSpec, type FeatureType } from '../../features/catalogue.ts';
import {
  expressionError,
  type CheckedExpr,
  type CheckedListItem,
  type Expr,
  type ExpressionError,
  type ListItem,
  type Position,
} from './ast.ts';
import { capErrors } from './limits.ts';
import { didYouMean } from './suggest.ts';

export type CheckResult =
  | { readonly ok: true; readonly expr: CheckedExpr }
  | { readonly ok: false; readonly errors: readonly ExpressionError[] };

export interface CheckOptions {
  /** the type the whole expression must have (a rule's `when` must be a boolean) */
  readonly expect?: FeatureType;
}

const FEATURE_NAMES: readonly string[] = FEATURES.map((f) => f.name);

const article = (t: FeatureType): string => (t === 'number' ? 'a number' : t === 'string' ? 'a string' : 'a boolean');

export function checkExpression(expr: Expr, options: CheckOptions = {}): CheckResult {
  const errors: ExpressionError[] = [];
  const checked = new Checker(errors).visit(expr);
  if (checked !== null && options.expect !== undefined && checked.type !== options.expect) {
    errors.push(expressionError(`expected ${article(options.expect)} condition, found ${checked.type}`, expr.pos));
  }
  if (errors.length > 0 || checked === null) return { ok: false, errors: capErrors(errors) };
  return { ok: true, expr: checked };
}

/** The node is a non-zero number literal (possibly negated): dividing by it cannot be missing. */
function isNonZeroConstant(e: CheckedExpr): boolean {
  if (e.kind === 'number') return e.value !== 0;
  if (e.kind === 'negate') return isNonZeroConstant(e.operand);
  return false;
}

class Checker {
  constructor(private readonly errors: ExpressionError[]) {}

  private error(message: string, pos: Position): null {
    this.errors.push(expressionError(message, pos));
    return null;
  }

  /** Checks that `e` (already visited) has type `want`; reports and returns false otherwise. */
  private want(e: CheckedExpr | null, want: FeatureType, message: (found: FeatureType) => string): boolean {
    if (e === null) return false;
    if (e.type === want) return true;
    this.error(message(e.type), e.pos);
    return false;
  }

  visit(e: Expr): CheckedExpr | null {
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'boolean':
        return this.literal(e);
      case 'feature': {
        const spec = featureSpec(e.name);
        if (spec === undefined) {
          return this.error(`unknown feature '${e.name}'${didYouMean(e.name, FEATURE_NAMES)}`, e.pos);
        }
        return { ...e, type: spec.type, nullable: spec.nullable };
      }
      case 'negate': {
        const operand = this.visit(e.operand);
        if (!this.want(operand, 'number', (t) => `'-' needs a number, found ${t}`)) return null;
        return { ...e, operand: operand!, type: 'number', nullable: operand!.nullable };
      }
      case 'not': {
        const operand = this.visit(e.operand);
        if (!this.want(operand, 'boolean', (t) => `'not' needs a boolean, found ${t}`)) return null;
        return { ...e, operand: operand!, type: 'boolean', nullable: operand!.nullable };
      }
      case 'logical':
      case 'arithmetic': {
        const need: FeatureType = e.kind === 'logical' ? 'boolean' : 'number';
        const left = this.visit(e.left);
        const right = this.visit(e.right);
        const okL = this.want(left, need, (t) => `'${e.op}' needs ${article(need)} on the left, found ${t}`);
        const okR = this.want(right, need, (t) => `'${e.op}' needs ${article(need)} on the right, found ${t}`);
        if (!okL || !okR) return null;
        // Division and remainder by zero are missing, unless the divisor is a non-zero constant.
        const divides = e.op === '/' || e.op === '%';
        const nullable = left!.nullable || right!.nullable || (divides && !isNonZeroConstant(right!));
        return { ...e, left: left!, right: right!, type: need, nullable } as CheckedExpr;
      }
      case 'compare': {
        const left = this.visit(e.left);
        const right = this.visit(e.right);
        if (e.op === '==' || e.op === '!=') {
          if (left === null || right === null) return null;
          if (left.type !== right.type) {
            return this.error(
              `'${e.op}' compares ${left.type} with ${right.type}; both sides must have the same type`,
              e.opPos,
            );
          }
          const okL = this.closedValue(left, right);
          const okR = this.closedValue(right, left);
          if (!okL || !okR) return null;
        } else {
          const okL = this.want(left, 'number', (t) => `'${e.op}' needs a number on the left, found ${t}`);
          const okR = this.want(right, 'number', (t) => `'${e.op}' needs a number on the right, found ${t}`);
          if (!okL || !okR) return null;
        }
        return { ...e, left: left!, right: right!, type: 'boolean', nullable: left!.nullable || right!.nullable };
      }
      case 'between': {
        const value = this.visit(e.value);
        const low = this.visit(e.low);
        const high = this.visit(e.high);
        const ok = [
          this.want(value, 'number', (t) => `'between' needs a number as the value, found ${t}`),
          this.want(low, 'number', (t) => `'between' needs a number as the lower bound, found ${t}`),
          this.want(high, 'number', (t) => `'between' needs a number as the upper bound, found ${t}`),
        ];
        if (ok.includes(false)) return null;
        const nullable = value!.nullable || low!.nullable || high!.nullable;
        return { ...e, value: value!, low: low!, high: high!, type: 'boolean', nullable };
      }
      case 'in': {
        const value = this.visit(e.value);
        const items = e.items.map((i) => this.literal(i));
        if (value === null) return null;
        let ok = true;
        for (const item of items) {
          if (item.type !== value.type) {
            ok = false;
            this.error(
              `list item ${JSON.stringify(item.value)} is ${article(item.type)}, but the value before 'in' is ${article(value.type)}`,
              item.pos,
            );
          } else if (!this.closedValue(item, value)) {
            ok = false;
          }
        }
        if (!ok) return null;
        return { ...e, value, items, type: 'boolean', nullable: value.nullable };
      }
      case 'missing': {
        const value = this.visit(e.value);
        if (value === null) return null;
        return { ...e, value, type: 'boolean', nullable: false };
      }
      case 'call':
        return this.call(e);
    }
  }

  private literal(e: ListItem): CheckedListItem {
    const type: FeatureType = e.kind;
    return { ...e, type, nullable: false } as CheckedListItem;
  }

  private call(e: Extract<Expr, { kind: 'call' }>): CheckedExpr | null {
    const args = e.args.map((a) => this.visit(a));
    const n = args.length;
    if (e.fn === 'abs' && n !== 1) return this.error(`abs takes exactly 1 argument, found ${n}`, e.pos);
    if (e.fn !== 'abs' && n < 2) return this.error(`${e.fn} takes at least 2 arguments, found ${n}`, e.pos);
    if (args.includes(null)) return null;
    const checked = args as CheckedExpr[];
    if (e.fn === 'coalesce') {
      const type = checked[0]!.type;
      let ok = true;
      checked.forEach((a, i) => {
        if (a.type !== type) {
          ok = false;
          this.error(`coalesce needs arguments of one type; argument ${i + 1} is ${article(a.type)}, argument 1 ${article(type)}`, a.pos);
        }
      });
      if (!ok) return null;
      // missing only when every argument can be missing
      return { ...e, args: checked, type, nullable: checked.every((a) => a.nullable) };
    }
    let ok = true;
    checked.forEach((a, i) => {
      if (a.type !== 'number') {
        ok = false;
        this.error(`${e.fn} needs numbers; argument ${i + 1} is ${article(a.type)}`, a.pos);
      }
    });
    if (!ok) return null;
    return { ...e, args: checked, type: 'number', nullable: checked.some((a) => a.nullable) };
  }

  /**
   * When `other` has a closed set of values and `lit` is a string literal, the literal must be
   * one of them (catches `payer.age_band == "eldery"`, which would otherwise never be true).
   */
  private closedValue(lit: CheckedExpr, other: CheckedExpr): boolean {
    if (lit.kind !== 'string') return true;
    const values = closedValues(other);
    if (values === undefined || values.includes(lit.value)) return true;
    const of = other.kind === 'feature' ? `a value of ${other.name}` : 'a possible value';
    this.error(
      `${JSON.stringify(lit.value)} is not ${of}; the values are ${values.join(', ')}${didYouMean(lit.value, values)}`,
      lit.pos,
    );
    return false;
  }
}

/**
 * The closed set of values a string node can take: a feature's `values`, or for
 * `coalesce(feature, "literal", ...)` the union of its arguments' sets.
 */
function closedValues(e: CheckedExpr): readonly string[] | undefined {
  if (e.kind === 'feature') return featureSpec(e.name)?.values;
  if (e.kind === 'call' && e.fn === 'coalesce') {
    const out: string[] = [];
    for (const a of e.args) {
      const v = a.kind === 'string' ? [a.value] : closedValues(a);
      if (v === undefined) return undefined;
      for (const x of v) if (!out.includes(x)) out.push(x);
    }
    return out;
  }
  return undefined;
}
