/**
 * `npm run bench:backtest`: backtest throughput (issue 7 target: at least a million stored
 * decisions a minute on this machine).
 *
 * 1. Fills the `decisions` table of a fresh database with N synthetic decisions: 4,096 seeded
 *    feature vectors (feature-vectors.ts) decided by the default rule set (rules/), each with a
 *    stored decision JSON of the engine's shape, repeated over N transfers a quarter second apart
 *    by INSERT … SELECT generate_series (filling is not what is measured). One transfer in 97 is
 *    named by a reported case.
 * 2. Runs the backtest exactly as the API job and the CLI do (keyset pages from SQL → replay of
 *    both rule sets → counters): active = rules/, candidate = rules/ without one rule and with a
 *    new one. Reports rows per minute of wall time, and per minute of CPU time of the process
 *    (both threads), with the load average before the run: on a shared machine the wall figure
 *    drops with the load, the CPU figure much less.
 *
 * The database is the engine's: embedded PGlite in its own thread (default), or Postgres in a
 * schema of its own when BENCH_BACKTEST_DATABASE_URL is set (the schema is dropped afterwards).
 * Results go to stdout and to backtest.json (PGlite) or backtest-postgres.json in
 * bench/results/local/ (git-ignored; result-file.ts): the tracked files in bench/results/ are the
 * reference runs docs/benchmarks.md quotes, replaced only on purpose (BENCH_RESULTS_DIR=bench/results).
 *
 * Env: BENCH_BACKTEST_N (200000), BENCH_BACKTEST_SEED (1), BENCH_BACKTEST_DATABASE_URL (unset),
 * BENCH_RESULTS_DIR (bench/results/local).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { benchResultFile } from './result-file.ts';
import { ageBandOf, CATALOGUE_VERSION, idx } from '../src/features/catalogue.ts';
import { backtest } from '../src/backtest/backtest-report.ts';
import { decisionPages } from '../src/backtest/decision-pages.ts';
import { replayDecision, replayPolicy } from '../src/backtest/replay-decision.ts';
import { compileRuleSetFromText, formatRuleError, loadRuleDir } from '../src/rules/language/index.ts';
import { migrate } from '../src/store/sql/migrate.ts';
import { openSqlStore } from '../src/store/sql/sql-store.ts';
import { generateFeatureVectors } from './feature-vectors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.env.BENCH_BACKTEST_N ?? 200_000);
const seed = Number(process.env.BENCH_BACKTEST_SEED ?? 1);
const databaseUrl = process.env.BENCH_BACKTEST_DATABASE_URL || undefined;
const TEMPLATES = 4_096;
const FILL_CHUNK = 50_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const config = loadConfig({ ...process.env, DATABASE_URL: '' }, root);
const policy = replayPolicy(config.scoring);
const loaded = await loadRuleDir(path.join(root, 'rules'));
if (!loaded.ok) throw new Error(`rules/ is invalid: ${loaded.errors.map((e) => formatRuleError(e)).join('; ')}`);
const active = loaded.ruleSet;
const dropped = active.rules.find((r) => r.mode === 'active')!;
// the candidate: rules/ with its first active rule removed and one rule added
const candidateFiles = [...active.files.map((f) => ({ name: f.name, text: f.text }))];
candidateFiles.push({
  name: 'zz-bench-candidate.yaml',
  text: [
    '- id: bench-large-new-payee-night',
    '  description: Large transfer to a first-time payee at night',
    '  when: payee.first_seen and amount >= 3000 and hour_of_day between 0 and 6',
    '  score: 65',
    '  action: cool_off',
    '  scam_type: other',
    '',
  ].join('\n'),
});
const candidate = compileRuleSetFromText(removeRule(candidateFiles, dropped.id));
if (!candidate.ok) throw new Error(candidate.errors.map((e) => formatRuleError(e)).join('; '));

/** The files without the rule `id` (a rule is the `- id:` line up to the next one). */
function removeRule(files: { name: string; text: string }[], id: string): { name: string; text: string }[] {
  return files.map((f) => {
    const lines = f.text.split('\n');
    const start = lines.findIndex((l) => l.trim() === `- id: ${id}`);
    if (start < 0) return f;
    let end = start + 1;
    while (end < lines.length && !lines[end]!.startsWith('- id:')) end++;
    return { name: f.name, text: [...lines.slice(0, start), ...lines.slice(end)].join('\n') };
  });
}

const schema = databaseUrl === undefined ? undefined : `bench_backtest_${process.pid}`;
const sql = await openSqlStore({ databaseUrl, pgliteDir: 'memory://', schema });
try {
  await migrate(sql);
  const fillStart = performance.now();
  const vectors = generateFeatureVectors(TEMPLATES, seed);
  const AMOUNT = idx('amount');
  await sql.exec(
    `CREATE TEMP TABLE bench_templates (i int PRIMARY KEY, amount numeric(18,3), action text, risk real, segment text,
       hits text[], shadow text[], decision jsonb, features jsonb)`,
  );
  for (let start = 0; start < TEMPLATES; start += 256) {
    const params: (string | number | null | readonly string[])[] = [];
    const tuples: string[] = [];
    for (let i = start; i < Math.min(TEMPLATES, start + 256); i++) {
      const v = vectors[i]!;
      const out = replayDecision(active, v, { amount: Number(v[AMOUNT]), modelScore: null, guardianBlocked: false, featuresDegraded: false }, policy);
      const hits = out.hits.filter((h) => h.mode !== 'shadow');
      const shadow = out.hits.filter((h) => h.mode === 'shadow');
      const stored = {
        transferId: `t-${i}`,
        action: out.action,
        riskScore: Math.min(100, hits.reduce((s, h) => s + h.score, 0)),
        ruleScore: Math.min(100, hits.reduce((s, h) => s + h.score, 0)),
        modelScore: null,
        modelFactors: [],
        scamType: out.action === 'allow' ? null : 'other',
        segment: ageBandOf(v),
        hits: hits.map((h) => ({ ruleId: h.ruleId, score: h.score, action: h.action, scamType: h.scamType })),
        shadowHits: shadow.map((h) => ({ ruleId: h.ruleId, score: h.score, action: h.action, scamType: h.scamType })),
        ruleErrors: [],
        degraded: [],
        guardian: null,
        rulesVersion: active.version,
        modelVersion: null,
        holdMinutes: 15,
        decidedAt: new Date(T0).toISOString(),
        timingsUs: { validate: 41, features: 380, rules: 3, model: 0, decision: 2, total: 431 },
      };
      const b = params.length;
      params.push(i, Number(v[AMOUNT]), out.action, stored.riskScore, stored.segment, stored.hits.map((h) => h.ruleId), stored.shadowHits.map((h) => h.ruleId), JSON.stringify(stored), JSON.stringify(v));
      tuples.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::text[], $${b + 7}::text[], $${b + 8}::jsonb, $${b + 9}::jsonb)`);
    }
    await sql.query(`INSERT INTO bench_templates VALUES ${tuples.join(', ')}`, params);
  }
  for (let from = 0; from < n; from += FILL_CHUNK) {
    await sql.query(
      `INSERT INTO decisions (transfer_id, stream_id, occurred_at, decided_at, payer_id, payee_id, amount, currency, action, risk_score,
                              model_score, scam_type, segment, rules_version, model_version, catalogue, hit_rules, shadow_rules, decision, features)
       SELECT 't-' || g, '0-' || g, $3::timestamptz + g * interval '250 milliseconds', $3::timestamptz + g * interval '250 milliseconds',
              'p-' || (g % 50000), 'q-' || (g % 20000), t.amount, 'CNY', t.action, t.risk, NULL, NULL, t.segment, $4, NULL, $5,
              t.hits, t.shadow, t.decision, t.features
         FROM generate_series($1::int, $2::int) g JOIN bench_templates t ON t.i = g % ${TEMPLATES}`,
      [from, Math.min(n, from + FILL_CHUNK) - 1, new Date(T0), active.version, CATALOGUE_VERSION],
    );
  }
  await sql.query(
    `INSERT INTO cases (case_id, reporter_type, reporter_key, payer_id, payee_id, transfer_ids, amount_lost, currency, scam_type,
                        scam_at, reported_at, received_at, flags_applied)
     VALUES ('c-bench', 'victim', 'victim:p-1', 'p-1', 'q-1', '{}', 0, 'CNY', 'other', $1, $1, $1, true)`,
    [new Date(T0)],
  );
  await sql.query(`INSERT INTO case_transfers (transfer_id, case_id) SELECT 't-' || g, 'c-bench' FROM generate_series(0, $1::int - 1) g WHERE g % 97 = 0`, [n]);
  await sql.exec('ANALYZE decisions; ANALYZE case_transfers;');
  const fillMs = performance.now() - fillStart;
  console.log(`filled ${n} decisions in ${(fillMs / 1000).toFixed(1)} s (${sql.backend})`);

  const window = { fromMs: T0, toMs: T0 + n * 250 + 1_000 };
  const loadBefore = os.loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const report = await backtest({ source: decisionPages(sql, window), window, active, candidate: candidate.ruleSet, policy });
  const cpu = process.cpuUsage(cpu0);
  // both threads of this process (the API thread and the PGlite thread): what the run costs when
  // the machine is shared with other work and wall time overstates it
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const read = report.replayed + report.skippedMalformed;
  if (read !== n) throw new Error(`the backtest read ${read} decisions, ${n} were stored`);
  const result = {
    at: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    backend: sql.backend,
    rows: n,
    seed,
    activeVersion: active.version,
    candidateVersion: candidate.ruleSet.version,
    removedRule: dropped.id,
    addedRule: 'bench-large-new-payee-night',
    elapsedMs: report.elapsedMs,
    rowsPerMinute: report.rowsPerMinute,
    cpuMs: Math.round(cpuMs),
    rowsPerCpuMinute: Math.round((read * 60_000) / cpuMs),
    loadAverageBefore: loadBefore,
    target: 1_000_000,
    changed: report.changes.transitions.reduce((s, t) => s + t.transfers, 0),
    reported: report.reported.transfers,
  };
  console.log(JSON.stringify(result, null, 2));
  const file = benchResultFile(root, sql.backend === 'pglite' ? 'backtest.json' : 'backtest-postgres.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.error(`written to ${path.relative(root, file)}`);
} finally {
  await sql.close();
  if (schema !== undefined && databaseUrl !== undefined) {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
  }
}
