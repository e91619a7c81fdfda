/**
 * `npm run train -- [source] [--name N] [--version V] [--out DIR] [--warmup-days N]
 *                    [--valid-days N] [--test-days N] [GBDT options]`
 * (the GBDT options, shared with `npm run replay`: src/cli/gbdt-options.ts)
 *
 * Sources (one):
 * - default: the simulator (`--payers N --days N --sim-seed N --fraud-rate R --start DATE`),
 *   replayed through the engine's own feature code with scam reports applied as they arrive;
 * - `--events FILE`: simulator-format JSONL (`{"event", "label"}` per line), same replay;
 * - `--training-set FILE`: the case library's export (`npm run cases:export`), stored vectors
 *   and case-library labels.
 *
 * Splits by time: warm-up days build history only, then training, a validation window for
 * early stopping and a later test window for the manifest's metrics. The GBDT options cap the
 * model's size, which is its scoring cost (onnxruntime walks every tree for every row): at most
 * `--max-rounds` trees of at most `--max-leaves` leaves and depth `--max-depth`; `--lambda` (L2
 * on leaf values), `--min-child-weight` (hessian on each side of a split) and
 * `--min-child-samples` (rows on each side) regularise the fewer, larger steps a higher
 * `--learning-rate` takes. Writes
 * `DIR/<name>-<version>.onnx` and `.json`. No Redis: the features come from the score script's
 * velocity model in memory (src/features/window-replay.ts), which gives the script's vectors.
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../config.ts';
import { intOption, parseCliOptions } from './cli-args.ts';
import { GBDT_OPTION_NAMES, GBDT_USAGE, gbdtOptions } from './gbdt-options.ts';
import { progressLine } from './progress.ts';
import { TransferEventSchema } from '../features/transfer-event.ts';
import { WindowReplay } from '../features/window-replay.ts';
import { simulate } from '../sim/index.ts';
import type { SimRecord } from '../sim/types.ts';
import { encodeTrainingRows, labelled, replayLabelled, trainOnReplayed, writeTrainedModel, type LabelledEvent, type ReplayedSet } from '../train/pipeline.ts';

const USAGE =
  'usage: npm run train -- [--payers N --days N --sim-seed N --fraud-rate R --start YYYY-MM-DD | --events FILE | --training-set FILE]\n' +
  '                        [--name NAME] [--version VERSION] [--out DIR] [--warmup-days N] [--valid-days N] [--test-days N]\n' +
  GBDT_USAGE.replace(/^/gm, '                        ');

const DAY = 86_400_000;
const OPTIONS = [
  'payers', 'days', 'sim-seed', 'fraud-rate', 'start', 'events', 'training-set', 'name', 'version', 'out',
  'warmup-days', 'valid-days', 'test-days', ...GBDT_OPTION_NAMES,
];

async function* jsonLines<T>(file: string): AsyncIterable<T> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as T;
    } catch (err) {
      throw new Error(`${file}:${n}: ${(err as Error).message}`);
    }
  }
}

async function* eventsFile(file: string): AsyncIterable<LabelledEvent> {
  let n = 0;
  for await (const raw of jsonLines<{ event: unknown; label: SimRecord['label'] }>(file)) {
    n += 1;
    const parsed = TransferEventSchema.safeParse(raw.event);
    if (!parsed.success) throw new Error(`${file}: record ${n} is not a valid transfer event: ${parsed.error.issues[0]?.message}`);
    yield labelled({ event: parsed.data, label: raw.label });
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: OPTIONS }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.strings;
  const errors: string[] = [];
  const payers = intOption(values, 'payers', 10_000, 0, errors);
  const days = intOption(values, 'days', 35, 0, errors);
  const simSeed = intOption(values, 'sim-seed', 1, 0, errors);
  const warmupDays = intOption(values, 'warmup-days', 7, 0, errors);
  const validDays = intOption(values, 'valid-days', 7, 0, errors);
  const testDays = intOption(values, 'test-days', 7, 0, errors);
  const params = gbdtOptions(values, errors);
  const fraudRate = values['fraud-rate'] === undefined ? 0.005 : Number(values['fraud-rate']);
  if (!(fraudRate > 0 && fraudRate < 1)) errors.push(`--fraud-rate must be between 0 and 1, got "${String(values['fraud-rate'])}"`);
  const start = values.start ?? '2026-06-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(`${start}T00:00:00Z`))) errors.push(`--start must be YYYY-MM-DD, got "${start}"`);
  const name = values.name ?? 'calmpay-gbdt';
  const version = values.version ?? new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '.');
  if (values.events !== undefined && values['training-set'] !== undefined) errors.push('give at most one of --events and --training-set');
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  const out = path.resolve(values.out ?? 'models');
  const config = loadConfig();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  let set: ReplayedSet;
  let dataSource: string;
  const started = Date.now();
  if (values['training-set'] !== undefined) {
    const file = values['training-set'];
    dataSource = `case library export ${path.basename(file)}`;
    set = await encodeTrainingRows(jsonLines(file));
  } else {
    let source: AsyncIterable<LabelledEvent> | Iterable<LabelledEvent>;
    if (values.events !== undefined) {
      dataSource = `events ${path.basename(values.events)}`;
      source = eventsFile(values.events);
    } else {
      dataSource = `simulator payers=${payers} days=${days} seed=${simSeed} fraudRate=${fraudRate} start=${start} optionalFields=partial`;
      source = (function* () {
        for (const r of simulate({ payers, days, seed: simSeed, start, fraudRate })) yield labelled(r);
      })();
    }
    const progress = progressLine('replaying', 'transfers');
    try {
      log(`replaying ${dataSource} through the engine's feature code...`);
      set = await replayLabelled(new WindowReplay({ ageBands: config.features.ageBands, reportHalfLifeHours: config.features.reportHalfLifeHours }), source, (rows) => progress.update(rows));
    } finally {
      progress.end();
    }
  }
  if (set.data.nRows === 0) {
    console.error('no transfers to train on');
    return 1;
  }
  const first = set.times[0]!;
  const last = set.times[set.times.length - 1]!;
  const testFromMs = last + 1 - testDays * DAY;
  const validFromMs = testFromMs - validDays * DAY;
  const trainFromMs = values['training-set'] !== undefined ? first : first + warmupDays * DAY;
  if (!(trainFromMs < validFromMs)) {
    console.error(`the data spans ${((last - first) / DAY).toFixed(1)} days: too short for ${warmupDays} warm-up, ${validDays} validation and ${testDays} test days`);
    return 2;
  }
  log(`${set.data.nRows.toLocaleString('en')} transfers encoded in ${((Date.now() - started) / 1000).toFixed(0)} s; training...`);
  const outcome = trainOnReplayed(set, { trainFromMs, validFromMs, testFromMs }, {
    name,
    version,
    createdAt: new Date().toISOString(),
    dataSource,
    params,
  });
  await mkdir(out, { recursive: true });
  const files = await writeTrainedModel(out, outcome);
  const pct = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
  console.log(
    JSON.stringify(
      {
        model: files,
        rows: outcome.rows,
        trees: outcome.report.trees,
        stopReason: outcome.report.stopReason,
        test: { rocAuc: pct(outcome.test.rocAuc), averagePrecision: pct(outcome.test.averagePrecision), recallAt1pct: pct(outcome.test.recallAt1pct), positives: outcome.test.positives },
        logisticBaseline: { rocAuc: pct(outcome.baseline.rocAuc), averagePrecision: pct(outcome.baseline.averagePrecision), recallAt1pct: pct(outcome.baseline.recallAt1pct) },
        seconds: Math.round((Date.now() - started) / 1000),
      },
      null,
      2,
    ),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(process.env.DEBUG ? err : `npm run train failed: ${err.message}`);
    process.exit(1);
  },
);
