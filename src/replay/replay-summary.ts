import type { ActionRates } from './replay-decisions.ts';
import type { WeekOutcome } from './replay-run.ts';

/**
 * The headline figures of a multi-week replay, one line per test week and their mean
 * (every week weighs the same, as the handbook averages its figures over test days).
 */

export interface WeekLine {
  /** first and last test day, `YYYY-MM-DD..YYYY-MM-DD`; `mean` for the mean line */
  readonly testWeek: string;
  readonly testFrauds: number;
  readonly trees: number;
  readonly rocAuc: number;
  readonly averagePrecision: number;
  readonly cardPrecisionAt100: number;
  /** payers found in an earlier day's top 100 left out (on every test row: not the handbook's figure, see `handbook`) */
  readonly cardPrecisionAt100ExcludingDetected: number;
  readonly recallAt1pct: number;
  readonly fraudValueRecallAt1pct: number;
  readonly logisticAveragePrecision: number;
  /** the engine's actions (rules + the week's GBDT through the policy) on legitimate transfers and on fraud */
  readonly legitimate: DecisionLine;
  readonly fraud: DecisionLine;
  /** share of the fraud's value with any intervention (warn, hold or block) */
  readonly fraudValueIntervened: number;
  /** the figures on the handbook's test set, the only ones its published baselines compare with */
  readonly handbook: HandbookLine;
}

/**
 * The week on the handbook's test set (payers known compromised on a test day left out of it):
 * its figures as the handbook computes them, card precision@100 with payers found in an earlier
 * day's top 100 left out (its `card_precision_top_k`).
 */
export interface HandbookLine {
  readonly testRows: number;
  readonly testFrauds: number;
  /** test rows left out: their payer was known compromised that day */
  readonly leftOutRows: number;
  readonly leftOutFrauds: number;
  readonly rocAuc: number;
  readonly averagePrecision: number;
  readonly cardPrecisionAt100: number;
  readonly logisticRocAuc: number;
  readonly logisticAveragePrecision: number;
  readonly logisticCardPrecisionAt100: number;
}

export interface DecisionLine {
  readonly warn: number;
  readonly hold: number;
  readonly block: number;
  /** any intervention: warn, hold or block */
  readonly any: number;
}

export interface WeekSummary {
  readonly weeks: readonly WeekLine[];
  readonly mean: WeekLine;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const decisionLine = (r: ActionRates): DecisionLine => ({ warn: r.warnRate, hold: r.holdRate, block: r.blockRate, any: r.interventionRate });

export function weekLine(w: WeekOutcome): WeekLine {
  const g = w.gbdt.metrics.overall;
  return {
    testWeek: `${day(w.windows.testFromMs)}..${day(w.windows.testToMs - 86_400_000)}`,
    testFrauds: w.rows.testFrauds,
    trees: w.gbdt.trees,
    rocAuc: g.rocAuc,
    averagePrecision: g.averagePrecision,
    cardPrecisionAt100: g.cardPrecisionAt100,
    cardPrecisionAt100ExcludingDetected: g.cardPrecisionAt100ExcludingDetected,
    recallAt1pct: g.recallAt1pct,
    fraudValueRecallAt1pct: g.fraudValueRecallAt1pct,
    logisticAveragePrecision: w.logisticBaseline.metrics.overall.averagePrecision,
    legitimate: decisionLine(w.decisions.engine.legitimate),
    fraud: decisionLine(w.decisions.engine.fraud),
    fraudValueIntervened: w.decisions.engine.fraudValueInterventionRate,
    handbook: handbookLine(w),
  };
}

function handbookLine(w: WeekOutcome): HandbookLine {
  const h = w.handbookTestSet;
  const g = h.gbdt.overall;
  const l = h.logisticBaseline.overall;
  return {
    testRows: h.rows,
    testFrauds: h.frauds,
    leftOutRows: h.leftOutRows,
    leftOutFrauds: h.leftOutFrauds,
    rocAuc: g.rocAuc,
    averagePrecision: g.averagePrecision,
    cardPrecisionAt100: g.cardPrecisionAt100ExcludingDetected,
    logisticRocAuc: l.rocAuc,
    logisticAveragePrecision: l.averagePrecision,
    logisticCardPrecisionAt100: l.cardPrecisionAt100ExcludingDetected,
  };
}

export function weekSummary(weeks: readonly WeekOutcome[]): WeekSummary {
  const lines = weeks.map(weekLine);
  const mean = (f: (l: WeekLine) => number): number => lines.reduce((s, l) => s + f(l), 0) / lines.length;
  const meanDecisions = (side: 'legitimate' | 'fraud'): DecisionLine => ({
    warn: mean((l) => l[side].warn),
    hold: mean((l) => l[side].hold),
    block: mean((l) => l[side].block),
    any: mean((l) => l[side].any),
  });
  return {
    weeks: lines,
    mean: {
      testWeek: 'mean',
      testFrauds: mean((l) => l.testFrauds),
      trees: mean((l) => l.trees),
      rocAuc: mean((l) => l.rocAuc),
      averagePrecision: mean((l) => l.averagePrecision),
      cardPrecisionAt100: mean((l) => l.cardPrecisionAt100),
      cardPrecisionAt100ExcludingDetected: mean((l) => l.cardPrecisionAt100ExcludingDetected),
      recallAt1pct: mean((l) => l.recallAt1pct),
      fraudValueRecallAt1pct: mean((l) => l.fraudValueRecallAt1pct),
      logisticAveragePrecision: mean((l) => l.logisticAveragePrecision),
      legitimate: meanDecisions('legitimate'),
      fraud: meanDecisions('fraud'),
      fraudValueIntervened: mean((l) => l.fraudValueIntervened),
      handbook: {
        testRows: mean((l) => l.handbook.testRows),
        testFrauds: mean((l) => l.handbook.testFrauds),
        leftOutRows: mean((l) => l.handbook.leftOutRows),
        leftOutFrauds: mean((l) => l.handbook.leftOutFrauds),
        rocAuc: mean((l) => l.handbook.rocAuc),
        averagePrecision: mean((l) => l.handbook.averagePrecision),
        cardPrecisionAt100: mean((l) => l.handbook.cardPrecisionAt100),
        logisticRocAuc: mean((l) => l.handbook.logisticRocAuc),
        logisticAveragePrecision: mean((l) => l.handbook.logisticAveragePrecision),
        logisticCardPrecisionAt100: mean((l) => l.handbook.logisticCardPrecisionAt100),
      },
    },
  };
}

const f3 = (x: number): string => x.toFixed(3);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const rates = (d: DecisionLine): string => `${pct(d.warn)} / ${pct(d.hold)} / ${pct(d.block)}`;

/** The summary on every test row as a Markdown table (what docs/replay.md shows). */
export function summaryTable(s: WeekSummary): string {
  const head =
    '| test week | frauds | trees | ROC AUC | avg precision | card prec.@100 (found earlier left out) | recall @1% | fraud value @1% | logistic AP | legit warn / hold / block | fraud warn / hold / block |';
  const rule = `|${'---|'.repeat(11)}`;
  const row = (l: WeekLine): string =>
    `| ${l.testWeek} | ${Math.round(l.testFrauds)} | ${Math.round(l.trees)} | ${f3(l.rocAuc)} | ${f3(l.averagePrecision)} | ` +
    `${f3(l.cardPrecisionAt100)} (${f3(l.cardPrecisionAt100ExcludingDetected)}) | ${f3(l.recallAt1pct)} | ${f3(l.fraudValueRecallAt1pct)} | ` +
    `${f3(l.logisticAveragePrecision)} | ${rates(l.legitimate)} | ${rates(l.fraud)} |`;
  return [head, rule, ...s.weeks.map(row), row(s.mean)].join('\n');
}

/**
 * The engine's decisions per week as a Markdown table (docs/intervention-budget.md): legitimate
 * transfers warned / held / blocked and with any intervention, fraud with any intervention by
 * count and by value.
 */
export function interventionTable(s: WeekSummary): string {
  const head = '| test week | legit warned | legit held | legit blocked | legit any | fraud any (count) | fraud any (value) |';
  const rule = `|${'---|'.repeat(7)}`;
  const p2 = (x: number): string => `${(x * 100).toFixed(2)}%`;
  const row = (l: WeekLine): string =>
    `| ${l.testWeek} | ${p2(l.legitimate.warn)} | ${p2(l.legitimate.hold)} | ${p2(l.legitimate.block)} | ${p2(l.legitimate.any)} | ${pct(l.fraud.any)} | ${pct(l.fraudValueIntervened)} |`;
  return [head, rule, ...s.weeks.map(row), row(s.mean)].join('\n');
}

/**
 * The summary on the handbook's test set as a Markdown table (what docs/replay.md compares with
 * the handbook's published baselines): rows and frauds kept, rows left out, and the GBDT's and the
 * logistic baseline's ROC AUC, average precision and card precision@100.
 */
export function handbookTable(s: WeekSummary): string {
  const head =
    '| test week | rows (frauds) kept | rows (frauds) left out | ROC AUC | avg precision | card prec.@100 | logistic ROC AUC | logistic AP | logistic card prec.@100 |';
  const rule = `|${'---|'.repeat(9)}`;
  const row = (line: WeekLine): string => {
    const h = line.handbook;
    return (
      `| ${line.testWeek} | ${Math.round(h.testRows)} (${Math.round(h.testFrauds)}) | ${Math.round(h.leftOutRows)} (${Math.round(h.leftOutFrauds)}) | ` +
      `${f3(h.rocAuc)} | ${f3(h.averagePrecision)} | ${f3(h.cardPrecisionAt100)} | ` +
      `${f3(h.logisticRocAuc)} | ${f3(h.logisticAveragePrecision)} | ${f3(h.logisticCardPrecisionAt100)} |`
    );
  };
  return [head, rule, ...s.weeks.map(row), row(s.mean)].join('\n');
}
