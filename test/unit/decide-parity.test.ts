import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { featureVectorGenerator } from '../../bench/feature-vectors.ts';
import { loadConfig } from '../../src/config.ts';
import { replayDecision, replayPolicy, type ReplayContext } from '../../src/backtest/replay-decision.ts';
import { recheckHold } from '../../src/cooling/recheck.ts';
import { idx, type AgeBand, type FeatureValue } from '../../src/features/catalogue.ts';
import type { GuardianBlock } from '../../src/i18n/guardian-notice.ts';
import type { ModelAssessment } from '../../src/model/model-session.ts';
import { replayAction } from '../../src/replay/replay-decisions.ts';
import { loadRuleDir, type RuleSet } from '../../src/rules/language/index.ts';
import type { StoredDecision } from '../../src/scoring/decision.ts';
import { decide, enginePolicy, replayedContext, ruleVerdict } from '../../src/scoring/decide.ts';
import { routeDecision } from '../../src/scoring/score-service.ts';
import { actionOf, scoredTransfer } from '../../src/train/segment-fairness.ts';
import { prng } from './rules-fixtures.ts';

/**
 * Issue 18: the scoring route, the rule backtest, the replay, eval:segments and the re-check at
 * the end of a hold must decide alike. The route's decision is made by `routeDecision` (what
 * ScoreService records); each other path is given what it has in production — the backtest the
 * stored decision (as src/backtest/decision-pages.ts reads it from SQL), the replay and
 * eval:segments the vector and the model score, the re-check the stored vector — and must reach
 * the route's action (and riskScore where it reports one). A change to how one path decides
 * that the others do not share fails here.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AGE_BAND = idx('payer.age_band');
const AMOUNT = idx('amount');

// the elderly warn from 20, minors' block from 80; degraded transfers below 2,000 are allowed, above held
const config = loadConfig({ RISK_WARN_AT_ELDERLY: '20', RISK_BLOCK_AT_MINOR: '80', DEGRADED_FEATURES_POLICY: '2000:allow,*:cool_off' }, '/tmp').scoring;
const engine = enginePolicy(config);
const MARKS = { startedAt: 0, validatedAt: 0, rulesStart: 0, rulesEnd: 0, modelEnd: 0 };
const GUARDIAN: GuardianBlock = { reason: 'guardian_limit_daily', currency: 'CNY', limit: 500, spentToday: 480 };

interface Case {
  readonly v: FeatureValue[];
  readonly model: ModelAssessment | null;
  readonly guardian: GuardianBlock | null;
  readonly featuresDegraded: boolean;
}

const scored = (p: number): ModelAssessment => ({ modelScore: p, modelVersion: 'm-1', factors: [], failure: null, timingUs: 1 });
const failed: ModelAssessment = { modelScore: null, modelVersion: 'm-1', factors: [], failure: { reason: 'deadline', message: 'late' }, timingUs: 1 };

function routed(rules: RuleSet, c: Case): StoredDecision {
  const amount = Number(c.v[AMOUNT]);
  return routeDecision(
    {
      transferId: 't',
      vector: c.v,
      evaluation: rules.evaluate(c.v),
      rulesVersion: rules.version,
      // the route does not ask the model in degraded mode
      model: c.featuresDegraded ? null : c.model,
      guardian: c.guardian,
      featuresDegraded: c.featuresDegraded,
      amount,
      decidedAtMs: 0,
    },
    engine,
    MARKS,
    () => 0,
  ).decision;
}

/** What the backtest reads of a stored decision (the SQL of src/backtest/decision-pages.ts). */
function storedContext(d: StoredDecision, amount: number): ReplayContext {
  return {
    modelScore: d.modelScore === null ? null : Math.round(d.modelScore * 1e6) / 1e6,
    guardianBlocked: d.guardian !== null,
    featuresDegraded: d.degraded.includes('features'),
    amount,
  };
}

/** The table: hand-picked edges, then seeded transfers (one in eight a scam pattern) in every state. */
function cases(): Case[] {
  const at = (over: Record<number, FeatureValue>): FeatureValue[] => {
    const v = featureVectorGenerator(1)();
    for (const [i, x] of Object.entries(over)) v[Number(i)] = x;
    return v;
  };
  const out: Case[] = [
    { v: at({ [AGE_BAND]: 'elderly', [AMOUNT]: 50 }), model: scored(0.2), guardian: null, featuresDegraded: false },
    { v: at({ [AGE_BAND]: 'adult', [AMOUNT]: 50 }), model: scored(0.2), guardian: null, featuresDegraded: false },
    { v: at({ [AGE_BAND]: 'minor', [AMOUNT]: 50 }), model: scored(0.85), guardian: null, featuresDegraded: false },
    { v: at({ [AGE_BAND]: 'minor', [AMOUNT]: 600 }), model: scored(0.01), guardian: GUARDIAN, featuresDegraded: false },
    { v: at({ [AGE_BAND]: 'adult', [AMOUNT]: 1999 }), model: null, guardian: null, featuresDegraded: true },
    { v: at({ [AGE_BAND]: 'adult', [AMOUNT]: 2000 }), model: null, guardian: null, featuresDegraded: true },
    { v: at({ [AGE_BAND]: null, [AMOUNT]: 70 }), model: failed, guardian: null, featuresDegraded: false },
  ];
  const next = featureVectorGenerator(18);
  const rand = prng(18);
  const bands: (AgeBand | null)[] = ['minor', 'adult', 'elderly', null];
  for (let i = 0; i < 600; i++) {
    const v = next();
    if (rand() < 0.3) v[AGE_BAND] = bands[Math.floor(rand() * bands.length)]!;
    const r = rand();
    const model = r < 0.15 ? null : r < 0.2 ? failed : scored(Math.round(rand() * 1e6) / 1e6);
    out.push({ v, model, guardian: rand() < 0.1 ? GUARDIAN : null, featuresDegraded: rand() < 0.1 });
  }
  return out;
}

describe('one decision for the route, the backtest, the replay, eval:segments and the re-check', () => {
  let rules: RuleSet;
  const table = cases();
  beforeAll(async () => {
    const loaded = await loadRuleDir(path.join(ROOT, 'rules'));
    if (!loaded.ok) throw new Error('the shipped rules do not load');
    rules = loaded.ruleSet;
  });

  it('covers every action, every age band, guardian blocks and degraded transfers', () => {
    const route = table.map((c) => routed(rules, c));
    expect(new Set(route.map((d) => d.action))).toEqual(new Set(['allow', 'warn', 'cool_off', 'block']));
    expect(new Set(route.map((d) => d.segment))).toEqual(new Set(['minor', 'adult', 'elderly', null]));
    expect(route.some((d) => d.guardian !== null && d.hits.length === 0)).toBe(true);
    expect(route.some((d) => d.degraded.includes('features') && d.action !== 'allow')).toBe(true);
    expect(route.some((d) => d.degraded.includes('model'))).toBe(true);
  });

  it('backtests every stored decision to the action the route took, and decides it again to the same scores and scam type', () => {
    const policy = replayPolicy(config);
    for (const c of table) {
      const d = routed(rules, c);
      const ctx = storedContext(d, Number(c.v[AMOUNT]));
      expect(replayDecision(rules, c.v, ctx, policy).action).toBe(d.action);
      // and the rest of the decision, decided again from what was stored
      const again = decide(ruleVerdict(rules, c.v), ctx, engine);
      expect([again.riskScore, again.ruleScore, again.scamType, again.segment]).toEqual([d.riskScore, d.ruleScore, d.scamType, d.segment]);
    }
  });

  it('replays and evaluates (eval:segments) a transfer to the route action when no guardian blocks and the features are whole', () => {
    for (const c of table) {
      if (c.guardian !== null || c.featuresDegraded) continue;
      const d = routed(rules, c);
      const modelScore = c.model?.modelScore ?? null;
      const verdict = ruleVerdict(rules, c.v);
      expect(replayAction(verdict, modelScore, config)).toBe(d.action);
      const decided = decide(verdict, replayedContext(modelScore), engine);
      expect([decided.riskScore, decided.ruleScore, decided.scamType, decided.segment]).toEqual([d.riskScore, d.ruleScore, d.scamType, d.segment]);
      expect(actionOf(scoredTransfer(decided, false), engine.segment(decided.segment).thresholds)).toBe(d.action);
    }
  });

  it('re-checks a stored vector without new reports to the route riskScore, holding exactly what the route blocked', () => {
    const none = { count: 0, reporters: 0, lastMs: null };
    for (const c of table) {
      if (c.guardian !== null || c.featuresDegraded) continue;
      const d = routed(rules, c);
      // the re-check refreshes the payee's report features: give it the ones the vector has
      const reports = { ...none, count: Number(c.v[idx('payee.report_count')] ?? 0), reporters: Number(c.v[idx('payee.distinct_reporters')] ?? 0) };
      const hours = c.v[idx('payee.hours_since_last_report')];
      const nowMs = Date.parse('2026-11-21T00:00:00Z');
      const r = recheckHold({
        vector: c.v,
        reports: { ...reports, lastMs: typeof hours === 'number' ? nowMs - hours * 3_600_000 : null },
        unappliedReports: [],
        nowMs,
        modelScore: d.modelScore,
        ruleSet: rules,
        policy: engine,
      });
      expect([r.riskScore, r.hold]).toEqual([d.riskScore, d.action === 'block']);
    }
  });
});
