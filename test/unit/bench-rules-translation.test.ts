/**
 * The json-rules-engine translation used by `npm run bench:rules` (bench/to-json-rules-engine.ts)
 * must fire a rule exactly when calmpay's interpreter says its condition is true, missing
 * values included. Each expression is also checked negated, which exercises the translation
 * of "is false" (`not x` with x missing must not fire).
 */
import { describe, expect, test } from 'vitest';
import type { FeatureValue } from '../../src/features/catalogue.ts';
import { interpret } from '../../src/rules/language/interpreter.ts';
import { generateFeatureVectors } from '../../bench/feature-vectors.ts';
import { buildEngine, firedRuleIds, translateRules, vectorToFacts } from '../../bench/to-json-rules-engine.ts';
import { checked, generatedVectors } from './rules-fixtures.ts';

/** [expression, the values it takes on the vectors below] */
const EXPRESSIONS: readonly [string, readonly FeatureValue[]][] = [
  ['amount >= 5 * payer.avg_amount_30d', [false, null, true]], // arithmetic: a computed fact
  ['payer.age < hour_of_day', [false, null, true]], // two features: a computed fact
  ['payer.out_sum_24h + amount >= 2_000 and payee.first_seen', [false, true]],
  ['payer.age is missing', [false, true]],
  ['payer.age is not missing', [false, true]],
  ['not context.on_call', [false, null, true]],
  ['not (payer.age >= 60 and context.on_call)', [false, null, true]],
  ['context.new_device or device.new_for_payer', [false, null, true]],
  ['hour_of_day between 0 and 5', [false, null, true]],
  ['amount between 4_900 and 4_999.99 or payer.age > 80', [false, null, true]],
  ['payer.age_band in ["minor", "elderly"]', [false, null, true]],
  ['payer.age_band not in ["adult"]', [false, null, true]],
  ['currency not in ["CNY"]', [false, true]],
  ['channel != "app"', [false, null, true]],
  ['channel == "web"', [false, null, true]],
  ['5_000 <= amount and payee.first_seen', [false, true]],
  ['payer.age >= -1 and not payee.first_seen', [false, null, true]],
  ['coalesce(context.on_call, false)', [false, true]],
];

const RULES = EXPRESSIONS.flatMap(([src], i) => [
  { id: `e${i}`, condition: checked(src) },
  { id: `not-e${i}`, condition: checked(`not (${src})`) },
]);

// realistic vectors, and the rule tests' vectors (boundary values, missing everywhere allowed)
const VECTORS = [...generateFeatureVectors(300, 7), ...generatedVectors(200)];

describe('json-rules-engine translation', () => {
  test('fires exactly the rules whose condition the interpreter finds true', async () => {
    const engine = buildEngine(translateRules(RULES));
    const mismatches: { vector: number; interpreter: string[]; jsonRulesEngine: string[] }[] = [];
    for (const [i, v] of VECTORS.entries()) {
      const want = RULES.filter((r) => interpret(r.condition, v) === true).map((r) => r.id);
      const got = await firedRuleIds(engine, vectorToFacts(v));
      if ([...got].sort().join() !== [...want].sort().join()) mismatches.push({ vector: i, interpreter: want, jsonRulesEngine: got });
    }
    expect(mismatches).toEqual([]);
  });

  test('the vectors give every expression each value it can take', () => {
    const taken = EXPRESSIONS.map(([src]) => {
      const e = checked(src);
      const values = new Set(VECTORS.map((v) => interpret(e, v)));
      return [src, [false, null, true].filter((x) => values.has(x))];
    });
    expect(taken).toEqual(EXPRESSIONS);
  });

  test('native conditions where json-rules-engine has the operator, computed facts elsewhere', () => {
    const t = translateRules(
      ['hour_of_day between 0 and 5', 'not (payer.age_band not in ["adult"])', 'not context.on_call', '5_000 <= amount', 'amount >= 5 * payer.avg_amount_30d'].map(
        (src, i) => ({ id: `r${i}`, condition: checked(src) }),
      ),
    );
    expect(t.rules.map((r) => [r.properties.conditions, r.nativeLeaves, r.computedLeaves])).toEqual([
      [
        {
          all: [
            { fact: 'hour_of_day', operator: 'greaterThanInclusive', value: 0 },
            { fact: 'hour_of_day', operator: 'lessThanInclusive', value: 5 },
          ],
        },
        1,
        0,
      ],
      [{ all: [{ fact: 'payer.age_band', operator: 'in', value: ['adult'] }] }, 1, 0],
      [{ all: [{ fact: 'context.on_call', operator: 'equal', value: false }] }, 1, 0],
      [{ all: [{ fact: 'amount', operator: 'greaterThanInclusive', value: 5000 }] }, 1, 0],
      [{ all: [{ fact: 'computed:amount >= (5 * payer.avg_amount_30d)', operator: 'equal', value: true }] }, 0, 1],
    ]);
    expect(t.facts.map((f) => [f.id, f.inputs.map((x) => x.name)])).toEqual([
      ['computed:amount >= (5 * payer.avg_amount_30d)', ['amount', 'payer.avg_amount_30d']],
    ]);
  });

  test('a feature that can be missing is guarded where json-rules-engine would pass null', () => {
    const t = translateRules([
      { id: 'nullable', condition: checked('payer.age_band not in ["adult"]') },
      { id: 'never-missing', condition: checked('currency != "CNY"') },
    ]);
    expect(t.rules.map((r) => r.properties.conditions)).toEqual([
      {
        all: [
          { fact: 'payer.age_band', operator: 'notEqual', value: null },
          { fact: 'payer.age_band', operator: 'notIn', value: ['adult'] },
        ],
      },
      { all: [{ fact: 'currency', operator: 'notEqual', value: 'CNY' }] },
    ]);
  });
});
