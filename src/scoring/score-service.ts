import { performance } from 'node:perf_hooks';
import type { ScoringConfig } from './scoring-config.ts';
import { CATALOGUE_VERSION, type FeatureValue } from '../features/catalogue.ts';
import { buildFeatureVector, eventOnlyVector, type AgeBandBounds } from '../features/build-vector.ts';
import { eventHash, type TransferEvent } from '../features/transfer-event.ts';
import type { StoredDecision, StoredHit } from './decision.ts';
import { guardianReason, type GuardianBlock } from '../i18n/guardian-notice.ts';
import { pickLanguage, type Language } from '../i18n/language.ts';
import { decide, enginePolicy, verdictOf, type DecidePolicy, type EnginePolicy } from './decide.ts';
import type { ScoreChoices } from './score-choices.ts';
import type { GuardianCheck } from '../features/velocity-state.ts';
import { CalmpayError, validationError } from '../errors.ts';
import type { RuleEvaluation, RuleHit, RuleSet } from '../rules/language/rule-set.ts';
import type { ModelAssessment } from '../model/model-session.ts';
import type { ClaimResult, FeatureStore, RecordOutcome } from '../features/feature-store.ts';
import { registrationFor, type RegistrationTimes } from '../cooling/registration.ts';
import { degradedRecord } from '../decisions/degraded-record.ts';
import type { DegradedSpool, SpooledAnswer } from '../decisions/degraded-spool.ts';
import { BoundedCache } from '../bounded-cache.ts';

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
  /** the scoring slice (src/scoring/scoring-config.ts) */
  readonly config: ScoringConfig;
  /** MINOR_AGE_BELOW, ELDERLY_AGE_FROM (src/features/features-config.ts) */
  readonly ageBands: AgeBandBounds;
  /** DEFAULT_LANGUAGE (src/i18n/i18n-config.ts) */
  readonly defaultLanguage: Language;
  /** WARNING_EXPIRY_SECONDS (src/cooling/lifecycle-config.ts): a warn or cool_off registers its lifecycle with it */
  readonly warningExpirySeconds: number;
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
  /** the language to render the decision in, as chosen for this request (the lifecycle's too) */
  readonly language: Language;
}

/** A decision with what the score chose for it, before it is recorded. */
interface Decided {
  readonly decision: StoredDecision;
  readonly choices: ScoreChoices;
}

/** Everything the decision's write records. */
interface ToRecord extends Decided {
  readonly e: TransferEvent;
  readonly v: readonly FeatureValue[];
  /** the guardian check of the claim (a blocked transfer gives back what it added to the allowance) */
  readonly guardian: GuardianCheck | null;
}

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

/** What one score knows once its rules and model have run. */
export interface Assessed {
  readonly transferId: string;
  readonly vector: readonly FeatureValue[];
  readonly evaluation: RuleEvaluation;
  readonly rulesVersion: string;
  /** the model's answer; null when it was not asked (degraded features) */
  readonly model: ModelAssessment | null;
  readonly guardian: GuardianBlock | null;
  /** scored without the velocity state: the configured fail mode for `amount` applies */
  readonly featuresDegraded: boolean;
  readonly amount: number;
  /** ms since the epoch */
  readonly decidedAtMs: number;
}

/** performance.now() at the end of each stage before the decision. */
export interface StageMarks {
  readonly startedAt: number;
  readonly validatedAt: number;
  readonly rulesStart: number;
  readonly rulesEnd: number;
  readonly modelEnd: number;
}

const storedHit = (h: RuleHit): StoredHit => ({ ruleId: h.ruleId, score: h.score, action: h.action, scamType: h.scamType });

/**
 * The decision the scoring route records (pure but for `now`, which times the decision stage):
 * `decide` on the active hits, the model score, a guardian block and degraded mode, with the
 * route's own record around it. `degraded` names the features (fail mode; the model is not asked
 * then: it never saw vectors without history), rules that failed, and a model that failed or
 * missed its deadline (having no model at all is not a failure). Returns the age band's policy
 * that was applied with it, chosen once for the score.
 */
export function routeDecision(
  a: Assessed,
  engine: EnginePolicy,
  marks: StageMarks,
  now: () => number = () => performance.now(),
): { readonly decision: StoredDecision; readonly policy: DecidePolicy } {
  const { evaluation, model } = a;
  const verdict = verdictOf(evaluation, a.vector, storedHit);
  const shadowHits: StoredHit[] = [];
  for (const h of evaluation.hits) if (h.mode === 'shadow') shadowHits.push(storedHit(h));
  const d = decide(verdict, { modelScore: model?.modelScore ?? null, guardianBlocked: a.guardian !== null, featuresDegraded: a.featuresDegraded, amount: a.amount }, engine);
  const degraded: string[] = [];
  if (a.featuresDegraded) degraded.push('features');
  if (evaluation.errors.length > 0) degraded.push('rules');
  if (model?.failure != null && model.failure.reason !== 'no_model') degraded.push('model');
  const decidedAt = now();
  const decision: StoredDecision = {
    transferId: a.transferId,
    action: d.action,
    riskScore: d.riskScore,
    ruleScore: d.ruleScore,
    modelScore: model?.modelScore ?? null,
    modelFactors: model?.factors ?? [],
    scamType: d.scamType,
    segment: d.segment,
    hits: verdict.hits,
    shadowHits,
    ruleErrors: evaluation.errors.map((x) => ({ ruleId: x.ruleId, message: x.message })),
    degraded,
    guardian: a.guardian,
    rulesVersion: a.rulesVersion,
    modelVersion: model?.modelVersion ?? null,
    holdMinutes: Math.max(1, Math.round(d.policy.coolingOffSeconds / 60)),
    decidedAt: new Date(a.decidedAtMs).toISOString(),
    timingsUs: {
      validate: us(marks.startedAt, marks.validatedAt),
      features: us(marks.validatedAt, marks.rulesStart),
      rules: us(marks.rulesStart, marks.rulesEnd),
      model: us(marks.rulesEnd, marks.modelEnd),
      decision: us(marks.modelEnd, decidedAt),
      total: us(marks.startedAt, decidedAt),
    },
  };
  return { decision, policy: d.policy };
}

/**
 * Decisions this node recorded in Redis lately, for a re-send that arrives while Redis is
 * unavailable (issue 19): the decision history has a decision only once the sink has copied it
 * (normally within milliseconds, longer when the sink lags), so without this memory such a
 * re-send was decided anew in degraded mode. Sized for seconds of sink lag at thousands of
 * scores per second; beyond that, and on another node, the window stays (docs/score-durability.md).
 */
export const RECENT_DECISIONS = 5_000;

interface RecentDecision {
  readonly eventHash: string;
  /**
   * the JSON written to the decision key (a replay from Redis answers the same text, parsed).
   * Kept as that one string rather than the decision's objects: every entry outlives the
   * young generation, and a flat string costs the scavenger one copy where the decision's
   * dozen objects cost a dozen (and old-space marking as many)
   */
  readonly decisionJson: string;
  /** ms since the epoch when it was recorded: a re-send after IDEMPOTENCY_TTL_SECONDS is no replay */
  readonly atMs: number;
}

/** How long a duplicate waits for the first request's decision to be written. */
const IN_FLIGHT_POLLS = 20;
const IN_FLIGHT_POLL_MS = 10;

export class ScoreService {
  private readonly deps: ScoreServiceDeps;
  private readonly policy: EnginePolicy;
  private readonly registrationTimes: RegistrationTimes;
  private readonly recent = new BoundedCache<string, RecentDecision>(RECENT_DECISIONS);

  constructor(deps: ScoreServiceDeps) {
    this.deps = deps;
    this.policy = enginePolicy(deps.config);
    this.registrationTimes = { warningExpirySeconds: deps.warningExpirySeconds, idempotencyTtlSeconds: deps.config.idempotencyTtlSeconds };
  }

  /**
   * @param acceptLanguage the request's Accept-Language header: with the event's `language`, it
   *   chooses the language of the reply's warning and of the lifecycle's voice warning, once
   * @param startedAt performance.now() when the request reached the handler
   * @param validatedAt performance.now() once the body was validated
   */
  async score(e: TransferEvent, acceptLanguage: string | undefined, startedAt: number, validatedAt: number): Promise<ScoreResult> {
    const { config, ageBands } = this.deps;
    const language = pickLanguage(acceptLanguage, e.language, this.deps.defaultLanguage);
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
    if (spooled !== undefined) return this.spooledReplay(e.transferId, hash, spooled, language);
    const claim = await this.claim(e, tMs, hash, now);
    if (claim.kind === 'duplicate') {
      if (claim.eventHash !== hash) throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${e.transferId} was scored with a different event` }]);
      if (claim.decision !== null) return { decision: JSON.parse(claim.decision) as StoredDecision, replayed: true, language };
      return this.complete(e, tMs, claim, ruleSet, language, startedAt, validatedAt);
    }
    if (claim.kind === 'unavailable') {
      // decided here lately and not yet in the history: that decision, not a new one
      const known = this.recentDecision(e.transferId, now);
      if (known !== null) {
        if (known.eventHash !== hash) throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${e.transferId} was scored with a different event` }]);
        return { decision: JSON.parse(known.decisionJson) as StoredDecision, replayed: true, language };
      }
      const v = eventOnlyVector(e, tMs, ageBands);
      const { decision, choices } = await this.decideOn(e, v, null, ruleSet, language, now, startedAt, validatedAt, true);
      const standing = await this.spool(e, hash, decision, v, choices, now);
      // another node answered this transfer first while Redis was down: that answer stands
      if (standing !== null && standing.decision !== decision) return this.spooledReplay(e.transferId, hash, standing, language);
      this.deps.onDegraded?.(e.transferId, claim.reason);
      // a call that was only slow may still claim the transfer: then its replays get this decision
      this.deps.onDecision?.(decision);
      claim.late?.then(
        (late) => {
          // (a failed write is reported by the store; a retry completes the claim)
          if (late.kind === 'new') this.record({ e, decision, choices, v, guardian: late.state.guardian }).catch(() => undefined);
        },
        () => {},
      );
      return { decision, replayed: false, language };
    }
    const v = buildFeatureVector(e, tMs, claim.state, ageBands);
    const decided = await this.decideOn(e, v, guardianBlock(claim.state.guardian, e.currency), ruleSet, language, now, startedAt, validatedAt, false);
    return this.recordAndAnswer(e, hash, decided, v, claim.state.guardian, startedAt);
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
    language: Language,
    startedAt: number,
    validatedAt: number,
  ): Promise<ScoreResult> {
    const { config, clock, ageBands } = this.deps;
    const leaseOver = (): boolean => claim.claimedAtMs !== null && clock() - claim.claimedAtMs >= config.claimLeaseMs;
    if (!leaseOver()) {
      for (let i = 0; i < IN_FLIGHT_POLLS; i++) {
        await this.deps.sleep(IN_FLIGHT_POLL_MS);
        const json = await this.deps.store.storedDecision(e.transferId);
        if (json !== null) return { decision: JSON.parse(json) as StoredDecision, replayed: true, language };
      }
    }
    // a claim of an earlier version stores no state: it cannot be completed without counting twice
    if (claim.state === null || !leaseOver()) throw new CalmpayError('CALMPAY_ERR_TRANSFER_IN_PROGRESS');
    const v = buildFeatureVector(e, tMs, claim.state, ageBands);
    const guardian = guardianBlock(claim.state.guardian, e.currency);
    const decided = await this.decideOn(e, v, guardian, ruleSet, language, clock(), startedAt, validatedAt, false);
    return this.recordAndAnswer(e, claim.eventHash, decided, v, claim.state.guardian, startedAt);
  }

  /**
   * Records the decision (awaiting its batch's write, within RECORD_DEADLINE_MS) and only then
   * answers it, with the `record` stage in its timings. Another decision recorded first for
   * the transfer (a retry completed it while this request was slower than the lease) is the
   * answer instead. A write that fails or misses the deadline is a 503 naming the retry.
   */
  private async recordAndAnswer(
    e: TransferEvent,
    hash: string,
    { decision, choices }: Decided,
    v: readonly FeatureValue[],
    guardian: GuardianCheck | null,
    startedAt: number,
  ): Promise<ScoreResult> {
    const { language } = choices;
    const t0 = performance.now();
    const decisionJson = JSON.stringify(decision);
    const outcome = await this.recordWithin({ e, decision, choices, v, guardian }, decisionJson);
    if (outcome.kind === 'existing') return { decision: JSON.parse(outcome.decision) as StoredDecision, replayed: true, language };
    this.recent.set(e.transferId, { eventHash: hash, decisionJson, atMs: this.deps.clock() });
    const t1 = performance.now();
    const t = decision.timingsUs;
    const recorded: StoredDecision = {
      ...decision,
      timingsUs: { validate: t.validate, features: t.features, rules: t.rules, model: t.model, decision: t.decision, record: us(t0, t1), total: us(startedAt, t1) },
    };
    this.deps.onDecision?.(recorded);
    return { decision: recorded, replayed: false, language };
  }

  /** This node's recent decision on the transfer (RECENT_DECISIONS), or null. */
  private recentDecision(transferId: string, now: number): RecentDecision | null {
    const r = this.recent.get(transferId);
    if (r === undefined || now - r.atMs > this.deps.config.idempotencyTtlSeconds * 1000) return null;
    return r;
  }

  /** @param decisionJson JSON.stringify(r.decision), as written */
  private async recordWithin(r: ToRecord, decisionJson: string): Promise<RecordOutcome> {
    const ms = this.deps.config.recordDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`it was not written within RECORD_DEADLINE_MS (${ms} ms)`), ms);
    });
    const write = this.record(r, decisionJson);
    try {
      const outcome = await Promise.race([write.catch((err: Error) => `the write failed: ${err.message}`), deadline]);
      if (typeof outcome !== 'string') return outcome;
      // a write that is only late may still land: then the retry finds (and returns) it
      write.catch(() => undefined);
      throw new CalmpayError(
        'CALMPAY_ERR_DECISION_NOT_RECORDED',
        `The decision on ${r.e.transferId} could not be recorded (${outcome}); retry the same request ` +
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
  private async spool(
    e: TransferEvent,
    hash: string,
    decision: StoredDecision,
    v: readonly FeatureValue[],
    choices: ScoreChoices,
    now: number,
  ): Promise<SpooledAnswer | null> {
    const spool = this.deps.degraded;
    if (spool === undefined) return null;
    const features = JSON.stringify(v);
    const record = degradedRecord({
      event: e,
      eventHash: hash,
      decisionJson: JSON.stringify(decision),
      features,
      catalogue: CATALOGUE_VERSION,
      registration: registrationFor(decision, e, v, features, choices, this.registrationTimes),
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
  private async spooledReplay(transferId: string, hash: string, spooled: SpooledAnswer, language: Language): Promise<ScoreResult> {
    if (spooled.eventHash !== hash) {
      throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${transferId} was scored with a different event` }]);
    }
    await spooled.durable.catch((err: Error) => {
      throw new CalmpayError('CALMPAY_ERR_STORE_UNAVAILABLE', `the degraded decision of ${transferId} could not be recorded: ${err.message}`);
    });
    return { decision: spooled.decision, replayed: true, language };
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
   * Rules → model → decision on a feature vector (`routeDecision`). With `featuresDegraded`
   * the velocity state is missing: the decision is at least the configured fail mode for the
   * amount, and the model is not asked. A model that fails or misses its deadline leaves the
   * decision to the rules alone.
   */
  private async decideOn(
    e: TransferEvent,
    v: readonly FeatureValue[],
    guardian: GuardianBlock | null,
    ruleSet: RuleSet,
    language: Language,
    now: number,
    startedAt: number,
    validatedAt: number,
    featuresDegraded: boolean,
  ): Promise<Decided> {
    const rulesStart = performance.now();
    const evaluation = ruleSet.evaluate(v);
    const rulesEnd = performance.now();
    const model = !featuresDegraded && this.deps.model !== undefined ? await this.deps.model.assess(v) : null;
    const modelEnd = performance.now();
    const { decision, policy } = routeDecision(
      { transferId: e.transferId, vector: v, evaluation, rulesVersion: ruleSet.version, model, guardian, featuresDegraded, amount: e.amount, decidedAtMs: now },
      this.policy,
      { startedAt, validatedAt, rulesStart, rulesEnd, modelEnd },
    );
    return { decision, choices: { language, policy } };
  }

  /**
   * The stream entry (DESIGN §4 step 6): the decision as stored for idempotency, the feature
   * vector in catalogue order with the catalogue version, and the event's ids and amount —
   * no names or free text. The same decision string serves both writes. A warn/cool_off
   * decision also starts its lifecycle in the same batched write (src/cooling/registration.ts).
   * A `block` of a transfer that added to a minor's daily allowance (`guardian` within the
   * limits) gives it back in that write: a blocked transfer is never paid.
   */
  private record({ e, decision, choices, v, guardian }: ToRecord, json: string = JSON.stringify(decision)): Promise<RecordOutcome> {
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
      registrationFor(decision, e, v, features, choices, this.registrationTimes),
      decision.action === 'block' && guardian?.outcome === 'within' ? e.payer.accountId : null,
    );
  }
}
