import { ConfigError, loadConfig } from '../config.ts';
import { lifecycleSettings } from '../config-wiring.ts';
import { Lifecycle } from '../cooling/lifecycle.ts';
import { jsonLog, type Log } from '../cooling/log.ts';
import { loadRuleDir } from '../rules/language/index.ts';
import { RuleVersionFollower } from '../rules/versions/rule-version-follower.ts';
import { closeWithin, onStopSignals, watchLauncher } from '../process-lifetime.ts';
import { makeKeys } from '../store/keys.ts';
import { storedIds } from '../store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisClient, type RedisRole } from '../store/redis-connections.ts';
import { build } from '../lifetime.ts';
import { CaseRepository } from '../cases/case-repository.ts';
import { openSqlStore, type SqlStore } from '../store/sql/sql-store.ts';
import type { StoreConfig } from '../store/store-config.ts';

/**
 * `npm run worker`: the lifecycle worker alone (cooling-off timers, the outbox relay, sweeps,
 * webhook and notification deliveries), so it scales apart from the API. Run any number of
 * them; run the API with RUN_WORKER=false to keep it out of the API process.
 *
 * It needs REDIS_URL or REDIS_CLUSTER_NODES (the Redis the API uses) and the same
 * REDIS_KEY_PREFIX and lifecycle settings. On a Redis Cluster every lifecycle step is a
 * script of one slot (the transitions' cluster form, docs/cluster-keys.md) and the BullMQ queues
 * carry the hash-tagged prefix `{<prefix>bull}`. SIGTERM / SIGINT: stop taking work, finish the jobs in hand, exit 0; when that takes
 * longer than SHUTDOWN_TIMEOUT_MS (a Redis that is gone: BullMQ and ioredis wait on reconnects),
 * log what did not close and exit 1. A second signal exits at once. The worker also stops when
 * the process that launched it dies (src/process-lifetime.ts).
 *
 * Rules (the end-of-hold re-check): the active rule version the API nodes serve, read from
 * Redis (the API stores its files beside the version pointer) and followed through pub/sub
 * and a poll every RULES_POLL_MS (src/rules/versions/rule-version-follower.ts). Only while no
 * API node has announced a version does it use the rule files in RULES_DIR; it does not watch
 * them (an API node with WATCH_RULES publishes file edits as versions, which reach it).
 *
 * Scam reports (issue 19): with DATABASE_URL (the API's Postgres, same DATABASE_SCHEMA) the end
 * of a hold asks the case library, as an API node does, whether a report on the payee is not yet
 * applied to its Redis flags, and then holds for review instead of releasing (a SQL store that
 * does not answer postpones the end). It runs no migrations (the API does). Without DATABASE_URL
 * it cannot: the embedded PGlite belongs to the one API process, so it sees the Redis flags only
 * and says so at start; run the worker inside the API (RUN_WORKER=true) or share a Postgres.
 */

async function main(): Promise<void> {
  // watched from the first moment: npm may die while the worker is still starting
  let onLauncherGone = (why: string): void => {
    console.error(`calmpay worker: launcher gone (${why}) during start-up: exiting`);
    process.exit(1);
  };
  watchLauncher((why) => onLauncherGone(why));
  const config = loadConfig();
  const target = config.store.redisUrl ?? config.store.redisCluster ?? undefined;
  if (target === undefined) {
    throw new ConfigError('npm run worker needs REDIS_URL (or REDIS_CLUSTER_NODES): the Redis of the API it works for');
  }
  const onCluster = typeof target !== 'string';
  const log = jsonLog('calmpay-worker', config.process.logLevel);
  const { lifetime, follower, location } = await build(log, async (lifetime) => {
    const connections = new RedisConnections(target, config.store.storeDeadlineMs);
    const open = async (role: RedisRole, name: string): Promise<RedisClient> => {
      const redis = lifetime.opened(name, connections.client(role), closeRedis);
      await redis.connect().catch((err: Error) => {
        throw new ConfigError(`Cannot connect to Redis at ${connections.location}: ${err.message}`);
      });
      return redis;
    };
    const redis = await open('lifecycle', 'Redis connection');
    // every connection has an error listener: without one ioredis prints each reconnect failure
    redis.on('error', (err: Error) => log.warn({ err }, 'worker: Redis connection error (reconnecting)'));
    const subscriber = await open('subscriber', 'Redis subscriber connection');
    const keys = makeKeys(config.store.redisKeyPrefix, storedIds(config.store.idHashKey), { cluster: onCluster });
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
    const cases = await openCaseLibrary(config.store, log);
    if (cases !== null) lifetime.opened('SQL store (case library)', cases.sql, (s) => s.close());
    const lifecycle = lifetime.opened(
      'lifecycle worker (BullMQ workers, outbox relay, queues)',
      new Lifecycle({
        ...lifecycleSettings(config),
        redis,
        connections,
        keys,
        ruleSet: () => rules.current,
        clock: Date.now,
        log,
        ...(cases === null ? {} : { unappliedReports: (payeeId: string) => cases.repo.unappliedOf(payeeId) }),
      }),
      (l) => l.close(),
    );
    lifetime.loop('lifecycle worker', () => lifecycle.startWorker());
    return { lifetime, follower, location: connections.location };
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
  log.info({ pid: process.pid, rules: follower.rules.current.version, ruleVersionId: follower.version?.versionId ?? null, redis: location }, 'worker ready');
}

/**
 * The case library on the API's Postgres (DATABASE_URL), for the end-of-hold check of reports
 * not yet applied to the Redis flags; null without DATABASE_URL (logged: see the file comment).
 */
async function openCaseLibrary(store: StoreConfig, log: Log): Promise<{ sql: SqlStore; repo: CaseRepository } | null> {
  const { databaseUrl, pgliteDir, schema } = store.sql;
  if (databaseUrl === undefined) {
    log.warn(
      {},
      'no DATABASE_URL: the end of a hold sees the Redis report flags only, not a report filed while Redis was failing; share the API\'s Postgres, or run the worker in the API (RUN_WORKER=true)',
    );
    return null;
  }
  const sql = await openSqlStore({
    databaseUrl,
    pgliteDir,
    schema,
    deadlineMs: store.storeDeadlineMs,
    onIdleError: (err) => log.error({ err }, 'an idle Postgres connection failed'),
  }).catch((err: Error) => {
    throw new ConfigError(err.message);
  });
  return { sql, repo: new CaseRepository(sql) };
}

main().catch((err: unknown) => {
  console.error(`calmpay worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
