/**
 * `npm run replay -- --format fdh --csv FILE --train-from D --train-to D --test-from D --test-to D
 *                    [--from D] [--label-delay-days 7] [--valid-days 2] [--batch-size 500]
 *                    [--max-rounds N] [--seed N]`
 * (`--format events --events FILE` for the simulator's JSONL.)
 *
 * Replays the file from `--from` (default 14 days before --train-from, to build history) to
 * the end of the test window through the engine's feature code, labels arriving only as scam
 * reports `--label-delay-days` after each fraud; trains on the training window, scores the test
 * window and prints one JSON report (src/replay/replay-run.ts). Dates are UTC days, inclusive.
 * Redis: REDIS_URL (a fresh key prefix, removed at the end), else a throwaway local redis-server.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../config.ts';
import { intOption, parseCliOptions, type CliOptions } from './cli-args.ts';
import { DAY_MS, HANDBOOK_BASELINES, runReplay, windowProblems, type ReplayWindows } from '../replay/replay-run.ts';
import { fdhRows, simEventRows, type SourceStats } from '../replay/row-sources.ts';
import { startLocalRedis } from '../store/local-redis.ts';

const USAGE =
  'usage: npm run replay -- (--format fdh --csv FILE | --format events --events FILE)\n' +
  '         --train-from YYYY-MM-DD --train-to YYYY-MM-DD --test-from YYYY-MM-DD --test-to YYYY-MM-DD\n' +
  '         [--from YYYY-MM-DD] [--label-delay-days 7] [--valid-days 2] [--batch-size 500] [--max-rounds 300] [--seed 1]';

type Values = CliOptions['strings'];

const OPTIONS = [
  'format', 'csv', 'events', 'from', 'train-from', 'train-to', 'test-from', 'test-to',
  'label-delay-days', 'valid-days', 'batch-size', 'max-rounds', 'seed',
] as const;

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
  if (format !== 'fdh' && format !== 'events') errors.push(`--format must be fdh or events, got "${String(format)}"`);
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
  const maxRounds = intOption(values, 'max-rounds', 300, 1, errors);
  const seed = intOption(values, 'seed', 1, 0, errors);
  const windows: ReplayWindows = { fromMs, trainFromMs, trainToMs, testFromMs, testToMs, labelDelayDays, validDays };
  if (errors.length === 0) errors.push(...windowProblems(windows));
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  const source = file as string;
  const config = loadConfig();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const stats: SourceStats = { linesRead: 0, skippedZeroAmount: 0 };
  const sourceWindow = { fromMs, toMs: testToMs, labelDelayDays };
  const rows = format === 'fdh' ? fdhRows(source, sourceWindow, stats) : simEventRows(source, sourceWindow, stats);

  const started = Date.now();
  const scratch = config.redisUrl === undefined ? mkdtempSync(path.join(tmpdir(), 'calmpay-replay-redis-')) : null;
  const local = scratch === null ? null : await startLocalRedis({ dataDir: scratch, appendOnly: false, log });
  const redis = new Redis(config.redisUrl ?? local!.url);
  let outcome;
  try {
    log(`replaying ${path.basename(source)} from ${dayOf(fromMs)} to ${dayOf(testToMs - DAY_MS)} through the engine's feature code...`);
    let last = started;
    let lastRows = 0;
    outcome = await runReplay({
      redis,
      ageBands: config.ageBands,
      rows,
      windows,
      batchSize,
      gbdt: { maxRounds, seed },
      onProgress: (n) => {
        const now = Date.now();
        const rate = ((n - lastRows) * 1000) / Math.max(1, now - last);
        last = now;
        lastRows = n;
        log(`  ${n.toLocaleString('en')} transfers replayed (${Math.round(rate).toLocaleString('en')} rows/s)`);
      },
    });
  } finally {
    await redis.quit();
    await local?.stop();
    if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  }
  const report = {
    data: { format, file: path.basename(source), linesRead: stats.linesRead, skippedZeroAmount: stats.skippedZeroAmount },
    windows: {
      replayFrom: dayOf(fromMs),
      train: { from: dayOf(trainFromMs), to: dayOf(trainToMs - DAY_MS), earlyStoppingDays: validDays },
      test: { from: dayOf(testFromMs), to: dayOf(testToMs - DAY_MS) },
      labelDelayDays,
    },
    rows: outcome.rows,
    gbdt: outcome.gbdt,
    logisticBaseline: outcome.logisticBaseline,
    handbookBaselines: HANDBOOK_BASELINES,
    seconds: {
      replay: Math.round(outcome.replaySeconds),
      train: Math.round(outcome.trainSeconds),
      total: Math.round((Date.now() - started) / 1000),
      replayRowsPerSecond: Math.round(outcome.rows.replayed / Math.max(outcome.replaySeconds, 1e-3)),
    },
  };
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
