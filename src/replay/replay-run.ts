import type { Redis } from 'ioredis';
import type { AgeBandBounds } from '../features/build-vector.ts';
import { selectRows } from '../train/dataset.ts';
import { DEFAULT_GBDT_PARAMS, gbdtProbabilities, trainGbdt, type GbdtParams } from '../train/gbdt.ts';
import { logisticProbabilities, trainLogistic } from '../train/logistic.ts';
import { replayLabelled } from '../train/pipeline.ts';
import { detectionReport, type DetectionReport, type ScoredRows } from './replay-metrics.ts';
import type { ReplayRow } from './replay-row.ts';

/**
 * The detection replay (issue 8), on the Fraud Detection Handbook's protocol: rows from `from`
 * to the end of the test window go through the engine's own feature code in time order, fraud
 * labels reaching it only as delayed scam reports on the payee; a GBDT (and the logistic
 * baseline) is trained on the training window with the rows' labels — only rows whose label is
 * known `labelDelayDays` after them by the start of the test window — and scores the test window.
 */

export const DAY_MS = 86_400_000;

/** The handbook's published figures on its own protocol (../shared/data/README.md). */
export const HANDBOOK_BASELINES = Object.freeze({
  protocol: 'train 2018-07-25..07-31, test 2018-08-08..08-14, 7-day feedback delay',
  logisticRegression: { rocAuc: 0.871, averagePrecision: 0.606, cardPrecisionAt100: 0.291 },
  randomForest: { rocAuc: 0.867, averagePrecision: 0.658, cardPrecisionAt100: 0.287 },
  xgboost: { rocAuc: 0.862, averagePrecision: 0.639, cardPrecisionAt100: 0.273 },
});

/** All bounds in ms; `*ToMs` are exclusive (the day after the last day). */
export interface ReplayWindows {
  readonly fromMs: number;
  readonly trainFromMs: number;
  readonly trainToMs: number;
  readonly testFromMs: number;
  readonly testToMs: number;
  readonly labelDelayDays: number;
  /** the last days of the training window that choose the number of trees (early stopping) */
  readonly validDays: number;
}

/** What is wrong with the windows, empty when nothing. */
export function windowProblems(w: ReplayWindows): string[] {
  const p: string[] = [];
  if (!(w.fromMs <= w.trainFromMs)) p.push('--from must not be after --train-from');
  if (!(w.trainFromMs < w.trainToMs)) p.push('--train-to must not be before --train-from');
  if (!(w.trainToMs <= w.testFromMs)) p.push('--test-from must be after --train-to');
  if (!(w.testFromMs < w.testToMs)) p.push('--test-to must not be before --test-from');
  if (!(Number.isInteger(w.labelDelayDays) && w.labelDelayDays >= 0)) p.push('--label-delay-days must be a non-negative integer');
  if (!(Number.isInteger(w.validDays) && w.validDays >= 1 && w.validDays * DAY_MS < w.trainToMs - w.trainFromMs)) {
    p.push('--valid-days must be at least 1 and shorter than the training window');
  }
  return p;
}

export interface ReplayRunInput {
  readonly redis: Redis;
  readonly ageBands: AgeBandBounds;
  /** rows from `windows.fromMs` to `windows.testToMs`, in time order */
  readonly rows: AsyncIterable<ReplayRow> | Iterable<ReplayRow>;
  readonly windows: ReplayWindows;
  readonly gbdt?: Partial<GbdtParams>;
  readonly batchSize?: number;
  readonly onProgress?: (rows: number) => void;
}

export interface ReplayOutcome {
  readonly rows: {
    readonly replayed: number;
    readonly train: number;
    readonly trainFrauds: number;
    /** training-window rows left out because their label would not be known by the test window */
    readonly trainLabelNotYetKnown: number;
    readonly test: number;
    readonly testFrauds: number;
  };
  readonly gbdt: { readonly trees: number; readonly stopReason: string; readonly metrics: DetectionReport };
  readonly logisticBaseline: { readonly metrics: DetectionReport };
  readonly replaySeconds: number;
  readonly trainSeconds: number;
}

export async function runReplay(input: ReplayRunInput): Promise<ReplayOutcome> {
  const w = input.windows;
  const problems = windowProblems(w);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const payers: string[] = [];
  const amounts: number[] = [];
  const scenarios: string[] = [];
  const started = Date.now();
  const set = await replayLabelled(input.redis, input.ageBands, input.rows, input.onProgress, {
    onRow: (i, r) => {
      payers[i] = r.event.payer.accountId;
      amounts[i] = r.event.amount;
      scenarios[i] = r.scenario;
    },
    ...(input.batchSize === undefined ? {} : { batchSize: input.batchSize }),
  });
  const replaySeconds = (Date.now() - started) / 1000;

  const fitIdx: number[] = [];
  const validIdx: number[] = [];
  const testIdx: number[] = [];
  let unknown = 0;
  const validFromMs = w.trainToMs - w.validDays * DAY_MS;
  const delayMs = w.labelDelayDays * DAY_MS;
  for (let i = 0; i < set.times.length; i++) {
    const t = set.times[i]!;
    if (t >= w.trainFromMs && t < w.trainToMs) {
      if (t + delayMs > w.testFromMs) unknown += 1;
      else (t < validFromMs ? fitIdx : validIdx).push(i);
    } else if (t >= w.testFromMs && t < w.testToMs) testIdx.push(i);
  }
  for (const [what, idx] of [['training', fitIdx], ['early-stopping (last --valid-days of training)', validIdx], ['test', testIdx]] as const) {
    if (idx.length === 0) throw new Error(`the ${what} window has no transfers`);
  }
  const trainStarted = Date.now();
  const params: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...input.gbdt };
  // the last days choose the number of trees; the model is then refit on the whole window
  const chosen = trainGbdt(selectRows(set.data, fitIdx), selectRows(set.data, validIdx), params);
  const trainIdx = [...fitIdx, ...validIdx];
  const train = selectRows(set.data, trainIdx);
  const { model } = trainGbdt(train, null, { ...params, maxRounds: Math.max(1, chosen.report.trees) });
  const test = selectRows(set.data, testIdx);
  const gbdtScores = gbdtProbabilities(model, test);
  const logistic = trainLogistic(train);
  const logisticScores = logisticProbabilities(logistic, test);
  const trainSeconds = (Date.now() - trainStarted) / 1000;

  const scored = (scores: Float64Array): ScoredRows => ({
    scores,
    labels: test.labels,
    amounts: testIdx.map((i) => amounts[i]!),
    payers: testIdx.map((i) => payers[i]!),
    days: testIdx.map((i) => Math.floor(set.times[i]! / DAY_MS)),
    scenarios: testIdx.map((i) => scenarios[i]!),
  });
  let trainFrauds = 0;
  for (let i = 0; i < train.nRows; i++) trainFrauds += train.labels[i]!;
  let testFrauds = 0;
  for (let i = 0; i < test.nRows; i++) testFrauds += test.labels[i]!;
  return {
    rows: { replayed: set.data.nRows, train: train.nRows, trainFrauds, trainLabelNotYetKnown: unknown, test: test.nRows, testFrauds },
    gbdt: { trees: chosen.report.trees, stopReason: chosen.report.stopReason, metrics: detectionReport(scored(gbdtScores)) },
    logisticBaseline: { metrics: detectionReport(scored(logisticScores)) },
    replaySeconds,
    trainSeconds,
  };
}
