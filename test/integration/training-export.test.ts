import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTrainingSet, readTrainingSet, trainingDataset, type TrainingRow } from '../../src/cases/training-set.ts';
import { CATALOGUE_VERSION, FEATURES, idx } from '../../src/features/catalogue.ts';
import { MODEL_FEATURE_NAMES } from '../../src/model/encode.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import { openSqlStore, type SqlStore } from '../../src/store/sql/sql-store.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testApp } from '../helpers/app.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const run = promisify(execFile);

const REPORTS = idx('payee.report_count');
const SINCE = idx('payee.hours_since_last_report');

/**
 * The seeded history (times relative to NOW):
 *   -60d  old-a  p-a → q-x   reported in case A (received at -58d)
 *   -50d  old-b  p-b → q-y   reported in case B (received at -1d)
 *   -45d  old-c  p-c → q-x   not reported; scored after case A, so its vector carries q-x's report
 *    -5d  young  p-b → q-y   reported in case B, but younger than the 30-day maturity
 */
async function seed(app: TestApp, setNow: (ms: number) => void): Promise<void> {
  let scored = 0;
  const score = async (transferId: string, payer: string, payee: string, atMs: number) => {
    setNow(atMs);
    const res = await app.server.inject({
      method: 'POST',
      url: '/v1/transfers/score',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ transferId, occurredAt: iso(atMs), amount: 900, currency: 'CNY', payer: { accountId: payer, birthYear: 1950 }, payee: { accountId: payee } }),
    });
    expect(res.statusCode).toBe(200);
    scored++;
  };
  const report = async (payer: string, payee: string, transferIds: string[], scamType: string, atMs: number) => {
    // a report names transfers the decision history records: copy what was scored so far first
    for (let i = 0; i < 200 && (await app.redis.xlen(`${app.prefix}{decisions}`)) < scored; i++) await new Promise((r) => setTimeout(r, 10));
    await app.sink.catchUp();
    setNow(atMs);
    const res = await app.server.inject({
      method: 'POST',
      url: '/v1/cases',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ reporter: { type: 'victim' }, payer: { accountId: payer }, payee: { accountId: payee }, transferIds, amountLost: 900, currency: 'CNY', scamType, scamAt: iso(atMs - DAY) }),
    });
    expect(res.statusCode).toBe(201);
  };
  await score('old-a', 'p-a', 'q-x', NOW - 60 * DAY);
  await report('p-a', 'q-x', ['old-a'], 'romance', NOW - 58 * DAY);
  await score('old-b', 'p-b', 'q-y', NOW - 50 * DAY);
  await score('old-c', 'p-c', 'q-x', NOW - 45 * DAY);
  await score('young', 'p-b', 'q-y', NOW - 5 * DAY);
  await report('p-b', 'q-y', ['old-b', 'young'], 'investment', NOW - DAY);
  setNow(NOW);
  // copy the stream into SQL with the app's own sink (not started in these tests)
  for (let i = 0; i < 200 && (await app.redis.xlen(`${app.prefix}{decisions}`)) < 4; i++) await new Promise((r) => setTimeout(r, 10));
  await app.sink.catchUp();
}

describe.each(SQL_BACKENDS)('the labelled training set on %s', (backend) => {
  const sql = testSql(backend);
  const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-export-'));
  let app: TestApp;
  let now = NOW;

  beforeAll(async () => {
    app = await testApp({ ...sql.env, DECISION_SINK: 'false' }, { clock: () => now });
    await seed(app, (ms) => (now = ms));
  });
  afterAll(async () => {
    await app.close();
    await sql.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels settled decisions from the case library, with the features they were scored on', async () => {
    const out = path.join(dir, 'now.jsonl');
    const manifest = await exportTrainingSet(app.sql, { asOfMs: NOW, maturityDays: 30 }, out);
    const rows = await readTrainingSet(out);
    expect(rows.map((r) => [r.transferId, r.label, r.scamType, r.caseId === null])).toEqual([
      ['old-a', 1, 'romance', false],
      ['old-b', 1, 'investment', false],
      ['old-c', 0, null, true],
    ]);
    const byId = new Map(rows.map((r) => [r.transferId, r]));
    // old-a was scored before anyone reported q-x; old-c after: the export keeps each as scored
    expect([byId.get('old-a')!.features[REPORTS], byId.get('old-a')!.features[SINCE]]).toEqual([0, null]);
    expect([byId.get('old-c')!.features[REPORTS], byId.get('old-c')!.features[SINCE]]).toEqual([1, 13 * 24]);
    expect(byId.get('old-a')).toEqual({
      transferId: 'old-a',
      occurredAt: iso(NOW - 60 * DAY),
      payerId: 'p-a',
      payeeId: 'q-x',
      amount: 900,
      currency: 'CNY',
      action: expect.any(String),
      hitRules: expect.any(Array),
      catalogue: CATALOGUE_VERSION,
      features: expect.any(Array),
      label: 1,
      scamType: 'romance',
      caseId: expect.stringMatching(/^case-/),
    } satisfies Record<keyof TrainingRow, unknown>);
    expect(byId.get('old-a')!.features).toHaveLength(FEATURES.length);
    expect(manifest).toEqual({
      format: 'calmpay-training-set/1',
      catalogue: CATALOGUE_VERSION,
      featureNames: FEATURES.map((f) => f.name),
      asOf: iso(NOW),
      maturityDays: 30,
      occurredBefore: iso(NOW - 30 * DAY),
      occurredFrom: null,
      rows: 3,
      positives: 2,
      positivesByScamType: { romance: 1, investment: 1 },
      skippedOtherCatalogue: 0,
    });
    expect(JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8'))).toEqual(manifest);
  });

  it('labels as the case library stood at --as-of, so an export can be reproduced', async () => {
    const out = path.join(dir, 'earlier.jsonl');
    const m = await exportTrainingSet(app.sql, { asOfMs: NOW - 10 * DAY, maturityDays: 0, fromMs: NOW - 55 * DAY }, out);
    // case B was received at -1d: unknown at -10d, so old-b and young are negatives then
    expect((await readTrainingSet(out)).map((r) => [r.transferId, r.label])).toEqual([
      ['old-b', 0],
      ['old-c', 0],
    ]);
    expect([m.rows, m.positives, m.occurredFrom]).toEqual([2, 0, iso(NOW - 55 * DAY)]);
  });

  it('labels a transfer only from a case of its own payer and payee', async () => {
    // a case filed before reports were checked against the history, naming old-c (p-c to q-x)
    // as paid by p-z to q-y: it must not make old-c a scam
    await app.sql.query(
      `INSERT INTO cases (case_id, reporter_type, reporter_key, payer_id, payee_id, transfer_ids, amount_lost, currency, scam_type,
         scam_at, reported_at, received_at, flags_applied)
       VALUES ('case-unchecked', 'victim', 'victim:p-z', 'p-z', 'q-y', ARRAY['old-c'], 900, 'CNY', 'investment', $1, $1, $1, true)`,
      [new Date(NOW - 2 * DAY)],
    );
    await app.sql.query(`INSERT INTO case_transfers (transfer_id, case_id) VALUES ('old-c', 'case-unchecked')`);
    try {
      const out = path.join(dir, 'unchecked.jsonl');
      await exportTrainingSet(app.sql, { asOfMs: NOW, maturityDays: 30 }, out);
      expect((await readTrainingSet(out)).map((r) => [r.transferId, r.label, r.caseId])).toEqual([
        ['old-a', 1, expect.stringMatching(/^case-/)],
        ['old-b', 1, expect.stringMatching(/^case-/)],
        ['old-c', 0, null],
      ]);
    } finally {
      await app.sql.query(`DELETE FROM case_transfers WHERE case_id = 'case-unchecked'`);
      await app.sql.query(`DELETE FROM cases WHERE case_id = 'case-unchecked'`);
    }
  });

  it('leaves out vectors of another catalogue and counts them', async () => {
    await app.sql.query(
      `INSERT INTO decisions SELECT 'other-cat', stream_id, occurred_at, decided_at, payer_id, payee_id, amount, currency, action, risk_score,
         model_score, scam_type, segment, rules_version, model_version, 'fc-0-00000000', hit_rules, shadow_rules, decision, features
         FROM decisions WHERE transfer_id = 'old-c'`,
    );
    const out = path.join(dir, 'cat.jsonl');
    const m = await exportTrainingSet(app.sql, { asOfMs: NOW, maturityDays: 30 }, out);
    expect([m.rows, m.skippedOtherCatalogue]).toEqual([3, 1]);
    expect((await readTrainingSet(out)).map((r) => r.transferId)).not.toContain('other-cat');
    await app.sql.query(`DELETE FROM decisions WHERE transfer_id = 'other-cat'`);
  });

  it('gives the trainer a dataset encoded as the model session encodes vectors', async () => {
    const rows = await readTrainingSet(path.join(dir, 'now.jsonl'));
    const d = trainingDataset(rows);
    expect([d.nRows, d.nFeatures, Array.from(d.labels)]).toEqual([3, MODEL_FEATURE_NAMES.length, [1, 1, 0]]);
    const col = MODEL_FEATURE_NAMES.indexOf('payee.report_count');
    const band = MODEL_FEATURE_NAMES.indexOf('payer.age_band');
    expect([0, 1, 2].map((i) => d.x[i * d.nFeatures + col])).toEqual([0, 0, 1]);
    // elderly is the third of the closed values minor, adult, elderly
    expect(d.x[band]).toBe(2);
  });
});

describe('npm run cases:export', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-export-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exports from the embedded database under DATA_DIR and reports bad options', async () => {
    const store: SqlStore = await openSqlStore({ databaseUrl: undefined, pgliteDir: path.join(dir, 'pglite'), schema: undefined });
    await migrate(store);
    let now = NOW;
    const app = await testApp({ DECISION_SINK: 'false' }, { clock: () => now, sql: store });
    await seed(app, (ms) => (now = ms));
    await app.close();
    await store.close();

    const env = { ...process.env, DATA_DIR: dir, REDIS_URL: redisUrl(), DATABASE_URL: '', LOG_LEVEL: 'silent' };
    const cli = path.resolve('src/cli/cases-export.ts');
    const ok = await run(process.execPath, ['--import', 'tsx', cli, '--as-of', iso(NOW), '--maturity-days', '30'], { env });
    const out = path.join(dir, 'training-set.jsonl');
    expect(ok.stdout).toContain(`wrote 3 decisions (2 reported scams) that occurred before ${iso(NOW - 30 * DAY)}, labelled as of ${iso(NOW)}, to ${out}`);
    expect((await readTrainingSet(out)).map((r) => [r.transferId, r.label])).toEqual([['old-a', 1], ['old-b', 1], ['old-c', 0]]);

    const bad = await run(process.execPath, ['--import', 'tsx', cli, '--as-of', 'yesterday', '--maturity-days=-3'], { env }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain('--as-of must be an ISO 8601 time with a zone, got "yesterday"');
    expect(bad?.stderr).toContain('--maturity-days must be an integer from 0 to 365, got "-3"');
  }, 60_000);
});
