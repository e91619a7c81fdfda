/**
 * The reference interpreter: evaluates a (checked) expression tree directly. It is the oracle
 * the compiled code is tested against, so it is written for obviousness, not speed, and it
 * ignores the checker's nullability (it handles missing everywhere).
 *
 * Missing-value semantics (three-valued, Kleene logic; `null` is missing):
 * - a feature is missing when its slot in the vector is null;
 * - arithmetic, unary minus, comparisons, `between`, `in`/`not in`, min, max and abs with a
 *   missing operand are missing;
 * - `x / 0` and `x % 0` are missing (no Infinity or NaN from a zero divisor); other
 *   overflow follows IEEE 754 doubles;
 * - `x is missing` / `x is not missing` are never missing;
 * - `coalesce(a, b, ...)` is its first argument that is not missing (missing if all are);
 * - `not missing` is missing; `false and missing` is false, `true and missing` is missing;
 *   `true or missing` is true, `false or missing` is missing;
 * - a rule fires only when its condition is exactly true (false and missing do not fire).
 */
import { featureIndex, type FeatureValue } from '../../features/catalogue.ts';
import type { ArithmeticOp, ComparisonOp, Expr } from './ast.ts';

type N = number | null;

const num = (x: FeatureValue): N => x as N;

export function interpret(e: Expr, v: readonly FeatureValue[]): FeatureValue {
  switch (e.kind) {
    case 'number':
    case 'string':
    case 'boolean':
      return e.value;
    case 'feature': {
      const i = featureIndex(e.name);
      if (i === undefined) throw new Error(`interpret: unknown feature ${e.name} (the tree was not checked)`);
      const x = v[i];
      if (x === undefined) throw new Error(`interpret: the feature vector has no slot ${i} (${e.name})`);
      return x;
    }
    case 'negate': {
      const x = num(interpret(e.operand, v));
      return x === null ? null : -x;
    }
    case 'not': {
      const x = interpret(e.operand, v);
      return x === null ? null : !x;
    }
    case 'logical': {
      const l = interpret(e.left, v);
      const r = interpret(e.right, v);
      if (e.op === 'and') {
        if (l === false || r === false) return false;
        if (l === null || r === null) return null;
        return true;
      }
      if (l === true || r === true) return true;
      if (l === null || r === null) return null;
      return false;
    }
    case 'arithmetic':
      return arithmetic(e.op, num(interpret(e.left, v)), num(interpret(e.right, v)));
    case 'compare':
      return compare(e.op, interpret(e.left, v), interpret(e.right, v));
    case 'between': {
      const x = num(interpret(e.value, v));
      const lo = num(interpret(e.low, v));
      const hi = num(interpret(e.high, v));
      if (x === null || lo === null || hi === null) return null;
      return lo <= x && x <= hi;
    }
    case 'in': {
      const x = interpret(e.value, v);
      if (x === null) return null;
      const found = e.items.some((item) => item.value === x);
      return e.negated ? !found : found;
    }
    case 'missing': {
      const isMissing = interpret(e.value, v) === null;
      return e.negated ? !isMissing : isMissing;
    }
    case 'call': {
      const args = e.args.map((a) => interpret(a, v));
      if (e.fn === 'coalesce') return args.find((a) => a !== null) ?? null;
      if (args.includes(null)) return null;
      const xs = args as number[];
      if (e.fn === 'abs') return Math.abs(xs[0]!);
      return e.fn === 'min' ? Math.min(...xs) : Math.max(...xs);
    }
  }
}

function arithmetic(op: ArithmeticOp, l: N, r: N): N {
  if (l === null || r === null) return null;
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return r === 0 ? null : l / r;
    case '%':
      return r === 0 ? null : l % r;
  }
}

function compare(op: ComparisonOp, l: FeatureValue, r: FeatureValue): boolean | null {
  if (l === null || r === null) return null;
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return (l as number) < (r as number);
    case '<=':
      return (l as number) <= (r as number);
    case '>':
      return (l as number) > (r as number);
    case '>=':
      return (l as number) >= (r as number);
  }
}
