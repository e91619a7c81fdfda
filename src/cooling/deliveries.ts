import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import type { LifecycleConfig } from './lifecycle-config.ts';
import type { LifecycleStore } from './lifecycle-store.ts';
import { queueOptions } from './hold-timers.ts';
import type { HttpPost } from './http-post.ts';
import { signedHeaders } from './webhook-signature.ts';

/**
 * Outgoing deliveries: webhooks announcing transitions (queue `webhooks`) and notifications to
 * people — the voice warning with its spoken script, the notice to an elderly payer's trusted
 * contact (queue `notifications`). Every delivery is a signed JSON POST
 * (webhook-signature.ts), made WEBHOOK_ATTEMPTS times at most, waiting WEBHOOK_BACKOFF_MS before
 * the second attempt and twice as long before each next one, and recorded in the dead-letter
 * list when its last attempt fails. Delivery is at least once: the job id is the event id, and
 * so is the `calmpay-event-id` header a receiver dedupes by.
 *
 * Webhooks are 3+ per transfer, so the outbox relay makes their first attempt itself
 * (outbox-relay.ts) and only a failed one becomes a BullMQ job for the remaining attempts: a
 * BullMQ job costs several Redis scripts, and at 1,000 holds a second they starved the hold
 * timers (`npm run bench:cooling`). Notifications are always jobs.
 */

export const WEBHOOK_QUEUE = 'webhooks';
export const NOTIFY_QUEUE = 'notifications';

export const DELIVERY_TARGETS = ['webhook', 'voice', 'trusted_contact'] as const;
export type DeliveryTarget = (typeof DELIVERY_TARGETS)[number];

export interface DeliveryJob {
  readonly target: DeliveryTarget;
  readonly eventId: string;
  /** the exact JSON that is signed and sent */
  readonly body: string;
  /** attempts made before the job existed (the relay's first attempt), 0 when none */
  readonly previousAttempts?: number;
}

/** A request that takes longer than this counts as a failed attempt. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Job options for the attempts left after `previousAttempts`; null when none are left. */
export function deliveryJobOptions(config: LifecycleConfig, previousAttempts = 0): JobsOptions | null {
  const left = config.webhookAttempts - previousAttempts;
  if (left <= 0) return null;
  // attempt k (1-based, over all attempts) waits backoff * 2^(k-2) after attempt k-1
  const firstWait = previousAttempts === 0 ? 0 : config.webhookBackoffMs * 2 ** (previousAttempts - 1);
  return {
    attempts: left,
    backoff: { type: 'exponential', delay: firstWait === 0 ? config.webhookBackoffMs : firstWait * 2 },
    ...(firstWait > 0 ? { delay: firstWait } : {}),
    removeOnComplete: true,
    // the dead-letter list is the record of failures; BullMQ keeps the latest for inspection
    removeOnFail: { count: 1_000 },
  };
}

export function targetUrl(config: LifecycleConfig, target: DeliveryTarget): string | undefined {
  switch (target) {
    case 'webhook':
      return config.webhookUrl;
    case 'voice':
      return config.voiceUrl;
    case 'trusted_contact':
      return config.trustedContactUrl;
  }
}

/**
 * One signed POST. Resolves to null on a 2xx answer, else to what went wrong. The signature
 * carries wall-clock time (receivers compare it with their own clock).
 */
export async function attemptDelivery(
  post: HttpPost,
  url: string,
  secret: string,
  eventId: string,
  body: string,
  timeoutMs: number = REQUEST_TIMEOUT_MS,
): Promise<string | null> {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = { 'content-type': 'application/json', 'user-agent': 'calmpay', ...signedHeaders(secret, eventId, timestamp, body) };
  try {
    const status = await post(url, headers, body, timeoutMs);
    return status >= 200 && status < 300 ? null : `HTTP ${status} from ${url}`;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message} (${url})`;
  }
}

export interface DeadLetter {
  readonly eventId: string;
  readonly target: DeliveryTarget;
  readonly url: string | null;
  readonly attempts: number;
  readonly lastError: string;
  readonly failedAt: string;
  readonly body: unknown;
}

export function deadLetterOf(data: DeliveryJob, url: string | null, attempts: number, lastError: string): DeadLetter {
  return { eventId: data.eventId, target: data.target, url, attempts, lastError, failedAt: new Date().toISOString(), body: JSON.parse(data.body) as unknown };
}

/** The producer side: the relay enqueues deliveries here. */
export class DeliveryQueues {
  readonly webhooks: Queue<DeliveryJob>;
  readonly notifications: Queue<DeliveryJob>;
  private readonly config: LifecycleConfig;

  constructor(connection: ConnectionOptions, prefix: string, config: LifecycleConfig) {
    this.webhooks = new Queue<DeliveryJob>(WEBHOOK_QUEUE, queueOptions(connection, prefix));
    this.notifications = new Queue<DeliveryJob>(NOTIFY_QUEUE, queueOptions(connection, prefix));
    this.webhooks.on('error', () => {});
    this.notifications.on('error', () => {});
    this.config = config;
  }

  /** Adds the jobs; one whose id (the event id) exists already is not added again. */
  async enqueue(jobs: readonly DeliveryJob[]): Promise<void> {
    const bulk = (webhooks: boolean) =>
      jobs
        .filter((j) => (j.target === 'webhook') === webhooks)
        .flatMap((data) => {
          const opts = deliveryJobOptions(this.config, data.previousAttempts ?? 0);
          return opts === null ? [] : [{ name: data.target, data, opts: { ...opts, jobId: data.eventId } }];
        });
    const webhooks = bulk(true);
    const notifications = bulk(false);
    await Promise.all([
      webhooks.length > 0 ? this.webhooks.addBulk(webhooks) : null,
      notifications.length > 0 ? this.notifications.addBulk(notifications) : null,
    ]);
  }

  async close(): Promise<void> {
    await Promise.all([this.webhooks.close(), this.notifications.close()]);
  }

  /** Drops the queues' connections at once (a close() that waits on a Redis that is gone). */
  disconnect(): void {
    for (const q of [this.webhooks, this.notifications]) q.disconnect().catch(() => undefined);
  }
}

export interface DeliveryDeps {
  readonly config: LifecycleConfig;
  readonly store: LifecycleStore;
  readonly post: HttpPost;
}

/** The worker side: one attempt of one delivery job. Throws to have BullMQ retry it. */
export async function deliver(job: Job<DeliveryJob>, deps: DeliveryDeps): Promise<void> {
  const { target, eventId, body } = job.data;
  const url = targetUrl(deps.config, target);
  const secret = deps.config.webhookSecret;
  // the target was configured when the job was made and is not any more: nothing to do
  if (url === undefined || secret === undefined) return;
  const failure = await attemptDelivery(deps.post, url, secret, eventId, body);
  if (failure === null) return;
  const before = job.data.previousAttempts ?? 0;
  const attempt = before + job.attemptsMade + 1;
  const attempts = before + (job.opts.attempts ?? 1);
  if (attempt >= attempts) {
    await deps.store.deadLetter(`${job.queueName}:${job.id ?? eventId}`, deadLetterOf(job.data, url, attempt, failure));
  }
  throw new Error(`delivery ${eventId} to ${target} failed (attempt ${attempt} of ${attempts}): ${failure}`);
}
