import { ConfigError, loadConfig } from '../config.ts';
import { sinkTargets } from '../server-role.ts';
import { jsonLog } from '../cooling/log.ts';
import { DecisionSink } from '../decisions/decision-sink.ts';
import { build } from '../lifetime.ts';
import { closeWithin, onStopSignals, watchLauncher } from '../process-lifetime.ts';
import { makeKeys } from '../store/keys.ts';
import { storedIds } from '../store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../store/redis-connections.ts';
import { migrate } from '../store/sql/migrate.ts';
import { openSqlStore } from '../store/sql/sql-store.ts';

/**
 * `npm run sink`: the decision sink alone (src/decisions/decision-sink.ts), for a deployment
 * whose API nodes run `npm run api` (src/server-role.ts). It copies the Redis decision stream
 * into the `decisions` table of the shared Postgres, in batches, through a consumer group: run
 * one, or several for throughput or availability (they share the stream's entries; an entry is
 * acknowledged only after its batch is committed, and what a stopped or crashed sink left
 * unacknowledged is taken over by another after 60 s; the insert skips transferIds already
 * stored, so nothing is copied twice).
 *
 * It needs REDIS_URL or REDIS_CLUSTER_NODES (the API nodes' Redis, same REDIS_KEY_PREFIX; on a
 * cluster the stream is one key, so one slot) and DATABASE_URL (their
 * Postgres, same DATABASE_SCHEMA): the embedded PGlite belongs to one process, so a sink
 * apart from the API has nothing to write to without Postgres. It applies the SQL migrations
 * (under the advisory lock the API nodes take too), so it may start first.
 *
 * SIGTERM / SIGINT: the batch in hand is committed and acknowledged, then it exits 0 (after
 * SHUTDOWN_TIMEOUT_MS: logs what did not close, exits 1; a second signal exits at once).
 * Entries it had read but not committed stay pending in the group and are copied by the next
 * sink: a stop loses no decision. It also stops when the process that launched it dies.
 */

async function main(): Promise<void> {
  let onLauncherGone = (why: string): void => {
    console.error(`calmpay sink: launcher gone (${why}) during start-up: exiting`);
    process.exit(1);
  };
  watchLauncher((why) => onLauncherGone(why));
  const config = loadConfig();
  const { redis: target, databaseUrl } = sinkTargets(config);
  const log = jsonLog('calmpay-sink', config.process.logLevel);
  const { lifetime, sink, location } = await build(log, async (lifetime) => {
    const sql = lifetime.opened(
      'SQL store',
      await openSqlStore({
        databaseUrl,
        pgliteDir: config.store.sql.pgliteDir,
        schema: config.store.sql.schema,
        deadlineMs: config.store.storeDeadlineMs,
        onIdleError: (err) => log.error({ err }, 'an idle Postgres connection failed'),
      }).catch((err: Error) => {
        throw new ConfigError(err.message);
      }),
      (s) => s.close(),
    );
    await migrate(sql).catch((err: Error) => {
      throw new ConfigError(`Cannot migrate the SQL store at ${sql.location}: ${err.message}`);
    });
    const connections = new RedisConnections(target, config.store.storeDeadlineMs);
    // one Redis or a cluster (the decision stream is one key: one slot, which the cluster client finds)
    const redis: RedisClient = lifetime.opened('Redis sink connection', connections.client('sink'), closeRedis);
    redis.on('error', (err: Error) => log.warn({ err }, 'sink: Redis connection error (reconnecting)'));
    await redis.connect().catch((err: Error) => {
      throw new ConfigError(`Cannot connect to Redis at ${connections.location}: ${err.message}`);
    });
    const sink = new DecisionSink(
      redis,
      makeKeys(config.store.redisKeyPrefix, storedIds(config.store.idHashKey), { cluster: config.store.redisCluster !== null }),
      sql,
      { batchSize: config.decisions.sinkBatchSize, retentionDays: config.decisions.decisionRetentionDays },
      Date.now,
      log,
    );
    lifetime.loop('decision sink', () => sink.start(), () => sink.stop());
    return { lifetime, sink, location: `${connections.location} → ${sql.location}` };
  });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, deadlineMs: config.process.shutdownTimeoutMs }, 'stopping: committing the batch in hand');
    const closed = await closeWithin(lifetime.closingOrder(), config.process.shutdownTimeoutMs, log);
    const s = sink.getStats();
    if (closed) log.info({ copied: s.copied, acked: s.acked, rejected: s.rejected, lost: s.lost }, 'sink stopped');
    process.exit(closed ? 0 : 1);
  };
  onStopSignals((signal) => void stop(signal), log);
  onLauncherGone = (why) => void stop(`launcher gone: ${why}`);
  await lifetime.start();
  log.info({ pid: process.pid, consumer: sink.consumer, group: sink.group, copies: location }, 'sink ready');
}

main().catch((err: unknown) => {
  console.error(`calmpay sink: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
