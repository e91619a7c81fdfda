import type { ConnectionOptions } from 'bullmq';
import { DELIVERY_TARGETS, DeliveryQueues, NOTIFY_QUEUE, WEBHOOK_QUEUE, type DeliveryJob, type DeliveryTarget } from './deliveries.ts';
import type { LifecycleConfig } from './lifecycle-config.ts';
import type { LifecycleStore } from './lifecycle-store.ts';
import type { Log } from './log.ts';

/**
 * What an operator does with the dead-letter list (issue 19): redrive a delivery that failed its
 * last attempt (the receiver is back) or clear it (it will never be wanted), one event or all.
 *
 * - Redrive re-queues the delivery with a fresh count of WEBHOOK_ATTEMPTS attempts, to the
 *   target's URL as configured now, with the same event id and the same body, so a receiver
 *   that dedupes by `calmpay-event-id` sees it once. Its dead-letter marker is dropped first, so
 *   a redriven delivery that fails again is dead-lettered again.
 * - Order: queue, then take off the list. A failure in between (Redis) leaves the entry listed
 *   while its delivery is queued; redriving it again adds nothing (the job id is the event id).
 * - Each entry taken off is recorded in the dead-letter audit list (action, actor, time, event
 *   id, target) in the same script, and logged.
 */

export interface DeadLetterDeps {
  readonly store: LifecycleStore;
  readonly config: LifecycleConfig;
  readonly connection: ConnectionOptions;
  readonly bullPrefix: string;
  readonly clock: () => number;
  readonly log: Log;
}

interface StoredDeadLetter {
  /** the entry as stored: what the removal names */
  readonly text: string;
  readonly eventId: string;
  readonly target: DeliveryTarget;
  readonly body: unknown;
}

function parseStored(text: string): StoredDeadLetter | null {
  try {
    const e = JSON.parse(text) as { eventId?: unknown; target?: unknown; body?: unknown };
    if (typeof e.eventId !== 'string' || !(DELIVERY_TARGETS as readonly unknown[]).includes(e.target)) return null;
    return { text, eventId: e.eventId, target: e.target as DeliveryTarget, body: e.body };
  } catch {
    return null;
  }
}

export class DeadLetters {
  private readonly deps: DeadLetterDeps;
  /** opened on the first redrive: most API nodes never need the delivery queues */
  private queues: DeliveryQueues | null = null;

  constructor(deps: DeadLetterDeps) {
    this.deps = deps;
  }

  /** The dead letters of `eventId` (null: all), as stored. */
  private async matching(eventId: string | null): Promise<StoredDeadLetter[]> {
    const all = await this.deps.store.deadLetterTexts();
    return all.flatMap((t) => {
      const e = parseStored(t);
      return e !== null && (eventId === null || e.eventId === eventId) ? [e] : [];
    });
  }

  /** Re-queues the dead letters of `eventId` (null: all); the event ids redriven, [] when none matched. */
  async redrive(eventId: string | null, actor: string): Promise<string[]> {
    const entries = await this.matching(eventId);
    if (entries.length === 0) return [];
    this.queues ??= new DeliveryQueues(this.deps.connection, this.deps.bullPrefix, this.deps.config);
    const queues = this.queues;
    for (const e of entries) {
      const queue = e.target === 'webhook' ? queues.webhooks : queues.notifications;
      await this.deps.store.forgetDeadLetter(`${e.target === 'webhook' ? WEBHOOK_QUEUE : NOTIFY_QUEUE}:${e.eventId}`);
      // BullMQ keeps the failed job under the event id; a job with that id would not be added again
      await queue.remove(e.eventId);
    }
    const jobs: DeliveryJob[] = entries.map((e) => ({ target: e.target, eventId: e.eventId, body: JSON.stringify(e.body) }));
    await queues.enqueue(jobs);
    await this.remove(entries, 'redrive', actor);
    return entries.map((e) => e.eventId);
  }

  /** Removes the dead letters of `eventId` (null: all) for good; the event ids cleared. */
  async clear(eventId: string | null, actor: string): Promise<string[]> {
    const entries = await this.matching(eventId);
    await this.remove(entries, 'clear', actor);
    return entries.map((e) => e.eventId);
  }

  private async remove(entries: readonly StoredDeadLetter[], action: 'redrive' | 'clear', actor: string): Promise<void> {
    if (entries.length === 0) return;
    const at = new Date(this.deps.clock()).toISOString();
    const removed = await this.deps.store.removeDeadLetters(
      entries.map((e) => e.text),
      action,
      actor,
      at,
    );
    this.deps.log.info({ action, actor, removed, eventIds: entries.map((e) => e.eventId).slice(0, 100) }, `dead letters ${action === 'redrive' ? 'redriven' : 'cleared'}`);
  }

  async close(): Promise<void> {
    const q = this.queues;
    this.queues = null;
    await q?.close();
  }
}
