/**
 * `npm run cases:analysis -- [--from ISO] [--to ISO] [--top N] [--max-rows N] [--json] [--url URL]`
 *
 * Prints the case library's feature analysis (src/cases/feature-analysis.ts) for a terminal, or
 * as JSON with --json. Reads DATABASE_URL (or the embedded database under DATA_DIR, which must
 * not be open in a running engine); with --url it asks a running engine instead
 * (GET /v1/cases/analysis, API key from CALMPAY_API_KEY). Exit 2 on bad options, naming every
 * one.
 */
import { AnalysisQuerySchema, runAnalysis, type AnalysisReport } from '../cases/case-analysis.ts';
import { renderAnalysis } from '../cases/analysis-report.ts';
import { loadConfig } from '../config.ts';
import { parseCliOptions } from './cli-args.ts';
import { migrate } from '../store/sql/migrate.ts';
import { openSqlStore } from '../store/sql/sql-store.ts';

const USAGE =
  'usage: npm run cases:analysis -- [--from ISO-8601] [--to ISO-8601] [--top N] [--max-rows N] [--json] [--url http://host:port]';

async function fromEngine(url: string, query: URLSearchParams): Promise<AnalysisReport> {
  const key = process.env.CALMPAY_API_KEY;
  const res = await fetch(`${url.replace(/\/$/, '')}/v1/cases/analysis?${query}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const body = (await res.json()) as AnalysisReport | { code: string; message: string };
  if (!res.ok) throw new Error(`${res.status} ${'code' in body ? `${body.code}: ${body.message}` : ''}`);
  return body as AnalysisReport;
}

async function main(argv: string[]): Promise<number> {
  const options = parseCliOptions(argv, { strings: ['from', 'to', 'top', 'max-rows', 'url'], flags: ['json'] }, USAGE);
  if ('exitCode' in options) return options.exitCode;
  const values = options.strings;
  const raw: Record<string, string> = {};
  if (values.from !== undefined) raw.from = values.from;
  if (values.to !== undefined) raw.to = values.to;
  if (values.top !== undefined) raw.top = values.top;
  if (values['max-rows'] !== undefined) raw.maxRows = values['max-rows'];
  const parsed = AnalysisQuerySchema.safeParse(raw);
  const errors = parsed.success ? [] : parsed.error.issues.map((i) => `--${String(i.path[0]) === 'maxRows' ? 'max-rows' : String(i.path[0])}: ${i.message}`);
  if (parsed.success && parsed.data.from !== undefined && parsed.data.to !== undefined && Date.parse(parsed.data.from) >= Date.parse(parsed.data.to)) {
    errors.push('--from must be before --to');
  }
  if (!parsed.success || errors.length > 0) {
    for (const e of errors) console.error(e);
    console.error(USAGE);
    return 2;
  }
  let report: AnalysisReport;
  if (values.url !== undefined) {
    report = await fromEngine(values.url, new URLSearchParams(raw));
  } else {
    const config = loadConfig();
    const sql = await openSqlStore({ databaseUrl: config.store.sql.databaseUrl, pgliteDir: config.store.sql.pgliteDir, schema: config.store.sql.schema });
    try {
      await migrate(sql);
      report = await runAnalysis(sql, parsed.data, Date.now());
    } finally {
      await sql.close();
    }
  }
  process.stdout.write(options.flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : renderAnalysis(report, { features: parsed.data.top }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`cases:analysis: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
