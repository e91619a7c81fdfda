import type { EnginePolicy } from '../scoring/decide.ts';
import type { StoredDecision } from '../scoring/decision.ts';
import type { AgeBand, FeatureValue } from '../features/catalogue.ts';
import { CalmpayError } from '../errors.ts';
import { withDeadline } from '../deadline.ts';
import { redisStep, sqlFailure } from '../store/store-failures.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import type { HoldTimers } from './hold-timers.ts';
import type { LifecycleConfig } from './lifecycle-config.ts';
import type { AuditEntry, LifecycleStore, StoredLifecycle, TransitionOutcome } from './lifecycle-store.ts';
import type { Log } from './log.ts';
import { recheckHold } from './recheck.ts';
import { illegalTransitionMessage, isTransferState, type TransferAction, type TransferState } from './transfer-states.ts';

/**
 * The transfer lifecycle's operations (DESIGN §2), for the API routes, the worker and the
 * case library: each one is a Lua transition (atomic, idempotent, audited, announced through
 * the outbox) plus the timer bookkeeping around it. Refusals are CalmpayErrors the API maps
 * to 404 / 409; a Redis failure is a 503.
 */

export interface TransferView {
  readonly transferId: string;
  readonly state: TransferState;
  readonly action: StoredDecision['action'];
  readonly riskScore: number;
  readonly scamType: string | null;
  readonly segment: AgeBand | null;
  readonly rulesVersion: string | null;
  readonly payerId: string | null;
  readonly payeeId: string | null;
  readonly amount: number | null;
  readonly currency: string | null;
  readonly decidedAt: string | null;
  /** when an unanswered warning becomes ABANDONED */
  readonly warningExpiresAt: string | null;
  /** when the cooling-off hold ends (set once confirmed into a hold) */
  readonly holdUntil: string | null;
  readonly confirmedAt: string | null;
  readonly updatedAt: string | null;
  /** the reason of the latest transition */
  readonly reason: string | null;
  readonly history: readonly AuditEntry[];
}

export interface ActionResult {
  readonly view: TransferView;
  /** true when the action had been applied before and nothing changed */
  readonly replayed: boolean;
}

export type ExpiryVia = 'timer' | 'sweep';

/**
 * The case library's reports on a payee whose flags are not in Redis yet (CaseService
 * .unappliedReports); it throws when the case library cannot be asked.
 */
export type UnappliedReports = (payeeId: string) => Promise<readonly string[]>;

export interface LifecycleServiceDeps {
  readonly store: LifecycleStore;
  readonly timers: HoldTimers;
  readonly config: LifecycleConfig;
  /** the decision policy (src/scoring/decide.ts enginePolicy of the scoring slice), for the re-check at the end of a hold */
  readonly policy: EnginePolicy;
  /** STORE_DEADLINE_MS (src/store/store-config.ts): scheduling a hold's timer answers within it */
  readonly storeDeadlineMs: number;
  readonly ruleSet: () => RuleSet;
  /** ms since the epoch */
  readonly clock: () => number;
  readonly log: Log;
  /**
   * Asked at the end of every hold (issue 19). Absent only in a process without the case library
   * (`npm run worker` without DATABASE_URL): its holds are re-checked by the flags in Redis alone.
   */
  readonly unappliedReports?: UnappliedReports;
  /**
   * Whether this node answered the transfer in degraded mode and its decision is not in Redis
   * yet (DegradedSpool): its confirm, cancel and view are then a 409 "retry", not a 404 (issue
   * 19). Absent in the worker, which answers no request.
   */
  readonly degradedPending?: (transferId: string) => Promise<boolean>;
}

const iso = (ms: string | undefined): string | null => (ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString());
const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

function viewOf(transferId: string, stored: StoredLifecycle): TransferView | null {
  const f = stored.fields;
  if (f !== null && isTransferState(f.state)) {
    return {
      transferId,
      state: f.state,
      action: (f.action ?? 'warn') as StoredDecision['action'],
      riskScore: Number(f.risk ?? 0),
      scamType: orNull(f.scam),
      segment: orNull(f.segment) as AgeBand | null,
      rulesVersion: orNull(f.rules),
      payerId: orNull(f.payer),
      payeeId: orNull(f.payee),
      amount: f.amount === undefined ? null : Number(f.amount),
      currency: orNull(f.currency),
      decidedAt: iso(f.decided),
      warningExpiresAt: iso(f.deadline),
      holdUntil: orNull(f.holdUntilIso),
      confirmedAt: iso(f.confirmedAt),
      updatedAt: iso(f.updatedAt),
      reason: orNull(f.reason),
      history: stored.audit,
    };
  }
  if (stored.decisionJson === null) return null;
  // allow and block decisions have no lifecycle; a warned one whose registration is still in
  // the decision-write batch shows as WARNED
  const d = JSON.parse(stored.decisionJson) as StoredDecision;
  const state: TransferState = d.action === 'allow' ? 'ALLOWED' : d.action === 'block' ? 'BLOCKED' : 'WARNED';
  return {
    transferId,
    state,
    action: d.action,
    riskScore: d.riskScore,
    scamType: d.scamType,
    segment: d.segment,
    rulesVersion: d.rulesVersion,
    payerId: null,
    payeeId: null,
    amount: null,
    currency: null,
    decidedAt: d.decidedAt,
    warningExpiresAt: null,
    holdUntil: null,
    confirmedAt: null,
    updatedAt: d.decidedAt,
    reason: null,
    history: [],
  };
}

export class LifecycleService {
  private readonly deps: LifecycleServiceDeps;

  constructor(deps: LifecycleServiceDeps) {
    this.deps = deps;
  }

  /** The current state, decision summary, hold end and audit trail of a transfer. */
  async view(transferId: string): Promise<TransferView> {
    const stored = await redisStep('reading the transfer', () => this.deps.store.load(transferId));
    const view = viewOf(transferId, stored);
    if (view === null) throw await this.unknown(transferId);
    return view;
  }

  /** The payer goes ahead after the warning: a hold starts, or the transfer is released at once. */
  async confirm(transferId: string, note: string, actor = 'payer'): Promise<ActionResult> {
    const { store, config } = this.deps;
    const now = this.deps.clock();
    const outcome = await redisStep('confirming', () => store.confirm(transferId, now, actor, note, config.holdRiskAt));
    if (outcome.kind === 'moved' && outcome.state === 'COOLING_OFF') {
      const view = await this.view(transferId);
      // without its timer (this process died just now, or Redis failed the add) the worker's
      // overdue sweep still ends the hold, OVERDUE_GRACE_MS late. The timer's queue waits for
      // Redis through reconnects, so the answer waits for it at most STORE_DEADLINE_MS.
      await withDeadline(this.deps.timers.schedule(transferId, Date.parse(view.holdUntil ?? '') || now), this.deps.storeDeadlineMs)
        .catch((err: Error) => this.deps.log.error({ err, transferId }, 'adding the cooling-off timer failed; the overdue sweep will end the hold'));
      return { view, replayed: false };
    }
    return this.result(transferId, 'confirm', outcome);
  }

  /** The payer cancels: WARNED -> ABANDONED, COOLING_OFF / HELD_FOR_REVIEW -> CANCELLED. */
  async cancel(transferId: string, note: string, actor = 'payer'): Promise<ActionResult> {
    const now = this.deps.clock();
    const outcome = await redisStep('cancelling', () => this.deps.store.cancel(transferId, now, actor, note));
    if (outcome.kind === 'moved') this.dropTimer(transferId);
    return this.result(transferId, 'cancel', outcome);
  }

  /**
   * An analyst releases (the money moves) or rejects a transfer held for review.
   * @param actor who decided, e.g. `analyst:<id>`
   */
  async review(transferId: string, verdict: 'release' | 'reject', actor: string, reason: string): Promise<ActionResult> {
    const now = this.deps.clock();
    const to = verdict === 'release' ? 'RELEASED' : 'REJECTED';
    const outcome = await redisStep('reviewing', () => this.deps.store.review(transferId, to, now, actor, reason));
    return this.result(transferId, verdict, outcome);
  }

  private async result(transferId: string, action: TransferAction, outcome: TransitionOutcome): Promise<ActionResult> {
    switch (outcome.kind) {
      case 'moved':
      case 'repeat':
        return { view: await this.view(transferId), replayed: outcome.kind === 'repeat' };
      case 'refused':
        throw refused(transferId, action, outcome.state);
      case 'missing':
        return this.missing(transferId, action);
      case 'early':
        throw new Error(`${action} of ${transferId} answered "too early", which only expiry can`);
    }
  }

  /** No lifecycle: an allow/block decision (409), a warned one still being recorded (409), or none (404). */
  private async missing(transferId: string, action: TransferAction): Promise<never> {
    const json = await redisStep('reading the decision', () => this.deps.store.decisionJson(transferId));
    if (json === null) throw await this.unknown(transferId);
    const d = JSON.parse(json) as StoredDecision;
    if (d.action === 'allow') throw refused(transferId, action, 'ALLOWED');
    if (d.action === 'block') throw refused(transferId, action, 'BLOCKED');
    throw new CalmpayError('CALMPAY_ERR_TRANSFER_IN_PROGRESS', `Transfer ${transferId} was just scored and is still being recorded; retry shortly`);
  }

  /** No decision in Redis: not scored (404), or answered in degraded mode and not written there yet (409, retry). */
  private async unknown(transferId: string): Promise<CalmpayError> {
    if ((await this.deps.degradedPending?.(transferId)) !== true) return notFound(transferId);
    return new CalmpayError(
      'CALMPAY_ERR_TRANSFER_IN_PROGRESS',
      `Transfer ${transferId} was answered while Redis was unavailable and its decision is still being written there; retry shortly`,
    );
  }

  private dropTimer(transferId: string): void {
    this.deps.timers
      .unschedule(transferId)
      .catch((err: Error) => this.deps.log.warn({ err, transferId }, 'removing a cooling-off timer failed; it will fire and change nothing'));
  }

  /**
   * A new scam report names this payee: every transfer to it in its cooling-off hold goes to
   * HELD_FOR_REVIEW now. Returns the ids it moved. Called by the case library.
   */
  async escalatePayee(payeeId: string, reason: string, actor = 'case-library'): Promise<string[]> {
    const { store } = this.deps;
    const ids = await redisStep('reading the holds of a payee', () => store.holdsOfPayee(payeeId));
    const moved: string[] = [];
    for (const id of ids) {
      const outcome = await redisStep('escalating a hold', () => store.escalate(id, payeeId, this.deps.clock(), actor, reason));
      if (outcome.kind === 'moved') {
        moved.push(id);
        this.dropTimer(id);
      }
    }
    return moved;
  }

  /**
   * The end of a hold (its timer fired, or the overdue sweep found it): the payee is checked
   * again and the transfer released or held for review. A hold that already ended is left as
   * it is; one asked to end early answers `early` with its end time.
   */
  async expireHold(transferId: string, via: ExpiryVia): Promise<TransitionOutcome> {
    const { store } = this.deps;
    const snap = await store.holdSnapshot(transferId);
    // ended already (cancelled, escalated, released by the sweep): the transition that ended it
    // took it out of the due index too; the ZREM only matters for a lifecycle deleted by hand,
    // which the overdue sweep would otherwise find again and again
    if (snap === null || snap.state !== 'COOLING_OFF') {
      await store.forgetDue(transferId);
      return snap === null ? { kind: 'missing' } : { kind: 'repeat', state: snap.state };
    }
    const now = this.deps.clock();
    if (now < snap.holdUntilMs) return { kind: 'early', untilMs: snap.holdUntilMs };
    // a failure here postpones the end: it throws, the hold stays COOLING_OFF, and the timer's
    // retries and the overdue sweep try again; without an answer the money does not move
    const unapplied = await this.unappliedReportsOf(snap.payeeId);
    let holdReason: string;
    try {
      const r = recheckHold({
        vector: JSON.parse(snap.features) as FeatureValue[],
        reports: snap.reports,
        unappliedReports: unapplied,
        nowMs: now,
        modelScore: snap.modelScore,
        ruleSet: this.deps.ruleSet(),
        policy: this.deps.policy,
      });
      holdReason = r.hold ? r.reason : '';
    } catch (err) {
      // a re-check that cannot run must not release the money unexamined
      holdReason = `the re-check failed (${(err as Error).message}); held for review`;
    }
    return store.expire(transferId, snap.payeeId, now, `system:${via}`, holdReason);
  }

  private async unappliedReportsOf(payeeId: string): Promise<readonly string[]> {
    const lookup = this.deps.unappliedReports;
    if (lookup === undefined) return [];
    // an unreachable case library is the one SQL 503 (store-failures.ts); anything else is thrown on
    return lookup(payeeId).catch(sqlFailure);
  }

  /** Ends the warnings whose deadline passed (ABANDONED). Returns how many it ended. */
  async abandonExpired(limit: number): Promise<number> {
    const { store } = this.deps;
    const now = this.deps.clock();
    const ids = await store.expiredWarnings(now, limit);
    const outcomes = await Promise.all(ids.map((id) => store.abandon(id, now)));
    return outcomes.filter((o) => o.kind === 'moved').length;
  }
}

function notFound(transferId: string): CalmpayError {
  return new CalmpayError(
    'CALMPAY_ERR_TRANSFER_NOT_FOUND',
    `No transfer ${transferId} was scored (or it is older than IDEMPOTENCY_TTL_SECONDS)`,
    [{ field: 'id', message: 'no such transfer' }],
  );
}

function refused(transferId: string, action: TransferAction, state: TransferState): CalmpayError {
  return new CalmpayError('CALMPAY_ERR_ILLEGAL_TRANSITION', illegalTransitionMessage(transferId, action, state), [
    { field: 'state', message: state },
  ]);
}
