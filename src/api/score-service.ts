import { performance } from 'node:perf_hooks';
import { segmentPolicy, type Config } from '../config.ts';
import { CATALOGUE_VERSION, idx, type FeatureValue } from '../features/catalogue.ts';
import { buildFeatureVector, eventOnlyVector } from '../features/build-vector.ts';
import { eventHash, type TransferEvent } from '../features/transfer-event.ts';
import type { StoredDecision, StoredHit } from '../decision/decision.ts';
import { guardianReason, type GuardianBlock } from '../decision/guardian-notice.ts';
import { maxAction, type Action } from '../decision/actions.ts';
import { degradedAction } from '../decision/degraded-policy.ts';
import { decide } from '../decision/policy.ts';
import type { GuardianCheck } from '../features/velocity-state.ts';
import { CalmpayError, validationError } from '../errors.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { ModelAssessment } from '../model/model-session.ts';
import type { ClaimResult, FeatureStore } from '../store/feature-store.ts';
import { registrationFor } from '../cooling/registration.ts';
import { degradedRecord } from '../store/degraded-record.ts';
import type { DegradedSpool, SpooledAnswer } from '../store/degraded-spool.ts';

/**
 * One score, the hot path of DESIGN §4: features (one Redis call) → rules → policy → record
 * (not awaited). Idempotent on transferId: the same event again returns the stored decision
 * without touching any window; a different event under a used id is a conflict.
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

export interface ScoreResult {
  readonly decision: StoredDecision;
  /** true when this is an earlier decision returned again for the same event */
  readonly replayed: boolean;
}

const SEGMENT = idx('payer.age_band');

/** The guardian limit a transfer broke, from the atomic check in the feature store. */
function guardianBlock(check: GuardianCheck | null, currency: string): GuardianBlock | null {
  if (check === null || check.outcome === 'within') return null;
  return {
    reason: guardianReason(check.outcome),
    currency,
    limit: check.outcome === 'per_transfer' ? check.perTransferLimit : check.outcome === 'daily' ? check.dailyLimit : null,
    spentToday: check.spentToday,
  };
}

const us = (fromMs: number, toMs: number): number => Math.round((toMs - fromMs) * 1000);


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
    const claim = await this.claim(e, tMs, hash);
    if (claim.kind === 'duplicate') {
      if (claim.eventHash !== hash) throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${e.transferId} was scored with a different event` }]);
      return { decision: await this.storedDecision(e.transferId, claim.decision), replayed: true };
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
          if (late.kind === 'new') this.record(e, decision, v);
        },
        () => {},
      );
      return { decision, replayed: false };
    }
    const v = buildFeatureVector(e, tMs, claim.state, config.ageBands);
    const decision = await this.decideOn(e, v, guardianBlock(claim.state.guardian, e.currency), ruleSet, now, startedAt, validatedAt, null);
    this.record(e, decision, v);
    this.deps.onDecision?.(decision);
    return { decision, replayed: false };
  }

  /**
   * Records a degraded decision durably before it is answered (src/store/degraded-spool.ts); the
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
  private async claim(e: TransferEvent, tMs: number, hash: string): Promise<ClaimResult | Unavailable> {
    const ms = this.deps.config.featuresDeadlineMs;
    const call = this.deps.store.claimAndUpdate(e, tMs, hash);
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
   */
  private record(e: TransferEvent, decision: StoredDecision, v: readonly FeatureValue[]): void {
    const json = JSON.stringify(decision);
    const event = JSON.stringify({
      occurredAt: e.occurredAt,
      amount: e.amount,
      currency: e.currency,
      payerId: e.payer.accountId,
      payeeId: e.payee.accountId,
    });
    const features = JSON.stringify(v);
    this.deps.store.recordDecision(
      e.transferId,
      json,
      { event, features, catalogue: CATALOGUE_VERSION },
      registrationFor(decision, e, v, features, this.deps.config),
    );
  }

  /** The decision of the first request for this event, waiting briefly if it is still being made. */
  private async storedDecision(transferId: string, first: string | null): Promise<StoredDecision> {
    let json = first;
    for (let i = 0; json === null && i < IN_FLIGHT_POLLS; i++) {
      await this.deps.sleep(IN_FLIGHT_POLL_MS);
      json = await this.deps.store.storedDecision(transferId);
    }
    if (json === null) throw new CalmpayError('CALMPAY_ERR_TRANSFER_IN_PROGRESS');
    return JSON.parse(json) as StoredDecision;
  }
}
