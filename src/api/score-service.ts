import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import { CATALOGUE_VERSION, idx, type FeatureValue } from '../features/catalogue.ts';
import { buildFeatureVector } from '../features/build-vector.ts';
import type { TransferEvent } from '../features/transfer-event.ts';
import type { StoredDecision, StoredHit } from '../decision/decision.ts';
import { guardianReason, type GuardianBlock } from '../decision/guardian-notice.ts';
import { decide } from '../decision/policy.ts';
import type { GuardianCheck } from '../features/velocity-state.ts';
import { CalmpayError, validationError } from '../errors.ts';
import type { RuleSet } from '../rules/rule-set.ts';
import type { FeatureStore } from '../store/feature-store.ts';

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

/** Identity of an event for idempotency: everything but the response language. */
export function eventHash(e: TransferEvent): string {
  const { language: _language, ...identity } = e;
  return createHash('sha1').update(JSON.stringify(identity)).digest('base64url');
}

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
    const { config, store } = this.deps;
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
    const claim = await store.claimAndUpdate(e, tMs, hash).catch((err: Error) => {
      throw new CalmpayError('CALMPAY_ERR_STORE_UNAVAILABLE', `The feature store (Redis) failed: ${err.message}`);
    });
    if (claim.kind === 'duplicate') {
      if (claim.eventHash !== hash) throw new CalmpayError('CALMPAY_ERR_TRANSFER_ID_CONFLICT', undefined, [{ field: 'transferId', message: `${e.transferId} was scored with a different event` }]);
      return { decision: await this.storedDecision(e.transferId, claim.decision), replayed: true };
    }
    const v = buildFeatureVector(e, tMs, claim.state, config.ageBands);

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
    const segment = v[SEGMENT] as StoredDecision['segment'];
    const policy = segment === null ? { thresholds: config.thresholds, coolingOffSeconds: config.coolingOffSeconds } : config.segments[segment];
    const guardian = guardianBlock(claim.state.guardian, e.currency);
    const outcome = decide(hits, null, policy.thresholds, guardian !== null);
    const tDecision = performance.now();
    const decision: StoredDecision = {
      transferId: e.transferId,
      action: outcome.action,
      riskScore: outcome.riskScore,
      ruleScore: outcome.ruleScore,
      modelScore: null,
      scamType: outcome.scamType,
      segment,
      hits,
      shadowHits,
      ruleErrors: evaluation.errors.map((x) => ({ ruleId: x.ruleId, message: x.message })),
      degraded: evaluation.errors.length > 0 ? ['rules'] : [],
      guardian,
      rulesVersion: ruleSet.version,
      modelVersion: null,
      holdMinutes: Math.max(1, Math.round(policy.coolingOffSeconds / 60)),
      decidedAt: new Date(now).toISOString(),
      timingsUs: {
        validate: us(startedAt, validatedAt),
        features: us(validatedAt, tRules0),
        rules: us(tRules0, tRules1),
        decision: us(tRules1, tDecision),
        total: us(startedAt, tDecision),
      },
    };
    this.record(e, decision, v);
    return { decision, replayed: false };
  }

  /**
   * The stream entry (DESIGN §4 step 6): the decision as stored for idempotency, the feature
   * vector in catalogue order with the catalogue version, and the event's ids and amount —
   * no names or free text. The same decision string serves both writes.
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
    this.deps.store.recordDecision(e.transferId, json, {
      event,
      features: JSON.stringify(v),
      catalogue: CATALOGUE_VERSION,
    });
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
