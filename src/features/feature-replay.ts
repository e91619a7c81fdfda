import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AgeBandBounds } from './build-vector.ts';
import { buildFeatureVector } from './build-vector.ts';
import type { FeatureValue } from './catalogue.ts';
import { eventHash, type TransferEvent } from './transfer-event.ts';
import { FeatureStore } from './feature-store.ts';
import { makeKeys } from '../store/keys.ts';
import { unlinkPrefix } from '../store/key-cleanup.ts';
import { ReportFlags, type ReportToApply } from '../cases/report-flags.ts';
import { duplicateTransferError, forEachBatch, REPLAY_BATCH_SIZE, REPLAY_DISTINCT_CAP, type BeforeBatch, type VectorReplay } from './replay-batches.ts';

/**
 * Replays transfer events in time order through the engine's own feature code — the same
 * score script and the same vector builder as POST /v1/transfers/score — so what a model is
 * trained or backtested on is exactly what it would have seen at scoring time (issue 3).
 *
 * Calls of one batch are issued without waiting for each other on one connection: Redis runs
 * them in the order sent, so every transfer still sees the state of all earlier ones.
 * Everything is written under a fresh key prefix, removed by `close()`.
 */

export interface ReplayOptions {
  readonly redis: Redis;
  readonly ageBands: AgeBandBounds;
  /** events issued before waiting for their replies */
  readonly batchSize?: number;
  /** the replay's working keys live under this prefix (default: a fresh one) */
  readonly prefix?: string;
  /** REPORT_HALF_LIFE_HOURS (default DEFAULT_REPORT_HALF_LIFE_HOURS) */
  readonly reportHalfLifeHours?: number;
}

const REPLAY_STORE_OPTIONS = {
  idempotencyTtlSeconds: 30 * 86_400,
  pairTtlDays: 400,
  distinctCap: REPLAY_DISTINCT_CAP,
  decisionStreamMaxLen: 1_000,
};
/** report flags live 100 years: "reported ever", over any replayable span */
const REPLAY_REPORT_TTL_DAYS = 36_500;

export class FeatureReplay implements VectorReplay {
  readonly prefix: string;
  private readonly redis: Redis;
  private readonly store: FeatureStore;
  private readonly ageBands: AgeBandBounds;
  private readonly batchSize: number;
  private readonly flags: ReportFlags;

  constructor(opts: ReplayOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? `replay:${randomUUID()}:`;
    this.ageBands = opts.ageBands;
    this.batchSize = opts.batchSize ?? REPLAY_BATCH_SIZE;
    const keys = makeKeys(this.prefix);
    const storeOptions = opts.reportHalfLifeHours === undefined ? REPLAY_STORE_OPTIONS : { ...REPLAY_STORE_OPTIONS, reportHalfLifeHours: opts.reportHalfLifeHours };
    this.store = new FeatureStore(opts.redis, keys, storeOptions, (err) => {
      throw err;
    });
    this.flags = new ReportFlags(opts.redis, keys, REPLAY_REPORT_TTL_DAYS);
  }

  /**
   * Feature vectors of `events` (which must be in time order), handed to `onVector` in the
   * same order. A transferId seen twice is a data error and stops the replay.
   */
  async replay<E extends TransferEvent>(
    events: Iterable<E> | AsyncIterable<E>,
    onVector: (e: E, v: FeatureValue[]) => void,
    /** awaited before each batch with the time of its first event (e.g. to apply reports due by then) */
    beforeBatch?: BeforeBatch,
  ): Promise<number> {
    return forEachBatch(events, this.batchSize, beforeBatch, async (batch) => {
      const claims = await Promise.all(batch.map((e) => this.store.claimAndUpdate(e, Date.parse(e.occurredAt), eventHash(e))));
      claims.forEach((claim, i) => {
        const e = batch[i]!;
        if (claim.kind !== 'new') throw duplicateTransferError(e.transferId);
        onVector(e, buildFeatureVector(e, Date.parse(e.occurredAt), claim.state, this.ageBands));
      });
    });
  }

  /**
   * Records a scam report in the payee flags the next transfers read (report-flags.lua; once
   * per case id). The flags are kept for the whole replay: they expire on Redis's wall clock,
   * which history older than a live TTL would already be past, and the replay's keys are
   * removed by close() instead.
   */
  async applyReport(r: ReportToApply): Promise<void> {
    await this.flags.apply(r);
  }

  /** Removes every key of this replay (on a cluster: every primary scanned, unlinked per slot). */
  async close(): Promise<void> {
    await unlinkPrefix(this.redis, this.prefix);
  }
}
