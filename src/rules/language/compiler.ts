/**
 * Compiles checked expressions to plain JS functions (filtrex's approach, DESIGN §5).
 *
 * Safety: the generated source is assembled only from fixed fragments written here, helper
 * names from RUNTIME_HELPERS, feature reads `v[<integer index>]` resolved from the catalogue,
 * and literals serialised with JSON.stringify (numbers checked finite). Analyst text (names,
 * operators as typed) is never pasted in. The code sees only its parameters: the feature
 * vector `v`, the helpers `h`, constant sets `K` and the rule payloads `H`.
 *
 * Speed: the checker's nullability tells which operands can be missing; those go through
 * null-aware helpers, everything else uses plain JS operators. `a and b` compiles to `a && b`
 * whenever one side cannot be missing (with that side first), which is exact Kleene logic:
 * false && x = false, true && x = x.
 */
import { FEATURE_COUNT, featureIndex, type FeatureValue } from '../../features/catalogue.ts';
import type { CheckedExpr, CheckedListItem } from './ast.ts';
import { HELPER_NAMES, RUNTIME_HELPERS } from './runtime-helpers.ts';

/** Lists longer than this become a Set lookup instead of a chain of `===`. */
const INLINE_LIST_MAX = 8;

export type CompiledExpression = (v: readonly FeatureValue[]) => FeatureValue;

export interface CompiledConditions<T> {
  /** The payloads of the conditions that are exactly true, in order. */
  readonly evaluateAll: (v: readonly FeatureValue[]) => T[];
  /** One function per condition (true when it fires), for evaluating rule by rule. */
  readonly each: readonly ((v: readonly FeatureValue[]) => boolean)[];
  /** The generated source, for inspection and tests. */
  readonly source: string;
}

/** A value-returning function for one expression (used by tests and tools). */
export function compileExpression(expr: CheckedExpr): CompiledExpression {
  const gen = new Generator();
  const { statements, js } = gen.unit(expr, false);
  const source = `return function expression(v) {\n${statements.map((t) => `  ${t}\n`).join('')}  return ${js};\n};`;
  return instantiate(source, gen.constants, []) as CompiledExpression;
}

/**
 * One function that evaluates every condition and returns the payloads of those that fire
 * (condition exactly true), plus per-condition functions for a rule-by-rule fallback.
 */
export function compileConditions<T>(conditions: readonly CheckedExpr[], payloads: readonly T[]): CompiledConditions<T> {
  if (conditions.length !== payloads.length) throw new Error('compileConditions: one payload per condition');
  const gen = new Generator();
  const units = conditions.map((c) => gen.unit(c, true));
  const all = units
    .map(({ statements, js }, i) =>
      statements.length === 0
        ? `  if (${js}) r.push(H[${i}]);`
        : `  {\n${statements.map((t) => `    ${t}\n`).join('')}    if (${js}) r.push(H[${i}]);\n  }`,
    )
    .join('\n');
  const each = units.map(({ statements, js }) => `  function (v) { ${statements.map((t) => `${t} `).join('')}return ${js}; }`).join(',\n');
  const source =
    `return {\n` +
    `evaluateAll: function evaluateAll(v) {\n  const r = [];\n${all}\n  return r;\n},\n` +
    `each: [\n${each}\n],\n};`;
  const made = instantiate(source, gen.constants, payloads) as Omit<CompiledConditions<T>, 'source'>;
  return { evaluateAll: made.evaluateAll, each: Object.freeze(made.each), source };
}

function instantiate(source: string, constants: readonly unknown[], payloads: readonly unknown[]): unknown {
  const prologue = `"use strict";\nconst { ${HELPER_NAMES.join(', ')} } = h;\n`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from checked trees only (see header)
  const factory = new Function('h', 'K', 'H', prologue + source) as (h: unknown, k: unknown, p: unknown) => unknown;
  return factory(RUNTIME_HELPERS, Object.freeze([...constants]), Object.freeze([...payloads]));
}

function literal(value: number | string | boolean): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`compiler: non-finite number literal ${value}`);
    // parenthesised so that a negative list item can never merge with a preceding operator
    return `(${JSON.stringify(value)})`;
  }
  if (typeof value === 'string') {
    // JSON escapes quotes, backslashes and control characters; U+2028/9 are escaped too
    return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  }
  return value ? 'true' : 'false';
}

/** A feature read or a literal: cheap and safe to emit twice. */
function isSimple(e: CheckedExpr): boolean {
  return e.kind === 'feature' || e.kind === 'number' || e.kind === 'string' || e.kind === 'boolean';
}

/** Generated JS and how deeply it nests (parentheses and calls). */
interface Code {
  readonly js: string;
  readonly depth: number;
}

/**
 * Subexpressions nesting deeper than this are computed into a local constant first. A long
 * chain such as `a + b + c + ...` (up to ~2,000 operators fit in an expression) would
 * otherwise become JS nested deeply enough to overflow V8's parser. Every expression is pure
 * and cannot throw, so computing a part early never changes a result.
 */
const HOIST_DEPTH = 32;

class Generator {
  readonly constants: ReadonlySet<FeatureValue>[] = [];
  private statements: string[] = [];
  private temps = 0;

  /** The statements and final JS expression of one condition (true exactly when `e` is) or value. */
  unit(e: CheckedExpr, asCondition: boolean): { statements: readonly string[]; js: string } {
    this.statements = [];
    const { js } = this.emit(e);
    const out = asCondition && e.nullable ? `${js} === true` : js;
    return { statements: this.statements, js: out };
  }

  private code(js: string, ...parts: readonly Code[]): Code {
    const depth = 1 + Math.max(0, ...parts.map((p) => p.depth));
    if (depth < HOIST_DEPTH) return { js, depth };
    const name = `t${this.temps++}`;
    this.statements.push(`const ${name} = ${js};`);
    return { js: name, depth: 0 };
  }

  private emit(e: CheckedExpr): Code {
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'boolean':
        return { js: literal(e.value), depth: 0 };
      case 'feature': {
        const i = featureIndex(e.name);
        if (i === undefined || !Number.isSafeInteger(i) || i < 0 || i >= FEATURE_COUNT) {
          throw new Error(`compiler: unknown feature ${e.name} (the tree was not checked)`);
        }
        return { js: `v[${i}]`, depth: 0 };
      }
      case 'negate': {
        const x = this.emit(e.operand);
        return this.code(e.nullable ? `neg(${x.js})` : `(-${x.js})`, x);
      }
      case 'not': {
        const x = this.emit(e.operand);
        return this.code(e.nullable ? `not3(${x.js})` : `(!${x.js})`, x);
      }
      case 'logical': {
        const l = this.emit(e.left);
        const r = this.emit(e.right);
        const js = e.op === 'and' ? '&&' : '||';
        if (!e.left.nullable) return this.code(`(${l.js} ${js} ${r.js})`, l, r);
        if (!e.right.nullable) return this.code(`(${r.js} ${js} ${l.js})`, l, r);
        return this.code(`${e.op === 'and' ? 'and3' : 'or3'}(${l.js}, ${r.js})`, l, r);
      }
      case 'arithmetic': {
        const l = this.emit(e.left);
        const r = this.emit(e.right);
        if (!e.nullable) return this.code(`(${l.js} ${e.op} ${r.js})`, l, r);
        const helper = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod' }[e.op];
        return this.code(`${helper}(${l.js}, ${r.js})`, l, r);
      }
      case 'compare': {
        const l = this.emit(e.left);
        const r = this.emit(e.right);
        if (!e.nullable) {
          const js = e.op === '==' ? '===' : e.op === '!=' ? '!==' : e.op;
          return this.code(`(${l.js} ${js} ${r.js})`, l, r);
        }
        const helper = { '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' }[e.op];
        return this.code(`${helper}(${l.js}, ${r.js})`, l, r);
      }
      case 'between': {
        const x = this.emit(e.value);
        const lo = this.emit(e.low);
        const hi = this.emit(e.high);
        if (!e.nullable && isSimple(e.value)) return this.code(`(${lo.js} <= ${x.js} && ${x.js} <= ${hi.js})`, x, lo, hi);
        return this.code(`btw(${x.js}, ${lo.js}, ${hi.js})`, x, lo, hi);
      }
      case 'in':
        return this.membership(e);
      case 'missing': {
        const x = this.emit(e.value);
        return this.code(`(${x.js} ${e.negated ? '!==' : '==='} null)`, x);
      }
      case 'call': {
        if (e.fn === 'coalesce') return this.coalesce(e.args);
        const args = e.args.map((a) => this.emit(a));
        if (e.fn === 'abs') return this.code(`${e.nullable ? 'abs1' : 'mabs'}(${args[0]!.js})`, args[0]!);
        const helper = e.nullable ? (e.fn === 'min' ? 'min2' : 'max2') : e.fn === 'min' ? 'mmin' : 'mmax';
        // min(a, b, c) = min(min(a, b), c); missing propagates the same way
        return args.slice(1).reduce((acc, a) => this.code(`${helper}(${acc.js}, ${a.js})`, acc, a), args[0]!);
      }
    }
  }

  private membership(e: Extract<CheckedExpr, { kind: 'in' }>): Code {
    const x = this.emit(e.value);
    const items: readonly CheckedListItem[] = e.items;
    if (!e.value.nullable && isSimple(e.value) && items.length <= INLINE_LIST_MAX) {
      const parts = items.map((i) => `${x.js} ${e.negated ? '!==' : '==='} ${literal(i.value)}`);
      return this.code(`(${parts.join(e.negated ? ' && ' : ' || ')})`, x);
    }
    const k = this.constants.length;
    this.constants.push(new Set<FeatureValue>(items.map((i) => i.value)));
    return this.code(`${e.negated ? 'notInSet' : 'inSet'}(${x.js}, K[${k}])`, x);
  }

  /** Right fold; an argument that cannot be missing ends the chain (later ones are never used). */
  private coalesce(exprs: readonly CheckedExpr[]): Code {
    let i = exprs.findIndex((a) => !a.nullable);
    if (i === -1) i = exprs.length - 1;
    let out = this.emit(exprs[i]!);
    for (let j = i - 1; j >= 0; j--) {
      const a = this.emit(exprs[j]!);
      out = this.code(`coal(${a.js}, ${out.js})`, a, out);
    }
    return out;
  }
}
