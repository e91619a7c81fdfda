import type { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../config.ts';
import { lifecycleSettings } from '../config-wiring.ts';
import { Lifecycle } from '../cooling/lifecycle.ts';
import { jsonLog } from '../cooling/log.ts';
import { loadRuleDir } from '../rules/language/index.ts';
import { RuleVersionFollower } from '../rules/versions/rule-version-follower.ts';
import { closeWithin, onStopSignals, watchLauncher } from '../process-lifetime.ts';
import { makeKeys } from '../store/keys.ts';
import { clusterRefusal } from '../store/key-slots.ts';
import { plainIds, storedIds } from '../store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisRole } from '../store/redis-connections.ts';
import { build } from '../lifetime.ts';

/**
 * `npm run worker`: the lifecycle worker alone (cooling-off timers, the outbox relay, sweeps,
 * webhook and notification deliveries), so it scales apart from the API. Run any number of
 * them; run the API with RUN_WORKER=false to keep it out of the API process.
 *
 * It needs REDIS_URL (the Redis the API uses) and the same REDIS_KEY_PREFIX and lifecycle
 * settings. SIGTERM / SIGINT: stop taking work, finish the jobs in hand, exit 0; when that takes
 * longer than SHUTDOWN_TIMEOUT_MS (a Redis that is gone: BullMQ and ioredis wait on reconnects),
 * log what did not close and exit 1. A second signal exits at once. The worker also stops when
 * the process that launched it dies (src/process-lifetime.ts).
 *
 * Rules (the end-of-hold re-check): the active rule version the API nodes serve, read from
 * Redis (the API stores its files beside the version pointer) and followed through pub/sub
 * and a poll every RULES_POLL_MS (src/rules/versions/rule-version-follower.ts). The worker opens no SQL
 * connection: with the default embedded PGlite it could not (single-process). Only while no
 * API node has announced a version does it use the rule files in RULES_DIR; it does not watch
 * them (an API node with WATCH_RULES publishes file edits as versions, which reach it).
 */

async function main(): Promise<void> {
  // watched from the first moment: npm may die while the worker is still starting
  let onLauncherGone = (why: string): void => {
    console.error(`calmpay worker: launcher gone (${why}) during start-up: exiting`);
    process.exit(1);
  };
  watchLauncher((why) => onLauncherGone(why));
  const config = loadConfig();
  if (config.store.redisCluster !== null) throw new ConfigError(clusterRefusal(makeKeys(config.store.redisKeyPrefix, plainIds, { cluster: true })));
  const redisUrl = config.store.redisUrl;
  if (redisUrl === undefined) {
    throw new ConfigError('npm run worker needs REDIS_URL: the Redis of the API it works for');
  }
  const log = jsonLog('calmpay-worker', config.process.logLevel);
  const { lifetime, follower } = await build(log, async (lifetime) => {
    const connections = new RedisConnections(redisUrl, config.store.storeDeadlineMs);
    const open = async (role: RedisRole, name: string): Promise<Redis> => {
      const redis = lifetime.opened(name, connections.create(role), closeRedis);
      await redis.connect().catch((err: Error) => {
        throw new ConfigError(`Cannot connect to Redis at ${redisUrl}: ${err.message}`);
      });
      return redis;
    };
    const redis = await open('lifecycle', 'Redis connection');
    // every connection has an error listener: without one ioredis prints each reconnect failure
    redis.on('error', (err: Error) => log.warn({ err }, 'worker: Redis connection error (reconnecting)'));
    const subscriber = await open('subscriber', 'Redis subscriber connection');
    const keys = makeKeys(config.store.redisKeyPrefix, storedIds(config.store.idHashKey));
    const follower = lifetime.opened(
      'rule version follower',
      await RuleVersionFollower.start({
        redis,
        subscriber,
        keys,
        pollMs: config.ruleVersions.pollMs,
        log,
        fallback: () => loadRuleDir(config.ruleFiles.dir),
        fallbackDir: config.ruleFiles.dir,
      }).catch((err: Error) => {
        throw new ConfigError(`Cannot load the rule set: ${err.message}`);
      }),
      (f) => f.close(),
    );
    const rules = follower.rules;
    const lifecycle = lifetime.opened(
      'lifecycle worker (BullMQ workers, outbox relay, queues)',
      new Lifecycle({ ...lifecycleSettings(config), redis, connections, keys, ruleSet: () => rules.current, clock: Date.now, log }),
      (l) => l.close(),
    );
    lifetime.loop('lifecycle worker', () => lifecycle.startWorker());
    return { lifetime, follower };
  });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, deadlineMs: config.process.shutdownTimeoutMs }, 'draining: finishing the jobs in hand');
    const closed = await closeWithin(lifetime.closingOrder(), config.process.shutdownTimeoutMs, log);
    if (closed) log.info({}, 'worker stopped');
    process.exit(closed ? 0 : 1);
  };
  onStopSignals((signal) => void stop(signal), log);
  onLauncherGone = (why) => void stop(`launcher gone: ${why}`);
  await lifetime.start();
  log.info({ pid: process.pid, rules: follower.rules.current.version, ruleVersionId: follower.version?.versionId ?? null, redis: redisUrl }, 'worker ready');
}

main().catch((err: unknown) => {
  console.error(`calmpay worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
