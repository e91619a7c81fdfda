import path from 'node:path';
import type { Language } from './decision/warnings.ts';

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
  readonly thresholds: PolicyThresholds;
  readonly coolingOffSeconds: number;
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

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const dataDir = path.resolve(cwd, env.DATA_DIR || 'data');
  const lang = env.DEFAULT_LANGUAGE || 'en';
  if (lang !== 'en' && lang !== 'zh') {
    throw new ConfigError(`DEFAULT_LANGUAGE must be en or zh, got "${lang}"`);
  }
  const thresholds: PolicyThresholds = {
    warn: int(env, 'RISK_WARN_AT', 30, 1, 100),
    coolOff: int(env, 'RISK_COOL_OFF_AT', 60, 1, 100),
    block: int(env, 'RISK_BLOCK_AT', 95, 1, 101),
  };
  if (!(thresholds.warn <= thresholds.coolOff && thresholds.coolOff <= thresholds.block)) {
    throw new ConfigError('RISK_WARN_AT <= RISK_COOL_OFF_AT <= RISK_BLOCK_AT must hold');
  }
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
    thresholds: Object.freeze(thresholds),
    coolingOffSeconds: int(env, 'COOLING_OFF_SECONDS', 900, 1, 604_800),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    pairTtlDays: int(env, 'PAIR_TTL_DAYS', 400, 1, 3_650),
    decisionStreamMaxLen: int(env, 'DECISION_STREAM_MAXLEN', 200_000, 1_000, 100_000_000),
    maxFutureSkewSeconds: int(env, 'MAX_FUTURE_SKEW_SECONDS', 300, 0, 86_400),
    distinctCap: int(env, 'DISTINCT_CAP', 10_000, 10, 1_000_000),
  });
}
