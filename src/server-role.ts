/**
 * Deployment roles (issue 15). `npm start` is the all-in-one process of the embedded default:
 * the API, the lifecycle worker and the decision sink, with a redis-server of its own when no
 * Redis is named. A deployment splits it:
 *
 * - `npm run api` (role `api`): an API node. It scores and answers every route (lifecycle
 *   calls, cases, rules, backtests), and runs what belongs to each node (rule version sync,
 *   the safety cap's hit counter, the degraded reconciler); no lifecycle worker, no decision
 *   sink, never a redis-server of its own. It needs a shared Redis (REDIS_URL or
 *   REDIS_CLUSTER_NODES) and a shared Postgres (DATABASE_URL): the embedded PGlite belongs to
 *   one process, and the worker and the sink read the same database.
 * - `npm run worker` (src/cli/worker.ts): the lifecycle worker.
 * - `npm run sink` (src/cli/sink.ts): the decision sink.
 *
 * Pure: the config in, the role's config (or the sink's targets) out, or a ConfigError saying
 * what is missing.
 */
import { ConfigError, type Config } from './config.ts';
import type { Env } from './config-env.ts';
import type { RedisClusterTarget } from './store/redis-target.ts';

export type ServerRole = 'all' | 'api';

/** What an API node leaves to the other processes, with the variable that would contradict it. */
const LEFT_TO_OTHERS = [
  { variable: 'RUN_WORKER', process: 'npm run worker' },
  { variable: 'DECISION_SINK', process: 'npm run sink' },
] as const;

/**
 * The config the role runs with. `all`: unchanged. `api`: worker and sink off; a ConfigError
 * when Redis or Postgres is not named, or when RUN_WORKER / DECISION_SINK ask for what the
 * role leaves to another process.
 */
export function configForRole(config: Config, role: ServerRole, env: Env): Config {
  if (role === 'all') return config;
  const missing: string[] = [];
  if (config.store.redisUrl === undefined && config.store.redisCluster === null) {
    missing.push('REDIS_URL (or REDIS_CLUSTER_NODES): the Redis every API node, the worker and the sink share; an API node never starts a redis-server of its own');
  }
  if (config.store.sql.databaseUrl === undefined) {
    missing.push('DATABASE_URL: the Postgres every API node, the worker and the sink share; the embedded PGlite belongs to one process (npm start)');
  }
  if (missing.length > 0) {
    throw new ConfigError(`npm run api (an API node of a deployment) needs ${missing.join('; and ')}. For everything in one process, run npm start.`);
  }
  for (const { variable, process } of LEFT_TO_OTHERS) {
    if (env[variable] !== undefined && ['1', 'true', 'yes', 'on'].includes(env[variable].toLowerCase())) {
      throw new ConfigError(`${variable}=${env[variable]} contradicts npm run api: an API node leaves that to ${process}; unset ${variable}, or run npm start for everything in one process`);
    }
  }
  return Object.freeze({
    ...config,
    lifecycle: Object.freeze({ ...config.lifecycle, runWorker: false }),
    decisions: Object.freeze({ ...config.decisions, decisionSink: false }),
  });
}

/** How /readyz and the start-up line describe where the worker and the sink run. */
export function roleDescription(role: ServerRole): string {
  return role === 'all'
    ? 'all-in-one (API, lifecycle worker unless RUN_WORKER=false, decision sink unless DECISION_SINK=false)'
    : 'API node (the lifecycle worker runs in npm run worker, the decision sink in npm run sink)';
}

/** REDIS_URL (or REDIS_CLUSTER_NODES) and DATABASE_URL, or a ConfigError naming what is missing. */
export function sinkTargets(config: Config): { redis: string | RedisClusterTarget; databaseUrl: string } {
  const redis = config.store.redisUrl ?? config.store.redisCluster ?? undefined;
  const missing: string[] = [];
  if (redis === undefined) missing.push('REDIS_URL (or REDIS_CLUSTER_NODES): the Redis whose decision stream the API nodes write');
  if (config.store.sql.databaseUrl === undefined) {
    missing.push(
      'DATABASE_URL: the Postgres the decisions are copied into (the embedded PGlite belongs to one process: ' +
        'without Postgres, run npm start, whose sink runs inside it)',
    );
  }
  if (missing.length > 0 || redis === undefined || config.store.sql.databaseUrl === undefined) {
    throw new ConfigError(`npm run sink needs ${missing.join('; and ')}`);
  }
  return { redis, databaseUrl: config.store.sql.databaseUrl };
}
