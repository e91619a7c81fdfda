import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../config.ts';
import { Lifecycle } from '../cooling/lifecycle.ts';
import { jsonLog } from '../cooling/log.ts';
import { formatRuleError, loadRuleDir, watchRuleDir, type RuleError, type RuleSet } from '../rules/index.ts';
import { makeKeys } from '../store/keys.ts';
import { storedIds } from '../store/pseudonyms.ts';

/**
 * `npm run worker`: the lifecycle worker alone (cooling-off timers, the outbox relay, sweeps,
 * webhook and notification deliveries), so it scales apart from the API. Run any number of
 * them; run the API with RUN_WORKER=false to keep it out of the API process.
 *
 * It needs REDIS_URL (the Redis the API uses) and the same REDIS_KEY_PREFIX, rules and
 * lifecycle settings. SIGTERM / SIGINT: stop taking work, finish the jobs in hand, exit 0.
 */
// not src/app.ts's: importing the app would load the whole API (fastify, SQL) into the worker
const formatRuleErrors = (errors: readonly RuleError[]): string => errors.map(formatRuleError).join('\n');

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.redisUrl === undefined) {
    throw new ConfigError('npm run worker needs REDIS_URL: the Redis of the API it works for');
  }
  const log = jsonLog('calmpay-worker', config.logLevel);
  const loaded = await loadRuleDir(config.rulesDir);
  if (!loaded.ok) throw new ConfigError(`The rule set in ${config.rulesDir} is invalid:\n${formatRuleErrors(loaded.errors)}`);
  const rules: { current: RuleSet } = { current: loaded.ruleSet };
  const watcher = config.watchRules
    ? watchRuleDir(config.rulesDir, {
        onLoad: (ruleSet) => {
          rules.current = ruleSet;
          log.info({ version: ruleSet.version }, 'rule set reloaded');
        },
        onError: (errors) => log.error({ errors: errors.length }, `rule edit rejected, keeping ${rules.current.version}:\n${formatRuleErrors(errors)}`),
      })
    : null;

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 20, lazyConnect: true });
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    throw new ConfigError(`Cannot connect to Redis at ${config.redisUrl}: ${err.message}`);
  });
  const lifecycle = new Lifecycle({
    config,
    redis,
    keys: makeKeys(config.redisKeyPrefix, storedIds(config.idHashKey)),
    ruleSet: () => rules.current,
    clock: Date.now,
    log,
  });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining: finishing the jobs in hand');
    watcher?.close();
    await lifecycle.close();
    await redis.quit().catch(() => redis.disconnect());
    log.info({}, 'worker stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await lifecycle.startWorker();
  log.info({ pid: process.pid, rules: rules.current.version, redis: config.redisUrl }, 'worker ready');
}

main().catch((err: unknown) => {
  console.error(`calmpay worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
