import { CATALOGUE_VERSION, type FeatureValue } from '../features/catalogue.ts';
import type { TransferEvent } from '../features/transfer-event.ts';
import type { SimRecord } from '../sim/types.ts';
import { encodeVectorInto, MODEL_FEATURE_COUNT, MODEL_FEATURE_NAMES } from '../model/encode.ts';
import { buildManifest, writeModelFiles, type ModelManifest } from '../model/manifest.ts';
import type { VectorReplay } from '../features/replay-batches.ts';
import type { Dataset } from './dataset.ts';
import { selectRows } from './dataset.ts';
import { DEFAULT_GBDT_PARAMS, gbdtProbabilities, trainGbdt, type GbdtParams, type GbdtReport } from './gbdt.ts';
import { logisticProbabilities, trainLogistic } from './logistic.ts';
import { evaluateScores, type ModelMetrics } from './metrics.ts';
import { exportOnnx, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSETS, ONNX_OUTPUT_PROBABILITY } from './onnx-export.ts';

/**
 * `npm run train` end to end: labelled events in time order → the engine's own features
 * (a VectorReplay: the score script's velocity state, from the script itself or its model,
 * and the vector builder of the scoring route, with scam reports applied to the payee flags
 * when they arrive, never earlier) → the model encoding →
 * time-ordered split (train / validation for early stopping / a later test window for the
 * metrics) → GBDT and the logistic baseline → ONNX + manifest in models/.
 */

export interface LabelledEvent {
  readonly event: TransferEvent;
  readonly fraud: boolean;
  /** when the case library learns of it (a report naming the payee), if ever */
  readonly report: { readonly caseId: string; readonly reporter: string; readonly atMs: number } | null;
}

/** A simulator record as a labelled event (`npm run train`, the replay benchmarks and tests). */
export function labelled(r: SimRecord): LabelledEvent {
  const l = r.label;
  // the case library hears of a victim's case when it is reported; mule onward transfers are
  // nobody's report (their payees are the next layer)
  const report = l.fraud && l.role === 'victim' && l.reportedAt !== null && l.caseId !== null
    ? { caseId: l.caseId, reporter: `${l.reporter ?? 'victim'}:${l.caseId}`, atMs: Date.parse(l.reportedAt) }
    : null;
  return { event: r.event, fraud: l.fraud, report };
}

export interface ReplayedSet {
  readonly data: Dataset;
  /** occurredAt of each row, ms */
  readonly times: Float64Array;
}

export interface ReplayLabelledOptions<L extends LabelledEvent> {
  /**
   * sees each encoded row with its index in the returned dataset and its feature vector in
   * catalogue order (per-row attributes the dataset does not carry; the vector is not kept)
   */
  readonly onRow?: (row: number, labelled: L, vector: readonly FeatureValue[]) => void;
  /**
   * whether an event becomes a row of the dataset (default: every one); an event it refuses
   * still goes through the feature replay, so it feeds the history of later events, but is not
   * encoded, kept or handed to `onRow` (the replay's context rows: PaySim's PAYMENT, DEBIT, CASH_IN)
   */
  readonly keep?: (labelled: L) => boolean;
}

/**
 * Replays every event and encodes those `keep` accepts (all by default), then closes `replay`;
 * `events` is how many went through the feature replay. Reports are applied before each of the
 * replay's batches up to the time of its first event, so a report can reach the payee flags up
 * to one batch late, never early.
 */
export async function replayLabelled<L extends LabelledEvent = LabelledEvent>(
  replay: VectorReplay,
  source: AsyncIterable<L> | Iterable<L>,
  onProgress?: (rows: number) => void,
  options: ReplayLabelledOptions<L> = {},
): Promise<ReplayedSet & { readonly events: number }> {
  const { onRow, keep } = options;
  // reports due later, kept sorted by time when applied
  const pending: { payeeId: string; caseId: string; reporter: string; atMs: number }[] = [];
  let labels = new Uint8Array(4_096);
  let times = new Float64Array(labels.length);
  let x = new Float32Array(labels.length * MODEL_FEATURE_COUNT);
  let n = 0;
  const grow = (): void => {
    const cap = labels.length * 2;
    const nx = new Float32Array(cap * MODEL_FEATURE_COUNT);
    nx.set(x.subarray(0, n * MODEL_FEATURE_COUNT));
    x = nx;
    const nl = new Uint8Array(cap);
    nl.set(labels);
    labels = nl;
    const nt = new Float64Array(cap);
    nt.set(times);
    times = nt;
  };

  const labelOf = new Map<string, L>();
  async function* events(): AsyncIterable<TransferEvent> {
    for await (const r of source) {
      labelOf.set(r.event.transferId, r);
      if (r.report !== null) pending.push({ payeeId: r.event.payee.accountId, ...r.report });
      yield r.event;
    }
  }
  let replayed: number;
  try {
    replayed = await replay.replay(
      events(),
      (e, v) => {
        const r = labelOf.get(e.transferId)!;
        labelOf.delete(e.transferId);
        if (keep !== undefined && !keep(r)) return;
        if (n === labels.length) grow();
        encodeVectorInto(v, x, n * MODEL_FEATURE_COUNT);
        labels[n] = r.fraud ? 1 : 0;
        times[n] = Date.parse(e.occurredAt);
        if (onRow !== undefined) onRow(n, r, v);
        n += 1;
        if (onProgress !== undefined && n % 50_000 === 0) onProgress(n);
      },
      async (firstMs) => {
        pending.sort((a, b) => a.atMs - b.atMs);
        let due = 0;
        while (due < pending.length && pending[due]!.atMs <= firstMs) due += 1;
        for (const p of pending.splice(0, due)) {
          await replay.applyReport({ caseId: p.caseId, payeeId: p.payeeId, reporterKey: p.reporter, reportedAtMs: p.atMs });
        }
      },
    );
  } finally {
    await replay.close();
  }
  return {
    data: { x: x.slice(0, n * MODEL_FEATURE_COUNT), nRows: n, nFeatures: MODEL_FEATURE_COUNT, labels: labels.slice(0, n), featureNames: MODEL_FEATURE_NAMES },
    times: times.slice(0, n),
    events: replayed,
  };
}

export interface SplitWindows {
  /** rows before this are warm-up only (they build history, they are not trained on) */
  readonly trainFromMs: number;
  readonly validFromMs: number;
  readonly testFromMs: number;
}

export interface TrainOutcome {
  readonly manifest: ModelManifest;
  readonly onnxBytes: Uint8Array;
  readonly report: GbdtReport;
  readonly test: ModelMetrics;
  readonly baseline: ModelMetrics;
  readonly rows: { readonly train: number; readonly valid: number; readonly test: number };
}

export interface TrainOptions {
  readonly name: string;
  readonly version: string;
  readonly createdAt: string;
  readonly dataSource: string;
  readonly params?: Partial<GbdtParams>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Rows whose time is in [from, to). */
function rowsIn(times: Float64Array, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < times.length; i++) if (times[i]! >= from && times[i]! < to) out.push(i);
  return out;
}

export function trainOnReplayed(set: ReplayedSet, w: SplitWindows, o: TrainOptions): TrainOutcome {
  const end = set.times.length === 0 ? 0 : set.times[set.times.length - 1]! + 1;
  const trainIdx = rowsIn(set.times, w.trainFromMs, w.validFromMs);
  const validIdx = rowsIn(set.times, w.validFromMs, w.testFromMs);
  const testIdx = rowsIn(set.times, w.testFromMs, end);
  for (const [what, idx] of [['training', trainIdx], ['validation', validIdx], ['test', testIdx]] as const) {
    if (idx.length === 0) throw new Error(`the ${what} window has no transfers`);
  }
  const train = selectRows(set.data, trainIdx);
  const valid = selectRows(set.data, validIdx);
  const test = selectRows(set.data, testIdx);
  const params: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...o.params };
  const { model, report } = trainGbdt(train, valid, params);
  const testMetrics = evaluateScores(gbdtProbabilities(model, test), test.labels);
  const baselineModel = trainLogistic(train);
  const baseline = evaluateScores(logisticProbabilities(baselineModel, test), test.labels);
  const onnxBytes = exportOnnx(model, {
    name: o.name,
    version: o.version,
    featureNames: MODEL_FEATURE_NAMES,
    props: { dataSource: o.dataSource, trainingFrom: iso(w.trainFromMs), trainingTo: iso(w.validFromMs) },
  });
  const manifest = buildManifest({
    name: o.name,
    version: o.version,
    createdAt: o.createdAt,
    ensemble: model,
    onnxBytes,
    irVersion: ONNX_IR_VERSION,
    opsets: ONNX_OPSETS,
    input: ONNX_INPUT,
    output: ONNX_OUTPUT_PROBABILITY,
    trainingWindow: { from: iso(w.trainFromMs), to: iso(w.validFromMs) },
    validationWindow: { from: iso(w.validFromMs), to: iso(w.testFromMs) },
    dataSource: o.dataSource,
    metrics: testMetrics,
    baselineMetrics: baseline,
    params: { ...params },
  });
  return { manifest, onnxBytes, report, test: testMetrics, baseline, rows: { train: train.nRows, valid: valid.nRows, test: test.nRows } };
}

export async function writeTrainedModel(dir: string, outcome: TrainOutcome): Promise<{ onnxPath: string; manifestPath: string }> {
  return writeModelFiles(dir, outcome.manifest, outcome.onnxBytes);
}

/** A training set exported from the case library (`npm run cases:export`): stored vectors, labels. */
export async function encodeTrainingRows(
  rows: AsyncIterable<{ readonly occurredAt: string; readonly features: readonly FeatureValue[]; readonly label: 0 | 1; readonly catalogue: string }>,
): Promise<ReplayedSet> {
  const xs: Float32Array[] = [];
  const labels: number[] = [];
  const times: number[] = [];
  for await (const r of rows) {
    if (r.catalogue !== CATALOGUE_VERSION) {
      throw new Error(`a training row was built with catalogue ${r.catalogue}, this engine has ${CATALOGUE_VERSION}; export again`);
    }
    const row = new Float32Array(MODEL_FEATURE_COUNT);
    encodeVectorInto(r.features, row, 0);
    xs.push(row);
    labels.push(r.label);
    times.push(Date.parse(r.occurredAt));
  }
  const order = times.map((_, i) => i).sort((a, b) => times[a]! - times[b]!);
  const x = new Float32Array(order.length * MODEL_FEATURE_COUNT);
  order.forEach((i, k) => x.set(xs[i]!, k * MODEL_FEATURE_COUNT));
  return {
    data: {
      x,
      nRows: order.length,
      nFeatures: MODEL_FEATURE_COUNT,
      labels: Uint8Array.from(order.map((i) => labels[i]!)),
      featureNames: MODEL_FEATURE_NAMES,
    },
    times: Float64Array.from(order.map((i) => times[i]!)),
  };
}
