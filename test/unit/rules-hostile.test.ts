/**
 * Hostile rule expressions (STYLE: "Safety of analyst input", after filtrex's tests). Each
 * must be rejected at load with an exact message and position, and nothing may run: a
 * canary on globalThis must stay untouched and process.exit must never be called.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { idx } from '../../src/features/catalogue.ts';
import { compileConditions } from '../../src/rules/language/compiler.ts';
import { interpret } from '../../src/rules/language/interpreter.ts';
import { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, MAX_RULE_SET_CHARS } from '../../src/rules/language/limits.ts';
import { compileRuleSetFromText, type RuleSetResult } from '../../src/rules/language/rule-set.ts';
import { checked, vector } from './rules-fixtures.ts';

const CANARY = 'calmpay_canary';
const globals = globalThis as unknown as Record<string, unknown>;

let exitSpy: ReturnType<typeof vi.spyOn>;
beforeAll(() => {
  globals[CANARY] = 'untouched';
  exitSpy = vi.spyOn(process, 'exit').mockImplementation((() => {
    throw new Error('process.exit was called');
  }) as never);
});
afterAll(() => {
  exitSpy.mockRestore();
  delete globals[CANARY];
});

/** One rule whose `when` is `expr`, written as a YAML double-quoted scalar (JSON is valid YAML). */
function load(expr: string): RuleSetResult {
  const text = `- id: hostile\n  description: hostile input\n  when: ${JSON.stringify(expr)}\n  score: 1\n`;
  return compileRuleSetFromText([{ name: 'hostile.yaml', text }]);
}

/** The expression starts at line 3, column 10 of the file above (after `  when: "`). */
const rejected = (message: string, offset: number) => ({
  ok: false,
  errors: [{ file: 'hostile.yaml', ruleId: 'hostile', line: 3, column: 10 + offset, message }],
});

const NOT_A_FUNCTION = 'is not a function; the functions are abs, coalesce, max, min';

describe('rejected at load, with the exact message and position', () => {
  test.each<[string, string, number]>([
    ['constructor', "unknown feature 'constructor'", 0],
    ['__proto__', "unknown feature '__proto__'", 0],
    ['prototype', "unknown feature 'prototype'", 0],
    ['this', "unknown feature 'this'", 0],
    ['amount.constructor', "unknown feature 'amount.constructor'", 0],
    ['amount.__proto__.polluted == 1', "unknown feature 'amount.__proto__.polluted'", 0],
    ['process.exit(1)', `'process.exit' ${NOT_A_FUNCTION}`, 0],
    ['require("fs")', `'require' ${NOT_A_FUNCTION}`, 0],
    ['eval("1")', `'eval' ${NOT_A_FUNCTION}`, 0],
    // the lexer reads the whole expression first: a bad character anywhere is the error
    ['function() { return true }', "unexpected character '{'", 11],
    ['constructor.constructor("return process")()', `'constructor.constructor' ${NOT_A_FUNCTION}`, 0],
    ['amount > 1 and x(1)', `'x' ${NOT_A_FUNCTION}`, 15],
    ['globalThis', "invalid name 'globalThis'; names use lower-case letters, digits and '_'", 0],
    [`globalThis.${CANARY} = 1`, "invalid name 'globalThis.calmpay_canary'; names use lower-case letters, digits and '_'", 0],
    ['toString()', "invalid name 'toString'; names use lower-case letters, digits and '_'", 0],
    ['amount.valueOf() > 1', "invalid name 'amount.valueOf'; names use lower-case letters, digits and '_'", 0],
    ['payer["age"] > 1', "unexpected '[' after a complete expression", 5],
    ['`${process.exit()}`', "unexpected character '`'", 0],
    ['amount > 1; process.exit()', "unexpected character ';'", 10],
    ['amount = 1', "unexpected '='; use '==' to compare", 7],
    ['() => process.exit()', "unexpected '='; use '==' to compare", 3],
    ['(x) > process.exit()', "'process.exit' is not a function; the functions are abs, coalesce, max, min", 6],
    ['amount => 1', "unexpected '='; use '==' to compare", 7],
    ['amount > 1 /* comment */ or true', "expected an expression, found '*'", 12],
    ['amount > 1 */ process.exit(); /*', "unexpected character ';'", 28],
    ['amount > 1 */ or /* true', "expected an expression, found '/'", 12],
    ['amount > 1 // comment', "expected an expression, found '/'", 12],
    ['{}', "unexpected character '{'", 0],
    ['payee.first_seen ? true : false', "unexpected character '?'", 17],
    ['amount > 1e400', 'number 1e400 is out of range', 9],
    ['amount > 0x10', "invalid number '0x10'", 9],
    ['päyer.age > 1', "unexpected character 'ä' (U+00E4)", 1],
    ['\u0430mount > 1', "unexpected character 'а' (U+0430)", 0],
    ['amount\u200b > 1', 'unexpected character U+200B', 6],
    ['\\u0061mount > 1', "unexpected character '\\'", 0],
    // + 1: the YAML file escapes the expression's `"` as `\"`, one character more before the error
    ['channel == "\\u0041"', "unsupported escape '\\u' in string; only \\\\, \\' and \\\" are allowed", 12 + 1],
    ['channel == "a\nb"', 'unterminated string', 11 + 1],
    ['payer.age_band == \'"); process.exit(); ("\'', '"\\"); process.exit(); (\\"" is not a value of payer.age_band; the values are minor, adult, elderly', 18],
    ['amount == \'"); process.exit(); ("\'', "'==' compares number with string; both sides must have the same type", 7],
  ])('%j', (expr, message, offset) => {
    expect(load(expr)).toEqual(rejected(message, offset));
  });

  test('a 1 MB expression: the rule set is too large to be parsed at all', () => {
    const huge = 'true or '.repeat(131_071) + 'true    ';
    expect(huge.length).toBe(1_048_576);
    const message = `the rule files hold 1048641 characters; the limit is ${MAX_RULE_SET_CHARS} for the whole rule set (MAX_RULE_SET_CHARS)`;
    expect(load(huge)).toEqual({ ok: false, errors: [{ file: null, ruleId: null, line: 0, column: 0, message }], tooLarge: message });
  });

  test('a 100,000-character expression', () => {
    const long = 'true or '.repeat(12_499) + 'true    ';
    expect(long.length).toBe(100_000);
    expect(load(long)).toEqual(rejected(`expression is 100000 characters long; the limit is ${MAX_EXPRESSION_LENGTH}`, 0));
  });

  test('10,000 nested parentheses', () => {
    const deep = '('.repeat(10_000) + 'true' + ')'.repeat(10_000);
    expect(load(deep)).toEqual(rejected('expression is 20004 characters long; the limit is 4000', 0));
  });

  test.each<[string, string, number]>([
    ['parentheses', '('.repeat(65) + 'true' + ')'.repeat(65), 64],
    ['not', 'not '.repeat(65) + 'true', 256],
    ['unary minus', '-'.repeat(65) + 'amount > 0', 64],
    ['calls', 'abs('.repeat(65) + 'amount' + ')'.repeat(65) + ' > 0', 259],
  ])(`nesting deeper than ${MAX_NESTING_DEPTH} levels: %s`, (_, expr, offset) => {
    expect(load(expr)).toEqual(rejected(`expression nests deeper than ${MAX_NESTING_DEPTH} levels`, offset));
  });

  test(`${MAX_NESTING_DEPTH} levels are fine`, () => {
    const r = load('('.repeat(64) + 'amount > 0' + ')'.repeat(64));
    expect(r.ok && r.ruleSet.evaluate(vector({ amount: 1 })).hits.map((h) => h.ruleId)).toEqual(['hostile']);
  });

  test.each([
    ['sum of missing-able values', Array.from({ length: 399 }, () => 'payer.age').join('+') + ' > 0'],
    ['sum of constants', Array.from({ length: 1_998 }, () => '1').join('+') + ' > 0'],
    ['or of missing-able conditions', Array.from({ length: 210 }, () => 'context.on_call').join(' or ')],
  ])('a flat chain of operators as long as the limit allows compiles and evaluates: %s', (_, expr) => {
    expect(expr.length).toBeLessThanOrEqual(MAX_EXPRESSION_LENGTH);
    const r = load(expr);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const v = vector({ 'payer.age': 1, 'context.on_call': true });
    expect([r.ruleSet.evaluate(v).hits.length, interpret(r.ruleSet.rules[0]!.condition, v)]).toEqual([1, true]);
  });

  test('a list of more than 1,000 items', () => {
    const items = Array.from({ length: 1_001 }, (_, i) => String(i)).join(',');
    const offset = `amount in [`.length + items.lastIndexOf(',') + 1;
    expect(load(`amount in [${items}]`)).toEqual(rejected('list has more than 1000 items', offset));
  });
});

describe('strings are data, never code', () => {
  const payload = '"); process.exit(); ("';

  test('a string that looks like code compiles to a plain string literal and only compares', () => {
    const expr = `channel == '${payload}'`;
    const r = load(expr);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const evaluated = [
      r.ruleSet.evaluate(vector({ channel: 'app' })).hits.map((h) => h.ruleId),
      r.ruleSet.evaluate(vector({ channel: payload })).hits.map((h) => h.ruleId),
    ];
    expect(evaluated).toEqual([[], ['hostile']]);
    const source = compileConditions([checked(expr)], [0]).source;
    expect(source).toContain(`  if (eq(v[${idx('channel')}], "\\"); process.exit(); (\\"") === true) r.push(H[0]);`);
  });

  test('line and paragraph separators inside strings are escaped in the generated code', () => {
    const expr = 'channel == "a\u2028b\u2029c"';
    const source = compileConditions([checked(expr)], [0]).source;
    expect(source).toContain('"a\\u2028b\\u2029c"');
    const r = load(expr);
    expect(r.ok && r.ruleSet.evaluate(vector({ channel: 'a\u2028b\u2029c' })).hits.length).toBe(1);
  });
});

describe('hostile YAML around the expression', () => {
  test('__proto__ keys are unknown keys, and pollute nothing', () => {
    const text = [
      '- id: proto',
      '  description: x',
      '  when: amount > 1',
      '  score: 1',
      '  __proto__: {polluted: true}',
      '  constructor: {prototype: {polluted: true}}',
    ].join('\n');
    expect(compileRuleSetFromText([{ name: 'proto.yaml', text }])).toEqual({
      ok: false,
      errors: [
        {
          file: 'proto.yaml',
          ruleId: 'proto',
          line: 5,
          column: 3,
          message: "unknown key '__proto__'; the keys are id, description, description_zh, when, score, action, scam_type, mode",
        },
        {
          file: 'proto.yaml',
          ruleId: 'proto',
          line: 6,
          column: 3,
          message: "unknown key 'constructor'; the keys are id, description, description_zh, when, score, action, scam_type, mode",
        },
      ],
    });
    expect([({} as Record<string, unknown>).polluted, Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')]).toEqual([
      undefined,
      false,
    ]);
  });

  test('a file name with a directory is refused (names may later become paths)', () => {
    expect(compileRuleSetFromText([{ name: '../etc/x.yaml', text: '[]' }])).toEqual({
      ok: false,
      errors: [
        {
          file: '../etc/x.yaml',
          ruleId: null,
          line: 0,
          column: 0,
          message: 'a rule file name must end in .yaml or .yml, with no directory and no leading dot',
        },
      ],
    });
  });
});

describe('nothing ran', () => {
  test('the canary is untouched and process.exit was never called', () => {
    expect([globals[CANARY], exitSpy.mock.calls.length]).toEqual(['untouched', 0]);
  });
});
