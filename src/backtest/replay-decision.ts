import type { Action } from '../scoring/actions.ts';
import { decide, enginePolicy, verdictOf, type DecideContext, type EnginePolicy } from '../scoring/decide.ts';
import type { FeatureValue } from '../features/catalogue.ts';
import type { RuleHit, RuleSet } from '../rules/language/rule-set.ts';

/**
 * One stored decision decided again (pure): a rule set on the stored feature vector, then the
 * engine's decision (src/scoring/decide.ts), the one the scoring route, the replay and eval:segments make.
 * What the vector alone does not carry is taken from the stored decision: the model score,
 * whether a guardian limit blocked the transfer, and whether it was scored in degraded mode
 * (then the configured fail mode for its amount still applies). What is the backtest's own:
 * it keeps every hit, shadow hits included, for its per-rule counts.
 */

/** What the decision needs from configuration: the policy of each age band. */
export type ReplayPolicy = EnginePolicy;

export const replayPolicy = enginePolicy;

/** The parts of a stored decision that are not in its feature vector. */
export type ReplayContext = DecideContext;

export interface ReplayOutcome {
  readonly action: Action;
  /** every hit, shadow hits included (they never change the action) */
  readonly hits: readonly RuleHit[];
  /** rules that failed to evaluate on this vector */
  readonly errors: number;
}

export function replayDecision(ruleSet: RuleSet, v: readonly FeatureValue[], ctx: ReplayContext, policy: ReplayPolicy): ReplayOutcome {
  const evaluation = ruleSet.evaluate(v);
  const verdict = verdictOf(evaluation, v);
  return { action: decide(verdict, ctx, policy).action, hits: evaluation.hits, errors: verdict.errors };
}
