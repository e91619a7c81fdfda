import { setImmediate as nextTurn } from 'node:timers/promises';
import { ageBandOf, FEATURE_COUNT, type FeatureValue } from '../features/catalogue.ts';
import { RulePerformanceTally, type FlagPolicy, type PerformanceHit, type RulePerformanceReport } from '../rules/performance/rule-performance.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import { BacktestTally, type BacktestCounts, type TallyRow } from './backtest-tally.ts';
import { replayDecision, type ReplayContext, type ReplayOutcome, type ReplayPolicy } from './replay-decision.ts';

/**
 * The backtest loop: pages of stored decisions in, counters out. It does no IO of its own: the
 * pages come from a `BacktestSource` (src/backtest/decision-pages.ts reads them from SQL
 * by keyset) and a candidate model, if any, is a `PageScorer`. The next page is requested before
 * the current one is counted, so reading and counting overlap. Every YIELD_EVERY_ROWS rows the
 * loop yields to the event loop, so an API process running a backtest keeps answering scores
 * (a few milliseconds of counting at a time, not a whole page's worth).
 */

/** About 2-5 ms of parsing and replaying on this machine. */
const YIELD_EVERY_ROWS = 500;

/** One stored decision as the backtest reads it. */
export interface StoredDecisionRow extends TallyRow {
  readonly transferId: string;
  /** the stored model score; null when the model did not score */
  readonly modelScore: number | null;
  readonly guardianBlocked: boolean;
  readonly featuresDegraded: boolean;
  /** the stored feature vector as JSON text (catalogue order), parsed here */
  readonly featuresJson: string;
}

export interface BacktestSource {
  /** decisions of the window: of the current feature catalogue (replayable), and of any other */
  count(): Promise<{ readonly current: number; readonly otherCatalogue: number }>;
  /** the replayable decisions, page by page, in (occurredAt, transferId) order */
  pages(): AsyncIterable<readonly StoredDecisionRow[]>;
}

/**
 * P(fraud) of a candidate model for each vector of a page, in order; null where it did not score.
 * Called only with the vectors the live model was asked about (not degraded-mode decisions).
 */
export type PageScorer = (vectors: readonly (readonly FeatureValue[])[]) => Promise<readonly (number | null)[]>;

export interface BacktestProgress {
  readonly rowsDone: number;
  readonly rowsTotal: number;
}

export interface BacktestRun {
  readonly source: BacktestSource;
  readonly active: RuleSet;
  readonly candidate: RuleSet;
  readonly policy: ReplayPolicy;
  /** the candidate model; unset: the candidate side uses each decision's stored model score */
  readonly candidateModel?: PageScorer;
  /** after the count and after every page */
  readonly onProgress?: (p: BacktestProgress) => void | Promise<void>;
  /** stops the run between pages (the promise rejects with the signal's reason) */
  readonly signal?: AbortSignal;
  /** the intervention budget the rule performance flags against (default: issue 16's defaults) */
  readonly flags?: FlagPolicy;
}

export interface BacktestOutcome extends BacktestCounts {
  /** decisions of the window scored with another feature catalogue: not replayed, only counted */
  readonly skippedOtherCatalogue: number;
  /** decisions whose stored vector is not a list of the catalogue's length: not replayed */
  readonly skippedMalformed: number;
  /**
   * Per rule of each side (issue 16, src/rules/performance/rule-performance.ts): hits, precision,
   * legitimate hit rate, share of caught fraud, unique catches and the budget flag, on that
   * side's decisions; fraud is a reported scam, legitimate every other decision.
   */
  readonly performance: { readonly active: RulePerformanceReport; readonly candidate: RulePerformanceReport };
}

/** One side's outcome on one decision, as the rule performance counts it. */
function addPerformance(tally: RulePerformanceTally, r: StoredDecisionRow, v: readonly FeatureValue[], ctx: ReplayContext, o: ReplayOutcome): void {
  const hits: PerformanceHit[] = [];
  const shadow: string[] = [];
  for (const h of o.hits) {
    if (h.mode === 'shadow') shadow.push(h.ruleId);
    else hits.push(h);
  }
  tally.add({ hits, shadowRuleIds: shadow, segment: ageBandOf(v), context: ctx, action: o.action, fraud: r.reported, amount: r.amount, currency: r.currency });
}

function parseVector(text: string): FeatureValue[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(v) && v.length === FEATURE_COUNT ? (v as FeatureValue[]) : null;
}

export async function runBacktest(run: BacktestRun): Promise<BacktestOutcome> {
  const { source, active, candidate, policy } = run;
  const tally = new BacktestTally(active, candidate);
  const activePerformance = new RulePerformanceTally(active.rules, policy, run.flags);
  const candidatePerformance = new RulePerformanceTally(candidate.rules, policy, run.flags);
  const counted = await source.count();
  let done = 0;
  let malformed = 0;
  await run.onProgress?.({ rowsDone: 0, rowsTotal: counted.current });

  const pages = source.pages()[Symbol.asyncIterator]();
  let next = pages.next();
  for (;;) {
    const page = await next;
    if (page.done === true) break;
    next = pages.next();
    // a rejected prefetch is awaited at the top of the next turn; until then it must not be unhandled
    next.catch(() => undefined);
    run.signal?.throwIfAborted();

    const vectors: (FeatureValue[] | null)[] = new Array<FeatureValue[] | null>(page.value.length);
    for (let i = 0; i < page.value.length; i++) {
      if (i > 0 && i % YIELD_EVERY_ROWS === 0) await nextTurn();
      vectors[i] = parseVector(page.value[i]!.featuresJson);
    }
    let modelScores: readonly (number | null)[] | null = null;
    if (run.candidateModel !== undefined) {
      const asked: number[] = [];
      page.value.forEach((r, i) => {
        if (vectors[i] !== null && !r.featuresDegraded) asked.push(i);
      });
      const scores = asked.length === 0 ? [] : await run.candidateModel(asked.map((i) => vectors[i]!));
      const all: (number | null)[] = new Array<number | null>(page.value.length).fill(null);
      asked.forEach((i, k) => (all[i] = scores[k] ?? null));
      modelScores = all;
    }
    for (let i = 0; i < page.value.length; i++) {
      if (i > 0 && i % YIELD_EVERY_ROWS === 0) await nextTurn();
      const r = page.value[i]!;
      const v = vectors[i]!;
      if (v === null) {
        malformed++;
        continue;
      }
      const ctx: ReplayContext = r;
      const a: ReplayOutcome = replayDecision(active, v, ctx, policy);
      const cctx: ReplayContext =
        modelScores === null ? ctx : { amount: r.amount, guardianBlocked: r.guardianBlocked, featuresDegraded: r.featuresDegraded, modelScore: modelScores[i]! };
      const c: ReplayOutcome = replayDecision(candidate, v, cctx, policy);
      tally.add(r, a, c);
      addPerformance(activePerformance, r, v, ctx, a);
      addPerformance(candidatePerformance, r, v, cctx, c);
    }
    done += page.value.length;
    await run.onProgress?.({ rowsDone: done, rowsTotal: Math.max(done, counted.current) });
    await nextTurn();
  }
  return {
    ...tally.result(),
    skippedOtherCatalogue: counted.otherCatalogue,
    skippedMalformed: malformed,
    performance: { active: activePerformance.result(), candidate: candidatePerformance.result() },
  };
}
