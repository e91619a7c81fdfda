/**
 * Configuration of a score (src/scoring): the policy (thresholds and hold length, per age band
 * of the payer, and the fail modes of degraded mode), the bounds on an event's time, and the
 * deadlines, claim lease and idempotency of the scoring path (docs/score-durability.md). A
 * slice of src/config.ts's composition; must not import src/config.ts.
 */
import { centesimal, ConfigError, int, type Env } from '../config-env.ts';
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';
import { parseDegradedPolicy, type AmountBand } from './degraded-policy.ts';

export interface PolicyThresholds {
  /** riskScore at or above which the action is at least `warn` */
  readonly warn: number;
  readonly coolOff: number;
  readonly block: number;
}

/** What the policy does for one age band of payers (issue 6: segment-aware protection). */
export interface SegmentPolicy {
  readonly thresholds: PolicyThresholds;
  readonly coolingOffSeconds: number;
}

/** The policy as configured: what segmentPolicy() and the decision (src/scoring/decide.ts) read. */
export interface ScoringPolicyConfig {
  /** thresholds for payers of unknown age and for adults unless overridden */
  readonly thresholds: PolicyThresholds;
  readonly coolingOffSeconds: number;
  /** per age band; a band without its own settings inherits the general ones */
  readonly segments: Readonly<Record<AgeBand, SegmentPolicy>>;
  /** the fail mode per amount band when the velocity state is unavailable */
  readonly degradedFeaturesPolicy: readonly AmountBand[];
}

export interface ScoringConfig extends ScoringPolicyConfig {
  /** a score whose velocity state takes longer than this is answered in degraded mode */
  readonly featuresDeadlineMs: number;
  /** a score answers 503 when its decision is not recorded in Redis within this (docs/score-durability.md) */
  readonly recordDeadlineMs: number;
  /** a claimed transfer without a decision this long after its claim is completed by a retry */
  readonly claimLeaseMs: number;
  /** how long a transferId is remembered for idempotency */
  readonly idempotencyTtlSeconds: number;
  /** an occurredAt further than this in the future is rejected (clock skew allowance) */
  readonly maxFutureSkewSeconds: number;
  /** the scoring route refuses an occurredAt older than this many days (replay and training have no such bound) */
  readonly maxEventAgeDays: number;
}

export const SCORING_VARIABLES = [
  'RISK_WARN_AT',
  'RISK_COOL_OFF_AT',
  'RISK_BLOCK_AT',
  'COOLING_OFF_SECONDS',
  'RISK_WARN_AT_MINOR',
  'RISK_COOL_OFF_AT_MINOR',
  'RISK_BLOCK_AT_MINOR',
  'RISK_WARN_AT_ELDERLY',
  'RISK_COOL_OFF_AT_ELDERLY',
  'RISK_BLOCK_AT_ELDERLY',
  'COOLING_OFF_SECONDS_MINOR',
  'COOLING_OFF_SECONDS_ELDERLY',
  'DEGRADED_FEATURES_POLICY',
  'FEATURES_DEADLINE_MS',
  'RECORD_DEADLINE_MS',
  'CLAIM_LEASE_MS',
  'IDEMPOTENCY_TTL_SECONDS',
  'MAX_FUTURE_SKEW_SECONDS',
  'MAX_EVENT_AGE_DAYS',
] as const;

/**
 * The elderly's warn threshold unless RISK_WARN_AT_ELDERLY is set (never above RISK_WARN_AT).
 * Issue 6: tuned by `npm run eval:segments -- --payers 16000 --days 21 --sim-seed 3` (the
 * suggested RISK_WARN_AT_ELDERLY: the lowest elderly threshold that catches the most scams
 * against the elderly, and loses no other catch, within the alert budget and the 0.8-1.25
 * false-positive-rate ratio) and evaluated on another population, `--payers 8000 --days 21`
 * (seed 2): see docs/protection.md.
 */
export const ELDERLY_WARN_AT_DEFAULT = 10.02;

/** The policy for a payer of this age band; payers of unknown age get the general settings. */
export function segmentPolicy(policy: Pick<ScoringPolicyConfig, 'thresholds' | 'coolingOffSeconds' | 'segments'>, segment: AgeBand | null): SegmentPolicy {
  return segment === null ? { thresholds: policy.thresholds, coolingOffSeconds: policy.coolingOffSeconds } : policy.segments[segment];
}

function thresholdsFrom(env: Env, suffix: string, def: PolicyThresholds): PolicyThresholds {
  const t: PolicyThresholds = {
    warn: centesimal(env, `RISK_WARN_AT${suffix}`, def.warn, 1, 100),
    coolOff: centesimal(env, `RISK_COOL_OFF_AT${suffix}`, def.coolOff, 1, 100),
    block: centesimal(env, `RISK_BLOCK_AT${suffix}`, def.block, 1, 101),
  };
  if (!(t.warn <= t.coolOff && t.coolOff <= t.block)) {
    throw new ConfigError(`RISK_WARN_AT${suffix} <= RISK_COOL_OFF_AT${suffix} <= RISK_BLOCK_AT${suffix} must hold`);
  }
  return Object.freeze(t);
}

/** RISK_WARN_AT, RISK_COOL_OFF_AT, RISK_BLOCK_AT: the general thresholds (MODEL_EXPLAIN_FROM's default follows the warn one). */
export function generalThresholds(env: Env): PolicyThresholds {
  return thresholdsFrom(env, '', { warn: 30, coolOff: 60, block: 95 });
}

function policyFrom(env: Env): ScoringPolicyConfig {
  const thresholds = generalThresholds(env);
  const coolingOffSeconds = int(env, 'COOLING_OFF_SECONDS', 900, 1, 604_800);
  const segment = (band: AgeBand): SegmentPolicy => {
    if (band === 'adult') return Object.freeze({ thresholds, coolingOffSeconds });
    const suffix = `_${band.toUpperCase()}`;
    const inherited = band === 'elderly' ? { ...thresholds, warn: Math.min(thresholds.warn, ELDERLY_WARN_AT_DEFAULT) } : thresholds;
    return Object.freeze({
      thresholds: thresholdsFrom(env, suffix, inherited),
      coolingOffSeconds: int(env, `COOLING_OFF_SECONDS${suffix}`, coolingOffSeconds, 1, 604_800),
    });
  };
  const segments = Object.freeze(Object.fromEntries(AGE_BANDS.map((b) => [b, segment(b)])) as Record<AgeBand, SegmentPolicy>);
  return {
    thresholds,
    coolingOffSeconds,
    segments,
    degradedFeaturesPolicy: parseDegradedPolicy(env.DEGRADED_FEATURES_POLICY || '2000:allow,*:warn'),
  };
}

/**
 * @param modelDeadlineMs MODEL_DEADLINE_MS (src/model/model-config.ts): a live score holds its
 *   claim for at most its three deadlines, so CLAIM_LEASE_MS's default and bound follow it
 */
export function loadScoringConfig(env: Env, modelDeadlineMs: number): ScoringConfig {
  const policy = policyFrom(env);
  const featuresDeadlineMs = int(env, 'FEATURES_DEADLINE_MS', 100, 1, 60_000);
  const idempotencyTtlSeconds = int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 30 * 86_400);
  const recordDeadlineMs = int(env, 'RECORD_DEADLINE_MS', 500, 1, 60_000);
  const maxFutureSkewSeconds = int(env, 'MAX_FUTURE_SKEW_SECONDS', 300, 0, 86_400);
  const maxEventAgeDays = int(env, 'MAX_EVENT_AGE_DAYS', 30, 1, 36_500);
  const busyMs = featuresDeadlineMs + modelDeadlineMs + recordDeadlineMs;
  return Object.freeze({
    ...policy,
    featuresDeadlineMs,
    recordDeadlineMs,
    claimLeaseMs: claimLease(env, busyMs),
    idempotencyTtlSeconds,
    maxFutureSkewSeconds,
    maxEventAgeDays,
  });
}

/**
 * CLAIM_LEASE_MS, by default 5 s or, when the deadlines add up to more, their sum plus 1 s (so a
 * node configured with long deadlines still starts); a value set explicitly is checked: a lease
 * no longer than the three deadlines would let a retry decide a transfer its first request is
 * still deciding.
 */
function claimLease(env: Env, busyMs: number): number {
  const leaseMs = int(env, 'CLAIM_LEASE_MS', Math.max(5_000, busyMs + 1_000), 1, 3_600_000);
  if (leaseMs <= busyMs) {
    throw new ConfigError(`CLAIM_LEASE_MS (${leaseMs}) must exceed FEATURES_DEADLINE_MS + MODEL_DEADLINE_MS + RECORD_DEADLINE_MS (${busyMs})`);
  }
  return leaseMs;
}
