import path from 'node:path';
import { bool, centesimal, ConfigError, int, type Env } from './config-env.ts';
import { parseApiKeys, type ApiKeyEntry } from './http/api-keys.ts';
import type { Language } from './i18n/language.ts';
import { parseDegradedPolicy, type AmountBand } from './scoring/degraded-policy.ts';
import { parseIdHashKey } from './store/pseudonyms.ts';
import { parseClusterNodes, type RedisClusterTarget } from './store/redis-target.ts';
import { AGE_BANDS, type AgeBand } from './features/catalogue.ts';
import { LIFECYCLE_VARIABLES, loadLifecycleConfig, type LifecycleConfig } from './cooling/lifecycle-config.ts';
import { RULE_VERSION_VARIABLES, loadRuleVersionsConfig, type RuleVersionsConfig } from './rules/versions/rule-versions-config.ts';

/**
 * Everything tunable, parsed once from the environment into a frozen object. Every variable
 * is listed in docs/configuration.md (`CONFIG_VARIABLES` below is the list its table is
 * checked against). A malformed value stops start-up with a message naming the variable.
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

export interface ModelConfig {
  readonly dir: string;
  readonly watch: boolean;
  /** a score the model has not answered within this is decided by the rules alone */
  readonly deadlineMs: number;
  /** rows per onnxruntime run at most */
  readonly maxBatch: number;
  /** explain (top factors) scores at or above this probability */
  readonly explainFrom: number;
}

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
export function segmentPolicy(config: Config, segment: AgeBand | null): SegmentPolicy {
  return segment === null ? { thresholds: config.thresholds, coolingOffSeconds: config.coolingOffSeconds } : config.segments[segment];
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
  /** REDIS_CLUSTER_NODES: a Redis Cluster instead of one Redis (src/store/redis-target.ts); null: unset */
  readonly redisCluster: RedisClusterTarget | null;
  readonly redisKeyPrefix: string;
  /** ACCOUNT_ID_HASH_KEY: account and device ids are stored in Redis as keyed hashes; null: as they are */
  readonly idHashKey: Buffer | null;
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
  /** a request whose body has not fully arrived after this long is answered 408 (slow clients) */
  readonly requestTimeoutMs: number;
  /** the model: newest loadable `<name>-<version>.onnx` + `.json` in modelsDir */
  readonly model: ModelConfig;
  /** a score whose velocity state takes longer than this is answered in degraded mode */
  readonly featuresDeadlineMs: number;
  /**
   * every Redis command and SQL query of a request answers or fails within this (503), and
   * /readyz answers within it; the score's own, shorter deadline is featuresDeadlineMs
   */
  readonly storeDeadlineMs: number;
  /** the fail mode per amount band when the velocity state is unavailable */
  readonly degradedFeaturesPolicy: readonly AmountBand[];
  /** how long a transferId is remembered for idempotency */
  readonly idempotencyTtlSeconds: number;
  /** a score answers 503 when its decision is not recorded in Redis within this (docs/score-durability.md) */
  readonly recordDeadlineMs: number;
  /** a claimed transfer without a decision this long after its claim is completed by a retry */
  readonly claimLeaseMs: number;
  /** how long "payer has paid payee before" is remembered */
  readonly pairTtlDays: number;
  /** approximate bound on the decision stream length (XADD MAXLEN ~) */
  readonly decisionStreamMaxLen: number;
  /** an occurredAt further than this in the future is rejected (clock skew allowance) */
  readonly maxFutureSkewSeconds: number;
  /** the scoring route refuses an occurredAt older than this many days (replay and training have no such bound) */
  readonly maxEventAgeDays: number;
  /** distinct-account sets (fan-in) keep at most this many members per 24h */
  readonly distinctCap: number;
  /** the SQL store (case library, decision history): Postgres, or PGlite under `${dataDir}/pglite` */
  readonly sql: SqlConfig;
  /** the transfer lifecycle: holds, warning expiry, webhooks, notifications, worker (src/cooling) */
  readonly lifecycle: LifecycleConfig;
  /** rule versions: four-eyes, the version poll, the safety cap (src/rules/versions/rule-versions-config.ts) */
  readonly ruleVersions: RuleVersionsConfig;
  /** bounds on the work a rules:write client can ask of a node (backtests, shadow statistics) */
  readonly backtest: BacktestConfig;
  /** SIGTERM / SIGINT / launcher gone: close gracefully, then exit anyway after this long (src/process-lifetime.ts) */
  readonly shutdownTimeoutMs: number;
}

export interface BacktestConfig {
  /** backtest jobs queued or running on one node at once; POST /v1/rules/backtest beyond it is a 429 */
  readonly maxJobs: number;
  /** the longest window a backtest may replay, days */
  readonly maxWindowDays: number;
  /** the longest window GET /v1/rules/shadow may aggregate, days */
  readonly shadowMaxWindowDays: number;
}

export const CONFIG_VARIABLES = [
  'HOST',
  'PORT',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_KEY_PREFIX',
  'ACCOUNT_ID_HASH_KEY',
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
  'FEATURES_DEADLINE_MS',
  'STORE_DEADLINE_MS',
  'MODELS_DIR',
  'WATCH_MODELS',
  'MODEL_DEADLINE_MS',
  'MODEL_MAX_BATCH',
  'MODEL_EXPLAIN_FROM',
  'REQUEST_TIMEOUT_MS',
  'DEGRADED_FEATURES_POLICY',
  'IDEMPOTENCY_TTL_SECONDS',
  'RECORD_DEADLINE_MS',
  'CLAIM_LEASE_MS',
  'PAIR_TTL_DAYS',
  'DECISION_STREAM_MAXLEN',
  'MAX_FUTURE_SKEW_SECONDS',
  'MAX_EVENT_AGE_DAYS',
  'DISTINCT_CAP',
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'REPORT_TTL_DAYS',
  'DECISION_SINK',
  'SINK_BATCH_SIZE',
  'DECISION_RETENTION_DAYS',
  'LABEL_MATURITY_DAYS',
  'BACKTEST_MAX_JOBS',
  'BACKTEST_MAX_WINDOW_DAYS',
  'SHADOW_STATS_MAX_WINDOW_DAYS',
  'SHUTDOWN_TIMEOUT_MS',
  ...LIFECYCLE_VARIABLES,
  ...RULE_VERSION_VARIABLES,
] as const;

export { ConfigError };

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

export interface SqlConfig {
  /** unset: embedded PGlite in `pgliteDir` */
  readonly databaseUrl: string | undefined;
  /** schema to create and use; unset: the server's default search_path */
  readonly schema: string | undefined;
  readonly pgliteDir: string;
  /** a payee's report flags in Redis expire this long after its latest report */
  readonly reportTtlDays: number;
  /** copy the decision stream into SQL inside this process */
  readonly decisionSink: boolean;
  /** stream entries per read and rows per insert */
  readonly sinkBatchSize: number;
  /** decisions older than this (by occurredAt) are deleted from SQL */
  readonly decisionRetentionDays: number;
  /** a decision younger than this has no settled label yet (cases:export leaves it out) */
  readonly labelMaturityDays: number;
}

function sqlConfig(env: Env, dataDir: string): SqlConfig {
  const schema = env.DATABASE_SCHEMA || undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(`DATABASE_SCHEMA must be a lower-case identifier (a-z, 0-9, _), got "${schema}"`);
  }
  return Object.freeze({
    databaseUrl: env.DATABASE_URL || undefined,
    schema,
    pgliteDir: path.join(dataDir, 'pglite'),
    reportTtlDays: int(env, 'REPORT_TTL_DAYS', 400, 1, 3_650),
    decisionSink: bool(env, 'DECISION_SINK', true),
    sinkBatchSize: int(env, 'SINK_BATCH_SIZE', 500, 1, 10_000),
    decisionRetentionDays: int(env, 'DECISION_RETENTION_DAYS', 400, 1, 3_650),
    labelMaturityDays: int(env, 'LABEL_MATURITY_DAYS', 30, 0, 365),
  });
}

/**
 * A backtest reads every decision of its window, and the shadow statistics aggregate them in one
 * query of the request, so both windows are bounded. The defaults never exceed what is kept
 * (DECISION_RETENTION_DAYS): a longer window would read nothing more.
 */
function backtestConfig(env: Env, retentionDays: number): BacktestConfig {
  return Object.freeze({
    maxJobs: int(env, 'BACKTEST_MAX_JOBS', 4, 1, 1_000),
    maxWindowDays: int(env, 'BACKTEST_MAX_WINDOW_DAYS', Math.min(90, retentionDays), 1, 3_650),
    shadowMaxWindowDays: int(env, 'SHADOW_STATS_MAX_WINDOW_DAYS', Math.min(31, retentionDays), 1, 3_650),
  });
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
    const inherited = band === 'elderly' ? { ...thresholds, warn: Math.min(thresholds.warn, ELDERLY_WARN_AT_DEFAULT) } : thresholds;
    return Object.freeze({
      thresholds: thresholdsFrom(env, suffix, inherited),
      coolingOffSeconds: int(env, `COOLING_OFF_SECONDS${suffix}`, coolingOffSeconds, 1, 604_800),
    });
  };
  const segments = Object.freeze(
    Object.fromEntries(AGE_BANDS.map((b) => [b, segment(b)])) as Record<AgeBand, SegmentPolicy>,
  );
  const sql = sqlConfig(env, dataDir);
  const config: Config = Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, 0, 65_535),
    redisUrl: env.REDIS_URL || undefined,
    redisCluster: redisCluster(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'cp:',
    idHashKey: parseIdHashKey(env.ACCOUNT_ID_HASH_KEY),
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
    featuresDeadlineMs: int(env, 'FEATURES_DEADLINE_MS', 100, 1, 60_000),
    storeDeadlineMs: int(env, 'STORE_DEADLINE_MS', 2_000, 10, 600_000),
    model: Object.freeze({
      dir: path.resolve(cwd, env.MODELS_DIR || 'models'),
      watch: bool(env, 'WATCH_MODELS', true),
      deadlineMs: int(env, 'MODEL_DEADLINE_MS', 20, 1, 10_000),
      maxBatch: int(env, 'MODEL_MAX_BATCH', 256, 1, 65_536),
      explainFrom: int(env, 'MODEL_EXPLAIN_FROM', thresholds.warn, 0, 100) / 100,
    }),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
    degradedFeaturesPolicy: parseDegradedPolicy(env.DEGRADED_FEATURES_POLICY || '2000:allow,*:warn'),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    recordDeadlineMs: int(env, 'RECORD_DEADLINE_MS', 500, 1, 60_000),
    claimLeaseMs: 0, // set below: its default follows the deadlines
    pairTtlDays: int(env, 'PAIR_TTL_DAYS', 400, 1, 3_650),
    decisionStreamMaxLen: int(env, 'DECISION_STREAM_MAXLEN', 200_000, 1_000, 100_000_000),
    maxFutureSkewSeconds: int(env, 'MAX_FUTURE_SKEW_SECONDS', 300, 0, 86_400),
    maxEventAgeDays: int(env, 'MAX_EVENT_AGE_DAYS', 30, 1, 36_500),
    distinctCap: int(env, 'DISTINCT_CAP', 10_000, 10, 1_000_000),
    sql,
    lifecycle: loadLifecycleConfig(env),
    ruleVersions: loadRuleVersionsConfig(env),
    backtest: backtestConfig(env, sql.decisionRetentionDays),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
  });
  return checkClaimLease(Object.freeze({ ...config, claimLeaseMs: claimLease(env, config) }));
}

/** REDIS_CLUSTER_NODES, which excludes REDIS_URL (one Redis or a cluster, not both). */
function redisCluster(env: Env): RedisClusterTarget | null {
  const cluster = parseClusterNodes(env.REDIS_CLUSTER_NODES);
  if (cluster !== null && env.REDIS_URL) {
    throw new ConfigError('REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a cluster');
  }
  return cluster;
}

/**
 * CLAIM_LEASE_MS, by default 5 s or, when the deadlines add up to more, their sum plus 1 s (so a
 * node configured with long deadlines still starts); a value set explicitly is checked.
 */
function claimLease(env: Env, c: Config): number {
  const busyMs = c.featuresDeadlineMs + c.model.deadlineMs + c.recordDeadlineMs;
  return int(env, 'CLAIM_LEASE_MS', Math.max(5_000, busyMs + 1_000), 1, 3_600_000);
}

/**
 * A live score holds its claim at most for its three deadlines; a lease no longer than that
 * would let a retry decide a transfer its first request is still deciding.
 */
function checkClaimLease(c: Config): Config {
  const busyMs = c.featuresDeadlineMs + c.model.deadlineMs + c.recordDeadlineMs;
  if (c.claimLeaseMs <= busyMs) {
    throw new ConfigError(
      `CLAIM_LEASE_MS (${c.claimLeaseMs}) must exceed FEATURES_DEADLINE_MS + MODEL_DEADLINE_MS + RECORD_DEADLINE_MS (${busyMs})`,
    );
  }
  return c;
}
