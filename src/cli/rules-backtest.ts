/**
 * `npm run rules -- backtest --rules DIR [--from ISO] [--to ISO] [--model NAME] [--active DIR]
 *  [--database-url URL]`: the backtest of POST /v1/rules/backtest, in the foreground, printing the
 * JSON report on stdout (progress on stderr). The decisions are read from DATABASE_URL (or
 * --database-url), else from the embedded database under DATA_DIR, which must not be open in a
 * running engine; each side's rule performance (issue 16) is also printed as a table on stderr. The baseline is the active rule version in the SQL store, or without one (or
 * with --active DIR) the rule files of that directory (default RULES_DIR). Exit 2 on bad options,
 * naming every one; 1 when the candidate rules are invalid or the run fails.
 */
import path from 'node:path';
import { formatRuleErrors } from '../app.ts';
import { loadConfig } from '../config.ts';
import { backtest } from '../backtest/backtest-report.ts';
import { openCandidateModel, type CandidateModel } from '../backtest/candidate-model.ts';
import { decisionPages } from '../backtest/decision-pages.ts';
import { replayPolicy } from '../backtest/replay-decision.ts';
import { requestWindow } from '../backtest/window.ts';
import { CONFIGURED_BUDGET, flagPolicyOf, rulePerformanceTable } from '../rules/performance/rule-performance.ts';
import { compileRuleSetFromText, loadRuleDir, type RuleSet } from '../rules/language/index.ts';
import { readActive, readVersion } from '../rules/versions/rule-version-store.ts';
import { migrate } from '../store/sql/migrate.ts';
import { describeSqlConfig, openSqlStore, type SqlStore } from '../store/sql/sql-store.ts';
import { parseCliOptions } from './cli-args.ts';
import { progressLine } from './progress.ts';

export const BACKTEST_USAGE =
  'usage: npm run rules -- backtest --rules DIR [--from ISO-8601] [--to ISO-8601] [--model NAME] [--active DIR] [--database-url URL]';

function time(name: string, raw: string | undefined, errors: string[]): string | undefined {
  if (raw === undefined) return undefined;
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(raw) || Number.isNaN(Date.parse(raw))) errors.push(`--${name} must be an ISO 8601 time with a zone, got "${raw}"`);
  return raw;
}

/** The baseline: --active DIR, else the SQL store's active version, else RULES_DIR. */
async function activeRuleSet(sql: SqlStore, activeDir: string | undefined, rulesDir: string): Promise<{ ruleSet: RuleSet; source: string } | { error: string }> {
  if (activeDir === undefined) {
    const pointer = await readActive(sql);
    const version = pointer === null ? null : await readVersion(sql, pointer.versionId);
    if (version !== null) {
      const r = compileRuleSetFromText(version.files);
      if (!r.ok) return { error: `the active rule version ${version.id} does not compile here:\n${formatRuleErrors(r.errors)}` };
      return { ruleSet: r.ruleSet, source: `active version ${version.id} in the SQL store` };
    }
  }
  const dir = path.resolve(activeDir ?? rulesDir);
  const r = await loadRuleDir(dir);
  if (!r.ok) return { error: `the active rule files in ${dir} are invalid:\n${formatRuleErrors(r.errors)}` };
  return { ruleSet: r.ruleSet, source: dir };
}

export async function backtestCommand(argv: string[]): Promise<number> {
  const parsed = parseCliOptions(argv, { strings: ['rules', 'from', 'to', 'model', 'active', 'database-url'] }, BACKTEST_USAGE);
  if ('exitCode' in parsed) return parsed.exitCode;
  const o = parsed.strings;
  const errors: string[] = [];
  if (o.rules === undefined) errors.push('--rules DIR is required (the candidate rule files)');
  const from = time('from', o.from, errors);
  const to = time('to', o.to, errors);
  const window = errors.length === 0 ? requestWindow(from, to, Date.now()) : null;
  if (Array.isArray(window)) errors.push(`--from must be before --to`);
  if (errors.length > 0 || window === null || Array.isArray(window)) {
    for (const e of errors) console.error(e);
    console.error(BACKTEST_USAGE);
    return 2;
  }
  const candidateDir = path.resolve(o.rules!);
  const candidate = await loadRuleDir(candidateDir);
  if (!candidate.ok) {
    console.error(formatRuleErrors(candidate.errors));
    console.error(`${candidate.errors.length} error(s) in the candidate rules ${candidateDir}`);
    return 1;
  }
  const config = loadConfig(o['database-url'] === undefined ? process.env : { ...process.env, DATABASE_URL: o['database-url'] });
  let model: CandidateModel | undefined;
  if (o.model !== undefined) {
    const opened = await openCandidateModel(config.model.dir, o.model);
    if (!opened.ok) {
      console.error(`--model: ${opened.message}`);
      return 2;
    }
    model = opened.model;
  }
  const sql = await openSqlStore({ databaseUrl: config.store.sql.databaseUrl, pgliteDir: config.store.sql.pgliteDir, schema: config.store.sql.schema });
  try {
    await migrate(sql);
    const active = await activeRuleSet(sql, o.active, config.ruleFiles.dir);
    if ('error' in active) {
      console.error(active.error);
      return 1;
    }
    console.error(`backtest of ${candidate.ruleSet.version} against ${active.ruleSet.version} (${active.source}) on ${describeSqlConfig(config.store.sql)}`);
    const progress = progressLine('backtest', 'decisions');
    const report = await backtest({
      source: decisionPages(sql, window),
      window,
      active: active.ruleSet,
      candidate: candidate.ruleSet,
      policy: replayPolicy(config.scoring),
      flags: flagPolicyOf(config.budget.general, CONFIGURED_BUDGET),
      ...(model === undefined ? {} : { model }),
      onProgress: (p) => progress.update(p.rowsDone, p.rowsTotal),
    });
    progress.end();
    process.stderr.write(`Rule performance of the active set ${report.active.version}:\n${rulePerformanceTable(report.performance.active)}\n\n`);
    process.stderr.write(`Rule performance of the candidate ${report.candidate.version}:\n${rulePerformanceTable(report.performance.candidate)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    await model?.close().catch(() => undefined);
    await sql.close();
  }
}
