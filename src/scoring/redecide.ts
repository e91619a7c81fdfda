import { segmentPolicy, type Config, type PolicyThresholds } from '../config.ts';
import { ageBandOf, type AgeBand, type FeatureValue } from '../features/catalogue.ts';
import type { RuleEvaluation, RuleSet } from '../rules/language/rule-set.ts';
import { maxAction, type Action } from './actions.ts';
import { degradedAction, type AmountBand } from './degraded-policy.ts';
import { decide, type PolicyHit } from './policy.ts';

/**
 * A feature vector decided again, off the scoring route (pure). The one place that repeats what
 * ScoreService.decideOn (src/scoring/score-service.ts) does after the rules have run: shadow hits
 * left out, the policy (`decide`) with the thresholds of the payer's age band (`segmentPolicy`),
 * a guardian block, and in degraded mode the configured fail mode for the amount. The rule
 * backtest (src/backtest/replay-decision.ts), the replay's report of the engine's
 * decisions (src/replay/replay-decisions.ts) and eval:segments (src/cli/eval-segments.ts with
 * src/train/segment-fairness.ts) all decide through here, so a change to how the engine decides
 * is made once for all three — and must be made here whenever decideOn changes.
 *
 * Decided in two steps because callers need them apart: the rules once per vector
 * (`ruleVerdict`), then the policy once per model score (`redecide`); the replay decides every
 * vector with several models, eval:segments under many thresholds.
 */

/** What the rules said about one vector, as the policy needs it. */
export interface RuleVerdict {
  /** the active hits (shadow hits never change a decision, as on the scoring route) */
  readonly hits: readonly PolicyHit[];
  /** the payer's age band, whose thresholds apply (null: unknown age, the general ones) */
  readonly segment: AgeBand | null;
  /** rules that failed to evaluate on this vector (the scoring route marks it degraded) */
  readonly errors: number;
}

const NO_HITS: readonly PolicyHit[] = Object.freeze([]);

/** The verdict of an evaluation already made (the backtest also keeps its shadow hits). */
export function verdictOf(evaluation: RuleEvaluation, v: readonly FeatureValue[]): RuleVerdict {
  let hits = NO_HITS;
  for (const h of evaluation.hits) {
    if (h.mode === 'shadow') continue;
    if (hits === NO_HITS) hits = [];
    // only what the policy reads: the replay keeps a verdict per transfer in memory
    (hits as PolicyHit[]).push({ score: h.score, action: h.action, scamType: h.scamType });
  }
  return { hits, segment: ageBandOf(v), errors: evaluation.errors.length };
}

export function ruleVerdict(ruleSet: RuleSet, v: readonly FeatureValue[]): RuleVerdict {
  return verdictOf(ruleSet.evaluate(v), v);
}

/** What the policy needs from configuration: thresholds per segment and the degraded-mode bands. */
export interface RedecidePolicy {
  thresholds(segment: AgeBand | null): PolicyThresholds;
  readonly degradedBands: readonly AmountBand[];
}

export function redecidePolicy(config: Config): RedecidePolicy {
  return {
    thresholds: (segment) => segmentPolicy(config, segment).thresholds,
    degradedBands: config.degradedFeaturesPolicy,
  };
}

/**
 * What a decision depends on besides its feature vector. A stored decision carries all of it
 * (the backtest); transfers replayed from events carry none of the state (see `replayedContext`).
 */
export interface RedecideContext {
  /** P(fraud) the decision uses (stored, or a candidate model's); null without a score */
  readonly modelScore: number | null;
  /** a guardian limit blocked the transfer: then it is blocked whatever the score */
  readonly guardianBlocked: boolean;
  /** the transfer was scored without its velocity state: the decision is at least the fail mode for `amount` */
  readonly featuresDegraded: boolean;
  /** the transfer's amount; read only when featuresDegraded */
  readonly amount: number;
}

/**
 * The context of a transfer replayed from events rather than from a stored decision (the
 * replay, eval:segments): guardian limits are set through the API and do not exist in such
 * data, and its velocity state is rebuilt for every transfer, so neither a guardian block nor
 * degraded mode applies. `amount` is then never read.
 */
export function replayedContext(modelScore: number | null): RedecideContext {
  return { modelScore, guardianBlocked: false, featuresDegraded: false, amount: 0 };
}

export interface Redecision {
  readonly action: Action;
  /** max(ruleScore, model probability × 100), as `decide` computes it; thresholds do not change it */
  readonly riskScore: number;
  readonly ruleScore: number;
  /**
   * The most severe minimum action of the active hits (`allow` without any): with riskScore,
   * all the action depends on when no guardian blocks and the features are not degraded —
   * `action` is then maxAction(thresholdAction(riskScore, thresholds), ruleAction), which is
   * what eval:segments' threshold search relies on (src/train/segment-fairness.ts `actionOf`).
   */
  readonly ruleAction: Action;
  readonly segment: AgeBand | null;
}

export function redecide(verdict: RuleVerdict, ctx: RedecideContext, policy: RedecidePolicy): Redecision {
  const outcome = decide(verdict.hits, ctx.modelScore, policy.thresholds(verdict.segment), ctx.guardianBlocked);
  const action = ctx.featuresDegraded ? maxAction(outcome.action, degradedAction(ctx.amount, policy.degradedBands)) : outcome.action;
  let ruleAction: Action = 'allow';
  for (const h of verdict.hits) ruleAction = maxAction(ruleAction, h.action);
  return { action, riskScore: outcome.riskScore, ruleScore: outcome.ruleScore, ruleAction, segment: verdict.segment };
}
