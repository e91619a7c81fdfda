/**
 * Configuration of the transfer lifecycle (issue 4), parsed from the environment by
 * src/config.ts's loadConfig into `config.lifecycle`. Kept here so the lifecycle's variables
 * live beside the code that reads them; src/config.ts lists them in CONFIG_VARIABLES.
 *
 * This module must not import src/config.ts (config.ts imports it).
 */
import { bool, ConfigError, int, type Env } from '../config-env.ts';

export interface LifecycleConfig {
  /** a confirmed `warn` transfer with riskScore at or above this is held like a `cool_off` one */
  readonly holdRiskAt: number;
  /** a warning not answered within this long ends the transfer as ABANDONED */
  readonly warningExpirySeconds: number;
  /** where lifecycle events are POSTed; unset: events are not delivered */
  readonly webhookUrl: string | undefined;
  /** HMAC-SHA256 key of webhook and notification signatures */
  readonly webhookSecret: string | undefined;
  /** delivery attempts per webhook or notification before it is dead-lettered */
  readonly webhookAttempts: number;
  /** first retry delay; doubles with every attempt */
  readonly webhookBackoffMs: number;
  /** where voice warnings (the spoken script) are POSTed; unset: none are sent */
  readonly voiceUrl: string | undefined;
  /** where trusted-contact notices are POSTed when an elderly payer's hold starts; unset: none */
  readonly trustedContactUrl: string | undefined;
  /** run the lifecycle worker (timers, sweeps, deliveries) inside `npm start` */
  readonly runWorker: boolean;
  /** cooling-off timers (and deliveries) one worker processes at a time */
  readonly workerConcurrency: number;
}

export const LIFECYCLE_VARIABLES = [
  'HOLD_RISK_AT',
  'WARNING_EXPIRY_SECONDS',
  'WEBHOOK_URL',
  'WEBHOOK_SECRET',
  'WEBHOOK_ATTEMPTS',
  'WEBHOOK_BACKOFF_MS',
  'VOICE_URL',
  'TRUSTED_CONTACT_URL',
  'RUN_WORKER',
  'WORKER_CONCURRENCY',
] as const;

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return parsed.toString();
}

const MIN_SECRET_LENGTH = 16;

export function loadLifecycleConfig(env: Env): LifecycleConfig {
  const webhookUrl = url(env, 'WEBHOOK_URL');
  const voiceUrl = url(env, 'VOICE_URL');
  const trustedContactUrl = url(env, 'TRUSTED_CONTACT_URL');
  const webhookSecret = env.WEBHOOK_SECRET || undefined;
  const anyTarget = webhookUrl ?? voiceUrl ?? trustedContactUrl;
  if (anyTarget !== undefined && webhookSecret === undefined) {
    throw new ConfigError('WEBHOOK_SECRET must be set when WEBHOOK_URL, VOICE_URL or TRUSTED_CONTACT_URL is (every delivery is signed)');
  }
  if (webhookSecret !== undefined && webhookSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`WEBHOOK_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return Object.freeze({
    holdRiskAt: int(env, 'HOLD_RISK_AT', 45, 0, 101),
    warningExpirySeconds: int(env, 'WARNING_EXPIRY_SECONDS', 1_800, 1, 7 * 86_400),
    webhookUrl,
    webhookSecret,
    webhookAttempts: int(env, 'WEBHOOK_ATTEMPTS', 8, 1, 50),
    webhookBackoffMs: int(env, 'WEBHOOK_BACKOFF_MS', 1_000, 1, 3_600_000),
    voiceUrl,
    trustedContactUrl,
    runWorker: bool(env, 'RUN_WORKER', true),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 50, 1, 1_000),
  });
}
