/**
 * Configuration of the stores (src/store): the Redis server and key space, the SQL store
 * (Postgres, or PGlite under DATA_DIR), and the deadline every command and query of a request
 * answers within. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import path from 'node:path';
import { ConfigError, int, type Env } from '../config-env.ts';
import { parseIdHashKey } from './pseudonyms.ts';
import { parseClusterNodes, type RedisClusterTarget } from './redis-target.ts';

export interface SqlConfig {
  /** unset: embedded PGlite in `pgliteDir` */
  readonly databaseUrl: string | undefined;
  /** schema to create and use; unset: the server's default search_path */
  readonly schema: string | undefined;
  readonly pgliteDir: string;
}

export interface StoreConfig {
  /** unset: start a local redis-server with its data under `${dataDir}/redis` */
  readonly redisUrl: string | undefined;
  /** REDIS_CLUSTER_NODES: a Redis Cluster instead of one Redis (src/store/redis-target.ts); null: unset */
  readonly redisCluster: RedisClusterTarget | null;
  readonly redisKeyPrefix: string;
  /** ACCOUNT_ID_HASH_KEY: account and device ids are stored in Redis as keyed hashes; null: as they are */
  readonly idHashKey: Buffer | null;
  /**
   * every Redis command and SQL query of a request answers or fails within this (503), and
   * /readyz answers within it; the score's own, shorter deadline is FEATURES_DEADLINE_MS
   */
  readonly storeDeadlineMs: number;
  /** the SQL store (case library, decision history): Postgres, or PGlite under `${dataDir}/pglite` */
  readonly sql: SqlConfig;
}

export const STORE_VARIABLES = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_KEY_PREFIX', 'ACCOUNT_ID_HASH_KEY', 'STORE_DEADLINE_MS', 'DATABASE_URL', 'DATABASE_SCHEMA'] as const;

function sqlConfig(env: Env, dataDir: string): SqlConfig {
  const schema = env.DATABASE_SCHEMA || undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(`DATABASE_SCHEMA must be a lower-case identifier (a-z, 0-9, _), got "${schema}"`);
  }
  return Object.freeze({ databaseUrl: env.DATABASE_URL || undefined, schema, pgliteDir: path.join(dataDir, 'pglite') });
}

/** REDIS_CLUSTER_NODES, which excludes REDIS_URL (one Redis or a cluster, not both). */
function redisCluster(env: Env): RedisClusterTarget | null {
  const cluster = parseClusterNodes(env.REDIS_CLUSTER_NODES);
  if (cluster !== null && env.REDIS_URL) {
    throw new ConfigError('REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a cluster');
  }
  return cluster;
}

/** @param dataDir DATA_DIR, resolved (src/process-config.ts) */
export function loadStoreConfig(env: Env, dataDir: string): StoreConfig {
  return Object.freeze({
    redisUrl: env.REDIS_URL || undefined,
    redisCluster: redisCluster(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'cp:',
    idHashKey: parseIdHashKey(env.ACCOUNT_ID_HASH_KEY),
    storeDeadlineMs: int(env, 'STORE_DEADLINE_MS', 2_000, 10, 600_000),
    sql: sqlConfig(env, dataDir),
  });
}
