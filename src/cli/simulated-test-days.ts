import type { AgeBandBounds } from '../features/build-vector.ts';
import type { FeatureValue } from '../features/catalogue.ts';
import type { TransferEvent } from '../features/transfer-event.ts';
import { WindowReplay } from '../features/window-replay.ts';
import { simulate } from '../sim/index.ts';
import { progressLine } from './progress.ts';

const DAY = 86_400_000;

/** A simulated population: `days` from `start`, the last `testDays` of them evaluated. */
export interface SimulatedPopulation {
  readonly payers: number;
  readonly days: number;
  readonly seed: number;
  readonly testDays: number;
  readonly start: string;
}

/**
 * Replays a simulated population through the engine's feature code in memory (WindowReplay):
 * every day builds history, and `onTest` gets each transfer of the last `testDays` with its
 * feature vector and whether it is a scam (eval:segments, calibrate).
 */
export async function replaySimulatedTestDays(
  population: SimulatedPopulation,
  ageBands: AgeBandBounds,
  progressLabel: string,
  onTest: (e: TransferEvent, v: FeatureValue[], fraud: boolean) => void,
): Promise<void> {
  const { payers, days, seed, testDays, start } = population;
  const testFrom = Date.parse(`${start}T00:00:00Z`) + (days - testDays) * DAY;
  const replay = new WindowReplay({ ageBands });
  const labels = new Map<string, boolean>();
  const progress = progressLine(progressLabel, 'transfers');
  let replayed = 0;
  try {
    const events = (function* () {
      for (const r of simulate({ payers, days, seed, start })) {
        labels.set(r.event.transferId, r.label.fraud);
        yield r.event;
      }
    })();
    await replay.replay(events, (e, v) => {
      progress.update(++replayed);
      const fraud = labels.get(e.transferId) === true;
      labels.delete(e.transferId);
      if (Date.parse(e.occurredAt) < testFrom) return;
      onTest(e, v, fraud);
    });
  } finally {
    progress.end();
    await replay.close();
  }
}
