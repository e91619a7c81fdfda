/**
 * The replies of the split score's steps (src/store/lua/score-step-*.lua, issue 15), as values,
 * and how they add up to the velocity state the single score script answers
 * (decodeVelocityReply's 33 integers and currency), and what one transfer's steps found
 * (assembleSteps). Pure: no Redis here.
 */
import { ScriptReplyError, replyCode, replyString } from '../store/script-reply.ts';
import { AGED_REPORT_INTS, decodeVelocityReply, toStoredAmount, VELOCITY_REPLY_LENGTH, type VelocityState } from './velocity-state.ts';

export type EntityStep = 'payer' | 'payee' | 'device';
export type StepName = 'claim' | EntityStep;

/** A transfer claim as stored in `{t:<id>}` (by the claim step, the record, or score-features.lua). */
export type StoredClaim =
  /** claimed by the claim step; the state is in the entity steps' markers */
  | { readonly form: 'pending'; readonly eventHash: string; readonly claimedAtMs: number }
  /** completed: the claim holds the state the score answered (score-features.lua's form) */
  | { readonly form: 'complete'; readonly eventHash: string; readonly claimedAtMs: number; readonly state: VelocityState }
  /** an earlier version's claim: the event hash only */
  | { readonly form: 'legacy'; readonly eventHash: string };

export type ClaimStepReply = { readonly kind: 'claimed' } | { readonly kind: 'claimed-before'; readonly claim: StoredClaim; readonly decision: string | null };

/** An entity step's answer: ran now, ran before for this event (nothing changed), or another event's marker. */
export type EntityStepReply<T> =
  | { readonly kind: 'ran'; readonly part: T }
  | { readonly kind: 'repeat'; readonly part: T }
  | { readonly kind: 'conflict'; readonly eventHash: string };

export interface PayerPart {
  /** the 15 integers of score-step-payer.lua's reply */
  readonly ints: readonly number[];
  /** the guardian limits' currency, '' without limits */
  readonly currency: string;
}
export type PayerStepReply = EntityStepReply<PayerPart> | { readonly kind: 'zone'; readonly zone: string };
export type PayeeStepReply = EntityStepReply<readonly number[]>;
export type DeviceStepReply = EntityStepReply<readonly number[]>;

export const PAYER_INTS = 15;
/** 17, then the aged reports (report-age.lua) */
export const PAYEE_INTS = 17 + AGED_REPORT_INTS;
export const DEVICE_INTS = 1;

function integers(script: string, reply: unknown, text: string, n: number): number[] {
  const parts = text.split(',');
  const ints = parts.map(Number);
  if (parts.length !== n || !ints.every(Number.isSafeInteger)) {
    throw new ScriptReplyError(script, reply, `expected ${n} comma-separated integers, got ${JSON.stringify(text)}`);
  }
  return ints;
}

export function decodeClaimStep(reply: unknown): ClaimStepReply {
  const script = 'score-step-claim';
  if (replyCode(script, reply, [0, 1] as const, 0) === 0) return { kind: 'claimed' };
  const decision = replyString(script, reply, 2);
  return { kind: 'claimed-before', claim: decodeStoredClaim(replyString(script, reply, 1)), decision: decision === '' ? null : decision };
}

/**
 * '<hash>' | '<hash>|<ms>|pending' | '<hash>|<ms>|<33 integers>|<currency>|<4 integers: aged reports>'
 * (the last part, or the last two, absent in older claims).
 */
export function decodeStoredClaim(claim: string): StoredClaim {
  const [eventHash = '', at, body, currency, aged] = claim.split('|');
  if (at === undefined || body === undefined) return { form: 'legacy', eventHash };
  const claimedAtMs = Number(at);
  if (!Number.isSafeInteger(claimedAtMs)) throw new ScriptReplyError('score-step-claim', claim, 'claim time is not an integer');
  if (body === 'pending') return { form: 'pending', eventHash, claimedAtMs };
  const ints: (number | string)[] = integers('score-step-claim', claim, body, VELOCITY_REPLY_LENGTH);
  if (currency !== undefined) ints.push(currency);
  if (currency !== undefined && aged !== undefined) ints.push(...integers('score-step-claim', claim, aged, AGED_REPORT_INTS));
  return { form: 'complete', eventHash, claimedAtMs, state: decodeVelocityReply(ints) };
}

function entityStep<T>(script: string, reply: unknown, codes: readonly (0 | 1 | 2 | 3)[], part: (text: string) => T): EntityStepReply<T> | { kind: 'zone'; zone: string } {
  const code = replyCode(script, reply, codes, 0);
  const text = replyString(script, reply, 1);
  switch (code) {
    case 0:
      return { kind: 'ran', part: part(text) };
    case 1:
      return { kind: 'repeat', part: part(text) };
    case 2:
      return { kind: 'zone', zone: text };
    case 3:
      return { kind: 'conflict', eventHash: text };
  }
}

/** {0|1, '<15 integers>|<currency>'} | {2, time zone} | {3, other event hash} */
export function decodePayerStep(reply: unknown): PayerStepReply {
  const script = 'score-step-payer';
  return entityStep(script, reply, [0, 1, 2, 3], (text) => {
    const sep = text.indexOf('|');
    if (sep < 0) throw new ScriptReplyError(script, reply, "expected '<integers>|<currency>'");
    return { ints: integers(script, reply, text.slice(0, sep), PAYER_INTS), currency: text.slice(sep + 1) };
  });
}

/** {0|1, '<17 integers>'} | {3, other event hash} */
export function decodePayeeStep(reply: unknown): PayeeStepReply {
  const script = 'score-step-payee';
  return entityStep(script, reply, [0, 1, 3], (text) => integers(script, reply, text, PAYEE_INTS)) as PayeeStepReply;
}

/** {0|1, '<1 integer>'} | {3, other event hash} */
export function decodeDeviceStep(reply: unknown): DeviceStepReply {
  const script = 'score-step-device';
  return entityStep(script, reply, [0, 1, 3], (text) => integers(script, reply, text, DEVICE_INTS)) as DeviceStepReply;
}

/**
 * The single script's reply body (33 integers, the limits' currency, the 4 integers of the aged
 * reports) from the entity steps' parts: payer out windows, last, distinct payees, pair count and
 * first (payee step), device new (payer step), device distinct payers (device step, -1 without a
 * device), payee in windows, out sums, distinct and new payers, reports (payee step), guardian
 * (payer step), then the aged reports (payee step).
 */
export function velocityReplyFromParts(payer: PayerPart, payee: readonly number[], device: readonly number[] | null): (number | string)[] {
  const p = payer.ints;
  return [
    ...p.slice(0, 10),
    payee[15]!,
    payee[16]!,
    p[10]!,
    device === null ? -1 : device[0]!,
    ...payee.slice(0, 15),
    ...p.slice(11, 15),
    payer.currency,
    ...payee.slice(17, 17 + AGED_REPORT_INTS),
  ];
}

export function stateFromParts(payer: PayerPart, payee: readonly number[], device: readonly number[] | null): VelocityState {
  return decodeVelocityReply(velocityReplyFromParts(payer, payee, device));
}

/**
 * An entity step found another event's marker under this transfer id while this event holds
 * the claim (the claim expired before the other event's markers, or a node that sent every
 * step at once raced this one): the state cannot be assembled. Nothing was counted for this
 * event by the steps that found the marker; the score answers 409 conflict.
 */
export class StepConflictError extends Error {
  /** the event hash the other event's marker holds */
  readonly otherEventHash: string;
  constructor(transferId: string, steps: readonly EntityStep[], otherEventHash: string) {
    super(`transfer ${transferId}: the ${steps.join(', ')} step(s) already hold another event under this transfer id`);
    this.name = 'StepConflictError';
    this.otherEventHash = otherEventHash;
  }
}

/** What scoring one transfer by steps found. */
export type StepsResult =
  /** claimed now; the state before this transfer (each entity step ran now, or ran before for this event) */
  | { readonly kind: 'new'; readonly state: VelocityState }
  | {
      readonly kind: 'duplicate';
      /** the claim's event hash: another event's under this id is a conflict for the caller */
      readonly eventHash: string;
      readonly decision: string | null;
      readonly claimedAtMs: number | null;
      /** the claim's state (completed claim), or for a pending claim of this event the entity steps' (their markers' and any that ran now), else null */
      readonly state: VelocityState | null;
      /** the claim was written by the claim step and not completed by a record yet */
      readonly pending: boolean;
      /**
       * entity steps that changed state on this call: only when completing a crashed score (a
       * pending claim of this event older than the lease); the entity steps are not sent for any
       * other claim, so a conflicting event or a duplicate of a score-features.lua claim counts nothing
       */
      readonly countedNow: readonly EntityStep[];
    };

export interface StepReplies {
  readonly claim: ClaimStepReply;
  readonly payer: EntityStepReply<PayerPart>;
  readonly payee: PayeeStepReply;
  /** null without a device */
  readonly device: DeviceStepReply | null;
}

/** Adds up the steps' replies of one transfer (pure). */
export function assembleSteps(transferId: string, eventHash: string, r: StepReplies): StepsResult {
  const entity: [EntityStep, EntityStepReply<unknown> | null][] = [
    ['payer', r.payer],
    ['payee', r.payee],
    ['device', r.device],
  ];
  const countedNow = entity.filter(([, x]) => x?.kind === 'ran').map(([s]) => s);
  const parts = (): VelocityState => {
    const conflicts = entity.flatMap(([s, x]) => (x?.kind === 'conflict' ? [[s, x.eventHash] as const] : []));
    if (conflicts.length > 0) throw new StepConflictError(transferId, conflicts.map(([s]) => s), conflicts[0]![1]);
    const part = <T>(x: EntityStepReply<T>): T => (x as Exclude<EntityStepReply<T>, { kind: 'conflict' }>).part;
    return stateFromParts(part(r.payer), part(r.payee), r.device === null ? null : part(r.device));
  };
  if (r.claim.kind === 'claimed') return { kind: 'new', state: parts() };
  const c = r.claim.claim;
  const base = { kind: 'duplicate', eventHash: c.eventHash, decision: r.claim.decision, pending: c.form === 'pending', countedNow } as const;
  if (c.form === 'legacy') return { ...base, claimedAtMs: null, state: null };
  if (c.form === 'complete') return { ...base, claimedAtMs: c.claimedAtMs, state: c.state };
  return { ...base, claimedAtMs: c.claimedAtMs, state: c.eventHash === eventHash ? parts() : null };
}

/**
 * Whether the entity steps are sent after the claim step answered (claim first, issue 15): for a
 * claim made now, and for a pending claim of this event older than the lease (its score crashed
 * or failed to record: the entity steps' markers give its state, those that never ran run now).
 * Not for anything else: a completed claim holds its state, a young pending claim is still being
 * decided, another event's claim is a conflict, and an earlier version's claim has no state.
 */
export function entityStepsWanted(claim: ClaimStepReply, eventHash: string, nowMs: number, claimLeaseMs: number): boolean {
  if (claim.kind === 'claimed') return true;
  const c = claim.claim;
  return c.form === 'pending' && c.eventHash === eventHash && nowMs - c.claimedAtMs >= claimLeaseMs;
}

/** The answer to a claim step whose entity steps are not sent (entityStepsWanted false): a duplicate. */
export function claimOnly(claim: Extract<ClaimStepReply, { kind: 'claimed-before' }>): StepsResult {
  const c = claim.claim;
  const base = { kind: 'duplicate', eventHash: c.eventHash, decision: claim.decision, pending: c.form === 'pending', countedNow: [] } as const;
  if (c.form === 'complete') return { ...base, claimedAtMs: c.claimedAtMs, state: c.state };
  return { ...base, claimedAtMs: c.form === 'pending' ? c.claimedAtMs : null, state: null };
}

/**
 * The claim in score-features.lua's completed form, `<event hash>|<claim ms>|<33 integers>|<currency>|<aged reports>`
 * (what decodeStoredClaim reads back as `complete` with the same state): the record writes it
 * over a pending claim (SET XX KEEPTTL) so later duplicates never reach the entity steps.
 */
export function completedClaim(eventHash: string, claimedAtMs: number, s: VelocityState): string {
  const ms = (x: number | null): number => x ?? -1;
  const stored = (x: number): number => toStoredAmount(x);
  const windows = (w: VelocityState['payerOut']): number[] => w.counts.flatMap((c, i) => [c, stored(w.sums[i]!)]);
  const g = s.guardian;
  const guardianCode = g === null ? 0 : { within: 1, per_transfer: 2, daily: 3, currency: 4 }[g.outcome];
  const ints = [
    ...windows(s.payerOut),
    ms(s.payerLastMs),
    s.payerDistinctPayees24h,
    s.pairCount,
    ms(s.pairFirstMs),
    s.deviceNewForPayer === null ? -1 : s.deviceNewForPayer ? 1 : 0,
    ms(s.deviceDistinctPayers24h),
    ...windows(s.payeeIn),
    stored(s.payeeOutSum1h),
    stored(s.payeeOutSum24h),
    s.payeeDistinctPayers24h,
    s.payeeNewPayers24h,
    s.payeeReportCount,
    s.payeeDistinctReporters,
    ms(s.payeeLastReportMs),
    guardianCode,
    g === null ? 0 : stored(g.spentToday),
    g?.perTransferLimit == null ? -1 : stored(g.perTransferLimit),
    g?.dailyLimit == null ? -1 : stored(g.dailyLimit),
  ];
  const claim = `${eventHash}|${claimedAtMs}|${ints.join(',')}|${g?.currency ?? ''}`;
  const aged = s.payeeReportsAged;
  if (aged === null) return claim;
  return `${claim}|${[aged.last1d, aged.last7d, aged.last28d, Math.round(aged.decayed * 1000)].join(',')}`;
}
