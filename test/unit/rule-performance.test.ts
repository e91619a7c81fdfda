import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { enginePolicy, replayedContext } from '../../src/scoring/decide.ts';
import type { Action } from '../../src/scoring/actions.ts';
import {
  CONFIGURED_BUDGET,
  DEFAULT_FLAG_POLICY,
  flagPolicyOf,
  RulePerformanceTally,
  rulePerformance,
  rulePerformanceTable,
  type DecidedTransfer,
  type PerformanceHit,
  type PerformanceRule,
} from '../../src/rules/performance/rule-performance.ts';

/** The general thresholds: warn at 30, cool_off at 60, block at 95. */
const policy = enginePolicy(loadConfig({}).scoring);

const hit = (ruleId: string, score: number, action: Action = 'allow'): PerformanceHit => ({ ruleId, score, action, scamType: 'other' });
const A = hit('a-strong', 40, 'warn');
const B = hit('b-points', 10);
const C = hit('c-noisy', 35, 'warn');
const D = hit('d-points', 25);

const RULES: PerformanceRule[] = [
  { id: 'a-strong', mode: 'active' },
  { id: 'b-points', mode: 'active' },
  { id: 'c-noisy', mode: 'active' },
  { id: 'd-points', mode: 'active' },
  { id: 's-shadow', mode: 'shadow' },
];

function t(over: Partial<DecidedTransfer> & Pick<DecidedTransfer, 'action' | 'fraud'>): DecidedTransfer {
  return { hits: [], shadowRuleIds: [], segment: null, context: replayedContext(0.1), amount: 100, currency: 'CNY', ...over };
}

/**
 * Five frauds: one only a-strong catches (a unique catch), one a-strong and c-noisy both catch,
 * one the model alone would warn (c-noisy hit it too), one b-points and d-points catch only
 * together (10 + 25 = 35 points: each is a unique catch), one nobody catches (the shadow rule
 * hit it). 100 legitimate transfers: c-noisy warns 3 of them, a-strong 3 others, b-points hits
 * 50 without any intervention.
 */
function cases(): DecidedTransfer[] {
  const out: DecidedTransfer[] = [
    t({ fraud: true, action: 'warn', hits: [A], amount: 100 }),
    t({ fraud: true, action: 'warn', hits: [A, C], amount: 200 }),
    t({ fraud: true, action: 'warn', hits: [C], amount: 300, context: replayedContext(0.5) }),
    t({ fraud: true, action: 'warn', hits: [B, D], amount: 400 }),
    t({ fraud: true, action: 'allow', shadowRuleIds: ['s-shadow'], amount: 1000 }),
  ];
  for (let i = 0; i < 100; i++) {
    if (i < 3) out.push(t({ fraud: false, action: 'warn', hits: [C] }));
    else if (i < 6) out.push(t({ fraud: false, action: 'warn', hits: [A] }));
    else if (i < 56) out.push(t({ fraud: false, action: 'allow', hits: [B], shadowRuleIds: i < 10 ? ['s-shadow'] : [] }));
    else out.push(t({ fraud: false, action: 'allow' }));
  }
  return out;
}

describe('rule performance (issue 16)', () => {
  const report = rulePerformance(cases(), RULES, policy);
  const rule = (id: string) => report.rules.find((r) => r.ruleId === id)!;

  it('counts the window: transfers, legitimate, fraud, caught fraud by count and value', () => {
    expect(report.transfers).toBe(105);
    expect(report.legitimate).toBe(100);
    expect(report.fraud).toEqual({ transfers: 5, amount: { CNY: 2000 } });
    expect(report.caughtFraud).toEqual({ transfers: 4, amount: { CNY: 1000 } });
    expect(report.legitimateRates).toEqual({ warn: 0.06, cool_off: 0, block: 0 });
    expect(report.rules.map((r) => r.ruleId)).toEqual(['a-strong', 'b-points', 'c-noisy', 'd-points', 's-shadow']);
  });

  it('gives hits, precision, legitimate hit rate and the share of caught fraud', () => {
    expect(rule('a-strong')).toMatchObject({
      hits: 5,
      fraudHits: 2,
      legitimateHits: 3,
      precision: 0.4,
      legitimateHitRate: 0.03,
      legitimateInterventions: { warn: 3, cool_off: 0, block: 0 },
      legitimateInterventionRate: 0.03,
      caughtFraud: { transfers: 2, amount: { CNY: 300 } },
      caughtFraudShare: 0.5,
      caughtFraudValueShare: { CNY: 0.3 },
      missedFraudHits: 0,
    });
    // hits half the legitimate traffic but never leads to an intervention
    expect(rule('b-points')).toMatchObject({ hits: 51, legitimateHitRate: 0.5, legitimateInterventionRate: 0, flagged: false });
  });

  it('finds the unique catches: the decision without the rule allows, counting the other rules and the model', () => {
    // a-strong alone caught the 100: the model's 10 points stay under the warn threshold
    expect(rule('a-strong').uniqueCatches).toEqual({ transfers: 1, amount: { CNY: 100 } });
    expect(rule('a-strong').uniqueCatchShare).toBe(0.25);
    // c-noisy's catches: a-strong warned the 200 anyway, the model's 50 points warned the 300
    expect(rule('c-noisy').uniqueCatches).toEqual({ transfers: 0, amount: {} });
    expect(rule('c-noisy').uniqueCatchValueShare).toEqual({ CNY: 0 });
    // 10 + 25 points: neither alone reaches the threshold, so each is the one without which it is allowed
    expect(rule('b-points').uniqueCatches).toEqual({ transfers: 1, amount: { CNY: 400 } });
    expect(rule('d-points').uniqueCatches).toEqual({ transfers: 1, amount: { CNY: 400 } });
  });

  it('never counts a guardian block or a degraded fail mode as a rule\'s unique catch', () => {
    const guarded = rulePerformance(
      [t({ fraud: true, action: 'block', hits: [A], context: { ...replayedContext(0.1), guardianBlocked: true } })],
      RULES,
      policy,
    );
    expect(guarded.rules[0]!.uniqueCatches.transfers).toBe(0);
    expect(guarded.rules[0]!.caughtFraud.transfers).toBe(1);
  });

  it('keeps a shadow rule out of caught fraud and the budget, and says what it would add', () => {
    expect(rule('s-shadow')).toMatchObject({
      mode: 'shadow',
      hits: 5,
      fraudHits: 1,
      legitimateHits: 4,
      precision: 0.2,
      legitimateHitRate: 0.04,
      legitimateInterventionRate: 0,
      caughtFraud: { transfers: 0 },
      missedFraudHits: 1,
      uniqueCatches: { transfers: 0 },
      flagged: false,
    });
  });

  it('flags the rule that spends budget and catches little, not the one that spends and catches', () => {
    // c-noisy: 3 % of legitimate transfers warned (over a quarter of the 2 % budget), no unique catch
    expect(rule('c-noisy').flagged).toBe(true);
    expect(rule('c-noisy').flagReason).toBe(
      'spends 3 % of legitimate transfers warn (over 25 % of the 2 % budget) and catches little: 0 unique catch(es) of 4 caught fraud (at most 5 % by count and value)',
    );
    // a-strong spends as much but is the only catch of a quarter of the caught fraud
    expect(rule('a-strong').flagged).toBe(false);
    expect(report.rules.filter((r) => r.flagged).map((r) => r.ruleId)).toEqual(['c-noisy']);
  });

  it('follows the budget it is given', () => {
    const roomy = rulePerformance(cases(), RULES, policy, { ...DEFAULT_FLAG_POLICY, budget: { warn: 0.2, cool_off: 0.05, block: 0.01 } });
    expect(roomy.rules.some((r) => r.flagged)).toBe(false);
    const strict = rulePerformance(cases(), RULES, policy, { ...DEFAULT_FLAG_POLICY, littleShare: 0.3 });
    expect(strict.rules.filter((r) => r.flagged).map((r) => r.ruleId)).toEqual(['a-strong', 'c-noisy']);
  });

  it('takes the configured intervention budget (INTERVENTION_BUDGET_*_PCT)', () => {
    const budget = loadConfig({ INTERVENTION_BUDGET_WARN_PCT: '20' }).budget.general;
    const flags = flagPolicyOf(budget, CONFIGURED_BUDGET);
    expect(flags).toMatchObject({ budget: { warn: 0.2, cool_off: 0.005, block: 0.001 }, budgetShare: 0.25, littleShare: 0.05 });
    // 3 % warned is within a quarter of a 20 % warn budget: c-noisy no longer spends budget
    expect(rulePerformance(cases(), RULES, policy, flags).rules.some((r) => r.flagged)).toBe(false);
    expect(flagPolicyOf(loadConfig({}).budget.general, CONFIGURED_BUDGET).budget).toEqual(DEFAULT_FLAG_POLICY.budget);
  });

  it('reports a rule that fired but is no longer in the set under its id, after the set', () => {
    const tally = new RulePerformanceTally(RULES, policy);
    tally.add(t({ fraud: false, action: 'warn', hits: [hit('old-rule', 50, 'warn')] }));
    const r = tally.result();
    expect(r.rules.map((x) => [x.ruleId, x.inRuleSet])).toEqual([
      ['a-strong', true],
      ['b-points', true],
      ['c-noisy', true],
      ['d-points', true],
      ['s-shadow', true],
      ['old-rule', false],
    ]);
    expect(r.rules.at(-1)).toMatchObject({ hits: 1, legitimateHitRate: 1, precision: 0, caughtFraudShare: null, flagged: true });
  });

  it('keeps currencies apart', () => {
    const r = rulePerformance(
      [t({ fraud: true, action: 'warn', hits: [A], amount: 10, currency: 'USD' }), t({ fraud: true, action: 'warn', hits: [C], amount: 70, context: replayedContext(0.5) })],
      RULES,
      policy,
    );
    expect(r.caughtFraud.amount).toEqual({ CNY: 70, USD: 10 });
    expect(r.rules[0]!.caughtFraudValueShare).toEqual({ CNY: 0, USD: 1 });
  });

  it('prints a table with a line per rule and the flagged rules\' reasons', () => {
    const text = rulePerformanceTable(report);
    expect(text).toContain('| c-noisy | active | 5 | 0.400 | 3.00% | 3.00% | 50.00% (50.00%) | 0 (0.00%, 0.00%) | 0 | FLAGGED |');
    expect(text).toContain('| a-strong | active | 5 | 0.400 | 3.00% | 3.00% | 50.00% (30.00%) | 1 (25.00%, 10.00%) | 0 |  |');
    expect(text).toContain('- c-noisy: spends 3 % of legitimate transfers warn');
    const quiet = rulePerformanceTable(rulePerformance([t({ fraud: false, action: 'warn', hits: [A] })], RULES, policy));
    expect(quiet).toContain('\nNo hits: b-points, c-noisy, d-points, s-shadow');
    expect(quiet).not.toContain('| b-points |');
  });
});
