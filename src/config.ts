import path from 'node:path';
import { parseApiKeys, type ApiKeyEntry } from './api/api-keys.ts';
import type { Language } from './decision/warnings.ts';
import { AGE_BANDS, type AgeBand } from './features/catalogue.ts';

/**
 * Everything tunable, parsed once from the environment into a frozen object. Every variable
 * is listed in the README (`CONFIG_VARIABLES` below is the list the README table is checked
 * against). A malformed value stops start-up with a message naming the variable.
 */

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

export interface AgeBandLimits {
  /** a payer younger than this is a minor */
  readonly minorBelow: number;
  /** a payer this old or older is elderly */
  readonly elderlyFrom: number;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  /** unset: start a local redis-server with its data under `${dataDir}/redis` */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly dataDir: string;
  readonly rulesDir: string;
  readonly watchRules: boolean;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  readonly defaultLanguage: Language;
  /** thresholds for payers of unknown age and for adults unless overridden */
  readonly thresholds: PolicyThresholds;
  readonly coolingOffSeconds: number;
  readonly ageBands: AgeBandLimits;
  /** per age band; a band without its own settings inherits the general ones */
  readonly segments: Readonly<Record<AgeBand, SegmentPolicy>>;
  /** API keys as configured (hashed); empty: authentication is off (development mode) */
  readonly apiKeys: readonly ApiKeyEntry[];
  /** how long a transferId is remembered for idempotency */
  readonly idempotencyTtlSeconds: number;
  /** how long "payer has paid payee before" is remembered */
  readonly pairTtlDays: number;
  /** approximate bound on the decision stream length (XADD MAXLEN ~) */
  readonly decisionStreamMaxLen: number;
  /** an occurredAt further than this in the future is rejected (clock skew allowance) */
  readonly maxFutureSkewSeconds: number;
  /** distinct-account sets (fan-in) keep at most this many members per 24h */
  readonly distinctCap: number;
}

export const CONFIG_VARIABLES = [
  'HOST',
  'PORT',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'DATA_DIR',
  'RULES_DIR',
  'WATCH_RULES',
  'BODY_LIMIT_BYTES',
  'LOG_LEVEL',
  'DEFAULT_LANGUAGE',
  'RISK_WARN_AT',
  'RISK_COOL_OFF_AT',
  'RISK_BLOCK_AT',
  'COOLING_OFF_SECONDS',
  'MINOR_AGE_BELOW',
  'ELDERLY_AGE_FROM',
  'RISK_WARN_AT_MINOR',
  'RISK_COOL_OFF_AT_MINOR',
  'RISK_BLOCK_AT_MINOR',
  'RISK_WARN_AT_ELDERLY',
  'RISK_COOL_OFF_AT_ELDERLY',
  'RISK_BLOCK_AT_ELDERLY',
  'COOLING_OFF_SECONDS_MINOR',
  'COOLING_OFF_SECONDS_ELDERLY',
  'API_KEYS',
  'IDEMPOTENCY_TTL_SECONDS',
  'PAIR_TTL_DAYS',
  'DECISION_STREAM_MAXLEN',
  'MAX_FUTURE_SKEW_SECONDS',
  'DISTINCT_CAP',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function thresholdsFrom(env: Env, suffix: string, def: PolicyThresholds): PolicyThresholds {
  const t: PolicyThresholds = {
    warn: int(env, `RISK_WARN_AT${suffix}`, def.warn, 1, 100),
    coolOff: int(env, `RISK_COOL_OFF_AT${suffix}`, def.coolOff, 1, 100),
    block: int(env, `RISK_BLOCK_AT${suffix}`, def.block, 1, 101),
  };
  if (!(t.warn <= t.coolOff && t.coolOff <= t.block)) {
    throw new ConfigError(`RISK_WARN_AT${suffix} <= RISK_COOL_OFF_AT${suffix} <= RISK_BLOCK_AT${suffix} must hold`);
  }
  return Object.freeze(t);
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const dataDir = path.resolve(cwd, env.DATA_DIR || 'data');
  const lang = env.DEFAULT_LANGUAGE || 'en';
  if (lang !== 'en' && lang !== 'zh') {
    throw new ConfigError(`DEFAULT_LANGUAGE must be en or zh, got "${lang}"`);
  }
  const thresholds = thresholdsFrom(env, '', { warn: 30, coolOff: 60, block: 95 });
  const coolingOffSeconds = int(env, 'COOLING_OFF_SECONDS', 900, 1, 604_800);
  const ageBands: AgeBandLimits = Object.freeze({
    minorBelow: int(env, 'MINOR_AGE_BELOW', 18, 1, 30),
    elderlyFrom: int(env, 'ELDERLY_AGE_FROM', 60, 40, 120),
  });
  const segment = (band: AgeBand): SegmentPolicy => {
    if (band === 'adult') return Object.freeze({ thresholds, coolingOffSeconds });
    const suffix = `_${band.toUpperCase()}`;
    return Object.freeze({
      thresholds: thresholdsFrom(env, suffix, thresholds),
      coolingOffSeconds: int(env, `COOLING_OFF_SECONDS${suffix}`, coolingOffSeconds, 1, 604_800),
    });
  };
  const segments = Object.freeze(
    Object.fromEntries(AGE_BANDS.map((b) => [b, segment(b)])) as Record<AgeBand, SegmentPolicy>,
  );
  return Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, 0, 65_535),
    redisUrl: env.REDIS_URL || undefined,
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'cp:',
    dataDir,
    rulesDir: path.resolve(cwd, env.RULES_DIR || 'rules'),
    watchRules: bool(env, 'WATCH_RULES', true),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 16_384, 1_024, 10_485_760),
    logLevel: env.LOG_LEVEL || 'info',
    defaultLanguage: lang,
    thresholds,
    coolingOffSeconds,
    ageBands,
    segments,
    apiKeys: parseApiKeys(env.API_KEYS),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    pairTtlDays: int(env, 'PAIR_TTL_DAYS', 400, 1, 3_650),
    decisionStreamMaxLen: int(env, 'DECISION_STREAM_MAXLEN', 200_000, 1_000, 100_000_000),
    maxFutureSkewSeconds: int(env, 'MAX_FUTURE_SKEW_SECONDS', 300, 0, 86_400),
    distinctCap: int(env, 'DISTINCT_CAP', 10_000, 10, 1_000_000),
  });
}
