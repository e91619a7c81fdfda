import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { PolicyThresholds } from '../../src/scoring/scoring-config.ts';
import { ACTIONS, type Action } from '../../src/scoring/actions.ts';
import {
  decide,
  enginePolicy,
  replayedContext,
  ruleVerdict,
  thresholdAction,
  verdictOf,
  type DecideContext,
  type DecideHit,
  type EnginePolicy,
  type RuleVerdict,
} from '../../src/scoring/decide.ts';
import { replayAction } from '../../src/replay/replay-decisions.ts';
import { replayDecision } from '../../src/backtest/replay-decision.ts';
import type { RuleSet } from '../../src/rules/language/rule-set.ts';
import { compileRules } from '../helpers/rules.ts';
import { actionOf, scoredTransfer } from '../../src/train/segment-fairness.ts';
import { prng, vector } from './rules-fixtures.ts';

const RULES = `
- id: reported
  description: payee reported
  when: payee.report_count >= 1
  score: 35
  action: cool_off
  scam_type: investment
- id: large
  description: large amount
  when: amount >= 1000
  score: 20
  action: warn
  scam_type: other
- id: shadow-small
  description: measured only
  when: amount < 10
  score: 90
  action: block
  scam_type: other
  mode: shadow
`;

const ruleSet = (): RuleSet => compileRules(RULES);

// general 30 / 60 / 95; the elderly warn from 20; below 2,000 degraded transfers are allowed, above held
const config = loadConfig({ RISK_WARN_AT_ELDERLY: '20', DEGRADED_FEATURES_POLICY: '2000:allow,*:cool_off' }, '/tmp').scoring;
const policy = enginePolicy(config);
const thresholdsOf = (p: EnginePolicy, v: RuleVerdict): PolicyThresholds => p.segment(v.segment).thresholds;

/** A policy of these thresholds for every age band (degraded: allow below 2,000, cool_off above). */
const fixed = (t: PolicyThresholds): EnginePolicy => ({ segment: () => ({ thresholds: t, coolingOffSeconds: 900, degradedBands: config.degradedFeaturesPolicy }) });

const T = { warn: 30, coolOff: 60, block: 95 };

/** What the policy made of hits and a model score before: the decision's scores, action and scam type. */
function outcome(hits: readonly DecideHit[], modelScore: number | null, t: PolicyThresholds, ctx: Partial<DecideContext> = {}) {
  const d = decide({ hits, segment: null, errors: 0 }, { ...replayedContext(modelScore), ...ctx }, fixed(t));
  return { ruleScore: d.ruleScore, riskScore: d.riskScore, action: d.action, scamType: d.scamType };
}

describe('decide: scores, action and scam type', () => {
  it('maps riskScore to an action at and around each threshold', () => {
    expect([0, 29.99, 30, 59.99, 60, 94.99, 95, 100].map((s) => thresholdAction(s, T))).toEqual([
      'allow',
      'allow',
      'warn',
      'warn',
      'cool_off',
      'cool_off',
      'block',
      'block',
    ]);
  });

  it('compares model points to a threshold given to the hundredth', () => {
    const elderly = { warn: 13.35, coolOff: 60, block: 95 };
    expect([0.1334, 0.1335].map((p) => outcome([], p, elderly).action)).toEqual(['allow', 'warn']);
  });

  it('allows with no hits and no model', () => {
    expect(outcome([], null, T)).toEqual({ ruleScore: 0, riskScore: 0, action: 'allow', scamType: null });
  });

  it('adds points, caps at 100 and names the highest-scoring scam type', () => {
    const hits = [
      { score: 40, action: 'allow' as const, scamType: 'mule' as const },
      { score: 45, action: 'allow' as const, scamType: 'impersonation' as const },
      { score: 30, action: 'allow' as const, scamType: 'other' as const },
    ];
    expect(outcome(hits, null, T)).toEqual({ ruleScore: 100, riskScore: 100, action: 'block', scamType: 'impersonation' });
  });

  it("takes a rule's minimum action over a low score", () => {
    expect(outcome([{ score: 5, action: 'cool_off', scamType: 'romance' }], null, T)).toEqual({
      ruleScore: 5,
      riskScore: 5,
      action: 'cool_off',
      scamType: 'romance',
    });
  });

  it('uses the model when it is more alarmed than the rules', () => {
    expect(outcome([{ score: 10, action: 'allow', scamType: 'purchase' }], 0.6234, T)).toEqual({
      ruleScore: 10,
      riskScore: 62.34,
      action: 'cool_off',
      scamType: 'purchase',
    });
  });

  it("falls back to scam type 'other' when a warning is due but no hit names a type", () => {
    expect(outcome([{ score: 35, action: 'allow', scamType: 'other' }], null, T)).toEqual({
      ruleScore: 35,
      riskScore: 35,
      action: 'warn',
      scamType: 'other',
    });
  });

  it('blocks on a guardian limit whatever the score, naming a scam only when a hit suspects one', () => {
    expect(outcome([], null, T, { guardianBlocked: true })).toEqual({ ruleScore: 0, riskScore: 0, action: 'block', scamType: null });
    expect(outcome([{ score: 5, action: 'allow', scamType: 'romance' }], null, T, { guardianBlocked: true })).toMatchObject({ action: 'block', scamType: 'romance' });
  });

  it('raises a degraded transfer to the fail mode for its amount, with scam type other when only the fail mode acts', () => {
    const low = [{ score: 5, action: 'allow' as const, scamType: 'romance' as const }];
    expect(outcome(low, null, T, { featuresDegraded: true, amount: 3000 })).toEqual({ ruleScore: 5, riskScore: 5, action: 'cool_off', scamType: 'other' });
    expect(outcome(low, null, T, { featuresDegraded: true, amount: 50 })).toEqual({ ruleScore: 5, riskScore: 5, action: 'allow', scamType: null });
    const warned = [{ score: 35, action: 'allow' as const, scamType: 'romance' as const }];
    expect(outcome(warned, null, T, { featuresDegraded: true, amount: 3000 })).toMatchObject({ action: 'cool_off', scamType: 'romance' });
  });
});

describe('decide: the engine decision on a rule verdict', () => {
  const rules = ruleSet();

  it('keeps the active hits only, with the payer band and the number of rule errors', () => {
    const v = vector({ amount: 5, 'payee.report_count': 1, 'payer.age_band': 'elderly' });
    expect(ruleVerdict(rules, v)).toEqual({ hits: [{ score: 35, action: 'cool_off', scamType: 'investment' }], segment: 'elderly', errors: 0 });
    expect(verdictOf(rules.evaluate(v), v)).toEqual(ruleVerdict(rules, v));
    // the shadow rule alone fires: nothing acts
    expect(ruleVerdict(rules, vector({ amount: 5 })).hits).toEqual([]);
  });

  it('decides as decide does, with the thresholds of the payer band', () => {
    const adult = ruleVerdict(rules, vector({ amount: 50, 'payer.age_band': 'adult' }));
    const elderly = ruleVerdict(rules, vector({ amount: 50, 'payer.age_band': 'elderly' }));
    expect(decide(adult, replayedContext(0.25), policy)).toMatchObject({ action: 'allow', riskScore: 25, ruleScore: 0, ruleAction: 'allow', segment: 'adult' });
    expect(decide(elderly, replayedContext(0.25), policy).action).toBe('warn');
    expect(decide(elderly, replayedContext(0.25), policy).policy).toMatchObject({ thresholds: { warn: 20 } });
    const large = ruleVerdict(rules, vector({ amount: 5000, 'payee.report_count': 2 }));
    expect(decide(large, replayedContext(null), policy)).toMatchObject({ action: 'cool_off', riskScore: 55, ruleScore: 55, ruleAction: 'cool_off', segment: null });
  });

  it('blocks on a guardian limit and applies the degraded fail mode for the amount', () => {
    const none = ruleVerdict(rules, vector({ amount: 50 }));
    const ctx = { modelScore: null, guardianBlocked: false, featuresDegraded: false, amount: 50 };
    expect(decide(none, ctx, policy).action).toBe('allow');
    expect(decide(none, { ...ctx, guardianBlocked: true }, policy).action).toBe('block');
    expect(decide(none, { ...ctx, featuresDegraded: true }, policy).action).toBe('allow');
    expect(decide(none, { ...ctx, featuresDegraded: true, amount: 3000 }, policy).action).toBe('cool_off');
    // the amount is read only in degraded mode
    expect(decide(none, { ...ctx, amount: 3000 }, policy).action).toBe('allow');
  });

  it('is what the backtest, the replay and eval:segments decide', () => {
    const rand = prng(7);
    const bands = [null, 'minor', 'adult', 'elderly'] as const;
    for (let i = 0; i < 500; i++) {
      const amount = Math.floor(rand() * 4000);
      const v = vector({
        amount,
        'payee.report_count': rand() < 0.3 ? 1 : 0,
        'payer.age_band': bands[Math.floor(rand() * bands.length)]!,
      });
      const modelScore = rand() < 0.2 ? null : Math.round(rand() * 10_000) / 10_000;
      const verdict = ruleVerdict(rules, v);
      const d = decide(verdict, replayedContext(modelScore), policy);
      expect(replayAction(verdict, modelScore, config)).toBe(d.action);
      const stored = { modelScore, guardianBlocked: rand() < 0.1, featuresDegraded: rand() < 0.1, amount };
      expect(replayDecision(rules, v, stored, policy).action).toBe(decide(verdict, stored, policy).action);
      // eval:segments decides from riskScore and ruleAction alone, under the band's thresholds
      expect(actionOf(scoredTransfer(d, false), thresholdsOf(policy, verdict))).toBe(d.action);
    }
  });

  it('splits the decision into riskScore and the rules minimum action exactly as decide combines them', () => {
    // the threshold search of eval:segments relies on it: any hits, any score, any thresholds
    const rand = prng(11);
    const scamTypes = ['other', 'investment'] as const;
    for (let i = 0; i < 2000; i++) {
      const hits: DecideHit[] = [];
      const n = Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) {
        hits.push({ score: Math.round(rand() * 6000) / 100, action: ACTIONS[Math.floor(rand() * ACTIONS.length)]!, scamType: scamTypes[k % 2]! });
      }
      const warn = Math.round(rand() * 10_000) / 100;
      const t = { warn, coolOff: warn + Math.round(rand() * 3000) / 100, block: warn + Math.round(rand() * 6000) / 100 };
      const verdict: RuleVerdict = { hits, segment: null, errors: 0 };
      const modelScore = rand() < 0.2 ? null : rand();
      const d = decide(verdict, replayedContext(modelScore), fixed(t));
      const points = Math.min(100, Math.round(hits.reduce((sum, h) => sum + h.score, 0) * 100) / 100);
      expect(d.riskScore).toBe(Math.max(points, modelScore === null ? 0 : Math.round(modelScore * 10_000) / 100));
      expect(actionOf(scoredTransfer(d, true), t)).toBe(d.action);
      const expectedRuleAction = hits.reduce<Action>((a, h) => (ACTIONS.indexOf(h.action) > ACTIONS.indexOf(a) ? h.action : a), 'allow');
      expect(d.ruleAction).toBe(expectedRuleAction);
    }
  });
});
