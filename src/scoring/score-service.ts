import { performance } from 'node:perf_hooks';
import { segmentPolicy, type Config } from '../config.ts';
import { CATALOGUE_VERSION, idx, type FeatureValue } from '../features/catalogue.ts';
import { buildFeatureVector, eventOnlyVector } from '../features/build-vector.ts';
import { eventHash, type TransferEvent } from '../features/transfer-event.ts';
import type { StoredDecision, StoredHit } from './decision.ts';
import { guardianReason, type GuardianBlock } from '../i18n/guardian-notice.ts';
import { maxAction, type Action } from './actions.ts';
import { degradedAction } from './degraded-policy.ts';
import { decide } from './policy.ts';
import type { GuardianCheck } from '../features/velocity-state.ts';
import { CalmpayError, validationError } from '../errors.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import type { ModelAssessment } from '../model/model-session.ts';
import type { ClaimResult, FeatureStore, RecordOutcome } from '../features/feature-store.ts';
import { registrationFor } from '../cooling/registration.ts';
import { degradedRecord } from '../decisions/degraded-record.ts';
import type { DegradedSpool, SpooledAnswer } from '../decisions/degraded-spool.ts';

/**
 * One score, the hot path of DESIGN §4: features (one Redis call) → rules → policy → record.
 * Idempotent on transferId: the same event again returns the stored decision without touching
 * any window; a different event under a used id is a conflict.
 *
 * Nothing answered is lost (issue 19, docs/score-durability.md): the answer waits for the
 * decision's batched write, and a transfer claimed but never recorded (its request died or its
 * write failed) is completed by a retry once the claim's lease is over, on the velocity state
 * stored with the claim, so the windows count it once.
 */

export interface ScoreServiceDeps {
  readonly config: Config;
  readonly store: FeatureStore;
  readonly ruleSet: () => RuleSet;
  /** ms since the epoch; injected so tests control "now" */
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** told of every score answered in degraded mode (for logs and metrics) */
  readonly onDegraded?: (transferId: string, reason: string) => void;
  /** the model; unset: rules alone */
  readonly model?: { assess(v: readonly FeatureValue[]): Promise<ModelAssessment> };
  /** told of every new decision (not of idempotent replays), for metrics */
  readonly onDecision?: (d: StoredDecision) => void;
  /**
   * where decisions made while Redis is unavailable are recorded before they are answered, and
   * answered again from until they are in Redis (issue 19); unset: not recorded (tests of the core)
   */
  readonly degraded?: Pick<DegradedSpool, 'replay' | 'record'>;
}

interface Unavailable {
  readonly kind: 'unavailable';
  readonly reason: string;
  /** the call that missed the deadline, which may still complete */
  readonly late: Promise<ClaimResult> | null;
}

type Duplicate = Extract<ClaimResult, { kind: 'duplicate' }>;

export interface ScoreResult {
  readonly decision: StoredDecision;
  /** true when this is an earlier decision returned again for the same event */
  readonly replayed: boolean;
}

const SEGMENT = idx('payer.age_band');

/**
 * The guardian limit a transfer broke, from the atomic check in the feature store. Its currency
 * is the limits' (the notice says which currency the guardian allows); `transferCurrency` only
 * stands in for a reply of a score script older than that field.
 */
function guardianBlock(check: GuardianCheck | null, transferCurrency: string): GuardianBlock | null {
  if (check === null || check.outcome === 'within') return null;
  return {
    reason: guardianReason(check.outcome),
    currency: check.currency ?? transferCurrency,
    limit: check.outcome === 'per_transfer' ? check.perTransferLimit : check.outcome === 'daily' ? check.dailyLimit : null,
    spentToday: check.spentToday,
  };
}

export const us = (fromMs: number, toMs: number): number => Math.round((toMs - fromMs) * 1000);


/** How long a duplicate waits for the first request's decision to be written. */
const IN_FLIGHT_POLLS = 20;
const IN_FLIGHT_POLL_MS = 10;

export class ScoreService {
  private readonly deps: ScoreServiceDeps;

  constructor(deps: ScoreServiceDeps) {
    this.deps = deps;
  }

  /**
   * @param startedAt performance.now() when the request reached the handler
   * @param validatedAt performance.now() once the body was validated
   */
  async score(e: TransferEvent, startedAt: number, validatedAt: number): Promise<ScoreResult> {
    const { config } = this.deps;
    const tMs = Date.parse(e.occurredAt);
    const now = this.deps.clock();
    if (tMs > now + config.maxFutureSkewSeconds * 1000) {
      throw validationError([
        {
          field: 'occurredAt',
          message: `is more than ${config.maxFutureSkewSeconds} s in the future (server time ${new Date(now).toISOString()})`,
        },
      ]);
    }
    const hash = eventHash(e);
    const ruleSet = this.deps.ruleSet(); // one whole version per request
    const spooled = this.deps.degraded?.replay(e.transferId);
    if (spooled !== undefined) return this.spooledReplay(e.transferId, hash, spooled);
    const claim = await this.claim(e, tMs, hash, now);
    if (claim.kind === 'duplicate') {
      if (claim.eventHash !== hash) throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${e.transferId} was scored with a different event` }]);
      if (claim.decision !== null) return { decision: JSON.parse(claim.decision) as StoredDecision, replayed: true };
      return this.complete(e, tMs, claim, ruleSet, startedAt, validatedAt);
    }
    if (claim.kind === 'unavailable') {
      const v = eventOnlyVector(e, tMs, config.ageBands);
      const decision = await this.decideOn(e, v, null, ruleSet, now, startedAt, validatedAt, degradedAction(e.amount, config.degradedFeaturesPolicy));
      const standing = await this.spool(e, hash, decision, v, now);
      // another node answered this transfer first while Redis was down: that answer stands
      if (standing !== null && standing.decision !== decision) return this.spooledReplay(e.transferId, hash, standing);
      this.deps.onDegraded?.(e.transferId, claim.reason);
      // a call that was only slow may still claim the transfer: then its replays get this decision
      this.deps.onDecision?.(decision);
      claim.late?.then(
        (late) => {
          // (a failed write is reported by the store; a retry completes the claim)
          if (late.kind === 'new') this.record(e, decision, v, late.state.guardian).catch(() => undefined);
        },
        () => {},
      );
      return { decision, replayed: false };
    }
    const v = buildFeatureVector(e, tMs, claim.state, config.ageBands);
    const decision = await this.decideOn(e, v, guardianBlock(claim.state.guardian, e.currency), ruleSet, now, startedAt, validatedAt, null);
    return this.recordAndAnswer(e, decision, v, claim.state.guardian, startedAt);
  }

  /**
   * The same event again, claimed but without a decision: the first request is still deciding
   * (wait briefly for it, then 409 TRANSFER_IN_PROGRESS), or, once the claim is older than
   * CLAIM_LEASE_MS, it died or failed to record: decide on the velocity state it was answered
   * (stored with the claim, so no window counts the transfer again) and record that decision.
   */
  private async complete(
    e: TransferEvent,
    tMs: number,
    claim: Duplicate,
    ruleSet: RuleSet,
    startedAt: number,
    validatedAt: number,
  ): Promise<ScoreResult> {
    const { config, clock } = this.deps;
    const leaseOver = (): boolean => claim.claimedAtMs !== null && clock() - claim.claimedAtMs >= config.claimLeaseMs;
    if (!leaseOver()) {
      for (let i = 0; i < IN_FLIGHT_POLLS; i++) {
        await this.deps.sleep(IN_FLIGHT_POLL_MS);
        const json = await this.deps.store.storedDecision(e.transferId);
        if (json !== null) return { decision: JSON.parse(json) as StoredDecision, replayed: true };
      }
    }
    // a claim of an earlier version stores no state: it cannot be completed without counting twice
    if (claim.state === null || !leaseOver()) throw new CalmpayError('CALMPAY_ERR_TRANSFER_IN_PROGRESS');
    const v = buildFeatureVector(e, tMs, claim.state, config.ageBands);
    const guardian = guardianBlock(claim.state.guardian, e.currency);
    const decision = await this.decideOn(e, v, guardian, ruleSet, clock(), startedAt, validatedAt, null);
    return this.recordAndAnswer(e, decision, v, claim.state.guardian, startedAt);
  }

  /**
   * Records the decision (awaiting its batch's write, within RECORD_DEADLINE_MS) and only then
   * answers it, with the `record` stage in its timings. Another decision recorded first for
   * the transfer (a retry completed it while this request was slower than the lease) is the
   * answer instead. A write that fails or misses the deadline is a 503 naming the retry.
   */
  private async recordAndAnswer(
    e: TransferEvent,
    decision: StoredDecision,
    v: readonly FeatureValue[],
    guardian: GuardianCheck | null,
    startedAt: number,
  ): Promise<ScoreResult> {
    const t0 = performance.now();
    const outcome = await this.recordWithin(e, decision, v, guardian);
    if (outcome.kind === 'existing') return { decision: JSON.parse(outcome.decision) as StoredDecision, replayed: true };
    const t1 = performance.now();
    const t = decision.timingsUs;
    const recorded: StoredDecision = {
      ...decision,
      timingsUs: { validate: t.validate, features: t.features, rules: t.rules, model: t.model, decision: t.decision, record: us(t0, t1), total: us(startedAt, t1) },
    };
    this.deps.onDecision?.(recorded);
    return { decision: recorded, replayed: false };
  }

  private async recordWithin(e: TransferEvent, decision: StoredDecision, v: readonly FeatureValue[], guardian: GuardianCheck | null): Promise<RecordOutcome> {
    const ms = this.deps.config.recordDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`it was not written within RECORD_DEADLINE_MS (${ms} ms)`), ms);
    });
    const write = this.record(e, decision, v, guardian);
    try {
      const outcome = await Promise.race([write.catch((err: Error) => `the write failed: ${err.message}`), deadline]);
      if (typeof outcome !== 'string') return outcome;
      // a write that is only late may still land: then the retry finds (and returns) it
      write.catch(() => undefined);
      throw new CalmpayError(
        'CALMPAY_ERR_DECISION_NOT_RECORDED',
        `The decision on ${e.transferId} could not be recorded (${outcome}); retry the same request ` +
          `after CLAIM_LEASE_MS (${this.deps.config.claimLeaseMs} ms): it completes this transfer without counting it twice`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Records a degraded decision durably before it is answered (src/decisions/degraded-spool.ts); the
   * reconciler writes it into Redis once Redis is back. Nothing recorded: 503, nothing answered.
   * Returns the answer that stands: this decision, or one another node gave first.
   */
  private async spool(e: TransferEvent, hash: string, decision: StoredDecision, v: readonly FeatureValue[], now: number): Promise<SpooledAnswer | null> {
    const spool = this.deps.degraded;
    if (spool === undefined) return null;
    const features = JSON.stringify(v);
    const record = degradedRecord({
      event: e,
      eventHash: hash,
      decisionJson: JSON.stringify(decision),
      features,
      catalogue: CATALOGUE_VERSION,
      registration: registrationFor(decision, e, v, features, this.deps.config),
      spooledAt: now,
    });
    return spool.record(record, decision).catch((err: Error) => {
      throw new CalmpayError(
        'CALMPAY_ERR_STORE_UNAVAILABLE',
        `Redis is unavailable and the degraded decision could not be recorded (SQL store and spool file failed): ${err.message}`,
      );
    });
  }

  /** A replay of a transfer this node decided in degraded mode and has not written into Redis yet. */
  private async spooledReplay(transferId: string, hash: string, spooled: SpooledAnswer): Promise<ScoreResult> {
    if (spooled.eventHash !== hash) {
      throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${transferId} was scored with a different event` }]);
    }
    await spooled.durable.catch((err: Error) => {
      throw new CalmpayError('CALMPAY_ERR_STORE_UNAVAILABLE', `the degraded decision of ${transferId} could not be recorded: ${err.message}`);
    });
    return { decision: spooled.decision, replayed: true };
  }

  /**
   * The velocity state within FEATURES_DEADLINE_MS. Redis failing or answering late is an
   * expected condition with a configured answer (degraded mode), not an error.
   */
  private async claim(e: TransferEvent, tMs: number, hash: string, now: number): Promise<ClaimResult | Unavailable> {
    const ms = this.deps.config.featuresDeadlineMs;
    const call = this.deps.store.claimAndUpdate(e, tMs, hash, now);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), ms);
    });
    try {
      const result = await Promise.race([call, deadline]);
      if (result === null) return { kind: 'unavailable', reason: `the feature store did not answer within ${ms} ms`, late: call };
      return result;
    } catch (err) {
      return { kind: 'unavailable', reason: `the feature store failed: ${(err as Error).message}`, late: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Rules → model → policy on a feature vector. `failMode` is the configured action when the
   * velocity state is missing (degraded mode): the decision is at least that severe and says
   * `degraded: ["features"]`; the model is not asked then (it never saw vectors without
   * history). A model that fails or misses its deadline adds `degraded: ["model"]` and the
   * policy uses the rules alone; having no model at all is not a failure.
   */
  private async decideOn(
    e: TransferEvent,
    v: readonly FeatureValue[],
    guardian: GuardianBlock | null,
    ruleSet: RuleSet,
    now: number,
    startedAt: number,
    validatedAt: number,
    failMode: Action | null,
  ): Promise<StoredDecision> {
    const { config } = this.deps;
    const tRules0 = performance.now();
    const evaluation = ruleSet.evaluate(v);
    const tRules1 = performance.now();

    const hits: StoredHit[] = [];
    const shadowHits: StoredHit[] = [];
    for (const h of evaluation.hits) {
      const stored: StoredHit = {
        ruleId: h.ruleId,
        score: h.score,
        action: h.action,
        scamType: h.scamType,
      };
      (h.mode === 'shadow' ? shadowHits : hits).push(stored);
    }
    const model = failMode === null && this.deps.model !== undefined ? await this.deps.model.assess(v) : null;
    const tModel = performance.now();
    const segment = v[SEGMENT] as StoredDecision['segment'];
    const policy = segmentPolicy(config, segment);
    const outcome = decide(hits, model?.modelScore ?? null, policy.thresholds, guardian !== null);
    const action = failMode === null ? outcome.action : maxAction(outcome.action, failMode);
    const degraded: string[] = [];
    if (failMode !== null) degraded.push('features');
    if (evaluation.errors.length > 0) degraded.push('rules');
    if (model?.failure != null && model.failure.reason !== 'no_model') degraded.push('model');
    const tDecision = performance.now();
    return {
      transferId: e.transferId,
      action,
      riskScore: outcome.riskScore,
      ruleScore: outcome.ruleScore,
      modelScore: model?.modelScore ?? null,
      modelFactors: model?.factors ?? [],
      scamType: action === 'allow' ? null : (outcome.scamType ?? (guardian === null ? 'other' : null)),
      segment,
      hits,
      shadowHits,
      ruleErrors: evaluation.errors.map((x) => ({ ruleId: x.ruleId, message: x.message })),
      degraded,
      guardian,
      rulesVersion: ruleSet.version,
      modelVersion: model?.modelVersion ?? null,
      holdMinutes: Math.max(1, Math.round(policy.coolingOffSeconds / 60)),
      decidedAt: new Date(now).toISOString(),
      timingsUs: {
        validate: us(startedAt, validatedAt),
        features: us(validatedAt, tRules0),
        rules: us(tRules0, tRules1),
        model: us(tRules1, tModel),
        decision: us(tModel, tDecision),
        total: us(startedAt, tDecision),
      },
    };
  }

  /**
   * The stream entry (DESIGN §4 step 6): the decision as stored for idempotency, the feature
   * vector in catalogue order with the catalogue version, and the event's ids and amount —
   * no names or free text. The same decision string serves both writes. A warn/cool_off
   * decision also starts its lifecycle in the same batched write (src/cooling/registration.ts).
   * A `block` of a transfer that added to a minor's daily allowance (`guardian` within the
   * limits) gives it back in that write: a blocked transfer is never paid.
   */
  private record(e: TransferEvent, decision: StoredDecision, v: readonly FeatureValue[], guardian: GuardianCheck | null): Promise<RecordOutcome> {
    const json = JSON.stringify(decision);
    const event = JSON.stringify({
      occurredAt: e.occurredAt,
      amount: e.amount,
      currency: e.currency,
      payerId: e.payer.accountId,
      payeeId: e.payee.accountId,
    });
    const features = JSON.stringify(v);
    return this.deps.store.recordDecision(
      e.transferId,
      json,
      { event, features, catalogue: CATALOGUE_VERSION },
      registrationFor(decision, e, v, features, this.deps.config),
      decision.action === 'block' && guardian?.outcome === 'within' ? e.payer.accountId : null,
    );
  }
}
