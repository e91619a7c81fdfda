import type { ConnectionOptions } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Cluster } from 'ioredis';
import type { Language } from '../i18n/language.ts';
import type { EnginePolicy } from '../scoring/decide.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import type { Keys } from '../store/keys.ts';
import { closeRedis, type RedisClient, type RedisConnections } from '../store/redis-connections.ts';
import { DeadLetters } from './dead-letters.ts';
import { DeliveryQueues } from './deliveries.ts';
import type { LifecycleConfig } from './lifecycle-config.ts';
import { HoldTimers } from './hold-timers.ts';
import { lifecycleRoutes } from '../http/routes/lifecycle.ts';
import { LifecycleService, type UnappliedReports } from './lifecycle-service.ts';
import { LifecycleStore } from './lifecycle-store.ts';
import { CLOSE_GRACE_MS, LifecycleWorker, settlesWithin } from './lifecycle-worker.ts';
import type { Log } from './log.ts';

/**
 * The transfer lifecycle assembled (issue 4): what src/app.ts wires into the API process and
 * src/cli/worker.ts runs alone.
 *
 * - `service` / `routes`: the API side (confirm, cancel, state, review, trusted contacts,
 *   dead letters) on the caller's Redis connection, plus the BullMQ queue for hold timers;
 * - `startWorker()`: timers, outbox relay, sweeps and deliveries, on connections of their
 *   own so that their traffic never queues in front of a score.
 */

export interface LifecycleDeps {
  /** the lifecycle's slice (src/cooling/lifecycle-config.ts) */
  readonly config: LifecycleConfig;
  /** the decision policy (enginePolicy of the scoring slice), for the re-check at the end of a hold */
  readonly policy: EnginePolicy;
  /** IDEMPOTENCY_TTL_SECONDS (src/scoring/scoring-config.ts): how long a transition is remembered for its idempotency */
  readonly idempotencyTtlSeconds: number;
  /** STORE_DEADLINE_MS (src/store/store-config.ts) */
  readonly storeDeadlineMs: number;
  /** DEFAULT_LANGUAGE (src/i18n/i18n-config.ts), for the worker's notifications */
  readonly defaultLanguage: Language;
  /** the API's connection (transition scripts of the routes): one Redis or a Cluster */
  readonly redis: RedisClient;
  /** where the worker's and BullMQ's own connections come from */
  readonly connections: RedisConnections;
  readonly keys: Keys;
  /** the ACTIVE rule set, for the re-check at the end of a hold */
  readonly ruleSet: () => RuleSet;
  /** ms since the epoch */
  readonly clock: () => number;
  readonly log: Log;
  /** the case library's unapplied reports on a payee, asked at the end of every hold (issue 19) */
  readonly unappliedReports?: UnappliedReports;
  /**
   * Run the transitions in their cluster form (split-transitions.ts) on one Redis too; for tests
   * of that form. Default: on a Cluster connection only.
   */
  readonly splitTransitions?: boolean;
  /** transfers answered in degraded mode whose decision is not in Redis yet (LifecycleServiceDeps) */
  readonly degradedPending?: (transferId: string) => Promise<boolean>;
}

export class Lifecycle {
  readonly store: LifecycleStore;
  readonly service: LifecycleService;
  readonly timers: HoldTimers;
  readonly deadLetters: DeadLetters;
  private readonly deps: LifecycleDeps;
  private worker: { redis: RedisClient; deliveries: DeliveryQueues; worker: LifecycleWorker } | null = null;
  /**
   * On a cluster, the Cluster connections given to BullMQ (connections.bullmq()), which BullMQ
   * does not close: closed here after the queues and workers that use them.
   */
  private readonly bullClients: { readonly worker: RedisClient[]; readonly queues: RedisClient[] } = { worker: [], queues: [] };

  constructor(deps: LifecycleDeps) {
    this.deps = deps;
    const { config, policy, storeDeadlineMs, redis, connections, keys, clock, log, ruleSet, unappliedReports, degradedPending } = deps;
    this.store = new LifecycleStore(redis, keys, deps.idempotencyTtlSeconds * 1000, this.storeOptions());
    this.timers = new HoldTimers(this.bullmq('queues'), keys.bullPrefix(), clock);
    this.service = new LifecycleService({ store: this.store, timers: this.timers, config, policy, storeDeadlineMs, ruleSet, clock, log, unappliedReports, degradedPending });
    this.deadLetters = new DeadLetters({
      store: this.store,
      config,
      connection: this.bullmq('queues'),
      bullPrefix: keys.bullPrefix(),
      clock,
      log,
    });
  }

  /** BullMQ's connection (options on one Redis, a Cluster on a cluster: remembered to be closed). */
  private bullmq(owner: 'worker' | 'queues'): ConnectionOptions {
    const c = this.deps.connections.bullmq();
    if (c instanceof Cluster) this.bullClients[owner].push(c);
    return c;
  }

  private storeOptions(): { split?: boolean } {
    return this.deps.splitTransitions === undefined ? {} : { split: this.deps.splitTransitions };
  }

  routes(app: FastifyInstance): void {
    lifecycleRoutes(app, { service: this.service, store: this.store, deadLetters: this.deadLetters, clock: this.deps.clock });
  }

  /** Starts the worker in this process (once). */
  async startWorker(): Promise<void> {
    if (this.worker !== null) return;
    const { config, policy, storeDeadlineMs, defaultLanguage, connections, keys, clock, log, ruleSet, unappliedReports } = this.deps;
    // the worker's own connection, so that its traffic never queues in front of a score
    const redis = connections.client('lifecycle');
    redis.on('error', (err: Error) => log.warn({ err }, 'lifecycle worker: Redis connection error (reconnecting)'));
    const store = new LifecycleStore(redis, keys, this.deps.idempotencyTtlSeconds * 1000, this.storeOptions());
    const service = new LifecycleService({ store, timers: this.timers, config, policy, storeDeadlineMs, ruleSet, clock, log, unappliedReports });
    const deliveries = new DeliveryQueues(this.bullmq('worker'), keys.bullPrefix(), config);
    const worker = await LifecycleWorker.start({
      config,
      defaultLanguage,
      connection: this.bullmq('worker'),
      bullPrefix: keys.bullPrefix(),
      connections,
      store,
      service,
      deliveries,
      clock,
      log,
    });
    this.worker = { redis, deliveries, worker };
  }

  /**
   * The worker (if started) finishes the jobs and relay batch in hand and closes its
   * connections, within CLOSE_GRACE_MS: when Redis is gone it drops them (LifecycleWorker.close()).
   */
  async stopWorker(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w !== null) {
      const graceful = await w.worker.close();
      if (!graceful) w.redis.disconnect(); // its sweep's commands would wait out 20 reconnects
      if (!(await settlesWithin(w.deliveries.close(), graceful ? CLOSE_GRACE_MS : 0))) w.deliveries.disconnect();
      await closeRedis(w.redis);
      await closeAll(this.bullClients.worker.splice(0), graceful);
    }
  }

  /** Graceful: the worker stops (stopWorker()), then the queues close. */
  async close(): Promise<void> {
    await this.stopWorker();
    await this.deadLetters.close();
    await this.timers.close();
    await closeAll(this.bullClients.queues.splice(0), true);
  }
}

async function closeAll(clients: readonly RedisClient[], graceful: boolean): Promise<void> {
  await Promise.all(clients.map((c) => (graceful ? closeRedis(c) : Promise.resolve(c.disconnect()))));
}
