/**
 * What the feature replays share (feature-replay.ts on Redis, window-replay.ts without): events
 * go in batches, and a caller's hook runs before each batch with the time of its first event
 * (the training pipeline applies the scam reports due by then). The batches are part of what a
 * replay computes — a report reaches the flags up to one batch late — so both replays cut them
 * the same way, and give the same vectors for the same events.
 */

import type { ReportToApply } from '../cases/report-flags.ts';
import type { FeatureValue } from './catalogue.ts';
import type { TransferEvent } from './transfer-event.ts';

/** A feature replay: FeatureReplay (the score script on Redis) or WindowReplay (its model). */
export interface VectorReplay {
  /**
   * Feature vectors of `events` (which must be in time order), handed to `onVector` in the
   * same order; `beforeBatch` is awaited before each batch. A transferId seen twice is a data
   * error and stops the replay.
   */
  replay<E extends TransferEvent>(
    events: Iterable<E> | AsyncIterable<E>,
    onVector: (e: E, v: FeatureValue[]) => void,
    beforeBatch?: BeforeBatch,
  ): Promise<number>;
  /** Records a scam report in the payee flags the next transfers read (once per case id). */
  applyReport(r: ReportToApply): Promise<void>;
  /** Releases what the replay holds. */
  close(): Promise<void>;
}

/** Events per batch unless the caller says otherwise. */
export const REPLAY_BATCH_SIZE = 2_000;

/** DISTINCT_CAP of a replay (the engine's default). */
export const REPLAY_DISTINCT_CAP = 10_000;

/** Awaited before each batch with the time (ms) of its first event. */
export type BeforeBatch = (firstEventMs: number) => Promise<void>;

/**
 * Hands `events` to `handle` in order, `size` at a time (the last batch may be shorter), each
 * batch read whole, then `beforeBatch` awaited, before it is handled; returns how many events
 * there were.
 */
export async function forEachBatch<E extends TransferEvent>(
  events: Iterable<E> | AsyncIterable<E>,
  size: number,
  beforeBatch: BeforeBatch | undefined,
  handle: (batch: E[]) => Promise<void>,
): Promise<number> {
  let batch: E[] = [];
  let n = 0;
  const flush = async (): Promise<void> => {
    if (beforeBatch !== undefined) await beforeBatch(Date.parse(batch[0]!.occurredAt));
    await handle(batch);
    n += batch.length;
    batch = [];
  };
  for await (const e of events) {
    batch.push(e);
    if (batch.length >= size) await flush();
  }
  if (batch.length > 0) await flush();
  return n;
}

export function duplicateTransferError(transferId: string): Error {
  return new Error(`replay: transferId ${transferId} appears twice`);
}
