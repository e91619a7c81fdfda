import { DelayedError, Worker, type ConnectionOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { closeRedis, type RedisClient, type RedisConnections } from '../store/redis-connections.ts';
import type { Language } from '../i18n/language.ts';
import type { LifecycleConfig } from './lifecycle-config.ts';
import { deadLetterOf, deliver, NOTIFY_QUEUE, WEBHOOK_QUEUE, type DeliveryJob, type DeliveryQueues } from './deliveries.ts';
import { HOLD_QUEUE, type HoldJob } from './hold-timers.ts';
import type { LifecycleService } from './lifecycle-service.ts';
import type { LifecycleStore } from './lifecycle-store.ts';
import { httpPoster } from './http-post.ts';
import type { Log } from './log.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { INTENT_GRACE_MS } from './split-transitions.ts';

/**
 * The lifecycle worker: everything that happens without a request. `npm start` runs it inside
 * the API process (RUN_WORKER, default true); `npm run worker` runs it alone, so it scales
 * apart. Any number may run at once: every step is an idempotent transition or a job with a
 * deterministic id.
 *
 * - hold timers (BullMQ `holds`): a due hold is re-checked and released or held for review;
 * - the outbox relay: delivers lifecycle events (webhooks; voice and trusted-contact
 *   notification jobs) (outbox-relay.ts);
 * - delivery retries and notifications (BullMQ `webhooks`, `notifications`): signed POSTs
 *   with backoff, then the dead-letter list (deliveries.ts);
 * - sweeps every SWEEP_MS: warnings past their deadline -> ABANDONED; holds still
 *   COOLING_OFF more than OVERDUE_GRACE_MS after their end; and on a Redis Cluster the
 *   transitions whose caller died between the transition and its effects (an intent older
 *   than INTENT_GRACE_MS, split-transitions.ts): their effects are applied. The timer normally ends a hold
 *   within milliseconds; the sweep is what ends it when the timer cannot: a worker killed while
 *   the timer job was active leaves that job locked for HOLD_LOCK.lockDuration, and a timer
 *   lost with a failed Redis write would never fire.
 */

export const SWEEP_MS = 250;
export const OVERDUE_GRACE_MS = 750;
const SWEEP_BATCH = 500;
/**
 * BullMQ locks: a job whose worker died is retried once its lock expires (lockDuration) and a
 * stalled check sees it (every stalledInterval). Shorter than BullMQ's 30 s defaults so a
 * killed worker's deliveries resume within ~20 s; a delivery's lock outlives its 10 s request
 * timeout. A job that stalls too often fails like a last attempt (and is dead-lettered).
 */
/**
 * How long close() waits for the work in hand (a job, the relay's batch, a sweep) before it
 * lets it go (issue 19). Past it, or at once when Redis is not connected (nothing in hand can
 * finish then), close() drops the worker's connections instead of waiting on them: BullMQ's
 * graceful Worker.close() and the loops' commands wait for ever on a Redis that is gone, and
 * after a restart BullMQ's blocking connection can sit in a reconnect delay of up to 20 s that
 * its close() cancels without ever ending (bullmq #4656). A job dropped in flight is not lost:
 * its lock expires (lockDuration) and the stalled-job check of any worker runs it again; a
 * hold timer that runs twice changes nothing (expire-hold.lua), a delivery is at least once.
 */
export const CLOSE_GRACE_MS = 2_000;
/** after dropping the connections, how long close() waits for BullMQ to notice */
const DROP_WAIT_MS = 500;
const HOLD_LOCK = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 5 };
const DELIVERY_LOCK = { lockDuration: 15_000, stalledInterval: 5_000, maxStalledCount: 5 };

export interface LifecycleWorkerDeps {
  readonly config: LifecycleConfig;
  /** DEFAULT_LANGUAGE, for the outbox relay's notifications */
  readonly defaultLanguage: Language;
  /** BullMQ connection options (each BullMQ worker opens its own connections) */
  readonly connection: ConnectionOptions;
  readonly bullPrefix: string;
  /** the relay's connection comes from here (its reads block) */
  readonly connections: RedisConnections;
  readonly store: LifecycleStore;
  readonly service: LifecycleService;
  readonly deliveries: DeliveryQueues;
  readonly clock: () => number;
  readonly log: Log;
}

export class LifecycleWorker {
  private readonly deps: LifecycleWorkerDeps;
  private readonly workers: Worker[] = [];
  private readonly relay: OutboxRelay;
  private readonly relayRedis: RedisClient;
  private readonly http = httpPoster();
  private sweeping = true;
  private sweepLoop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  private constructor(deps: LifecycleWorkerDeps) {
    this.deps = deps;
    this.relayRedis = deps.connections.client('relay');
    this.relayRedis.on('error', (err: Error) => deps.log.warn({ err }, 'outbox relay: Redis connection error (reconnecting)'));
    this.relay = new OutboxRelay({
      redis: this.relayRedis,
      store: deps.store,
      deliveries: deps.deliveries,
      config: deps.config,
      defaultLanguage: deps.defaultLanguage,
      log: deps.log,
      post: this.http.post,
    });
  }

  static async start(deps: LifecycleWorkerDeps): Promise<LifecycleWorker> {
    const w = new LifecycleWorker(deps);
    await w.relay.start();
    w.startWorkers();
    w.sweepLoop = w.sweep();
    deps.log.info({ consumer: w.relay.consumer, concurrency: deps.config.workerConcurrency }, 'lifecycle worker started');
    return w;
  }

  private startWorkers(): void {
    const { config, connection, bullPrefix, service, store, log, clock } = this.deps;
    const concurrency = config.workerConcurrency;
    const base = { prefix: bullPrefix, concurrency };
    // options are copied per worker (BullMQ sets its own on them); a connection (a Cluster, on a
    // cluster) is shared: BullMQ opens each worker's blocking connection from it (duplicate())
    const connectionOf = (): ConnectionOptions => (connection instanceof Cluster || connection instanceof Redis ? connection : { ...connection });
    const holds = new Worker<HoldJob>(
      HOLD_QUEUE,
      async (job, token) => {
        const outcome = await service.expireHold(job.data.transferId, 'timer');
        if (outcome.kind === 'early') {
          // fired before the hold's end by this worker's clock: wait the rest (never release early)
          await job.moveToDelayed(Date.now() + Math.max(1, outcome.untilMs - clock()), token);
          throw new DelayedError();
        }
      },
      { ...base, ...HOLD_LOCK, connection: connectionOf() },
    );
    const deliveryDeps = { config, store, post: this.http.post };
    const deliveryOptions = { ...base, ...DELIVERY_LOCK };
    const webhooks = new Worker<DeliveryJob>(WEBHOOK_QUEUE, (job) => deliver(job, deliveryDeps), { ...deliveryOptions, connection: connectionOf() });
    const notifications = new Worker<DeliveryJob>(NOTIFY_QUEUE, (job) => deliver(job, deliveryDeps), { ...deliveryOptions, connection: connectionOf() });
    for (const w of [holds, webhooks, notifications]) {
      w.on('error', (err) => log.error({ err, queue: w.name }, 'lifecycle worker error'));
      w.on('failed', (job, err) => log.warn({ err, queue: w.name, jobId: job?.id, attempts: job?.attemptsMade }, 'lifecycle job failed'));
      this.workers.push(w);
    }
    for (const w of [webhooks, notifications]) {
      // a delivery failed for good without running its last attempt (it stalled too often):
      // dead-letter it here; the marker makes this and deliver()'s own record one entry
      w.on('failed', (job, err) => {
        if (job === undefined || job.finishedOn === undefined) return;
        store
          .deadLetter(`${job.queueName}:${job.id ?? job.data.eventId}`, deadLetterOf(job.data, null, (job.data.previousAttempts ?? 0) + job.attemptsMade, err.message))
          .catch((e: Error) => log.error({ err: e, jobId: job.id }, 'recording a dead letter failed'));
      });
    }
  }

  private async sweep(): Promise<void> {
    const { service, store, clock, log } = this.deps;
    while (this.sweeping) {
      try {
        for (;;) {
          if (!this.sweeping) break;
          const completed = await store.completeCrashed(clock() - INTENT_GRACE_MS, SWEEP_BATCH);
          if (completed > 0) log.warn({ completed }, 'intent sweep applied the effects of transitions whose caller stopped before them');
          if (completed < SWEEP_BATCH) break;
        }
        while (this.sweeping && (await service.abandonExpired(SWEEP_BATCH)) === SWEEP_BATCH);
        for (;;) {
          if (!this.sweeping) break;
          const ids = await store.overdueHolds(clock() - OVERDUE_GRACE_MS, SWEEP_BATCH);
          if (ids.length === 0) break;
          const outcomes = await Promise.all(ids.map((id) => service.expireHold(id, 'sweep')));
          const ended = outcomes.filter((o) => o.kind === 'moved').length;
          if (ended > 0) log.warn({ ended }, 'overdue sweep ended holds whose timer had not');
          if (ids.length < SWEEP_BATCH) break;
        }
      } catch (err) {
        log.error({ err }, 'lifecycle sweep failed; retrying');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SWEEP_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Shutdown within CLOSE_GRACE_MS: stops taking work and finishes what is in flight when Redis
   * answers; else drops it (retried later, see CLOSE_GRACE_MS). Resolves false when it dropped
   * work; the caller then drops the connections it lent (the store's, whose commands may wait).
   */
  async close(): Promise<boolean> {
    const graceMs = this.relayRedis.status === 'ready' ? CLOSE_GRACE_MS : 0;
    this.sweeping = false;
    this.wake?.();
    const finished = Promise.all([this.sweepLoop, this.relay.stop(), ...this.workers.map((w) => w.close())]);
    const graceful = await settlesWithin(finished, graceMs);
    if (graceful) {
      await closeRedis(this.relayRedis);
    } else {
      this.deps.log.warn({ graceMs }, 'lifecycle worker: closing with work in hand (Redis unreachable or slow); jobs in flight run again once their lock expires');
      this.relayRedis.disconnect();
      await Promise.all(this.workers.map((w) => settlesWithin(w.disconnect(), DROP_WAIT_MS)));
    }
    this.http.close();
    return graceful;
  }
}

/** true when `work` settled (resolved or rejected) within `ms`; it goes on either way. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
