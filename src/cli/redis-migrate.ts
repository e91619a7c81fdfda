import path from 'node:path';
import { loadConfig } from '../config.ts';
import { startLocalRedis, type LocalRedis } from '../store/local-redis.ts';
import { migratePairs, migrationSummary, primaries } from '../store/pair-migration.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../store/redis-connections.ts';
import { intOption, parseCliOptions } from './cli-args.ts';
import { progressLine } from './progress.ts';

/**
 * `npm run redis:migrate` (issue 15, release A; docs/cluster-keys.md, docs/operations.md):
 * writes every payer -> payee pair of today's layout into the payee's slot as well
 * (src/store/pair-migration.ts), on the Redis of REDIS_URL, on every primary of
 * REDIS_CLUSTER_NODES, or, with neither set, on the embedded Redis of DATA_DIR/redis (started
 * here; stop the engine first). Idempotent and restartable; prints a summary line.
 */

const USAGE = `usage: npm run redis:migrate [-- --batch <keys per batch, default 500>]
Writes each {a:<payer>}:pair:<payee> under REDIS_KEY_PREFIX as {a:<payee>}:pairin:<payer>, merged with
what is there (the earlier first time, the larger count, the later expiry). Run once every node runs
release A; running it again changes nothing.`;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: ['batch'] }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const errors: string[] = [];
  const batch = intOption(parsed.strings, 'batch', 500, 1, errors);
  if (batch > 10_000) errors.push(`--batch must be at most 10000, got "${batch}"`);
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  let local: LocalRedis | null = null;
  let target = config.store.redisCluster ?? config.store.redisUrl;
  if (target === undefined) {
    const dataDir = path.join(config.process.dataDir, 'redis');
    local = await startLocalRedis({ dataDir, appendOnly: true });
    target = local.url;
  }
  let redis: RedisClient | null = null;
  const progress = progressLine('redis:migrate', 'pair keys');
  try {
    redis = await new RedisConnections(target, config.store.storeDeadlineMs).openClient('tool');
    const started = Date.now();
    const counts = await migratePairs(redis, config.store.redisKeyPrefix, { batch, onBatch: (c) => progress.update(c.scanned) });
    progress.end();
    console.log(migrationSummary(counts, primaries(redis).length, Date.now() - started));
    return 0;
  } finally {
    progress.end();
    if (redis !== null) await closeRedis(redis);
    await local?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(process.env.DEBUG ? err : `npm run redis:migrate failed: ${err.message}`);
    process.exit(1);
  },
);
