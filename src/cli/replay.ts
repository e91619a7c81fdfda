/**
 * `npm run replay -- --format fdh --csv FILE --train-from D --train-to D --test-from D --test-to D
 *                    [--weeks 1] [--step-days 7] [--from D] [--label-delay-days 7] [--valid-days 2]
 *                    [--batch-size 500] [--rules-dir DIR] [--fraud-weight 1] [GBDT options]`
 * (`--format events --events FILE` for the simulator's JSONL; `--format paysim --csv FILE
 * [--paysim-start 2025-01-01] [--currency CNY]` for a PaySim CSV, src/replay/paysim-row.ts; the
 * GBDT options, shared with `npm run train`: src/cli/gbdt-options.ts.)
 *
 * Replays the file from `--from` (default 14 days before --train-from, to build history) to
 * the end of the last test window through the engine's feature code, labels arriving only as
 * scam reports `--label-delay-days` after each fraud; for each of `--weeks` protocols (the given
 * windows, then each moved `--step-days` later) trains on the training window, scores the test
 * window, takes the engine's decisions (active rules of --rules-dir + the policy) on it, and
 * prints one JSON report (src/replay/replay-run.ts) and, on stderr, a summary table and each
 * week's rule performance table (src/rules/performance/rule-performance.ts). Dates are
 * UTC days, inclusive. No Redis: the features come from the score script's velocity model in
 * memory (src/features/window-replay.ts), which gives the script's vectors.
 */
import { existsSync } from 'node:fs';
import { CURRENCY } from '../features/transfer-event.ts';
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { intOption, parseCliOptions, type CliOptions } from './cli-args.ts';
import { GBDT_OPTION_NAMES, GBDT_USAGE, gbdtOptions } from './gbdt-options.ts';
import { progressLine } from './progress.ts';
import { handbookTable, interventionTable, summaryTable, weekSummary } from '../replay/replay-summary.ts';
import { CONFIGURED_BUDGET, flagPolicyOf, rulePerformanceTable } from '../rules/performance/rule-performance.ts';
import { consecutiveWindows, DAY_MS, HANDBOOK_BASELINES, runReplay, windowProblems, type ReplayWindows } from '../replay/replay-run.ts';
import { formatRuleError, loadRuleDir } from '../rules/language/index.ts';
import { DEFAULT_GBDT_PARAMS } from '../train/gbdt.ts';
import { fdhRows, paysimRows, simEventRows, type SourceStats } from '../replay/row-sources.ts';
import { emptyPaySimStats } from '../replay/paysim-row.ts';
import { flagBaseline } from '../replay/paysim-baseline.ts';

const USAGE =
  'usage: npm run replay -- (--format fdh --csv FILE | --format events --events FILE\n' +
  '                          | --format paysim --csv FILE [--paysim-start 2025-01-01] [--currency CNY])\n' +
  '         --train-from YYYY-MM-DD --train-to YYYY-MM-DD --test-from YYYY-MM-DD --test-to YYYY-MM-DD\n' +
  '         [--weeks 1] [--step-days 7] [--from YYYY-MM-DD] [--label-delay-days 7] [--valid-days 2]\n' +
  '         [--batch-size 500] [--rules-dir DIR (RULES_DIR)] [--fraud-weight 1]\n' +
  GBDT_USAGE.replace(/^/gm, '         ');

type Values = CliOptions['strings'];

const OPTIONS = [
  'format', 'csv', 'events', 'from', 'train-from', 'train-to', 'test-from', 'test-to',
  'paysim-start', 'currency', 'label-delay-days', 'valid-days', 'batch-size', 'weeks', 'step-days', 'rules-dir', 'fraud-weight', ...GBDT_OPTION_NAMES,
];

function day(values: Values, name: string, errors: string[]): number {
  const raw = values[name];
  if (raw === undefined) {
    errors.push(`--${name} is required`);
    return Number.NaN;
  }
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms)) errors.push(`--${name} must be a date YYYY-MM-DD, got "${raw}"`);
  return ms;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: OPTIONS }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.strings;
  const errors: string[] = [];
  const format = values.format ?? 'fdh';
  if (format !== 'fdh' && format !== 'events' && format !== 'paysim') errors.push(`--format must be fdh, paysim or events, got "${String(format)}"`);
  // PaySim's clock and currency (src/replay/paysim-row.ts): step 1 is the first hour of --paysim-start
  let paysimStartMs = Date.parse('2025-01-01T00:00:00Z');
  let currency = 'CNY';
  if (format === 'paysim') {
    if (values['paysim-start'] !== undefined) paysimStartMs = day(values, 'paysim-start', errors);
    if (values.currency !== undefined) {
      const c = CURRENCY.safeParse(values.currency);
      if (c.success) currency = c.data;
      else errors.push(`--currency ${c.error.issues[0]?.message ?? 'is not valid'}, got "${values.currency}"`);
    }
  } else {
    for (const o of ['paysim-start', 'currency']) if (values[o] !== undefined) errors.push(`--${o} is for --format paysim only`);
  }
  const fileOption = format === 'events' ? 'events' : 'csv';
  const file = values[fileOption];
  if (typeof file !== 'string') errors.push(`--${fileOption} FILE is required with --format ${String(format)}`);
  else if (!existsSync(file)) errors.push(`--${fileOption}: no such file ${file}`);
  const trainFromMs = day(values, 'train-from', errors);
  const trainToMs = day(values, 'train-to', errors) + DAY_MS;
  const testFromMs = day(values, 'test-from', errors);
  const testToMs = day(values, 'test-to', errors) + DAY_MS;
  const fromMs = values.from === undefined ? trainFromMs - 14 * DAY_MS : day(values, 'from', errors);
  const labelDelayDays = intOption(values, 'label-delay-days', 7, 0, errors);
  const validDays = intOption(values, 'valid-days', 2, 1, errors);
  const batchSize = intOption(values, 'batch-size', 500, 1, errors);
  const weeks = intOption(values, 'weeks', 1, 1, errors);
  const stepDays = intOption(values, 'step-days', 7, 1, errors);
  const fraudWeight = intOption(values, 'fraud-weight', 1, 1, errors);
  const gbdt = gbdtOptions(values, errors);
  const first: ReplayWindows = { fromMs, trainFromMs, trainToMs, testFromMs, testToMs, labelDelayDays, validDays };
  if (errors.length === 0) errors.push(...windowProblems(first));
  const windows = consecutiveWindows(first, weeks, stepDays);
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  const source = file as string;
  const config = loadConfig();
  const rulesDir = path.resolve(values['rules-dir'] ?? config.ruleFiles.dir);
  const rules = await loadRuleDir(rulesDir);
  if (!rules.ok) {
    console.error(`the rule set in ${rulesDir} does not compile:`);
    for (const e of rules.errors) console.error(formatRuleError(e));
    return 2;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const stats: SourceStats = { linesRead: 0, skippedZeroAmount: 0 };
  const lastTestToMs = windows[windows.length - 1]!.testToMs;
  const sourceWindow = { fromMs, toMs: lastTestToMs, labelDelayDays };
  const paysim = emptyPaySimStats();
  const rows =
    format === 'fdh' ? fdhRows(source, sourceWindow, stats)
    : format === 'paysim' ? paysimRows(source, { ...sourceWindow, startMs: paysimStartMs, currency }, stats, paysim)
    : simEventRows(source, sourceWindow, stats);

  const started = Date.now();
  let outcome;
  const progress = progressLine('replaying', 'transfers');
  try {
    log(`replaying ${path.basename(source)} from ${dayOf(fromMs)} to ${dayOf(lastTestToMs - DAY_MS)} through the engine's feature code (${weeks} test week(s), rules ${rules.ruleSet.version})...`);
    outcome = await runReplay({
      ageBands: config.features.ageBands,
      reportHalfLifeHours: config.features.reportHalfLifeHours,
      policy: config.scoring,
      ruleSet: rules.ruleSet,
      rows,
      windows,
      batchSize,
      gbdt,
      fraudWeight,
      flags: flagPolicyOf(config.budget.general, CONFIGURED_BUDGET),
      onProgress: (n) => progress.update(n),
    });
  } finally {
    progress.end();
  }
  const report = {
    data: { format, file: path.basename(source), linesRead: stats.linesRead, skippedZeroAmount: stats.skippedZeroAmount, replayFrom: dayOf(fromMs), rowsReplayed: outcome.replayed },
    ...(format === 'paysim'
      ? {
          paysim: {
            stepOne: new Date(paysimStartMs).toISOString(),
            currency,
            scored: 'TRANSFER, CASH_OUT',
            context: 'PAYMENT, DEBIT, CASH_IN (feature history only)',
            rowsByType: paysim.byType,
            contextRowsLabelledFraud: paysim.contextFrauds,
          },
        }
      : {}),
    rules: { dir: rulesDir, version: rules.ruleSet.version, rules: rules.ruleSet.rules.length },
    policy: { thresholds: config.scoring.thresholds, modelScore: 'the GBDT trained on the week (rulesOnly: no model)', guardianLimits: 'none in replayed data' },
    trainer: { ...DEFAULT_GBDT_PARAMS, ...gbdt, earlyStoppingDays: validDays, fraudWeight },
    weeks: outcome.weeks.map((w) => ({
      windows: {
        train: { from: dayOf(w.windows.trainFromMs), to: dayOf(w.windows.trainToMs - DAY_MS), earlyStoppingDays: validDays },
        test: { from: dayOf(w.windows.testFromMs), to: dayOf(w.windows.testToMs - DAY_MS) },
        labelDelayDays,
      },
      rows: w.rows,
      gbdt: w.gbdt,
      logisticBaseline: w.logisticBaseline,
      handbookTestSet: w.handbookTestSet,
      decisions: w.decisions,
      rulePerformance: w.rulePerformance,
      ...(format === 'paysim' ? { paysimFlagBaseline: flagBaseline(paysim.flagDays, w.windows.testFromMs, w.windows.testToMs, w.decisions.engine) } : {}),
      trainSeconds: Math.round(w.trainSeconds),
    })),
    summary: weekSummary(outcome.weeks),
    handbookBaselines: HANDBOOK_BASELINES,
    seconds: {
      replay: Math.round(outcome.replaySeconds),
      total: Math.round((Date.now() - started) / 1000),
      replayRowsPerSecond: Math.round(outcome.replayed / Math.max(outcome.replaySeconds, 1e-3)),
    },
  };
  log('every test row:');
  log(summaryTable(report.summary));
  log("\nthe handbook's test set (payers known compromised on the day left out), the set its published baselines are measured on:");
  log(handbookTable(report.summary));
  log("\nthe engine's decisions (rules + the week's GBDT through the policy), every test row:");
  log(interventionTable(report.summary));
  for (const w of outcome.weeks) {
    log(`\nRule performance, test week ${dayOf(w.windows.testFromMs)}..${dayOf(w.windows.testToMs - DAY_MS)} (the engine's decisions: rules + the week's GBDT):`);
    log(rulePerformanceTable(w.rulePerformance));
  }
  for (const w of report.weeks) {
    if (!('paysimFlagBaseline' in w) || w.paysimFlagBaseline === undefined) continue;
    const b = w.paysimFlagBaseline;
    const line = (name: string, f: typeof b.paysimIsFlaggedFraud): string =>
      `  ${name}: ${f.alerts} alerts, precision ${f.precision.toFixed(3)}, recall ${f.recall.toFixed(3)}`;
    log(`\nPaySim's isFlaggedFraud next to calmpay, test ${w.windows.test.from}..${w.windows.test.to} (${b.transfers} transfers, ${b.frauds} fraud):`);
    log(line('isFlaggedFraud', b.paysimIsFlaggedFraud));
    log(line('calmpay any intervention', b.calmpayAnyIntervention));
    log(line('calmpay hold or block', b.calmpayHoldOrBlock));
  }
  console.log(JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(4)) : v), 2));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(process.env.DEBUG ? err : `npm run replay failed: ${err.message}`);
    process.exit(1);
  },
);
