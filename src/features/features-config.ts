/**
 * Configuration of the features (src/features): the age bands of the vector and the bounds of
 * the velocity state in Redis. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import { int, type Env } from '../config-env.ts';
import type { AgeBandBounds } from './build-vector.ts';
import { DEFAULT_REPORT_HALF_LIFE_HOURS } from './report-age.ts';

export interface FeaturesConfig {
  /** a payer younger than minorBelow is a minor; one elderlyFrom or older is elderly */
  readonly ageBands: AgeBandBounds;
  /** how long "payer has paid payee before" is remembered */
  readonly pairTtlDays: number;
  /** distinct-account sets (fan-in) keep at most this many members per 24h */
  readonly distinctCap: number;
  /** the half-life of a scam report's weight (payee.reports_decayed, payee.report_weight) */
  readonly reportHalfLifeHours: number;
}

export const FEATURES_VARIABLES = ['MINOR_AGE_BELOW', 'ELDERLY_AGE_FROM', 'PAIR_TTL_DAYS', 'DISTINCT_CAP', 'REPORT_HALF_LIFE_HOURS'] as const;

export function loadFeaturesConfig(env: Env): FeaturesConfig {
  return Object.freeze({
    ageBands: Object.freeze({
      minorBelow: int(env, 'MINOR_AGE_BELOW', 18, 1, 30),
      elderlyFrom: int(env, 'ELDERLY_AGE_FROM', 60, 40, 120),
    }),
    pairTtlDays: int(env, 'PAIR_TTL_DAYS', 400, 1, 3_650),
    distinctCap: int(env, 'DISTINCT_CAP', 10_000, 10, 1_000_000),
    reportHalfLifeHours: int(env, 'REPORT_HALF_LIFE_HOURS', DEFAULT_REPORT_HALF_LIFE_HOURS, 1, 87_600),
  });
}
