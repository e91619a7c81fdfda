import type { PolicyThresholds } from '../config.ts';
import { maxAction, type Action } from './actions.ts';
import type { ScamType } from './scam-types.ts';

/**
 * The decision policy (pure): rule hits and the model score in, riskScore and action out.
 *
 * - ruleScore: the points of the active rules that fired, added up and capped at 100.
 *   Analysts think in points ("this rule adds 30"), so points add.
 * - riskScore: the larger of ruleScore and the model's probability × 100 (while no model is
 *   loaded, ruleScore alone).
 * - action: the most severe of the thresholds' action for riskScore and the minimum action
 *   of every active rule that fired (a `block` rule blocks whatever the score).
 * - scamType (for the warning): that of the highest-scoring active hit that names one,
 *   ties to the earlier rule; `other` when none does.
 * - a guardian limit (issue 6) blocks whatever the score; its scamType is that of the hits,
 *   null without any (a spending limit is not a suspected scam).
 */

export interface PolicyHit {
  readonly score: number;
  readonly action: Action;
  readonly scamType: ScamType;
}

export interface PolicyOutcome {
  readonly ruleScore: number;
  readonly riskScore: number;
  readonly action: Action;
  readonly scamType: ScamType | null;
}

export function thresholdAction(riskScore: number, t: PolicyThresholds): Action {
  if (riskScore >= t.block) return 'block';
  if (riskScore >= t.coolOff) return 'cool_off';
  if (riskScore >= t.warn) return 'warn';
  return 'allow';
}

export function decide(
  activeHits: readonly PolicyHit[],
  modelScore: number | null,
  thresholds: PolicyThresholds,
  guardianBlocks = false,
): PolicyOutcome {
  let points = 0;
  let ruleAction: Action = 'allow';
  let best: PolicyHit | null = null;
  for (const h of activeHits) {
    points += h.score;
    ruleAction = maxAction(ruleAction, h.action);
    if (h.scamType !== 'other' && (best === null || h.score > best.score)) best = h;
  }
  const ruleScore = Math.min(100, Math.round(points * 100) / 100);
  const modelPoints = modelScore === null ? 0 : Math.round(modelScore * 10_000) / 100;
  const riskScore = Math.max(ruleScore, modelPoints);
  if (guardianBlocks) return { ruleScore, riskScore, action: 'block', scamType: best?.scamType ?? null };
  const action = maxAction(thresholdAction(riskScore, thresholds), ruleAction);
  const scamType = action === 'allow' ? null : (best?.scamType ?? 'other');
  return { ruleScore, riskScore, action, scamType };
}
