import type { StoredDecision } from '../scoring/decision.ts';
import type { ScoreChoices } from '../scoring/score-choices.ts';
import { idx, type AgeBand, type FeatureValue } from '../features/catalogue.ts';
import type { TransferEvent } from '../features/transfer-event.ts';

/**
 * What a `warn` or `cool_off` decision writes to start its lifecycle in WARNED (pure): the
 * arguments of register-transfer.lua after its keys. FeatureStore sends it in the batched
 * decision write of the scoring path (one more command in a pipeline that is already going
 * out, no extra round trip; the score awaits the batch, so a `warn` answered is registered);
 * `allow` and `block` decisions write nothing.
 *
 * The hash keeps what the lifecycle needs after the decision key has expired: the payee (for
 * the re-check and the escalation index), amount and decision summary (for webhooks), the
 * feature vector (re-evaluated at the end of the hold), the payee's report count at the
 * decision (a larger count later is new evidence), the hold length and the warning language —
 * both as the score chose them (`choices`), so the voice warning speaks the screen's language.
 */

export interface TransferRegistration {
  readonly transferId: string;
  /** ARGV of register-transfer.lua */
  readonly args: readonly string[];
}

const REPORT_COUNT = idx('payee.report_count');

/** The parts of a decision the lifecycle keeps. */
export type RegisteredDecision = Pick<StoredDecision, 'action' | 'riskScore' | 'modelScore' | 'scamType' | 'segment' | 'rulesVersion' | 'decidedAt'>;

/** How long a registration lives: its warning's expiry, then as long as the transfer's idempotency. */
export interface RegistrationTimes {
  /** WARNING_EXPIRY_SECONDS (src/cooling/lifecycle-config.ts) */
  readonly warningExpirySeconds: number;
  /** IDEMPOTENCY_TTL_SECONDS (src/scoring/scoring-config.ts) */
  readonly idempotencyTtlSeconds: number;
}

export function registrationFor(
  decision: RegisteredDecision,
  e: TransferEvent,
  vector: readonly FeatureValue[],
  featuresJson: string,
  choices: ScoreChoices,
  times: RegistrationTimes,
): TransferRegistration | null {
  if (decision.action !== 'warn' && decision.action !== 'cool_off') return null;
  const decidedMs = Date.parse(decision.decidedAt);
  const expiryMs = times.warningExpirySeconds * 1000;
  const deadline = decidedMs + expiryMs;
  const holdMs = choices.policy.coolingOffSeconds * 1000;
  const reports = vector[REPORT_COUNT];
  const reason =
    `${decision.action} decision, risk ${decision.riskScore}` +
    (decision.scamType === null ? '' : `, suspected ${decision.scamType}`) +
    `: waiting for the payer until ${new Date(deadline).toISOString()}`;
  return {
    transferId: e.transferId,
    args: [
      e.transferId,
      String(decidedMs),
      decision.decidedAt,
      String(deadline),
      String(expiryMs + times.idempotencyTtlSeconds * 1000),
      reason,
      'payer', e.payer.accountId,
      'payee', e.payee.accountId,
      'amount', String(e.amount),
      'currency', e.currency,
      'action', decision.action,
      'risk', String(decision.riskScore),
      'model', decision.modelScore === null ? '' : String(decision.modelScore),
      'segment', decision.segment ?? '',
      'scam', decision.scamType ?? '',
      'rules', decision.rulesVersion,
      'lang', choices.language,
      'features', featuresJson,
      'reports', typeof reports === 'number' ? String(reports) : '0',
      'holdMs', String(holdMs),
    ], // prettier-ignore
  };
}
