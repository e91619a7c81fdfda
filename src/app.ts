import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
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
import type { StoreConfig } from './store/store-config.ts';
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
import { clusterRefusal } from './store/key-slots.ts';
import { plainIds, storedIds } from './store/pseudonyms.ts';
import { caseRoutes } from './http/routes/cases.ts';
import { BacktestJobs } from './backtest/backtest-jobs.ts';
import { replayPolicy } from './backtest/replay-decision.ts';
import { featureStoreOptions, lifecycleSettings, scoreSettings } from './config-wiring.ts';
import { backtestRoutes } from './http/routes/backtest.ts';
import { rulePerformanceRoutes } from './http/routes/rule-performance.ts';
import { CONFIGURED_BUDGET, flagPolicyOf } from './rules/performance/rule-performance.ts';
import { Lifecycle } from './cooling/lifecycle.ts';
import { CaseService, type ReportListener } from './cases/case-service.ts';
import { ReportFlags } from './cases/report-flags.ts';
import { DecisionSink } from './decisions/decision-sink.ts';
import { migrate } from './store/sql/migrate.ts';
import { openSqlStore, type SqlStore } from './store/sql/sql-store.ts';
import { closeRedis, RedisConnections, type RedisRole } from './store/redis-connections.ts';
import { build, type Lifetime } from './lifetime.ts';
import { drainable } from './http/drain.ts';
import type { ClosablePart } from './process-lifetime.ts';
import { DegradedSpool } from './decisions/degraded-spool.ts';
import { DegradedReconciler } from './decisions/degraded-reconciler.ts';
import { SpoolFile } from './store/spool-file.ts';
import { ConsoleSessions } from './console/console-sessions.ts';
import { ConsoleAssets } from './console/console-assets.ts';
import { consoleRoutes } from './console/console-routes.ts';
import { overviewRoutes } from './http/routes/overview.ts';
import { DegradedSpoolTable } from './decisions/degraded-spool-table.ts';

/**
 * The one wiring place: everything is built here from a parsed, frozen config, each capability
 * handed its own slice (src/config.ts) and the few values of other slices it needs, by name. No
 * module-level singletons. `buildApp` does not listen and begins no background loop (the
 * app's `start()` does; src/lifetime.ts), so tests use `server.inject()` on a built app.
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
  /** copies the decision stream into SQL; start() starts it unless DECISION_SINK=false */
  readonly sink: DecisionSink;
  /** the transfer lifecycle: confirm/cancel/review, cooling-off holds, webhooks (src/cooling) */
  readonly lifecycle: Lifecycle;
  /** backtest jobs of this node (POST /v1/rules/backtest) */
  readonly backtests: BacktestJobs;
  /** decisions answered while Redis was unavailable, and their writing into Redis once it is back (issue 19) */
  readonly degraded: { readonly spool: DegradedSpool; readonly reconciler: DegradedReconciler };
  /** Begins the background loops (rule sync, sink, reconciler, hit counter, worker, watchers); buildApp begins none. */
  start(): Promise<void>;
  /** Drains the HTTP server (requests in flight finish), then closes what was opened, last first. */
  close(): Promise<void>;
  /** close()'s parts in its order, for a shutdown with a deadline (closeWithin in src/process-lifetime.ts) */
  closingOrder(): readonly ClosablePart[];
}

export interface AppOverrides {
  /** ms since the epoch, for tests that control "now" */
  readonly clock?: () => number;
  /** an open SQL store to use instead of opening one from the config; the caller closes it */
  readonly sql?: SqlStore;
  /** degraded answers kept in memory for replays (DegradedSpool's maxRemembered); tests use a small one */
  readonly degradedAnswersInMemory?: number;
  /**
   * score by the split score's per-entity steps on one Redis too (FeatureStore's ScoreMode; the
   * default on one Redis is score-features.lua): tests compare both paths through the route
   */
  readonly scoreBySteps?: boolean;
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
  // refused before anything opens, rather than a CROSSSLOT at the first score (issue 15)
  if (config.store.redisCluster !== null) throw new StartupError(clusterRefusal(makeKeys(config.store.redisKeyPrefix, plainIds, { cluster: true })));
  const redisUrl = config.store.redisUrl;
  if (redisUrl === undefined) {
    throw new StartupError('buildApp needs a REDIS_URL (npm start starts a local redis-server when it is unset)');
  }
  let server: FastifyInstance | undefined;
  const lateLog = {
    info: (obj: object, msg: string) => server?.log.info(obj, msg),
    warn: (obj: object, msg: string) => server?.log.warn(obj, msg),
    error: (obj: object, msg: string) => server?.log.error(obj, msg),
  };
  return build(lateLog, (lifetime) => wire(config, overrides, redisUrl, lifetime, lateLog, (s) => (server = s)));
}

/** Builds every capability, registering in `lifetime` what each opens and the loops it owns; starts none. */
async function wire(
  config: Config,
  overrides: AppOverrides,
  redisUrl: string,
  lifetime: Lifetime,
  lateLog: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void },
  serverBuilt: (server: FastifyInstance) => void,
): Promise<App> {
  // the files seed the SQL store's first version; once it has one, that one wins (issue 7)
  const ruleFiles = await loadRuleDir(config.ruleFiles.dir);
  const connections = new RedisConnections(redisUrl, config.store.storeDeadlineMs);
  const reasons = new RuleReasons();
  const keys = makeKeys(config.store.redisKeyPrefix, storedIds(config.store.idHashKey));
  const clock = overrides.clock ?? Date.now;
  const apiKeys = new ApiKeyRing(config.http.apiKeys);
  const metrics = new EngineMetrics();
  const degradedLog = new ThrottledLog((count, reason) =>
    lateLog.warn({}, `${count} scores answered in degraded mode (DEGRADED_FEATURES_POLICY) in the last second; latest reason: ${reason}`),
  );
  // connection errors while Redis is away: one log line a second, not ioredis's console noise
  const redisErrorLog = new ThrottledLog((count, latest) => lateLog.error({}, `Redis connection: ${count} errors in the last second; latest: ${latest}`));
  lifetime.opened('throttled logs', [degradedLog, redisErrorLog], (logs) => logs.forEach((l) => l.stop()));
  const connect = async (role: RedisRole, name: string): Promise<Redis> => {
    const redis = lifetime.opened(`Redis ${name} connection`, connections.create(role), closeRedis);
    redis.on('error', (err: Error) => redisErrorLog.note(err.message));
    await redis.connect().catch((err: Error) => {
      throw new StartupError(`Cannot connect to Redis at ${connections.location}: ${err.message}`);
    });
    return redis;
  };
  const redis = await connect('score', 'scoring');

  const sql = overrides.sql ?? lifetime.opened('SQL store', await openSql(config.store, lateLog), (s) => s.close());
  await migrate(sql).catch((err: Error) => {
    throw new StartupError(`Cannot migrate the SQL store at ${sql.location}: ${err.message}`);
  });
  let ruleSync: RuleVersionSync | null = null;
  // rule files sent through the API are checked on a thread of their own (issue 19)
  const ruleChecker = lifetime.opened('rule checker thread', new RuleChecker(), (c) => c.close());
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
    config.ruleFiles.dir,
  ).catch((err: Error) => {
    throw new StartupError(`Cannot load the rule set: ${err.message}`);
  });
  const ruleVersions = opened.versions;
  const rules: ActiveRules = ruleVersions.serving;
  reasons.remember(rules.current);
  const sync = new RuleVersionSync({
    redis,
    subscriber: await connect('subscriber', 'rule subscriber'),
    keys,
    versions: ruleVersions,
    pollMs: config.ruleVersions.pollMs,
    log: lateLog,
  });
  ruleSync = sync;
  lifetime.loop(
    'rule version sync',
    () =>
      sync.start().catch((err: Error) => {
        throw new StartupError(`Cannot follow the active rule version through Redis at ${connections.location}: ${err.message}`);
      }),
    () => sync.close(),
  );
  // the safety cap: acting-rule hits counted per node, summed in Redis, a runaway rule moved to shadow
  const hitCounter = config.ruleVersions.safetyCap.enabled
    ? new RuleHitCounter({ redis, keys, versions: ruleVersions, config: config.ruleVersions.safetyCap, clock, log: lateLog })
    : null;
  if (hitCounter !== null) lifetime.loop('rule hit counter', () => hitCounter.start(), () => hitCounter.close());
  // new scam reports, after they are committed (issue 4: escalate cooling-off holds to the payee)
  const reportListeners: ReportListener[] = [];
  const cases = lifetime.opened(
    'case service',
    new CaseService({
      sql,
      flags: new ReportFlags(redis, keys, config.cases.reportTtlDays),
      clock,
      maxFutureSkewSeconds: config.scoring.maxFutureSkewSeconds,
      historyRetentionDays: config.decisions.decisionRetentionDays,
      log: lateLog,
      onReported: async (payeeId, caseId) => {
        for (const listener of reportListeners) await listener(payeeId, caseId);
      },
    }),
    (c) => c.close(),
  );
  const sink = new DecisionSink(
    await connect('sink', 'decision sink'),
    keys,
    sql,
    { batchSize: config.decisions.sinkBatchSize, retentionDays: config.decisions.decisionRetentionDays },
    clock,
    lateLog,
  );
  lifetime.loop('decision sink', () => (config.decisions.decisionSink ? sink.start() : undefined), () => sink.stop());
  const store = lifetime.opened(
    'decision writes',
    new FeatureStore(
      redis,
      keys,
      featureStoreOptions(config),
      (err) => lateLog.error({ err }, 'recording a decision in Redis failed'),
      overrides.scoreBySteps === undefined ? {} : { steps: overrides.scoreBySteps },
    ),
    (s) => s.drain(),
  );
  // degraded decisions: in SQL (or a file under DATA_DIR when SQL fails too) before the answer
  const degradedSpool = new DegradedSpool({
    table: new DegradedSpoolTable(sql),
    file: new SpoolFile(path.join(config.process.dataDir, 'degraded-spool.jsonl')),
    sqlDeadlineMs: config.scoring.featuresDeadlineMs,
    log: lateLog,
    ...(overrides.degradedAnswersInMemory === undefined ? {} : { maxRemembered: overrides.degradedAnswersInMemory }),
  });
  const reconciler = new DegradedReconciler({
    redis,
    keys,
    store,
    spool: degradedSpool,
    idempotencyTtlSeconds: config.scoring.idempotencyTtlSeconds,
    decisionStreamMaxLen: config.decisions.decisionStreamMaxLen,
    log: lateLog,
  });
  lifetime.loop(
    'degraded decision reconciler',
    async () => {
      // what an earlier run spooled is in Redis before the first score; then on every reconnect
      await reconciler.run().catch((err: unknown) => lateLog.error({ err }, 'reconciling degraded decisions failed; retrying later'));
      reconciler.start();
    },
    () => reconciler.close(),
  );
  const lifecycle = lifetime.opened(
    'lifecycle queues',
    new Lifecycle({
      ...lifecycleSettings(config),
      redis,
      connections,
      keys,
      ruleSet: () => rules.current,
      clock,
      log: lateLog,
      unappliedReports: (payeeId) => cases.unappliedReports(payeeId),
      degradedPending: (transferId) => degradedSpool.isPending(transferId),
    }),
    (l) => l.close(),
  );
  lifetime.loop(
    'lifecycle worker',
    () => (config.lifecycle.runWorker ? lifecycle.startWorker() : undefined),
    () => lifecycle.stopWorker(),
  );
  const model = lifetime.opened(
    'model session',
    await ModelScorer.open({
      dir: config.model.dir,
      watch: false,
      batch: { deadlineMs: config.model.deadlineMs, maxBatch: config.model.maxBatch },
      explainFrom: config.model.explainFrom,
      log: (message) => lateLog.info({}, message),
    }),
    (m) => m.close(),
  );
  lifetime.loop('model directory watch', () => (config.model.watch ? model.watchDirectory() : undefined));
  const service = new ScoreService({
    model,
    ...scoreSettings(config),
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
  const consoleSessions = new ConsoleSessions(clock);
  const server = await buildServer({
    consoleSessions,
    bodyLimitBytes: config.http.bodyLimitBytes,
    logLevel: config.process.logLevel,
    service,
    reasons: (version, ruleId) => reasons.lookup(version, ruleId),
    apiKeys,
    requestTimeoutMs: config.http.requestTimeoutMs,
    readinessDeadlineMs: config.store.storeDeadlineMs,
    metrics: () => metrics.render(),
    readiness: [
      {
        name: 'redis',
        check: async () => ({ ready: (await redis.ping()) === 'PONG', detail: connections.location }),
      },
      model.readiness,
      {
        name: 'auth',
        check: async () => ({
          ready: true,
          detail: apiKeys.enabled ? `${config.http.apiKeys.length} API keys` : 'off: API_KEYS is not set (development mode)',
        }),
      },
      {
        name: 'sql',
        check: async () => {
          await sql.query('SELECT 1');
          const s = sink.getStats();
          const sinkState = config.decisions.decisionSink
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
  serverBuilt(server);
  // requests in flight finish on everything they use before anything closes
  lifetime.entryPoint('HTTP server', drainable(server));
  server.decorate('eventAgeBound', { maxAgeDays: config.scoring.maxEventAgeDays, clock });
  accountRoutes(server, { guardians: new GuardianStore(redis, keys), clock });
  caseRoutes(server, { service: cases });
  ruleRoutes(server, { versions: ruleVersions });
  // rule performance (backtest reports, GET /v1/rules/performance) flags against the configured budget
  const ruleFlags = flagPolicyOf(config.budget.general, CONFIGURED_BUDGET);
  // backtests run on this node, one at a time, at most BACKTEST_MAX_JOBS waiting or running; their state is in SQL (src/backtest)
  const backtests = lifetime.opened(
    'backtest jobs',
    new BacktestJobs({ sql, policy: replayPolicy(config.scoring), flags: ruleFlags, clock, log: lateLog, maxJobs: config.backtest.maxJobs }),
    (b) => b.close(),
  );
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
  rulePerformanceRoutes(server, {
    sql,
    activeRules: () => rules.current,
    policy: replayPolicy(config.scoring),
    clock,
    maxWindowDays: config.backtest.maxWindowDays,
    labelMaturityDays: config.cases.labelMaturityDays,
    flags: ruleFlags,
  });
  lifecycle.routes(server);
  // the analyst console at /console (issue 17): bundled in the background at start, or at its first request
  const consoleAssets = new ConsoleAssets();
  consoleRoutes(server, { sessions: consoleSessions, apiKeys, assets: consoleAssets });
  lifetime.loop('console bundle', () => {
    consoleAssets.get().then(
      (b) => lateLog.info({ buildMs: Math.round(b.buildMs) }, `analyst console bundled in ${Math.round(b.buildMs)} ms (served at /console)`),
      (err: unknown) => lateLog.error({ err }, 'bundling the analyst console failed; /console retries at its next request'),
    );
  });
  overviewRoutes(server, {
    sql,
    budget: config.budget,
    scoreSeconds: metrics.scoreSeconds,
    clock,
    rules: () => {
      const a = ruleVersions.active;
      return { version: a.ruleSet.version, versionId: a.version.id, ruleCount: a.ruleSet.rules.length, activatedAt: a.pointer.activatedAt, activatedBy: a.pointer.activatedBy };
    },
    model: () => {
      const m = model.status().active;
      return m === null ? null : { name: m.name, version: m.version, loadedAt: m.loadedAt };
    },
    degradedPending: () => degradedSpool.size,
  });
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
      log.info(`the files in ${config.ruleFiles.dir} (${ruleFiles.ruleSet.version}) differ from the active rule version ${a.version.id}, which wins`);
    }
  }
  if (config.ruleVersions.fourEyes && !apiKeys.enabled) {
    log.warn('RULES_FOUR_EYES is on but API_KEYS is not set: authors and approvers are names typed in the body, not proven');
  }
  log.info({ backend: sql.backend, location: sql.location }, 'SQL store open');
  // cases whose report flags did not reach Redis before (see CaseService), and again each time
  // the connection is back after an outage (issue 19)
  const reapply = (): void => cases.reapplyPendingInBackground();
  lifetime.loop(
    'pending case re-apply',
    () => {
      reapply();
      redis.on('ready', reapply);
    },
    () => redis.off('ready', reapply),
  );
  if (config.ruleFiles.watch) lifetime.loop(...watchRules(config.ruleFiles.dir, ruleFiles, ruleVersions, log));

  return {
    server,
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
    start: () => lifetime.start(),
    close: () => lifetime.close(),
    closingOrder: () => lifetime.closingOrder(),
  };
}

/**
 * WATCH_RULES: rule files edited while the engine was stopped take effect at start, as the
 * watcher would have made them; then every valid edit is published as a version by "files"
 * (pending when four-eyes is on), which every node loads from SQL like any other version.
 */
function watchRules(
  rulesDir: string,
  ruleFiles: Awaited<ReturnType<typeof loadRuleDir>>,
  ruleVersions: RuleVersions,
  log: FastifyInstance['log'],
): [string, () => Promise<void>, () => void] {
  const rules = ruleVersions.serving;
  let watcher: { close(): void } | null = null;
  // the content of the rule files as last read, so the watcher publishes real edits only
  let lastFilesVersion = ruleFiles.ok ? ruleFiles.ruleSet.version : null;
  const start = async (): Promise<void> => {
    await ruleVersions.publishNewFiles(ruleFiles, rulesDir).catch((err: unknown) => {
      log.error({ err }, `publishing the edited rule files of ${rulesDir} failed; serving the stored version`);
    });
    watcher = watchRuleDir(rulesDir, {
      onLoad: (ruleSet) => {
        rules.lastErrors = null;
        // a save, touch or checkout that leaves the files as they were publishes nothing: it
        // must not revert a version published, rolled back or shadowed since through the API
        if (ruleSet.version === lastFilesVersion) return;
        lastFilesVersion = ruleSet.version;
        ruleVersions.publish(ruleSet.files, FILES_AUTHOR, `rule files edited in ${rulesDir}`).catch((err: unknown) => {
          log.error({ err }, 'publishing the edited rule files failed');
        });
      },
      onError: (errors) => {
        rules.lastErrors = errors;
        log.error(`rule edit rejected, keeping ${rules.current.version}:\n${formatRuleErrors(errors)}`);
      },
    });
  };
  return ['rule file watch', start, () => watcher?.close()];
}

async function openSql(store: StoreConfig, log: { error(obj: object, msg: string): void }): Promise<SqlStore> {
  try {
    return await openSqlStore({
      databaseUrl: store.sql.databaseUrl,
      pgliteDir: store.sql.pgliteDir,
      schema: store.sql.schema,
      deadlineMs: store.storeDeadlineMs,
      onIdleError: (err) => log.error({ err }, 'an idle Postgres connection failed'),
    });
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

