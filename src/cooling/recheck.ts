import { decide, replayedContext, verdictOf, type EnginePolicy } from '../scoring/decide.ts';
import { FEATURE_COUNT, idx, type FeatureValue } from '../features/catalogue.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';

/**
 * The re-check at the end of a cooling-off hold (pure): the ACTIVE rule set evaluated on the
 * feature vector stored with the decision, with the payee's scam-report features refreshed
 * from the case library's flags as they are now. The transfer is held for review when the
 * result is `block`. (A new report by itself is also checked atomically by expire-hold.lua,
 * which compares the report count with the one at the decision.)
 *
 * Everything else in the vector stays as it was at the decision (point in time): the windows
 * describe the history before the transfer, which the hold does not change.
 *
 * Reports the flags do not show yet (issue 19): a report committed to the case library while
 * Redis was failing is in neither the flags nor the count expire-hold.lua compares. The caller
 * passes the case library's unapplied reports on the payee (SQL), and any of them holds the
 * transfer for review. Held, not postponed: the report is evidence against the payee already,
 * the same evidence that escalates a hold when its flags do arrive, and a payment team would
 * rather have an analyst look than release money to a reported payee; postponing would leave
 * the money stuck for as long as Redis keeps failing, with the evidence at hand. (When the case
 * library cannot be asked, the caller postpones instead: no evidence either way, so the hold
 * stays as it is and its end is tried again.)
 */

export interface PayeeReports {
  readonly count: number;
  readonly reporters: number;
  /** ms of the latest report, null without reports */
  readonly lastMs: number | null;
}

export interface RecheckInput {
  readonly vector: readonly FeatureValue[];
  readonly reports: PayeeReports;
  /** ids of the case library's reports on the payee whose flags are not in Redis yet */
  readonly unappliedReports: readonly string[];
  readonly nowMs: number;
  /** the model score of the decision, kept so the re-check's riskScore is comparable */
  readonly modelScore: number | null;
  readonly ruleSet: RuleSet;
  /** the configured policy: the thresholds of the payer's age band (in the vector) apply */
  readonly policy: EnginePolicy;
}

export type RecheckResult =
  | { readonly hold: false; readonly riskScore: number }
  | { readonly hold: true; readonly riskScore: number; readonly reason: string };

const REPORT_COUNT = idx('payee.report_count');
const REPORTERS = idx('payee.distinct_reporters');
const HOURS_SINCE_REPORT = idx('payee.hours_since_last_report');

export function refreshReportFeatures(vector: readonly FeatureValue[], reports: PayeeReports, nowMs: number): FeatureValue[] {
  const v = [...vector];
  v[REPORT_COUNT] = reports.count;
  v[REPORTERS] = reports.reporters;
  v[HOURS_SINCE_REPORT] = reports.lastMs === null ? null : Math.max(0, (nowMs - reports.lastMs) / 3_600_000);
  return v;
}

export function recheckHold(input: RecheckInput): RecheckResult {
  if (input.vector.length !== FEATURE_COUNT) {
    // a vector from another catalogue cannot be evaluated by this rule set: a human decides
    return {
      hold: true,
      riskScore: 0,
      reason: `the stored feature vector has ${input.vector.length} features, the catalogue ${FEATURE_COUNT}: cannot re-check, held for review`,
    };
  }
  const v = refreshReportFeatures(input.vector, input.reports, input.nowMs);
  const evaluation = input.ruleSet.evaluate(v);
  const active = verdictOf(evaluation, v, (h) => h);
  const outcome = decide(active, replayedContext(input.modelScore), input.policy);
  const ids = input.unappliedReports;
  if (ids.length > 0) {
    const shown = ids.length > 3 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', ');
    return {
      hold: true,
      riskScore: outcome.riskScore,
      reason: `the payee is named by scam report${ids.length > 1 ? 's' : ''} ${shown}, not yet applied to its report flags (Redis failed when it was filed)`,
    };
  }
  if (outcome.action !== 'block') return { hold: false, riskScore: outcome.riskScore };
  const rules = active.hits.filter((h) => h.action === 'block').map((h) => h.ruleId);
  return {
    hold: true,
    riskScore: outcome.riskScore,
    reason:
      `rule set ${input.ruleSet.version} now blocks it (risk ${outcome.riskScore}` +
      (rules.length > 0 ? `, blocking rules: ${rules.join(', ')}` : '') +
      ')',
  };
}
