/**
 * `npm run cases:export -- [--out FILE] [--as-of ISO] [--maturity-days N] [--from ISO]`
 *
 * Writes the labelled training set (src/cases/training-set.ts): every stored decision older than
 * the label maturity (default LABEL_MATURITY_DAYS) with its stored feature vector, labelled from
 * the case library as of `--as-of` (default now). FILE (default DATA_DIR/training-set.jsonl)
 * gets one JSON row per line, FILE.manifest.json the description. Reads DATABASE_URL (or the
 * embedded database under DATA_DIR, which must not be open in a running engine). Exit 2 on bad
 * options, naming every one.
 */
import path from 'node:path';
import { exportTrainingSet } from '../cases/training-set.ts';
import { loadConfig } from '../config.ts';
import { parseCliOptions } from './cli-args.ts';
import { migrate } from '../store/sql/migrate.ts';
import { describeSqlConfig, openSqlStore } from '../store/sql/sql-store.ts';

const USAGE = 'usage: npm run cases:export -- [--out FILE] [--as-of ISO-8601] [--maturity-days N] [--from ISO-8601]';

function time(name: string, raw: string | undefined, errors: string[]): number | undefined {
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(raw) || Number.isNaN(ms)) errors.push(`--${name} must be an ISO 8601 time with a zone, got "${raw}"`);
  return ms;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: ['out', 'as-of', 'maturity-days', 'from'] }, USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const values = parsed.strings;
  const config = loadConfig();
  const errors: string[] = [];
  const asOfMs = time('as-of', values['as-of'], errors) ?? Date.now();
  const fromMs = time('from', values.from, errors);
  const rawDays = values['maturity-days'];
  const maturityDays = rawDays === undefined ? config.cases.labelMaturityDays : Number(rawDays);
  if (!Number.isInteger(maturityDays) || maturityDays < 0 || maturityDays > 365) {
    errors.push(`--maturity-days must be an integer from 0 to 365, got "${rawDays}"`);
  }
  if (errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  const out = path.resolve(values.out ?? path.join(config.process.dataDir, 'training-set.jsonl'));
  const sql = await openSqlStore({ databaseUrl: config.store.sql.databaseUrl, pgliteDir: config.store.sql.pgliteDir, schema: config.store.sql.schema });
  try {
    await migrate(sql);
    const m = await exportTrainingSet(sql, { asOfMs, maturityDays, ...(fromMs === undefined ? {} : { fromMs }) }, out);
    console.log(`read ${describeSqlConfig(config.store.sql)}`);
    console.log(
      `wrote ${m.rows} decisions (${m.positives} reported scams) that occurred before ${m.occurredBefore}, labelled as of ${m.asOf}, to ${out}`,
    );
    console.log(`manifest: ${out}.manifest.json`);
    if (m.skippedOtherCatalogue > 0) {
      console.log(`left out ${m.skippedOtherCatalogue} decisions scored with another feature catalogue than ${m.catalogue}`);
    }
    return 0;
  } finally {
    await sql.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`cases:export: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
