import { segmentPolicy, type PolicyThresholds, type ScoringPolicyConfig, type SegmentPolicy } from './scoring-config.ts';
import { AGE_BANDS, ageBandOf, type AgeBand, type FeatureValue } from '../features/catalogue.ts';
import type { RuleEvaluation, RuleSet } from '../rules/language/rule-set.ts';
import { maxAction, type Action } from './actions.ts';
import { degradedAction, type AmountBand } from './degraded-policy.ts';
import type { ScamType } from './scam-types.ts';

/**
 * The engine's decision (pure): what the rules said, the model score and the transfer's state
 * in, action, riskScore and scamType out. The one place the engine decides: the scoring route
 * (src/scoring/score-service.ts `routeDecision`), the re-check at the end of a hold
 * (src/cooling/recheck.ts), the rule backtest (src/backtest/replay-decision.ts), the replay's
 * report (src/replay/replay-decisions.ts) and eval:segments (src/cli/eval-segments.ts with
 * src/train/segment-fairness.ts) all call `decide`; test/unit/decide-parity.test.ts checks that
 * the route and the others agree.
 *
 * - ruleScore: the points of the active rules that fired, added up and capped at 100.
 *   Analysts think in points ("this rule adds 30"), so points add. Shadow hits never count.
 * - riskScore: the larger of ruleScore and the model's probability × 100 (without a model
 *   score, ruleScore alone).
 * - action: the most severe of the thresholds' action for riskScore (the thresholds of the
 *   payer's age band) and the minimum action of every active rule that fired (a `block` rule
 *   blocks whatever the score). A guardian limit (issue 6) blocks whatever the score. A
 *   transfer scored without its velocity state (degraded mode, issue 9) is at least the
 *   configured fail mode for its amount.
 * - scamType (for the warning): that of the highest-scoring active hit that names one, ties to
 *   the earlier rule; `other` when none does, or when only the fail mode raised the action; null
 *   for `allow`, and for a guardian block without any such hit (a spending limit is not a
 *   suspected scam).
 */

/** A rule hit as the decision reads it. */
export interface DecideHit {
  readonly score: number;
  readonly action: Action;
  readonly scamType: ScamType;
}

/** What the rules said about one vector, as the decision needs it. */
export interface RuleVerdict<H extends DecideHit = DecideHit> {
  /** the active hits (shadow hits never change a decision) */
  readonly hits: readonly H[];
  /** the payer's age band, whose thresholds apply (null: unknown age, the general ones) */
  readonly segment: AgeBand | null;
  /** rules that failed to evaluate on this vector (the scoring route marks it degraded) */
  readonly errors: number;
}

const NO_HITS: readonly never[] = Object.freeze([]);

/** Only what the decision reads: the replay keeps a verdict per transfer in memory. */
const decideHit = (h: DecideHit): DecideHit => ({ score: h.score, action: h.action, scamType: h.scamType });

/**
 * The verdict of an evaluation already made: its active hits (each as `hitOf` keeps it; the
 * scoring route keeps rule ids) and the vector's age band.
 */
export function verdictOf<H extends DecideHit = DecideHit>(
  evaluation: RuleEvaluation,
  v: readonly FeatureValue[],
  hitOf: (h: RuleEvaluation['hits'][number]) => H = decideHit as (h: DecideHit) => H,
): RuleVerdict<H> {
  let hits: readonly H[] = NO_HITS;
  for (const h of evaluation.hits) {
    if (h.mode === 'shadow') continue;
    if (hits === NO_HITS) hits = [];
    (hits as H[]).push(hitOf(h));
  }
  return { hits, segment: ageBandOf(v), errors: evaluation.errors.length };
}

export function ruleVerdict(ruleSet: RuleSet, v: readonly FeatureValue[]): RuleVerdict {
  return verdictOf(ruleSet.evaluate(v), v);
}

/** What a decision depends on besides the rules' verdict. */
export interface DecideContext {
  /** P(fraud) the decision uses (the model's, stored, or a candidate model's); null without a score */
  readonly modelScore: number | null;
  /** a guardian limit blocked the transfer: then it is blocked whatever the score */
  readonly guardianBlocked: boolean;
  /** the transfer was scored without its velocity state: the decision is at least the fail mode for `amount` */
  readonly featuresDegraded: boolean;
  /** the transfer's amount; read only when featuresDegraded */
  readonly amount: number;
}

/**
 * The context of a transfer decided again from its vector alone (the replay, eval:segments, the
 * re-check at the end of a hold): guardian limits are set through the API and do not exist in
 * replayed data (and a guardian block is never held), and the velocity state is rebuilt for
 * every replayed transfer, so neither a guardian block nor degraded mode applies.
 */
export function replayedContext(modelScore: number | null): DecideContext {
  return { modelScore, guardianBlocked: false, featuresDegraded: false, amount: 0 };
}

/** The configured policy of one age band, as the decision reads it. */
export interface DecidePolicy extends SegmentPolicy {
  /** the fail modes per amount band; read only for a transfer scored in degraded mode */
  readonly degradedBands: readonly AmountBand[];
}

/** The configured policy of every age band, resolved once (the policies are built at start). */
export interface EnginePolicy {
  segment(band: AgeBand | null): DecidePolicy;
}

export function enginePolicy(policy: ScoringPolicyConfig): EnginePolicy {
  const degradedBands = policy.degradedFeaturesPolicy;
  const of = (band: AgeBand | null): DecidePolicy => ({ ...segmentPolicy(policy, band), degradedBands });
  const general = of(null);
  const bands = Object.fromEntries(AGE_BANDS.map((b) => [b, of(b)])) as Record<AgeBand, DecidePolicy>;
  return { segment: (band) => (band === null ? general : bands[band]) };
}

export function thresholdAction(riskScore: number, t: PolicyThresholds): Action {
  if (riskScore >= t.block) return 'block';
  if (riskScore >= t.coolOff) return 'cool_off';
  if (riskScore >= t.warn) return 'warn';
  return 'allow';
}

/**
 * The action when no guardian blocks and the features are not degraded: all it depends on is
 * riskScore and the rules' minimum action, which eval:segments' threshold search relies on
 * (src/train/segment-fairness.ts `actionOf`).
 */
export function policyAction(riskScore: number, ruleAction: Action, t: PolicyThresholds): Action {
  return maxAction(thresholdAction(riskScore, t), ruleAction);
}

export interface Decision {
  readonly action: Action;
  /** max(ruleScore, model probability × 100); thresholds do not change it */
  readonly riskScore: number;
  readonly ruleScore: number;
  /** the most severe minimum action of the active hits (`allow` without any) */
  readonly ruleAction: Action;
  readonly scamType: ScamType | null;
  readonly segment: AgeBand | null;
  /** the policy of the payer's age band that was applied (its hold length is the cooling-off's) */
  readonly policy: DecidePolicy;
}

export function decide(verdict: RuleVerdict, ctx: DecideContext, engine: EnginePolicy): Decision {
  const policy = engine.segment(verdict.segment);
  let points = 0;
  let ruleAction: Action = 'allow';
  let best: DecideHit | null = null;
  for (const h of verdict.hits) {
    points += h.score;
    ruleAction = maxAction(ruleAction, h.action);
    if (h.scamType !== 'other' && (best === null || h.score > best.score)) best = h;
  }
  const ruleScore = Math.min(100, Math.round(points * 100) / 100);
  const modelPoints = ctx.modelScore === null ? 0 : Math.round(ctx.modelScore * 10_000) / 100;
  const riskScore = Math.max(ruleScore, modelPoints);
  const suspected = ctx.guardianBlocked ? 'block' : policyAction(riskScore, ruleAction, policy.thresholds);
  const action = ctx.featuresDegraded ? maxAction(suspected, degradedAction(ctx.amount, policy.degradedBands)) : suspected;
  let scamType: ScamType | null;
  if (action === 'allow') scamType = null;
  else if (ctx.guardianBlocked) scamType = best?.scamType ?? null;
  else if (suspected === 'allow') scamType = 'other';
  else scamType = best?.scamType ?? 'other';
  return { action, riskScore, ruleScore, ruleAction, scamType, segment: verdict.segment, policy };
}
