import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountRoutes } from './accounts/account-routes.ts';
import { GuardianStore } from './accounts/guardian-store.ts';
import { ApiKeyRing } from './api/api-keys.ts';
import { ScoreService } from './api/score-service.ts';
import { buildServer } from './api/server.ts';
import type { Config } from './config.ts';
import { loadRuleDir, watchRuleDir, type RuleError, type RuleSet } from './rules/index.ts';
import { RuleReasons } from './rules/rule-reasons.ts';
import { FeatureStore } from './store/feature-store.ts';
import { makeKeys } from './store/keys.ts';

/**
 * The one wiring place: everything is built here from a parsed, frozen config. No
 * module-level singletons. `buildApp` does not listen, so tests use `server.inject()`.
 */

export interface ActiveRules {
  readonly current: RuleSet;
  /** errors of the latest rejected edit, null when the latest load succeeded */
  readonly lastErrors: readonly RuleError[] | null;
}

export interface App {
  readonly server: FastifyInstance;
  readonly redis: Redis;
  readonly rules: ActiveRules;
  close(): Promise<void>;
}

export interface AppOverrides {
  /** ms since the epoch, for tests that control "now" */
  readonly clock?: () => number;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

export function formatRuleErrors(errors: readonly RuleError[]): string {
  return errors
    .map((e) => `${e.file ?? '(rules)'}:${e.line}:${e.column}${e.ruleId ? ` [${e.ruleId}]` : ''} ${e.message}`)
    .join('\n');
}

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  if (config.redisUrl === undefined) {
    throw new StartupError('buildApp needs a REDIS_URL (npm start starts a local redis-server when it is unset)');
  }
  const loaded = await loadRuleDir(config.rulesDir);
  if (!loaded.ok) {
    throw new StartupError(`The rule set in ${config.rulesDir} is invalid:\n${formatRuleErrors(loaded.errors)}`);
  }
  const rules: { current: RuleSet; lastErrors: readonly RuleError[] | null } = {
    current: loaded.ruleSet,
    lastErrors: null,
  };
  const reasons = new RuleReasons();
  reasons.remember(loaded.ruleSet);

  const redis = new Redis(config.redisUrl, {
    // measured with npm run bench: auto-pipelining batches the score scripts of concurrent
    // requests into lock-step rounds (Redis busy while Node waits, then the reverse) and
    // lowered throughput; decision writes are batched by FeatureStore instead
    enableAutoPipelining: false,
    // a score must fail fast (503) rather than queue behind a dead connection
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    throw new StartupError(`Cannot connect to Redis at ${config.redisUrl}: ${err.message}`);
  });

  let server: FastifyInstance | undefined;
  const keys = makeKeys(config.redisKeyPrefix);
  const clock = overrides.clock ?? Date.now;
  const apiKeys = new ApiKeyRing(config.apiKeys);
  const store = new FeatureStore(redis, keys, config, (err) =>
    server?.log.error({ err }, 'recording a decision in Redis failed'),
  );
  const service = new ScoreService({
    config,
    store,
    ruleSet: () => rules.current,
    clock,
    sleep: (ms) => sleep(ms),
  });
  server = await buildServer({
    bodyLimitBytes: config.bodyLimitBytes,
    logLevel: config.logLevel,
    defaultLanguage: config.defaultLanguage,
    service,
    reasons: (version, ruleId) => reasons.lookup(version, ruleId),
    apiKeys,
    readiness: [
      {
        name: 'redis',
        check: async () => ({ ready: (await redis.ping()) === 'PONG', detail: config.redisUrl ?? '' }),
      },
      {
        name: 'auth',
        check: async () => ({
          ready: true,
          detail: apiKeys.enabled ? `${config.apiKeys.length} API keys` : 'off: API_KEYS is not set (development mode)',
        }),
      },
      {
        // a rejected edit keeps the previous set serving, so the node stays ready
        name: 'rules',
        check: async () => ({
          ready: true,
          detail:
            rules.lastErrors === null
              ? `${rules.current.version} (${rules.current.rules.length} rules)`
              : `${rules.current.version}; the latest edit was rejected (${rules.lastErrors.length} errors)`,
        }),
      },
    ],
  });
  accountRoutes(server, { guardians: new GuardianStore(redis, keys), clock });
  const log = server.log;
  if (!apiKeys.enabled) log.warn('API_KEYS is not set: authentication is OFF (development mode); every route is open');
  log.info({ version: rules.current.version, rules: rules.current.rules.length }, 'rule set loaded');

  const watcher = config.watchRules
    ? watchRuleDir(config.rulesDir, {
        onLoad: (ruleSet) => {
          reasons.remember(ruleSet);
          rules.current = ruleSet;
          rules.lastErrors = null;
          log.info({ version: ruleSet.version, rules: ruleSet.rules.length }, 'rule set reloaded');
        },
        onError: (errors) => {
          rules.lastErrors = errors;
          log.error(`rule edit rejected, keeping ${rules.current.version}:\n${formatRuleErrors(errors)}`);
        },
      })
    : null;

  const app = server;
  return {
    server: app,
    redis,
    rules,
    async close() {
      watcher?.close();
      await app.close();
      await store.drain();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
