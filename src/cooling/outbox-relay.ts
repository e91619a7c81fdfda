import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../store/redis-connections.ts';
import type { LifecycleConfig } from './lifecycle-config.ts';
import type { Language } from '../i18n/language.ts';
import { attemptDelivery, deadLetterOf, deliveryJobOptions, WEBHOOK_QUEUE, type DeliveryJob, type DeliveryQueues } from './deliveries.ts';
import type { HttpPost } from './http-post.ts';
import type { LifecycleStore } from './lifecycle-store.ts';
import type { Log } from './log.ts';
import { trustedContactNotice, voiceWarning, type LifecycleEvent } from './notifications.ts';
import { decodeOutboxEntry, type OutboxEntry } from './outbox-event.ts';

/**
 * The outbox relay: delivers the lifecycle events of the outbox stream (written atomically
 * with every transition). A consumer group shares the work between workers; an entry is
 * acknowledged and deleted only once its deliveries were made or handed to jobs, whose ids
 * derive from the event id. A relay that dies half-way is repeated by the next one (an entry
 * of a dead consumer is claimed after CLAIM_IDLE_MS): at least once, never lost.
 *
 * For each event:
 * - its webhook (WEBHOOK_URL). The relay makes the first attempt itself; a failed one becomes a
 *   job for the remaining attempts (deliveries.ts). After a failure the relay leaves first
 *   attempts to jobs for BREAKER_MS, so a slow receiver cannot hold up the outbox;
 * - for `transfer.warned`, the voice warning job (VOICE_URL);
 * - for `transfer.cooling_off` of an elderly payer with a trusted contact, the contact's
 *   notice job (TRUSTED_CONTACT_URL).
 * Hold timers are added by the confirm itself; a hold whose timer was lost is ended by the
 * worker's overdue sweep.
 */

export const RELAY_GROUP = 'relay';
const BATCH = 500;
const BLOCK_MS = 500;
/**
 * After a short batch the relay waits this long before reading again. A blocked XREADGROUP
 * returns with the first event that arrives, so under load the relay ran a read and an
 * XDEL + XACK (and its promise chain) for every one or two events; waiting lets a batch gather
 * the events of this many ms. An event is relayed at most this much later; a full batch is
 * followed by the next read at once.
 */
const LINGER_MS = 100;
/** an entry read by a consumer that has not acknowledged it for this long is taken over */
const CLAIM_IDLE_MS = 5_000;
const CLAIM_EVERY_MS = 2_500;
/** consumers idle this long with nothing pending are removed from the group */
const FORGET_CONSUMER_MS = 600_000;
const ERROR_PAUSE_MS = 500;
const FIRST_ATTEMPT_TIMEOUT_MS = 2_000;
const FIRST_ATTEMPT_CONCURRENCY = 64;
const BREAKER_MS = 10_000;

export interface OutboxRelayDeps {
  /** a connection of its own: XREADGROUP blocks it */
  readonly redis: RedisClient;
  readonly store: LifecycleStore;
  readonly deliveries: DeliveryQueues;
  readonly config: LifecycleConfig;
  /** DEFAULT_LANGUAGE (src/i18n/i18n-config.ts): a voice warning of a transfer without a stored language, every trusted-contact notice */
  readonly defaultLanguage: Language;
  readonly log: Log;
  readonly post: HttpPost;
}

type StreamEntry = [id: string, fields: string[]];

export class OutboxRelay {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly deps: OutboxRelayDeps;
  private readonly stream: string;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;
  /** this consumer's own unacknowledged entries are read again first (after a failure) */
  private backlog = true;
  /** until then, webhooks go to jobs without a first attempt here (the receiver failed lately) */
  private breakerUntil = 0;
  /** aborted by stop(), ending a linger at once (as the decision sink's pause) */
  private wake = new AbortController();

  constructor(deps: OutboxRelayDeps) {
    this.deps = deps;
    this.stream = deps.store.keys.lifecycleEvents();
  }

  private async createGroup(): Promise<void> {
    await this.deps.redis.xgroup('CREATE', this.stream, RELAY_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
      if (!err.message.includes('BUSYGROUP')) throw err;
    });
  }

  async start(): Promise<void> {
    await this.createGroup();
    this.wake = new AbortController();
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in hand is relayed (graceful shutdown). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const entries = await this.next();
        if (entries.length > 0) await this.relay(entries);
        if (entries.length > 0 && entries.length < BATCH && this.running) await this.linger();
      } catch (err) {
        this.deps.log.error({ err }, 'outbox relay failed; retrying');
        this.backlog = true;
        // the stream and its group were deleted (FLUSHALL, an operator): start over
        if ((err as Error).message.includes('NOGROUP')) await this.createGroup().catch(() => undefined);
        await new Promise((r) => setTimeout(r, ERROR_PAUSE_MS));
      }
    }
  }

  private async linger(): Promise<void> {
    await sleep(LINGER_MS, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async next(): Promise<StreamEntry[]> {
    const { redis } = this.deps;
    if (Date.now() - this.lastClaim >= CLAIM_EVERY_MS) {
      this.lastClaim = Date.now();
      const claimed = (await redis.xautoclaim(this.stream, RELAY_GROUP, this.consumer, CLAIM_IDLE_MS, '0', 'COUNT', BATCH)) as [string, StreamEntry[]];
      const live = claimed[1].filter((e) => e !== null && e[1] !== null);
      await this.forgetIdleConsumers();
      if (live.length > 0) return live;
    }
    if (this.backlog) {
      const own = (await redis.xreadgroup('GROUP', RELAY_GROUP, this.consumer, 'COUNT', BATCH, 'STREAMS', this.stream, '0')) as
        | [string, StreamEntry[]][]
        | null;
      const entries = own?.[0]?.[1] ?? [];
      if (entries.length > 0) return entries;
      this.backlog = false;
    }
    const fresh = (await redis.xreadgroup('GROUP', RELAY_GROUP, this.consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.stream, '>')) as
      | [string, StreamEntry[]][]
      | null;
    return fresh?.[0]?.[1] ?? [];
  }

  private async forgetIdleConsumers(): Promise<void> {
    const info = (await this.deps.redis.xinfo('CONSUMERS', this.stream, RELAY_GROUP)) as (string | number)[][];
    for (const c of info) {
      const name = String(c[c.indexOf('name') + 1]);
      const pending = Number(c[c.indexOf('pending') + 1]);
      const idle = Number(c[c.indexOf('idle') + 1]);
      if (name !== this.consumer && pending === 0 && idle > FORGET_CONSUMER_MS) {
        await this.deps.redis.xgroup('DELCONSUMER', this.stream, RELAY_GROUP, name);
      }
    }
  }

  private async relay(entries: readonly StreamEntry[]): Promise<void> {
    const { config: lc, defaultLanguage, store, deliveries } = this.deps;
    const webhooks: { eventId: string; body: string }[] = [];
    // notifications need a lookup each (language, contact): made concurrently
    const notifications: Promise<DeliveryJob | null>[] = [];
    for (const [streamId, fields] of entries) {
      let entry: OutboxEntry | null;
      try {
        // null: an entry deleted after it was read (a relay that died after XDEL but before XACK) has no fields
        entry = decodeOutboxEntry(fields);
      } catch (err) {
        this.deps.log.error({ err, streamId }, 'outbox entry cannot be delivered; dropped');
        continue;
      }
      if (entry === null) continue;
      const { eventId, type, body } = entry;
      if (lc.webhookUrl !== undefined) webhooks.push({ eventId, body });
      // the body is parsed only for a notification that may be due
      const mayNotify =
        (type === 'transfer.warned' && lc.voiceUrl !== undefined) ||
        (type === 'transfer.cooling_off' && lc.trustedContactUrl !== undefined);
      if (!mayNotify) continue;
      const event = JSON.parse(body) as LifecycleEvent;
      if (event.type === 'transfer.warned' && lc.voiceUrl !== undefined) {
        notifications.push(
          store.fields(event.transferId, ['lang', 'holdMs']).then(([lang, holdMs]) => {
            const voice = voiceWarning(event, (lang ?? defaultLanguage) as Language, Math.round(Number(holdMs ?? 0) / 60_000));
            return voice === null ? null : { target: 'voice', eventId: voice.id, body: JSON.stringify(voice) };
          }),
        );
      }
      if (event.type === 'transfer.cooling_off' && event.segment === 'elderly' && event.payerId !== null && lc.trustedContactUrl !== undefined) {
        notifications.push(
          store.contact(event.payerId).then((contact) => {
            if (contact === null) return null;
            const notice = trustedContactNotice(event, contact, defaultLanguage);
            return { target: 'trusted_contact', eventId: notice.id, body: JSON.stringify(notice) };
          }),
        );
      }
    }
    const jobs = (await Promise.all(notifications)).filter((j): j is DeliveryJob => j !== null);
    if (webhooks.length > 0) jobs.push(...(await this.firstAttempts(webhooks)));
    await deliveries.enqueue(jobs);
    const ids = entries.map(([id]) => id);
    await this.deps.redis
      .pipeline()
      .xdel(this.stream, ...ids)
      .xack(this.stream, RELAY_GROUP, ...ids)
      .exec();
  }

  /** First attempts of webhooks; returns the jobs for those that failed (or were not tried). */
  private async firstAttempts(events: readonly { eventId: string; body: string }[]): Promise<DeliveryJob[]> {
    const lc = this.deps.config;
    const url = lc.webhookUrl;
    const secret = lc.webhookSecret;
    if (url === undefined || secret === undefined || Date.now() < this.breakerUntil) {
      return events.map((e) => ({ target: 'webhook', ...e }));
    }
    const failed: { eventId: string; body: string; failure: string }[] = [];
    let next = 0;
    const untried: DeliveryJob[] = [];
    const lane = async (): Promise<void> => {
      while (next < events.length) {
        const e = events[next++]!;
        // once one failed, the rest of the batch goes to jobs as well
        if (Date.now() < this.breakerUntil) {
          untried.push({ target: 'webhook', ...e });
          continue;
        }
        const failure = await attemptDelivery(this.deps.post, url, secret, e.eventId, e.body, FIRST_ATTEMPT_TIMEOUT_MS);
        if (failure !== null) {
          failed.push({ ...e, failure });
          this.breakerUntil = Date.now() + BREAKER_MS;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FIRST_ATTEMPT_CONCURRENCY, events.length) }, lane));
    const retries: DeliveryJob[] = [...untried];
    for (const f of failed) {
      const job: DeliveryJob = { target: 'webhook', eventId: f.eventId, body: f.body, previousAttempts: 1 };
      if (deliveryJobOptions(lc, 1) === null) {
        await this.deps.store.deadLetter(`${WEBHOOK_QUEUE}:${f.eventId}`, deadLetterOf(job, url, 1, f.failure));
      } else {
        retries.push(job);
      }
    }
    return retries;
  }
}
