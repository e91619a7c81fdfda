import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { holdJobId } from './transfer-states.ts';

/**
 * The cooling-off timers (DESIGN §2): one BullMQ delayed job per hold, whose job id is the
 * transfer id (holdJobId), so a timer is stored in Redis, survives restarts of the API and of
 * the worker, and adding it twice is one timer. The job only says "look at this transfer
 * now": expire-hold.lua decides, so a timer that fires twice, late or after a cancel changes
 * nothing.
 */

export const HOLD_QUEUE = 'holds';

export interface HoldJob {
  readonly transferId: string;
}

/** BullMQ queue options shared by the lifecycle's queues. */
export function queueOptions(connection: ConnectionOptions, prefix: string): { connection: ConnectionOptions; prefix: string; streams: { events: { maxLen: number } } } {
  // nothing reads the queue event streams; keep them short
  return { connection, prefix, streams: { events: { maxLen: 1_000 } } };
}

const TIMER_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { count: 10_000 },
  // a timer that fails (Redis blip) is retried; the worker's overdue sweep is the backstop
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
};

export class HoldTimers {
  readonly queue: Queue<HoldJob>;
  private readonly clock: () => number;

  constructor(connection: ConnectionOptions, prefix: string, clock: () => number) {
    this.queue = new Queue<HoldJob>(HOLD_QUEUE, queueOptions(connection, prefix));
    this.clock = clock;
    // errors surface on the awaited calls; without a listener an 'error' event would crash the process
    this.queue.on('error', () => {});
  }

  /** Adds the timer of a hold ending at `untilMs` (a no-op when it exists). */
  async schedule(transferId: string, untilMs: number): Promise<void> {
    const delay = Math.max(0, untilMs - this.clock());
    await this.queue.add('hold', { transferId }, { ...TIMER_OPTIONS, jobId: holdJobId(transferId), delay });
  }

  /** Removes a hold's timer after a cancel or escalation; the timer is harmless if this fails. */
  async unschedule(transferId: string): Promise<void> {
    await this.queue.remove(holdJobId(transferId));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
