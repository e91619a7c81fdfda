/**
 * Configuration of the HTTP server (src/http): where it listens, what it accepts, who may call
 * it. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import { int, type Env } from '../config-env.ts';
import { parseApiKeys, type ApiKeyEntry } from './api-keys.ts';

export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  /** API keys as configured (hashed); empty: authentication is off (development mode) */
  readonly apiKeys: readonly ApiKeyEntry[];
  /** a request whose body has not fully arrived after this long is answered 408 (slow clients) */
  readonly requestTimeoutMs: number;
}

export const HTTP_VARIABLES = ['HOST', 'PORT', 'BODY_LIMIT_BYTES', 'API_KEYS', 'REQUEST_TIMEOUT_MS'] as const;

export function loadHttpConfig(env: Env): HttpConfig {
  return Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: int(env, 'PORT', 3000, 0, 65_535),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 16_384, 1_024, 10_485_760),
    apiKeys: parseApiKeys(env.API_KEYS),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
  });
}
