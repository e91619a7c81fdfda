import { describe, expect, test } from 'vitest';
import { checkExpression, type CheckOptions } from '../../src/rules/language/checker.ts';
import { MAX_ERRORS } from '../../src/rules/language/limits.ts';
import { parseExpression } from '../../src/rules/language/parser.ts';

function check(src: string, options: CheckOptions = { expect: 'boolean' }) {
  const p = parseExpression(src);
  if (!p.ok) throw new Error(`parse failed: ${JSON.stringify(p.errors)}`);
  return checkExpression(p.expr, options);
}

/** The errors, as [message, line, column] for compact tables. */
function errors(src: string, options?: CheckOptions): [string, number, number][] | 'ok' {
  const r = check(src, options);
  return r.ok ? 'ok' : r.errors.map((e) => [e.message, e.line, e.column]);
}

describe('identifiers', () => {
  test.each([
    ['payer.agee >= 60', "unknown feature 'payer.agee' (did you mean 'payer.age'?)"],
    ['amout > 5', "unknown feature 'amout' (did you mean 'amount'?)"],
    ['payer.age_brand == "adult"', "unknown feature 'payer.age_brand' (did you mean 'payer.age_band'?)"],
    ['age > 60', "unknown feature 'age' (did you mean 'payer.age'?)"],
    ['out_sum_1h > 3', "unknown feature 'out_sum_1h' (did you mean 'payer.out_sum_1h' or 'payee.out_sum_1h'?)"],
    ['payee.new_payer_24h > 3', "unknown feature 'payee.new_payer_24h' (did you mean 'payee.new_payers_24h'?)"],
    ['velocity > 3', "unknown feature 'velocity'"],
  ])('%s', (src, message) => {
    expect(errors(src)).toEqual([[message, 1, 1]]);
  });
});

describe('types', () => {
  test.each([
    ['amount == "5"', "'==' compares number with string; both sides must have the same type", 1, 8],
    ['channel != true', "'!=' compares string with boolean; both sides must have the same type", 1, 9],
    ['channel > 5', "'>' needs a number on the left, found string", 1, 1],
    ['amount <= payee.first_seen', "'<=' needs a number on the right, found boolean", 1, 11],
    ['amount and payee.first_seen', "'and' needs a boolean on the left, found number", 1, 1],
    ['payee.first_seen or "x"', "'or' needs a boolean on the right, found string", 1, 21],
    ['not amount', "'not' needs a boolean, found number", 1, 5],
    ['-channel == 1', "'-' needs a number, found string", 1, 2],
    ['amount + true > 1', "'+' needs a number on the right, found boolean", 1, 10],
    ['channel between 1 and 2', "'between' needs a number as the value, found string", 1, 1],
    ['amount between "a" and 2', "'between' needs a number as the lower bound, found string", 1, 16],
    ['amount between 1 and false', "'between' needs a number as the upper bound, found boolean", 1, 22],
    ['min(amount, channel) > 1', 'min needs numbers; argument 2 is a string', 1, 13],
    ['abs(payee.first_seen) > 1', 'abs needs numbers; argument 1 is a boolean', 1, 5],
    ['abs(amount, 1) > 1', 'abs takes exactly 1 argument, found 2', 1, 1],
    ['max(amount) > 1', 'max takes at least 2 arguments, found 1', 1, 1],
    ['coalesce(payer.age) > 1', 'coalesce takes at least 2 arguments, found 1', 1, 1],
    ['coalesce(payer.age, "x") == "x"', 'coalesce needs arguments of one type; argument 2 is a string, argument 1 a number', 1, 21],
    ['amount + 1', 'expected a boolean condition, found number', 1, 1],
    ['channel', 'expected a boolean condition, found string', 1, 1],
  ])('%s', (src, message, line, column) => {
    expect(errors(src)).toEqual([[message, line, column]]);
  });

  test('the list check reports every bad item', () => {
    expect(errors('amount in [1, "2", true]')).toEqual([
      ['list item "2" is a string, but the value before \'in\' is a number', 1, 15],
      ["list item true is a boolean, but the value before 'in' is a number", 1, 20],
    ]);
  });

  test('any type without an expectation', () => {
    expect(check('amount * 2', {})).toMatchObject({ ok: true, expr: { type: 'number', nullable: false } });
  });
});

describe('closed value sets', () => {
  test.each([
    [
      'payer.age_band == "eldery"',
      `"eldery" is not a value of payer.age_band; the values are minor, adult, elderly (did you mean 'elderly'?)`,
      1,
      19,
    ],
    ['"senior" != payer.age_band', '"senior" is not a value of payer.age_band; the values are minor, adult, elderly', 1, 1],
    [
      'payer.age_band in ["minor", "kid"]',
      '"kid" is not a value of payer.age_band; the values are minor, adult, elderly',
      1,
      29,
    ],
    [
      'coalesce(payer.age_band, "unknown") == "unknwn"',
      `"unknwn" is not a possible value; the values are minor, adult, elderly, unknown (did you mean 'unknown'?)`,
      1,
      40,
    ],
  ])('%s', (src, message, line, column) => {
    expect(errors(src)).toEqual([[message, line, column]]);
  });

  test('members of the set, and open string features, are accepted', () => {
    expect(errors('payer.age_band == "elderly" and payer.age_band not in ["minor"]')).toBe('ok');
    expect(errors('coalesce(payer.age_band, "unknown") == "unknown"')).toBe('ok');
    expect(errors('channel == "anything at all"')).toBe('ok');
  });
});

describe('collecting errors', () => {
  test('all errors of an expression, in source order, each once', () => {
    const src = 'amount == "x"\n  and channel > 3\n  and not amount\n  and payer.agee > 1\n  and (payer.age + "y") > 2';
    expect(errors(src)).toEqual([
      ["'==' compares number with string; both sides must have the same type", 1, 8],
      ["'>' needs a number on the left, found string", 2, 7],
      ["'not' needs a boolean, found number", 3, 11],
      ["unknown feature 'payer.agee' (did you mean 'payer.age'?)", 4, 7],
      ["'+' needs a number on the right, found string", 5, 20],
    ]);
  });

  test(`at most ${MAX_ERRORS}, the last saying how many there were`, () => {
    const src = Array.from({ length: 60 }, (_, i) => `f${i} > 1`).join(' and ');
    const r = errors(src);
    const column = (i: number): number => src.indexOf(`f${i} `) + 1;
    const want: [string, number, number][] = Array.from({ length: 49 }, (_, i) => [`unknown feature 'f${i}'`, 1, column(i)]);
    want.push(['too many errors (60); only the first 49 are listed', 1, column(49)]);
    expect(r).toEqual(want);
  });
});

describe('types and nullability of the checked tree', () => {
  test.each([
    ['amount', 'number', false],
    ['payer.age', 'number', true],
    ['amount + 1', 'number', false],
    ['amount + payer.age', 'number', true],
    ['amount / 2', 'number', false],
    ['amount / -2', 'number', false],
    ['amount / 0', 'number', true],
    ['amount % amount', 'number', true],
    ['amount > 1', 'boolean', false],
    ['payer.age > 1', 'boolean', true],
    ['payer.age is missing', 'boolean', false],
    ['coalesce(payer.age, 1)', 'number', false],
    ['coalesce(payer.age, hour_of_day)', 'number', true],
    ['min(amount, payer.age)', 'number', true],
    ['payer.age_band in ["minor"]', 'boolean', true],
    ['not context.on_call', 'boolean', true],
    ['payee.first_seen and context.on_call', 'boolean', true],
  ])('%s', (src, type, nullable) => {
    expect(check(src, {})).toMatchObject({ ok: true, expr: { type, nullable } });
  });
});
