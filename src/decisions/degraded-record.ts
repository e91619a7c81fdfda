import type { TransferEvent } from '../features/transfer-event.ts';
import type { TransferRegistration } from '../cooling/registration.ts';

/**
 * A decision made while Redis was unavailable (degraded mode), as spooled before it is
 * answered (issue 19): everything the normal path would have written to Redis, so that the
 * reconciler (src/decisions/degraded-reconciler.ts) can write it there once Redis is back — the
 * claim with the event hash, the decision key, the stream entry and the lifecycle
 * registration — and replay the event through the score script's claim so that its velocity
 * windows count it exactly once.
 *
 * The event is kept reduced to what the score script reads (ids, time, amount, currency,
 * device): no names or free text, as in the decision stream.
 */
export interface DegradedRecord {
  readonly transferId: string;
  /** eventHash() of the event that was answered: replays of another event are a conflict */
  readonly eventHash: string;
  /** the StoredDecision JSON, byte for byte as answered and as the decision key will hold it */
  readonly decision: string;
  /** the stream entry's `event` field: {occurredAt, amount, currency, payerId, payeeId} JSON */
  readonly event: string;
  /** the stream entry's `features` field: the event-only feature vector in catalogue order */
  readonly features: string;
  /** the stream entry's `catalogue` field */
  readonly catalogue: string;
  /** the payer's device, which the score script's windows also count; null without one */
  readonly deviceId: string | null;
  /** ARGV of register-transfer.lua for a warn/cool_off decision, null for allow/block */
  readonly registration: readonly string[] | null;
  /** ms since the epoch when it was spooled */
  readonly spooledAt: number;
}

export interface DegradedRecordInput {
  readonly event: TransferEvent;
  readonly eventHash: string;
  readonly decisionJson: string;
  readonly features: string;
  readonly catalogue: string;
  readonly registration: TransferRegistration | null;
  readonly spooledAt: number;
}

/** The stream entry's `event` field (the same shape ScoreService writes on the normal path). */
export function streamEventJson(e: TransferEvent): string {
  return JSON.stringify({
    occurredAt: e.occurredAt,
    amount: e.amount,
    currency: e.currency,
    payerId: e.payer.accountId,
    payeeId: e.payee.accountId,
  });
}

export function degradedRecord(x: DegradedRecordInput): DegradedRecord {
  return {
    transferId: x.event.transferId,
    eventHash: x.eventHash,
    decision: x.decisionJson,
    event: streamEventJson(x.event),
    features: x.features,
    catalogue: x.catalogue,
    deviceId: x.event.payer.deviceId ?? null,
    registration: x.registration === null ? null : x.registration.args,
    spooledAt: x.spooledAt,
  };
}

/**
 * The event as the score script needs it to claim the transfer and count it in the windows
 * (FeatureStore.claimAndUpdate reads only these fields).
 */
export function claimEvent(r: DegradedRecord): TransferEvent {
  const e = JSON.parse(r.event) as { occurredAt: string; amount: number; currency: string; payerId: string; payeeId: string };
  return {
    transferId: r.transferId,
    occurredAt: e.occurredAt,
    amount: e.amount,
    currency: e.currency,
    payer: r.deviceId === null ? { accountId: e.payerId } : { accountId: e.payerId, deviceId: r.deviceId },
    payee: { accountId: e.payeeId },
  } as TransferEvent;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** A spooled line or SQL row back as a record, or null when it is not one (logged by the caller). */
export function parseDegradedRecord(text: string): DegradedRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (!isString(r.transferId) || !isString(r.eventHash) || !isString(r.decision) || !isString(r.event)) return null;
  if (!isString(r.features) || !isString(r.catalogue) || typeof r.spooledAt !== 'number') return null;
  if (!(r.deviceId === null || isString(r.deviceId))) return null;
  if (!(r.registration === null || (Array.isArray(r.registration) && r.registration.every(isString)))) return null;
  return r as unknown as DegradedRecord;
}
