import { describe, expect, test } from 'vitest';
import type { Expr } from '../../src/rules/language/ast.ts';
import { parseExpression } from '../../src/rules/language/parser.ts';
import { tokenize } from '../../src/rules/language/lexer.ts';

/** The tree as an S-expression: enough to see precedence and grouping at a glance. */
function sexpr(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return String(e.value);
    case 'string':
      return JSON.stringify(e.value);
    case 'boolean':
      return String(e.value);
    case 'feature':
      return e.name;
    case 'negate':
      return `(neg ${sexpr(e.operand)})`;
    case 'not':
      return `(not ${sexpr(e.operand)})`;
    case 'arithmetic':
    case 'compare':
    case 'logical':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'between':
      return `(between ${sexpr(e.value)} ${sexpr(e.low)} ${sexpr(e.high)})`;
    case 'in':
      return `(${e.negated ? 'not-in' : 'in'} ${sexpr(e.value)} [${e.items.map(sexpr).join(' ')}])`;
    case 'missing':
      return `(${e.negated ? 'is-not-missing' : 'is-missing'} ${sexpr(e.value)})`;
    case 'call':
      return `(${e.fn} ${e.args.map(sexpr).join(' ')})`;
  }
}

function parsed(src: string): string {
  const r = parseExpression(src);
  if (!r.ok) throw new Error(`parse failed: ${JSON.stringify(r.errors)}`);
  return sexpr(r.expr);
}

function syntaxError(src: string): unknown {
  const r = parseExpression(src);
  return r.ok ? 'parsed' : r.errors;
}

const at = (offset: number, line: number, column: number) => ({ offset, line, column });

describe('precedence and grouping', () => {
  test.each([
    ['a or b and c', '(or a (and b c))'],
    ['a and b or c and d', '(or (and a b) (and c d))'],
    ['not a and b', '(and (not a) b)'],
    ['not not a', '(not (not a))'],
    ['not a == b', '(not (== a b))'],
    ['a + b * c', '(+ a (* b c))'],
    ['a - b - c', '(- (- a b) c)'],
    ['a / b % c * d', '(* (% (/ a b) c) d)'],
    ['(a + b) * c', '(* (+ a b) c)'],
    ['-a * b', '(* (neg a) b)'],
    ['- -a', '(neg (neg a))'],
    ['a - -1', '(- a (neg 1))'],
    ['a + b > c * 2', '(> (+ a b) (* c 2))'],
    ['x between 1 and 2 and y', '(and (between x 1 2) y)'],
    ['x between a + 1 and b * 2', '(between x (+ a 1) (* b 2))'],
    ['a.b in [1, -2, 3.5] or c', '(or (in a.b [1 -2 3.5]) c)'],
    ['a not in ["x", \'y\'] and b', '(and (not-in a ["x" "y"]) b)'],
    ['a is missing or b is not missing', '(or (is-missing a) (is-not-missing b))'],
    ['not a is missing', '(not (is-missing a))'],
    ['min(a, b + 1, 3) > abs(-c)', '(> (min a (+ b 1) 3) (abs (neg c)))'],
    ['coalesce(a, max(b, c)) == 1', '(== (coalesce a (max b c)) 1)'],
    ['((a))', 'a'],
    ['true != false', '(!= true false)'],
  ])('%s', (src, want) => {
    expect(parsed(src)).toBe(want);
  });
});

describe('every operator', () => {
  test.each([
    ['a == 1', '(== a 1)'],
    ['a != 1', '(!= a 1)'],
    ['a < 1', '(< a 1)'],
    ['a <= 1', '(<= a 1)'],
    ['a > 1', '(> a 1)'],
    ['a >= 1', '(>= a 1)'],
    ['a + 1', '(+ a 1)'],
    ['a - 1', '(- a 1)'],
    ['a * 1', '(* a 1)'],
    ['a / 1', '(/ a 1)'],
    ['a % 1', '(% a 1)'],
    ['a and b', '(and a b)'],
    ['a or b', '(or a b)'],
    ['not a', '(not a)'],
    ['-a', '(neg a)'],
    ['a between 1 and 2', '(between a 1 2)'],
    ['a in [true]', '(in a [true])'],
    ['a not in [false]', '(not-in a [false])'],
    ['a is missing', '(is-missing a)'],
    ['a is not missing', '(is-not-missing a)'],
    ['min(a, 1)', '(min a 1)'],
    ['max(a, 1)', '(max a 1)'],
    ['abs(a)', '(abs a)'],
    ['coalesce(a, 1)', '(coalesce a 1)'],
  ])('%s', (src, want) => {
    expect(parsed(src)).toBe(want);
  });
});

describe('literals', () => {
  test.each([
    ['10_000', 10000],
    ['4_999.99', 4999.99],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['1_0e1_0', 1e11],
    ['0.5', 0.5],
    ['007', 7],
  ])('number %s', (src, value) => {
    expect(parseExpression(src)).toEqual({ ok: true, expr: { kind: 'number', value, pos: at(0, 1, 1) } });
  });

  test.each([
    [`"it's"`, "it's"],
    [`'say "hi"'`, 'say "hi"'],
    [`'a\\'b'`, "a'b"],
    [`"a\\"b\\\\c"`, 'a"b\\c'],
    [`"老年"`, '老年'],
    [`""`, ''],
  ])('string %s', (src, value) => {
    expect(parseExpression(src)).toEqual({ ok: true, expr: { kind: 'string', value, pos: at(0, 1, 1) } });
  });
});

describe('positions', () => {
  test('every node carries its offset, line and column; operators their own', () => {
    const src = 'payer.age >= 60\n  and not (payee.first_seen)\n  and channel in ["app", -1]';
    expect(parseExpression(src)).toEqual({
      ok: true,
      expr: {
        kind: 'logical',
        op: 'and',
        pos: at(0, 1, 1),
        opPos: at(47, 3, 3),
        left: {
          kind: 'logical',
          op: 'and',
          pos: at(0, 1, 1),
          opPos: at(18, 2, 3),
          left: {
            kind: 'compare',
            op: '>=',
            pos: at(0, 1, 1),
            opPos: at(10, 1, 11),
            left: { kind: 'feature', name: 'payer.age', pos: at(0, 1, 1) },
            right: { kind: 'number', value: 60, pos: at(13, 1, 14) },
          },
          right: {
            kind: 'not',
            pos: at(22, 2, 7),
            operand: { kind: 'feature', name: 'payee.first_seen', pos: at(27, 2, 12) },
          },
        },
        right: {
          kind: 'in',
          negated: false,
          pos: at(51, 3, 7),
          opPos: at(59, 3, 15),
          value: { kind: 'feature', name: 'channel', pos: at(51, 3, 7) },
          items: [
            { kind: 'string', value: 'app', pos: at(63, 3, 19) },
            { kind: 'number', value: -1, pos: at(70, 3, 26) },
          ],
        },
      },
    });
  });

  test('between, is missing, calls and negation', () => {
    expect(parseExpression('-x between 1 and abs(y) or z is not missing')).toEqual({
      ok: true,
      expr: {
        kind: 'logical',
        op: 'or',
        pos: at(0, 1, 1),
        opPos: at(24, 1, 25),
        left: {
          kind: 'between',
          pos: at(0, 1, 1),
          opPos: at(3, 1, 4),
          value: { kind: 'negate', pos: at(0, 1, 1), operand: { kind: 'feature', name: 'x', pos: at(1, 1, 2) } },
          low: { kind: 'number', value: 1, pos: at(11, 1, 12) },
          high: { kind: 'call', fn: 'abs', pos: at(17, 1, 18), args: [{ kind: 'feature', name: 'y', pos: at(21, 1, 22) }] },
        },
        right: {
          kind: 'missing',
          negated: true,
          pos: at(27, 1, 28),
          opPos: at(29, 1, 30),
          value: { kind: 'feature', name: 'z', pos: at(27, 1, 28) },
        },
      },
    });
  });
});

describe('syntax errors carry line and column', () => {
  test.each([
    ['', 'expected an expression, found end of expression', at(0, 1, 1)],
    ['amount >', 'expected an expression, found end of expression', at(8, 1, 9)],
    ['amount > 5\n  and (payer.age <\n  )', "expected an expression, found ')'", at(32, 3, 3)],
    ['(amount > 5', "expected ')' to close the '(' at line 1, column 1, found end of expression", at(11, 1, 12)],
    ['min(a, b', "expected ')' to close the arguments of min, found end of expression", at(8, 1, 9)],
    ['min()', "expected an expression, found ')'", at(4, 1, 5)],
    ['a b', "unexpected 'b' after a complete expression", at(2, 1, 3)],
    ['a and', 'expected an expression, found end of expression', at(5, 1, 6)],
    ['and a', "expected an expression, found 'and'", at(0, 1, 1)],
    ['a < b < c', "comparisons cannot be chained; join them with 'and'", at(6, 1, 7)],
    ['a == b between 1 and 2', "comparisons cannot be chained; join them with 'and'", at(7, 1, 8)],
    ['a between 1 or 2', "expected 'and' between the bounds of 'between', found 'or'", at(12, 1, 13)],
    ['a in 1', "expected '[' to start the list after 'in', found '1'", at(5, 1, 6)],
    ['a in [1, b]', "expected a literal (number, string, true or false) in the list, found 'b'", at(9, 1, 10)],
    ['a in [1, 2', "expected ',' or ']' in the list, found end of expression", at(10, 1, 11)],
    ['a in [1,]', "expected a literal (number, string, true or false) in the list, found ']'", at(8, 1, 9)],
    ['a not 5', "expected 'in' after 'not', found '5'", at(6, 1, 7)],
    ['a is nothing', "expected 'missing' after 'is', found 'nothing'", at(5, 1, 6)],
    ['a is not null', "expected 'missing' after 'is not', found 'null'", at(9, 1, 10)],
    ['foo(1)', "'foo' is not a function; the functions are abs, coalesce, max, min", at(0, 1, 1)],
    ['a.', "expected a name after '.'", at(2, 1, 3)],
    ['a.1', "expected a name after '.'", at(2, 1, 3)],
    ['Amount', "invalid name 'Amount'; names use lower-case letters, digits and '_'", at(0, 1, 1)],
    ['1.', "expected a digit after '.' in number", at(2, 1, 3)],
    ['1e', 'expected digits in the exponent of number', at(2, 1, 3)],
    ['1_', "misplaced '_' in number; it may only separate digits", at(1, 1, 2)],
    ['12abc', "invalid number '12abc'", at(0, 1, 1)],
    ['"abc', 'unterminated string', at(0, 1, 1)],
    ['"ab\nc"', 'unterminated string', at(0, 1, 1)],
    ['"a\\nb"', "unsupported escape '\\n' in string; only \\\\, \\' and \\\" are allowed", at(2, 1, 3)],
    ['"a\tb"', 'control character U+0009 in string', at(2, 1, 3)],
    ['a && b', "unexpected '&'; use 'and'", at(2, 1, 3)],
    ['a || b', "unexpected '|'; use 'or'", at(2, 1, 3)],
    ['!a', "unexpected '!'; use 'not' (or '!=' to compare)", at(0, 1, 1)],
    ['a = 1', "unexpected '='; use '==' to compare", at(2, 1, 3)],
    ['a\n  > 1\n  # comment', "unexpected character '#'", at(10, 3, 3)],
  ])('%j', (src, message, pos) => {
    expect(syntaxError(src)).toEqual([{ message, ...pos }]);
  });
});

describe('lexer', () => {
  test('tokens of a whole expression', () => {
    const r = tokenize('payer.age>=60 and x in["a"]');
    expect(r).toEqual({
      ok: true,
      tokens: [
        { kind: 'name', text: 'payer.age', pos: at(0, 1, 1) },
        { kind: 'punct', text: '>=', pos: at(9, 1, 10) },
        { kind: 'number', value: 60, text: '60', pos: at(11, 1, 12) },
        { kind: 'name', text: 'and', pos: at(14, 1, 15) },
        { kind: 'name', text: 'x', pos: at(18, 1, 19) },
        { kind: 'name', text: 'in', pos: at(20, 1, 21) },
        { kind: 'punct', text: '[', pos: at(22, 1, 23) },
        { kind: 'string', value: 'a', text: '"a"', pos: at(23, 1, 24) },
        { kind: 'punct', text: ']', pos: at(26, 1, 27) },
        { kind: 'eof', text: '', pos: at(27, 1, 28) },
      ],
    });
  });
});
