import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ACTIONS, type Action } from '../../src/scoring/actions.ts';
import { decide, type PolicyHit } from '../../src/scoring/policy.ts';
import { redecide, redecidePolicy, replayedContext, ruleVerdict, verdictOf, type RedecidePolicy, type RuleVerdict } from '../../src/scoring/redecide.ts';
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
const config = loadConfig({ RISK_WARN_AT_ELDERLY: '20', DEGRADED_FEATURES_POLICY: '2000:allow,*:cool_off' }, '/tmp');
const policy = redecidePolicy(config);

describe('redecide: the engine decision off the scoring route', () => {
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
    expect(redecide(adult, replayedContext(0.25), policy)).toEqual({ action: 'allow', riskScore: 25, ruleScore: 0, ruleAction: 'allow', segment: 'adult' });
    expect(redecide(elderly, replayedContext(0.25), policy).action).toBe('warn');
    const large = ruleVerdict(rules, vector({ amount: 5000, 'payee.report_count': 2 }));
    expect(redecide(large, replayedContext(null), policy)).toEqual({ action: 'cool_off', riskScore: 55, ruleScore: 55, ruleAction: 'cool_off', segment: null });
  });

  it('blocks on a guardian limit and applies the degraded fail mode for the amount', () => {
    const none = ruleVerdict(rules, vector({ amount: 50 }));
    const ctx = { modelScore: null, guardianBlocked: false, featuresDegraded: false, amount: 50 };
    expect(redecide(none, ctx, policy).action).toBe('allow');
    expect(redecide(none, { ...ctx, guardianBlocked: true }, policy).action).toBe('block');
    expect(redecide(none, { ...ctx, featuresDegraded: true }, policy).action).toBe('allow');
    expect(redecide(none, { ...ctx, featuresDegraded: true, amount: 3000 }, policy).action).toBe('cool_off');
    // the amount is read only in degraded mode
    expect(redecide(none, { ...ctx, amount: 3000 }, policy).action).toBe('allow');
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
      const d = redecide(verdict, replayedContext(modelScore), policy);
      expect(replayAction(verdict, modelScore, config)).toBe(d.action);
      const stored = { modelScore, guardianBlocked: rand() < 0.1, featuresDegraded: rand() < 0.1, amount };
      expect(replayDecision(rules, v, stored, policy).action).toBe(redecide(verdict, stored, policy).action);
      // eval:segments decides from riskScore and ruleAction alone, under the band's thresholds
      expect(actionOf(scoredTransfer(d, false), policy.thresholds(verdict.segment))).toBe(d.action);
    }
  });

  it('splits the decision into riskScore and the rules minimum action exactly as decide combines them', () => {
    // the threshold search of eval:segments relies on it: any hits, any score, any thresholds
    const rand = prng(11);
    const scamTypes = ['other', 'investment'] as const;
    for (let i = 0; i < 2000; i++) {
      const hits: PolicyHit[] = [];
      const n = Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) {
        hits.push({ score: Math.round(rand() * 6000) / 100, action: ACTIONS[Math.floor(rand() * ACTIONS.length)]!, scamType: scamTypes[k % 2]! });
      }
      const warn = Math.round(rand() * 10_000) / 100;
      const t = { warn, coolOff: warn + Math.round(rand() * 3000) / 100, block: warn + Math.round(rand() * 6000) / 100 };
      const p: RedecidePolicy = { thresholds: () => t, degradedBands: config.degradedFeaturesPolicy };
      const verdict: RuleVerdict = { hits, segment: null, errors: 0 };
      const modelScore = rand() < 0.2 ? null : rand();
      const d = redecide(verdict, replayedContext(modelScore), p);
      const policyOutcome = decide(hits, modelScore, t);
      expect(d.action).toBe(policyOutcome.action);
      expect(d.riskScore).toBe(policyOutcome.riskScore);
      expect(actionOf(scoredTransfer(d, true), t)).toBe(d.action);
      const expectedRuleAction = hits.reduce<Action>((a, h) => (ACTIONS.indexOf(h.action) > ACTIONS.indexOf(a) ? h.action : a), 'allow');
      expect(d.ruleAction).toBe(expectedRuleAction);
    }
  });
});
