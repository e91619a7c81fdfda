import type { AgeBandBounds } from '../features/build-vector.ts';
import type { ScoringPolicyConfig } from '../scoring/scoring-config.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import type { Action } from '../scoring/actions.ts';
import { selectRows } from '../train/dataset.ts';
import { DEFAULT_GBDT_PARAMS, gbdtMargins, gbdtProbabilities, trainGbdt, type GbdtParams } from '../train/gbdt.ts';
import { logisticProbabilities, trainLogistic } from '../train/logistic.ts';
import { replayLabelled, type ReplayedSet } from '../train/pipeline.ts';
import type { VectorReplay } from '../features/replay-batches.ts';
import { WindowReplay } from '../features/window-replay.ts';
import { decisionReport, replayAction, type DecisionReport, type RuleVerdict } from './replay-decisions.ts';
import { enginePolicy, replayedContext, verdictOf } from '../scoring/decide.ts';
import { rulePerformance, type DecidedTransfer, type FlagPolicy, type PerformanceHit, type RulePerformanceReport } from '../rules/performance/rule-performance.ts';
import { handbookTestRows, knownCompromised, type FraudDay } from './handbook-test-set.ts';
import { detectionReport, subset, type DetectionReport, type ScoredRows } from './replay-metrics.ts';
import type { ReplayRow } from './replay-row.ts';

/**
 * The detection replay (issue 8), on the Fraud Detection Handbook's protocol: rows from `from`
 * to the end of the last test window go through the engine's own feature code in time order
 * (once, however many weeks; the score script's velocity model and the scoring route's vector
 * builder, in memory: no Redis), fraud labels reaching it only as delayed scam reports on the
 * payee; per test week a GBDT (and the logistic baseline) is trained on that week's training
 * window with the rows' labels — only rows whose label is known `labelDelayDays` after them by
 * the start of the test window — and scores the test window, and the engine's decisions (the
 * active rules and the policy, with the GBDT's score as the model score) are taken on it.
 * Context rows (ReplayRow.context, PaySim's non-transfer types) only feed the feature history.
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

/** The windows moved `days` later (the next test week of a multi-week run). */
export function shiftWindows(w: ReplayWindows, days: number): ReplayWindows {
  const d = days * DAY_MS;
  return { ...w, fromMs: w.fromMs + d, trainFromMs: w.trainFromMs + d, trainToMs: w.trainToMs + d, testFromMs: w.testFromMs + d, testToMs: w.testToMs + d };
}

/**
 * `weeks` consecutive protocols: the given windows, then each later one moved `stepDays` on
 * (train, gap and test alike), so week k+1 tests on the days after week k's test window.
 */
export function consecutiveWindows(first: ReplayWindows, weeks: number, stepDays: number): ReplayWindows[] {
  return Array.from({ length: weeks }, (_, k) => shiftWindows(first, k * stepDays));
}

export interface ReplayRunInput {
  /** age bands of the feature code (FeaturesConfig) */
  readonly ageBands: AgeBandBounds;
  /** REPORT_HALF_LIFE_HOURS of the replayed features (default DEFAULT_REPORT_HALF_LIFE_HOURS) */
  readonly reportHalfLifeHours?: number;
  /** the decision policy: thresholds per age band (the scoring slice's policy) */
  readonly policy: ScoringPolicyConfig;
  /** the active rule set the decisions are taken with */
  readonly ruleSet: RuleSet;
  /** rows from the earliest `fromMs` to the latest `testToMs` of `windows`, in time order */
  readonly rows: AsyncIterable<ReplayRow> | Iterable<ReplayRow>;
  /** one protocol per test week; the replay runs once and serves them all */
  readonly windows: readonly ReplayWindows[];
  readonly gbdt?: Partial<GbdtParams>;
  /**
   * Class weighting of the replay's trainer: each training fraud counts this many times
   * (its row repeated; 1 = unweighted). The scores are then moved back by ln(weight) in log-odds,
   * which undoes the shift of the base rate, so the policy sees probabilities on the unweighted scale.
   */
  readonly fraudWeight?: number;
  /** events per replay batch: a scam report reaches the payee flags up to one batch late */
  readonly batchSize?: number;
  /**
   * the feature replay (default: WindowReplay, the score script's model in memory, no Redis;
   * a FeatureReplay of the same batch size gives the same vectors)
   */
  readonly features?: VectorReplay;
  readonly onProgress?: (rows: number) => void;
  /** the intervention budget the rule performance flags against (default: issue 16's defaults) */
  readonly flags?: FlagPolicy;
}

/** `idx` with every fraud row repeated `weight` times (integer class weight by repetition). */
export function weightFrauds(labels: ArrayLike<number>, idx: readonly number[], weight: number): number[] {
  if (!Number.isInteger(weight) || weight < 1) throw new Error(`the fraud weight must be a positive integer, got ${weight}`);
  if (weight === 1) return [...idx];
  const out: number[] = [];
  for (const i of idx) {
    out.push(i);
    if (labels[i] === 1) for (let k = 1; k < weight; k++) out.push(i);
  }
  return out;
}

/** Probabilities of a model trained with frauds weighted `weight`, moved back to the unweighted base rate. */
export function unweightedProbabilities(margins: Float64Array, weight: number): Float64Array {
  const shift = Math.log(weight);
  const out = new Float64Array(margins.length);
  for (let i = 0; i < margins.length; i++) out[i] = 1 / (1 + Math.exp(-(margins[i]! - shift)));
  return out;
}

export interface WeekOutcome {
  readonly windows: ReplayWindows;
  readonly rows: {
    readonly train: number;
    readonly trainFrauds: number;
    /** training-window rows left out because their label would not be known by the test window */
    readonly trainLabelNotYetKnown: number;
    readonly test: number;
    readonly testFrauds: number;
  };
  readonly gbdt: { readonly trees: number; readonly stopReason: string; readonly metrics: DetectionReport };
  readonly logisticBaseline: { readonly metrics: DetectionReport };
  /**
   * The same models on the handbook's test set (src/replay/handbook-test-set.ts): the test rows
   * less those of payers known compromised on the row's day (a fraud from the first training day
   * on, its label known by then). The handbook's published baselines are measured on this set.
   */
  readonly handbookTestSet: HandbookTestSet;
  /**
   * The engine's actions on the test window: the active rules and the policy with the GBDT's
   * score as the model score (`engine`), and with the rules alone (`rulesOnly`, as the engine
   * runs while no model is loaded).
   */
  readonly decisions: { readonly engine: DecisionReport; readonly rulesOnly: DecisionReport };
  /**
   * Per rule on the test window (issue 16): hits (shadow ones too), precision, legitimate hit
   * rate, share of caught fraud, unique catches and the budget flag, of the engine's decisions
   * (`engine` above: the rules and the week's GBDT); the label is the fraud a report names.
   */
  readonly rulePerformance: RulePerformanceReport;
  readonly trainSeconds: number;
}

export interface HandbookTestSet {
  readonly rows: number;
  readonly frauds: number;
  /** test rows, and frauds among them, of payers known compromised on the row's day */
  readonly leftOutRows: number;
  readonly leftOutFrauds: number;
  readonly gbdt: DetectionReport;
  readonly logisticBaseline: DetectionReport;
}

export interface ReplayOutcome {
  /** events through the feature code, context rows included */
  readonly replayed: number;
  readonly weeks: readonly WeekOutcome[];
  readonly replaySeconds: number;
}

/** What a week needs of the replay: the encoded rows and the per-row attributes the report uses. */
interface Replayed {
  readonly set: ReplayedSet;
  readonly payers: readonly string[];
  readonly amounts: readonly number[];
  readonly scenarios: readonly string[];
  /** the rules' verdict on each row from the earliest test window on (active hits with their rule ids) */
  readonly verdicts: readonly (RuleVerdict<PerformanceHit> | undefined)[];
  /** the shadow rules that fired on each row from the earliest test window on */
  readonly shadowHits: readonly (readonly string[] | undefined)[];
  readonly currencies: readonly string[];
  readonly ruleSet: RuleSet;
}

const NO_SHADOW: readonly string[] = Object.freeze([]);
const withRuleId = (h: PerformanceHit): PerformanceHit => ({ ruleId: h.ruleId, score: h.score, action: h.action, scamType: h.scamType });

export async function runReplay(input: ReplayRunInput): Promise<ReplayOutcome> {
  if (input.windows.length === 0) throw new Error('no windows to replay');
  for (const w of input.windows) {
    const problems = windowProblems(w);
    if (problems.length > 0) throw new Error(problems.join('; '));
  }
  const firstTestMs = Math.min(...input.windows.map((w) => w.testFromMs));
  const payers: string[] = [];
  const amounts: number[] = [];
  const scenarios: string[] = [];
  const verdicts: (RuleVerdict<PerformanceHit> | undefined)[] = [];
  const shadowHits: (readonly string[] | undefined)[] = [];
  const currencies: string[] = [];
  const started = Date.now();
  const replay = input.features ?? new WindowReplay({
      ageBands: input.ageBands,
      ...(input.batchSize === undefined ? {} : { batchSize: input.batchSize }),
      ...(input.reportHalfLifeHours === undefined ? {} : { reportHalfLifeHours: input.reportHalfLifeHours }),
    });
  const set = await replayLabelled(replay, input.rows, input.onProgress, {
    onRow: (i, r, v) => {
      payers[i] = r.event.payer.accountId;
      amounts[i] = r.event.amount;
      scenarios[i] = r.scenario;
      currencies[i] = r.event.currency;
      if (Date.parse(r.event.occurredAt) >= firstTestMs) {
        const evaluation = input.ruleSet.evaluate(v);
        verdicts[i] = verdictOf(evaluation, v, withRuleId);
        let shadow: string[] | null = null;
        for (const h of evaluation.hits) if (h.mode === 'shadow') (shadow ??= []).push(h.ruleId);
        shadowHits[i] = shadow ?? NO_SHADOW;
      }
    },
    // context rows feed the history only: no row of the dataset, so no training, test or decision
    keep: (r) => r.context !== true,
  });
  const replaySeconds = (Date.now() - started) / 1000;
  const replayed: Replayed = { set, payers, amounts, scenarios, verdicts, shadowHits, currencies, ruleSet: input.ruleSet };
  const params: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...input.gbdt };
  const fraudWeight = input.fraudWeight ?? 1;
  const weeks = input.windows.map((w) => runWeek(replayed, w, params, fraudWeight, input.policy, input.flags));
  return { replayed: set.events, weeks, replaySeconds };
}

function runWeek(r: Replayed, w: ReplayWindows, params: GbdtParams, fraudWeight: number, policy: ScoringPolicyConfig, flags?: FlagPolicy): WeekOutcome {
  const { set } = r;
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
  const testDay = new Date(w.testFromMs).toISOString().slice(0, 10);
  for (const [what, idx] of [['training', fitIdx], ['early-stopping (last --valid-days of training)', validIdx], ['test', testIdx]] as const) {
    if (idx.length === 0) throw new Error(`the ${what} window of the test week from ${testDay} has no transfers`);
  }
  const trainStarted = Date.now();
  // the last days choose the number of trees; the model is then refit on the whole window
  // (early stopping judges the unweighted validation rows)
  const chosen = trainGbdt(selectRows(set.data, weightFrauds(set.data.labels, fitIdx, fraudWeight)), selectRows(set.data, validIdx), params);
  const trainIdx = [...fitIdx, ...validIdx];
  const train = selectRows(set.data, trainIdx);
  const weighted = fraudWeight === 1 ? train : selectRows(set.data, weightFrauds(set.data.labels, trainIdx, fraudWeight));
  const { model } = trainGbdt(weighted, null, { ...params, maxRounds: Math.max(1, chosen.report.trees) });
  const test = selectRows(set.data, testIdx);
  const gbdtScores = fraudWeight === 1 ? gbdtProbabilities(model, test) : unweightedProbabilities(gbdtMargins(model, test), fraudWeight);
  const logistic = trainLogistic(train);
  const logisticScores = logisticProbabilities(logistic, test);
  const trainSeconds = (Date.now() - trainStarted) / 1000;

  const testScenarios = testIdx.map((i) => r.scenarios[i]!);
  const scored = (scores: Float64Array): ScoredRows => ({
    scores,
    labels: test.labels,
    amounts: testIdx.map((i) => r.amounts[i]!),
    payers: testIdx.map((i) => r.payers[i]!),
    days: testIdx.map((i) => Math.floor(set.times[i]! / DAY_MS)),
    scenarios: testScenarios,
  });
  const handbook = handbookTestSet(r, w, testIdx, scored(gbdtScores), scored(logisticScores));
  const testVerdicts = testIdx.map((i) => r.verdicts[i]!);
  const decided = (actions: readonly Action[]): DecisionReport =>
    decisionReport({ actions, labels: test.labels, scenarios: testScenarios, verdicts: testVerdicts, amounts: testIdx.map((i) => r.amounts[i]!) });
  const engineActions = testVerdicts.map((v, k) => replayAction(v, gbdtScores[k]!, policy));
  const transfers = testIdx.map(
    (i, k): DecidedTransfer => ({
      hits: testVerdicts[k]!.hits,
      shadowRuleIds: r.shadowHits[i]!,
      segment: testVerdicts[k]!.segment,
      context: replayedContext(gbdtScores[k]!),
      action: engineActions[k]!,
      fraud: test.labels[k] === 1,
      amount: r.amounts[i]!,
      currency: r.currencies[i]!,
    }),
  );
  let trainFrauds = 0;
  for (let i = 0; i < train.nRows; i++) trainFrauds += train.labels[i]!;
  let testFrauds = 0;
  for (let i = 0; i < test.nRows; i++) testFrauds += test.labels[i]!;
  return {
    windows: w,
    rows: { train: train.nRows, trainFrauds, trainLabelNotYetKnown: unknown, test: test.nRows, testFrauds },
    gbdt: { trees: chosen.report.trees, stopReason: chosen.report.stopReason, metrics: detectionReport(scored(gbdtScores)) },
    logisticBaseline: { metrics: detectionReport(scored(logisticScores)) },
    handbookTestSet: handbook,
    decisions: { engine: decided(engineActions), rulesOnly: decided(testVerdicts.map((v) => replayAction(v, null, policy))) },
    rulePerformance: rulePerformance(transfers, r.ruleSet.rules, enginePolicy(policy), flags),
    trainSeconds,
  };
}

const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** The week's scored test rows cut to the handbook's test set, and the figures on it. */
function handbookTestSet(r: Replayed, w: ReplayWindows, testIdx: readonly number[], gbdt: ScoredRows, logistic: ScoredRows): HandbookTestSet {
  const { times, data } = r.set;
  const frauds: FraudDay[] = [];
  for (let i = 0; i < times.length; i++) {
    if (data.labels[i] === 1 && times[i]! >= w.trainFromMs && times[i]! < w.testToMs) frauds.push({ payer: r.payers[i]!, day: dayOf(times[i]!) });
  }
  const testDays: number[] = [];
  for (let d = dayOf(w.testFromMs); d < dayOf(w.testToMs); d++) testDays.push(d);
  const known = knownCompromised(frauds, { firstDay: dayOf(w.trainFromMs), delayDays: w.labelDelayDays }, testDays);
  const keep = handbookTestRows(gbdt.payers, gbdt.days, known);
  let rows = 0;
  let kept = 0;
  let leftOutRows = 0;
  let leftOutFrauds = 0;
  for (let k = 0; k < testIdx.length; k++) {
    if (keep[k]) {
      rows += 1;
      kept += gbdt.labels[k]!;
    } else {
      leftOutRows += 1;
      leftOutFrauds += gbdt.labels[k]!;
    }
  }
  return {
    rows,
    frauds: kept,
    leftOutRows,
    leftOutFrauds,
    gbdt: detectionReport(subset(gbdt, (k) => keep[k]!)),
    logisticBaseline: detectionReport(subset(logistic, (k) => keep[k]!)),
  };
}
