import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountRoutes } from './http/routes/accounts.ts';
import { GuardianStore } from './protection/guardian-store.ts';
import { ApiKeyRing } from './http/api-keys.ts';
import { EngineMetrics } from './http/metrics.ts';
import { ModelScorer } from './model/model-session.ts';
import { ScoreService } from './scoring/score-service.ts';
import { buildServer } from './http/server.ts';
import type { Config } from './config.ts';
import { loadRuleDir, watchRuleDir, type RuleError, type RuleSet } from './rules/language/index.ts';
import { RuleReasons } from './rules/language/rule-reasons.ts';
import { RuleChecker } from './rules/language/rule-checker.ts';
import { ruleRoutes } from './http/routes/rules.ts';
import type { RuleFileText } from './rules/language/rule-set.ts';
import { RuleVersionSync } from './rules/versions/rule-version-sync.ts';
import { RuleHitCounter } from './rules/versions/rule-hit-counter.ts';
import { FILES_AUTHOR, RuleVersions } from './rules/versions/rule-versions.ts';
import { FeatureStore } from './features/feature-store.ts';
import { ThrottledLog } from './throttled-log.ts';
import { makeKeys } from './store/keys.ts';
import { storedIds } from './store/pseudonyms.ts';
import { caseRoutes } from './http/routes/cases.ts';
import { BacktestJobs } from './backtest/backtest-jobs.ts';
import { replayPolicy } from './backtest/replay-decision.ts';
import { backtestRoutes } from './http/routes/backtest.ts';
import { Lifecycle } from './cooling/lifecycle.ts';
import { CaseService, type ReportListener } from './cases/case-service.ts';
import { ReportFlags } from './cases/report-flags.ts';
import { DecisionSink } from './decisions/decision-sink.ts';
import { migrate } from './store/sql/migrate.ts';
import { openSqlStore, redactUrl, type SqlStore } from './store/sql/sql-store.ts';
import { DegradedSpool } from './decisions/degraded-spool.ts';
import { DegradedReconciler } from './decisions/degraded-reconciler.ts';
import { SpoolFile } from './store/spool-file.ts';
import { DegradedSpoolTable } from './decisions/degraded-spool-table.ts';

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
  /** rule versions in SQL: publish, approve, rollback; which version this node serves (issue 7) */
  readonly ruleVersions: RuleVersions;
  /** the safety cap's hit counter; null when RULES_SAFETY_CAP=false */
  readonly ruleHits: RuleHitCounter | null;
  /** the case library and decision history (Postgres or PGlite) */
  readonly sql: SqlStore;
  readonly cases: CaseService;
  /** copies the decision stream into SQL; started unless DECISION_SINK=false */
  readonly sink: DecisionSink;
  /** the transfer lifecycle: confirm/cancel/review, cooling-off holds, webhooks (src/cooling) */
  readonly lifecycle: Lifecycle;
  /** backtest jobs of this node (POST /v1/rules/backtest) */
  readonly backtests: BacktestJobs;
  /** decisions answered while Redis was unavailable, and their writing into Redis once it is back (issue 19) */
  readonly degraded: { readonly spool: DegradedSpool; readonly reconciler: DegradedReconciler };
  close(): Promise<void>;
}

export interface AppOverrides {
  /** ms since the epoch, for tests that control "now" */
  readonly clock?: () => number;
  /** an open SQL store to use instead of opening one from the config; the caller closes it */
  readonly sql?: SqlStore;
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
  // the files seed the SQL store's first version; once it has one, that one wins (issue 7)
  const ruleFiles = await loadRuleDir(config.rulesDir);
  // where Redis is, for messages and /readyz (public): never its password
  const redisLocation = redactUrl(config.redisUrl, 'redis');
  const reasons = new RuleReasons();

  const redis = new Redis(config.redisUrl, {
    // measured with npm run bench: auto-pipelining batches the score scripts of concurrent
    // requests into lock-step rounds (Redis busy while Node waits, then the reverse) and
    // lowered throughput; decision writes are batched by FeatureStore instead
    enableAutoPipelining: false,
    // a score must fail fast (503) rather than queue behind a dead connection
    maxRetriesPerRequest: 1,
    // while Redis is away, commands fail at once and scores take the configured degraded
    // path, rather than queueing in memory until it returns
    enableOfflineQueue: false,
    // a frozen Redis (SIGSTOP, a stalled network) keeps the socket open: without a deadline a
    // request would wait for it for ever (issue 19). Connections that block on purpose (the rule
    // subscriber, the decision sink, the lifecycle worker) are duplicated without it.
    commandTimeout: config.storeDeadlineMs,
    lazyConnect: true,
  });
  await redis.connect().catch((err: Error) => {
    redis.disconnect();
    throw new StartupError(`Cannot connect to Redis at ${redisLocation}: ${err.message}`);
  });

  let server: FastifyInstance | undefined;
  const keys = makeKeys(config.redisKeyPrefix, storedIds(config.idHashKey));
  const clock = overrides.clock ?? Date.now;
  const apiKeys = new ApiKeyRing(config.apiKeys);
  const metrics = new EngineMetrics();
  const degradedLog = new ThrottledLog((count, reason) =>
    server?.log.warn(`${count} scores answered in degraded mode (DEGRADED_FEATURES_POLICY) in the last second; latest reason: ${reason}`),
  );
  // connection errors while Redis is away: one log line a second, not ioredis's console noise
  const redisErrorLog = new ThrottledLog((count, latest) => server?.log.error(`Redis connection: ${count} errors in the last second; latest: ${latest}`));
  redis.on('error', (err: Error) => redisErrorLog.note(err.message));
  const lateLog = {
    info: (obj: object, msg: string) => server?.log.info(obj, msg),
    warn: (obj: object, msg: string) => server?.log.warn(obj, msg),
    error: (obj: object, msg: string) => server?.log.error(obj, msg),
  };
  const sql = overrides.sql ?? (await openSql(config, redis, lateLog));
  await migrate(sql).catch(async (err: Error) => {
    if (overrides.sql === undefined) await sql.close().catch(() => undefined);
    redis.disconnect();
    throw new StartupError(`Cannot migrate the SQL store at ${sql.location}: ${err.message}`);
  });
  let ruleSync: RuleVersionSync | null = null;
  // rule files sent through the API are checked on a thread of their own (issue 19)
  const ruleChecker = new RuleChecker();
  const checkFiles = (files: readonly RuleFileText[]) => ruleChecker.check(files);
  const opened = await RuleVersions.open(
    {
      sql,
      clock,
      fourEyes: config.ruleVersions.fourEyes,
      onSwitch: (loaded) => {
        reasons.remember(loaded.ruleSet);
        lateLog.info(
          { versionId: loaded.version.id, version: loaded.ruleSet.version, rules: loaded.ruleSet.rules.length },
          `rule version ${loaded.version.id} active on this node`,
        );
        void ruleSync?.announce(loaded.pointer, loaded.ruleSet.files);
      },
      log: lateLog,
      checkFiles,
    },
    ruleFiles,
    config.rulesDir,
  ).catch(async (err: Error) => {
    if (overrides.sql === undefined) await sql.close().catch(() => undefined);
    redis.disconnect();
    throw new StartupError(`Cannot load the rule set: ${err.message}`);
  });
  const ruleVersions = opened.versions;
  const rules: ActiveRules = ruleVersions.serving;
  reasons.remember(rules.current);
  // a subscribed connection can do nothing else; it waits through Redis outages (the poll covers them)
  const ruleSubscriber = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  ruleSubscriber.on('error', (err: Error) => redisErrorLog.note(err.message));
  await ruleSubscriber.connect().catch(async (err: Error) => {
    ruleSubscriber.disconnect();
    redis.disconnect();
    if (overrides.sql === undefined) await sql.close().catch(() => undefined);
    throw new StartupError(`Cannot connect to Redis at ${redisLocation}: ${err.message}`);
  });
  ruleSync = await RuleVersionSync.start({
    redis,
    subscriber: ruleSubscriber,
    keys,
    versions: ruleVersions,
    pollMs: config.ruleVersions.pollMs,
    log: lateLog,
  }).catch(async (err: Error) => {
    ruleSubscriber.disconnect();
    redis.disconnect();
    if (overrides.sql === undefined) await sql.close().catch(() => undefined);
    throw new StartupError(`Cannot follow the active rule version through Redis at ${redisLocation}: ${err.message}`);
  });
  // rule files edited while the engine was stopped take effect, as the watcher would have made them
  if (config.watchRules) {
    await ruleVersions.publishNewFiles(ruleFiles, config.rulesDir).catch((err: unknown) => {
      lateLog.error({ err }, `publishing the edited rule files of ${config.rulesDir} failed; serving the stored version`);
    });
  }
  // the safety cap: acting-rule hits counted per node, summed in Redis, a runaway rule moved to shadow
  const hitCounter = config.ruleVersions.safetyCap.enabled
    ? new RuleHitCounter({ redis, keys, versions: ruleVersions, config: config.ruleVersions.safetyCap, clock, log: lateLog })
    : null;
  // new scam reports, after they are committed (issue 4: escalate cooling-off holds to the payee)
  const reportListeners: ReportListener[] = [];
  const cases = new CaseService({
    sql,
    flags: new ReportFlags(redis, keys, config.sql.reportTtlDays),
    clock,
    maxFutureSkewSeconds: config.maxFutureSkewSeconds,
    historyRetentionDays: config.sql.decisionRetentionDays,
    log: lateLog,
    onReported: async (payeeId, caseId) => {
      for (const listener of reportListeners) await listener(payeeId, caseId);
    },
  });
  // XREADGROUP BLOCK holds its connection, so the sink never shares the scoring connection
  const sinkRedis = redis.duplicate({ lazyConnect: true, commandTimeout: undefined });
  sinkRedis.on('error', (err: Error) => redisErrorLog.note(err.message));
  await sinkRedis.connect().catch(async (err: Error) => {
    sinkRedis.disconnect();
    await ruleSync?.close();
    ruleSubscriber.disconnect();
    redis.disconnect();
    if (overrides.sql === undefined) await sql.close().catch(() => undefined);
    throw new StartupError(`Cannot connect to Redis at ${redisLocation}: ${err.message}`);
  });
  const sink = new DecisionSink(
    sinkRedis,
    keys,
    sql,
    { batchSize: config.sql.sinkBatchSize, retentionDays: config.sql.decisionRetentionDays },
    clock,
    lateLog,
  );
  const store = new FeatureStore(redis, keys, config, (err) =>
    server?.log.error({ err }, 'recording a decision in Redis failed'),
  );
  // degraded decisions: in SQL (or a file under DATA_DIR when SQL fails too) before the answer
  const degradedSpool = new DegradedSpool({
    table: new DegradedSpoolTable(sql),
    file: new SpoolFile(path.join(config.dataDir, 'degraded-spool.jsonl')),
    sqlDeadlineMs: config.featuresDeadlineMs,
    log: lateLog,
  });
  const reconciler = new DegradedReconciler({
    redis,
    keys,
    store,
    spool: degradedSpool,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    decisionStreamMaxLen: config.decisionStreamMaxLen,
    log: lateLog,
  });
  const lifecycle = new Lifecycle({
    config,
    redis,
    keys,
    ruleSet: () => rules.current,
    clock,
    log: lateLog,
    unappliedReports: (payeeId) => cases.unappliedReports(payeeId),
    degradedPending: (transferId) => degradedSpool.replay(transferId) !== undefined,
  });
  const model = await ModelScorer.open({
    dir: config.model.dir,
    watch: config.model.watch,
    batch: { deadlineMs: config.model.deadlineMs, maxBatch: config.model.maxBatch },
    explainFrom: config.model.explainFrom,
    log: (message) => server?.log.info(message),
  });
  const service = new ScoreService({
    model,
    config,
    store,
    ruleSet: () => rules.current,
    clock,
    sleep: (ms) => sleep(ms),
    degraded: degradedSpool,
    onDegraded: (_transferId, reason) => degradedLog.note(reason),
    onDecision: (d) => {
      metrics.observeDecision(d);
      hitCounter?.note(d);
    },
  });
  server = await buildServer({
    bodyLimitBytes: config.bodyLimitBytes,
    logLevel: config.logLevel,
    service,
    reasons: (version, ruleId) => reasons.lookup(version, ruleId),
    apiKeys,
    requestTimeoutMs: config.requestTimeoutMs,
    readinessDeadlineMs: config.storeDeadlineMs,
    metrics: () => metrics.render(),
    readiness: [
      {
        name: 'redis',
        check: async () => ({ ready: (await redis.ping()) === 'PONG', detail: redisLocation }),
      },
      model.readiness,
      {
        name: 'auth',
        check: async () => ({
          ready: true,
          detail: apiKeys.enabled ? `${config.apiKeys.length} API keys` : 'off: API_KEYS is not set (development mode)',
        }),
      },
      {
        name: 'sql',
        check: async () => {
          await sql.query('SELECT 1');
          const s = sink.getStats();
          const sinkState = config.sql.decisionSink
            ? `decision sink copied ${s.copied}${s.lastError === null ? '' : `, last error: ${s.lastError}`}`
            : 'decision sink off';
          return { ready: true, detail: `${sql.backend} ${sql.location}; ${sinkState}` };
        },
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
      {
        // backlogs, for operators: a growing outbox means no worker is relaying it
        name: 'lifecycle',
        check: async () => {
          const c = await lifecycle.store.counts();
          const worker = config.lifecycle.runWorker ? 'worker in this process' : 'worker runs apart (RUN_WORKER=false)';
          return { ready: true, detail: `${c.holds} holds pending, ${c.awaiting} warnings awaiting the payer, ${c.outbox} events to relay; ${worker}` };
        },
      },
    ],
  });
  server.decorate('eventAgeBound', { maxAgeDays: config.maxEventAgeDays, clock });
  accountRoutes(server, { guardians: new GuardianStore(redis, keys), clock });
  caseRoutes(server, { service: cases });
  ruleRoutes(server, { versions: ruleVersions });
  // backtests run on this node, one at a time, at most BACKTEST_MAX_JOBS waiting or running; their state is in SQL (src/backtest)
  const backtests = new BacktestJobs({ sql, policy: replayPolicy(config), clock, log: lateLog, maxJobs: config.backtest.maxJobs });
  backtestRoutes(server, {
    jobs: backtests,
    sql,
    activeRules: () => rules.current,
    checkFiles,
    modelsDir: config.model.dir,
    clock,
    maxWindowDays: config.backtest.maxWindowDays,
    shadowMaxWindowDays: config.backtest.shadowMaxWindowDays,
  });
  lifecycle.routes(server);
  reportListeners.push(async (payeeId, caseId) => {
    await lifecycle.service.escalatePayee(payeeId, `new scam report ${caseId} names the payee`);
  });
  const log = server.log;
  if (!apiKeys.enabled) log.warn('API_KEYS is not set: authentication is OFF (development mode); every route is open');
  {
    const a = ruleVersions.active;
    log.info(
      { versionId: a.version.id, version: rules.current.version, rules: rules.current.rules.length, seeded: opened.seeded },
      opened.seeded ? `rule files seeded rule version ${a.version.id}` : `rule version ${a.version.id} loaded from the SQL store`,
    );
    if (!opened.seeded && ruleFiles.ok && ruleFiles.ruleSet.version !== rules.current.version) {
      log.info(`the files in ${config.rulesDir} (${ruleFiles.ruleSet.version}) differ from the active rule version ${a.version.id}, which wins`);
    }
  }
  if (config.ruleVersions.fourEyes && !apiKeys.enabled) {
    log.warn('RULES_FOUR_EYES is on but API_KEYS is not set: authors and approvers are names typed in the body, not proven');
  }
  log.info({ backend: sql.backend, location: sql.location }, 'SQL store open');
  if (config.sql.decisionSink) sink.start();
  // what an earlier run spooled is in Redis before the first score; then on every reconnect
  await reconciler.run().catch((err: unknown) => log.error({ err }, 'reconciling degraded decisions failed; retrying later'));
  reconciler.start();
  hitCounter?.start();
  if (config.lifecycle.runWorker) await lifecycle.startWorker();
  // cases whose report flags did not reach Redis before (see CaseService), and again each time
  // the connection is back after an outage (issue 19)
  cases.reapplyPendingInBackground();
  redis.on('ready', () => cases.reapplyPendingInBackground());

  // the content of the rule files as last read, so the watcher publishes real edits only
  let lastFilesVersion = ruleFiles.ok ? ruleFiles.ruleSet.version : null;
  const watcher = config.watchRules
    ? watchRuleDir(config.rulesDir, {
        // a valid edit is published as a version by "files" (pending when four-eyes is on); every
        // node then loads it from SQL like any other version
        onLoad: (ruleSet) => {
          ruleVersions.serving.lastErrors = null;
          // a save, touch or checkout that leaves the files as they were publishes nothing: it
          // must not revert a version published, rolled back or shadowed since through the API
          if (ruleSet.version === lastFilesVersion) return;
          lastFilesVersion = ruleSet.version;
          ruleVersions.publish(ruleSet.files, FILES_AUTHOR, `rule files edited in ${config.rulesDir}`).catch((err: unknown) => {
            log.error({ err }, 'publishing the edited rule files failed');
          });
        },
        onError: (errors) => {
          ruleVersions.serving.lastErrors = errors;
          log.error(`rule edit rejected, keeping ${rules.current.version}:\n${formatRuleErrors(errors)}`);
        },
      })
    : null;

  const app = server;
  return {
    server: app,
    redis,
    rules,
    ruleVersions,
    ruleHits: hitCounter,
    sql,
    cases,
    sink,
    lifecycle,
    backtests,
    degraded: { spool: degradedSpool, reconciler },
    async close() {
      watcher?.close();
      await ruleSync?.close();
      await hitCounter?.close();
      degradedLog.stop();
      redisErrorLog.stop();
      await model.close();
      await app.close();
      await backtests.close();
      await ruleChecker.close();
      await store.drain();
      await reconciler.close();
      await lifecycle.close();
      await sink.stop();
      await cases.close();
      await sinkRedis.quit().catch(() => sinkRedis.disconnect());
      await ruleSubscriber.quit().catch(() => ruleSubscriber.disconnect());
      await redis.quit().catch(() => redis.disconnect());
      if (overrides.sql === undefined) await sql.close();
    },
  };
}

async function openSql(config: Config, redis: Redis, log: { error(obj: object, msg: string): void }): Promise<SqlStore> {
  try {
    return await openSqlStore({
      databaseUrl: config.sql.databaseUrl,
      pgliteDir: config.sql.pgliteDir,
      schema: config.sql.schema,
      deadlineMs: config.storeDeadlineMs,
      onIdleError: (err) => log.error({ err }, 'an idle Postgres connection failed'),
    });
  } catch (err) {
    redis.disconnect();
    throw new StartupError((err as Error).message);
  }
}
