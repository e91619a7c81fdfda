import { segmentPolicy, type Config, type PolicyThresholds } from '../../config.ts';
import { maxAction, type Action } from '../../decision/actions.ts';
import { degradedAction, type AmountBand } from '../../decision/degraded-policy.ts';
import { decide } from '../../decision/policy.ts';
import { ageBandOf, type AgeBand, type FeatureValue } from '../../features/catalogue.ts';
import type { RuleHit, RuleSet } from '../rule-set.ts';

/**
 * One stored decision decided again (pure): a rule set on the stored feature vector, then the
 * engine's own policy (src/decision/policy.ts `decide`, with the payer segment's thresholds), in
 * the same order as ScoreService.decideOn. What the vector alone does not carry is taken from the
 * stored decision: the model score, whether a guardian limit blocked the transfer, and whether it
 * was scored in degraded mode (then the configured fail mode for its amount still applies).
 */

/** What the policy needs from configuration: thresholds per segment and the degraded-mode bands. */
export interface ReplayPolicy {
  thresholds(segment: AgeBand | null): PolicyThresholds;
  readonly degradedBands: readonly AmountBand[];
}

export function replayPolicy(config: Config): ReplayPolicy {
  return {
    thresholds: (segment) => segmentPolicy(config, segment).thresholds,
    degradedBands: config.degradedFeaturesPolicy,
  };
}

/** The parts of a stored decision that are not in its feature vector. */
export interface ReplayContext {
  readonly amount: number;
  /** P(fraud) the decision used (stored, or a candidate model's), null without a score */
  readonly modelScore: number | null;
  readonly guardianBlocked: boolean;
  /** the transfer was scored without its velocity state (`degraded` lists `features`) */
  readonly featuresDegraded: boolean;
}

export interface ReplayOutcome {
  readonly action: Action;
  /** every hit, shadow hits included (they never change the action) */
  readonly hits: readonly RuleHit[];
  /** rules that failed to evaluate on this vector */
  readonly errors: number;
}

export function replayDecision(ruleSet: RuleSet, v: readonly FeatureValue[], ctx: ReplayContext, policy: ReplayPolicy): ReplayOutcome {
  const evaluation = ruleSet.evaluate(v);
  let acting: RuleHit[] | readonly RuleHit[] = evaluation.hits;
  for (const h of evaluation.hits) {
    if (h.mode === 'shadow') {
      acting = evaluation.hits.filter((x) => x.mode !== 'shadow');
      break;
    }
  }
  const outcome = decide(acting, ctx.modelScore, policy.thresholds(ageBandOf(v)), ctx.guardianBlocked);
  const action = ctx.featuresDegraded ? maxAction(outcome.action, degradedAction(ctx.amount, policy.degradedBands)) : outcome.action;
  return { action, hits: evaluation.hits, errors: evaluation.errors.length };
}
