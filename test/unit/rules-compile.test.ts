import { describe, expect, test } from 'vitest';
import { idx, type FeatureValue } from '../../src/features/catalogue.ts';
import { compileConditions, compileExpression } from '../../src/rules/language/compiler.ts';
import { interpret } from '../../src/rules/language/interpreter.ts';
import { loadRuleDir } from '../../src/rules/language/load-rule-dir.ts';
import { checked, generatedVectors, vector } from './rules-fixtures.ts';

/** Every operator, with operands that can and cannot be missing on either side. */
const FIXTURES = [
  'amount',
  '-amount',
  '-payer.age',
  '- -payer.age',
  'amount + payer.age',
  'amount - 1',
  'amount * payer.amount_to_avg_30d',
  'amount / payer.avg_amount_30d',
  'amount / 0',
  'amount / payee.report_count',
  'amount % 7',
  'amount % payer.out_count_1h',
  'payer.age / -4',
  'payer.age % 0',
  'amount > 5000',
  'payer.age >= 60',
  'payer.age < hour_of_day',
  'amount <= payer.avg_amount_30d * 3',
  'amount == payee.paid_before_count',
  'payer.age != 60',
  'channel == "app"',
  'channel != currency',
  'currency == "CNY"',
  'payer.age_band == "elderly"',
  'context.on_call == context.new_device',
  'payee.first_seen != context.remote_access',
  'payee.first_seen == true',
  'payee.first_seen and context.on_call',
  'context.on_call and payee.first_seen',
  'context.on_call and context.new_device',
  'payee.first_seen and amount > 5',
  'context.on_call or payee.first_seen',
  'payee.first_seen or context.on_call',
  'context.on_call or context.remote_access',
  'payee.first_seen or amount > 1',
  'not context.on_call',
  'not payee.first_seen',
  'not (payer.age > 5 and context.on_call) or device.new_for_payer',
  'hour_of_day between 0 and 5',
  'amount between 4_900 and 4_999.99',
  'amount between payer.age and hour_of_day',
  'amount / 2 between 1 and payer.avg_amount_30d',
  '(amount + 1) between 0 and 100',
  'payer.age_band in ["minor", "elderly"]',
  'payer.age_band not in ["adult"]',
  'amount in [0, 1, 5, 10]',
  'amount not in [0, 1]',
  'channel in ["app", "web", "a", "b", "c", "d", "e", "f", "g"]',
  'currency in ["CNY", "USD", "EUR", "a", "b", "c", "d", "e", "f"]',
  'currency not in ["USD", "EUR", "a", "b", "c", "d", "e", "f", "g"]',
  'payee.first_seen in [true]',
  'amount * 2 in [0, 2, 10]',
  'payer.age in [-1, 0, 60]',
  'payer.age is missing',
  'payer.age is not missing',
  'amount is missing',
  'context.on_call is not missing and context.on_call',
  '(amount / payer.out_count_1h) is missing',
  'min(amount, payer.age)',
  'max(amount, 3, payee.report_count)',
  'min(payer.age, hour_of_day, 3)',
  'abs(payer.age - 40)',
  'abs(amount - 7)',
  'coalesce(payer.age, 30)',
  'coalesce(payer.age, hour_of_day)',
  'coalesce(payer.age, hour_of_day, 0)',
  'coalesce(context.on_call, false) and payee.first_seen',
  'coalesce(amount, payer.age)',
  'coalesce(payer.age_band, "unknown") == "unknown"',
  'coalesce(channel, currency)',
  'payer.age >= 60 and payee.first_seen and amount >= 5 * payer.avg_amount_30d',
  '(context.new_device or device.new_for_payer) and context.on_call',
  'true',
  'false or payer.age > 3',
  // deeper than the compiler's hoisting threshold: parts are computed into constants first
  Array.from({ length: 40 }, (_, i) => `payer.age * ${i % 3} + hour_of_day`).join(' - ') + ' > amount',
  Array.from({ length: 40 }, (_, i) => (i % 2 ? 'context.on_call' : 'payer.age > 30')).join(' and ') + ' or payee.first_seen',
  'not '.repeat(40) + 'context.on_call',
  '"literal"',
];

const VECTORS = generatedVectors(400);

describe('compiled code equals the interpreter', () => {
  test.each(FIXTURES)('%s', (src) => {
    const expr = checked(src);
    const compiled = compileExpression(expr);
    const mismatches: { vector: number; compiled: FeatureValue; interpreted: FeatureValue }[] = [];
    VECTORS.forEach((v, i) => {
      const c = compiled(v);
      const r = interpret(expr, v);
      // Object.is: null vs false, 0 vs -0 and NaN all count
      if (!Object.is(c, r)) mismatches.push({ vector: i, compiled: c, interpreted: r });
    });
    expect(mismatches).toEqual([]);
  });

  test('every fixture sees missing and present operands (the vectors cover both)', () => {
    const missingAge = VECTORS.filter((v) => v[idx('payer.age')] === null).length;
    const presentAge = VECTORS.length - missingAge;
    expect([missingAge > 50, presentAge > 50]).toEqual([true, true]);
  });

  test('the default rule set: hits of the one compiled function equal the interpreter', async () => {
    const loaded = await loadRuleDir(new URL('../../rules', import.meta.url).pathname);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const { rules } = loaded.ruleSet;
    const mismatches: number[] = [];
    VECTORS.forEach((v, i) => {
      const want = rules.filter((r) => interpret(r.condition, v) === true).map((r) => r.id);
      const got = loaded.ruleSet.evaluate(v).hits.map((h) => h.ruleId);
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(i);
    });
    expect(mismatches).toEqual([]);
  });
});

describe('missing-value semantics', () => {
  const noAge = vector({ amount: 10, hour_of_day: 0 }); // payer.age, payer.age_band, context.on_call missing
  test.each<[string, FeatureValue]>([
    ['payer.age + 1', null],
    ['-payer.age', null],
    ['payer.age > 5', null],
    ['payer.age == 5', null],
    ['payer.age between 1 and 200', null],
    ['amount between payer.age and 100', null],
    ['payer.age_band in ["minor"]', null],
    ['payer.age_band not in ["minor"]', null],
    ['min(amount, payer.age)', null],
    ['abs(payer.age)', null],
    ['amount / 0', null],
    ['amount % 0', null],
    ['amount / 4', 2.5],
    ['payer.age is missing', true],
    ['payer.age is not missing', false],
    ['amount is missing', false],
    ['coalesce(payer.age, 7)', 7],
    ['coalesce(payer.age, hour_of_day)', 0],
    ['not context.on_call', null],
    ['false and context.on_call', false],
    ['context.on_call and false', false],
    ['true and context.on_call', null],
    ['true or context.on_call', true],
    ['context.on_call or true', true],
    ['false or context.on_call', null],
    ['not (payer.age > 5) or true', true],
  ])('%s = %j', (src, want) => {
    const expr = checked(src);
    expect([compileExpression(expr)(noAge), interpret(expr, noAge)]).toEqual([want, want]);
  });
});

describe('compileConditions', () => {
  test('returns the payloads of exactly-true conditions, in order', () => {
    const conditions = ['amount > 5', 'context.on_call', 'payer.age is missing', 'not context.on_call', 'payee.first_seen'];
    const compiled = compileConditions(conditions.map(checked), ['a', 'b', 'c', 'd', 'e']);
    const v = vector({ amount: 10, 'context.on_call': null, 'payer.age': null, 'payee.first_seen': true });
    expect(compiled.evaluateAll(v)).toEqual(['a', 'c', 'e']);
    expect(compiled.each.map((f) => f(v))).toEqual([true, false, true, false, true]);
  });

  test('operands that cannot be missing use plain operators; the others null-aware helpers', () => {
    const compiled = compileConditions(
      [checked('amount >= 5_000 and payee.first_seen'), checked('payer.age >= 60 and context.on_call')],
      [0, 1],
    );
    const a = idx('amount');
    const f = idx('payee.first_seen');
    const age = idx('payer.age');
    const call = idx('context.on_call');
    expect(compiled.source).toContain(`  if (((v[${a}] >= (5000)) && v[${f}])) r.push(H[0]);`);
    expect(compiled.source).toContain(`  if (and3(ge(v[${age}], (60)), v[${call}]) === true) r.push(H[1]);`);
  });
});
