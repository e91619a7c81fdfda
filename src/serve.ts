import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { buildApp, StartupError } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { closeWithin, onStopSignals, watchLauncher, type ShutdownLog } from './process-lifetime.ts';
import { configForRole, roleDescription, type ServerRole } from './server-role.ts';
import { startLocalRedis, type LocalRedis } from './store/local-redis.ts';
import { tryCurl } from './try-curl.ts';

const shutdownLog: ShutdownLog = {
  info: (obj, msg) => console.log(`${msg} ${JSON.stringify(obj)}`),
  error: (obj, msg) => console.error(`${msg} ${JSON.stringify(obj)}`),
};

/**
 * The HTTP engine process of a role (src/server-role.ts). `npm start` (role `all`): the engine
 * with its defaults, starting its own redis-server when REDIS_URL is unset. `npm run api`
 * (role `api`): an API node of a deployment, on the Redis and Postgres it is given, with no
 * worker and no sink. Either stops on SIGTERM / SIGINT and when the process that launched it
 * dies (a SIGKILL of npm must not leave it holding its port), exiting anyway after
 * SHUTDOWN_TIMEOUT_MS: the HTTP server drains (requests in flight are answered), then the
 * decision writes queued for Redis are flushed, then the rest closes.
 */
export async function serve(role: ServerRole): Promise<void> {
  // watched from the first moment: npm may die while the engine is still starting
  let onLauncherGone = (why: string): void => {
    console.error(`calmpay: launcher gone (${why}) during start-up: exiting`);
    process.exit(1);
  };
  watchLauncher((why) => onLauncherGone(why));
  console.log(`calmpay: starting (pid ${process.pid}, Node.js ${process.versions.node}): ${roleDescription(role)}`);
  let config = configForRole(loadConfig(), role, process.env);
  let local: LocalRedis | null = null;
  // a cluster (REDIS_CLUSTER_NODES) is not started here: buildApp says why it cannot run on one yet
  // (role api refuses earlier: configForRole)
  if (config.store.redisUrl === undefined && config.store.redisCluster === null) {
    const dataDir = path.join(config.process.dataDir, 'redis');
    local = await startLocalRedis({ dataDir, appendOnly: true, log: (line) => console.log(`[redis] ${line}`) });
    console.log(`[redis] started redis-server pid ${local.pid} on ${local.url} (append-only, data in ${dataDir})`);
    config = Object.freeze({ ...config, store: Object.freeze({ ...config.store, redisUrl: local.url }) });
  }
  const app = await buildApp(config).catch(async (err: unknown) => {
    await local?.stop();
    throw err;
  });
  await app.start().catch(async (err: unknown) => {
    await app.close();
    await local?.stop();
    throw err;
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    const closed = await closeWithin(
      [...app.closingOrder(), { name: 'local redis-server', close: async () => local?.stop() }],
      config.process.shutdownTimeoutMs,
      shutdownLog,
    );
    process.exit(closed ? 0 : 1);
  };
  onStopSignals((signal) => void stop(signal), shutdownLog);
  onLauncherGone = (why) => void stop(`launcher gone (${why})`);

  const address = await app.server.listen({ host: config.http.host, port: config.http.port });
  const base = address.replace('[::1]', 'localhost');
  console.log(`calmpay listening on ${base} (rules ${app.rules.current.version}, OpenAPI at ${base}/docs)`);
  console.log('Try:');
  console.log(`  ${tryCurl({ base, transferId: `try-${randomUUID()}`, nowMs: Date.now(), apiKeysOn: config.http.apiKeys.length > 0 })}`);
}

/** Prints an expected start-up failure (bad config, invalid rules, no redis-server) as one clear message, and exits 1. */
export function exitOnStartFailure(err: unknown): never {
  if (err instanceof ConfigError || err instanceof StartupError || (err instanceof Error && !process.env.DEBUG)) {
    console.error(`calmpay: ${err.message}`);
  } else {
    console.error(err);
  }
  process.exit(1);
}
