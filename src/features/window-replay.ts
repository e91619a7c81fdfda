import type { AgeBandBounds } from './build-vector.ts';
import { buildFeatureVector } from './build-vector.ts';
import type { FeatureValue } from './catalogue.ts';
import type { TransferEvent } from './transfer-event.ts';
import { VelocityModel } from './velocity-model.ts';
import { duplicateTransferError, forEachBatch, REPLAY_BATCH_SIZE, REPLAY_DISTINCT_CAP, type BeforeBatch, type VectorReplay } from './replay-batches.ts';
import type { ReportToApply } from '../cases/report-flags.ts';

/**
 * Replays transfer events in time order without Redis: the velocity model of the score script
 * (velocity-model.ts, held to the script by test/integration/velocity-windows-lua.test.ts) and
 * the scoring route's vector builder. For the same events, batches and reports it gives the
 * same vectors as FeatureReplay, which runs the script itself (test/integration/window-replay.test.ts).
 *
 * Everything lives in this process's memory: the model keeps what the script would keep in
 * Redis (about one window hash and a few small sets per account) and every transferId seen.
 */

export interface WindowReplayOptions {
  readonly ageBands: AgeBandBounds;
  /** events per batch: reports applied before a batch are seen by all of it (as FeatureReplay) */
  readonly batchSize?: number;
  /** REPORT_HALF_LIFE_HOURS (default DEFAULT_REPORT_HALF_LIFE_HOURS) */
  readonly reportHalfLifeHours?: number;
}

export class WindowReplay implements VectorReplay {
  private readonly model: VelocityModel;
  private readonly seen = new Set<string>();
  private readonly ageBands: AgeBandBounds;
  private readonly batchSize: number;

  constructor(opts: WindowReplayOptions) {
    this.ageBands = opts.ageBands;
    this.batchSize = opts.batchSize ?? REPLAY_BATCH_SIZE;
    this.model = new VelocityModel(REPLAY_DISTINCT_CAP, opts.reportHalfLifeHours);
  }

  async replay<E extends TransferEvent>(events: Iterable<E> | AsyncIterable<E>, onVector: (e: E, v: FeatureValue[]) => void, beforeBatch?: BeforeBatch): Promise<number> {
    return forEachBatch(events, this.batchSize, beforeBatch, async (batch) => {
      for (const e of batch) {
        if (this.seen.has(e.transferId)) throw duplicateTransferError(e.transferId);
        this.seen.add(e.transferId);
        const tMs = Date.parse(e.occurredAt);
        const deviceId = e.payer.deviceId;
        const state = this.model.score({
          tMs,
          amount: e.amount,
          payerId: e.payer.accountId,
          payeeId: e.payee.accountId,
          // the script takes '' for "no device", as the feature store sends an absent one
          deviceId: deviceId === undefined || deviceId === '' ? null : deviceId,
        });
        onVector(e, buildFeatureVector(e, tMs, state, this.ageBands));
      }
    });
  }

  async applyReport(r: ReportToApply): Promise<void> {
    this.model.applyReport(r);
  }

  /** Nothing to release: the state is this object's memory. */
  async close(): Promise<void> {}
}
