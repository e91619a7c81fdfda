import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisReportSchema } from '../../src/cases/case-analysis.ts';
import { migrate } from '../../src/store/sql/migrate.ts';
import { openSqlStore } from '../../src/store/sql/sql-store.ts';
import { testApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');
const run = promisify(execFile);

/**
 * A seeded history with a known answer: twenty first transfers of 1,000 (payer p-i to payee q-i,
 * an hour ago). Payers 0-2 and 5-9 are elderly, the others adults; payers 0-7 were on a call.
 * Transfers 0-2 (impersonation) and 3-4 (romance) are reported. The fixture rule
 * elderly-on-call-new-payee fires on 0-2 and 5-7, so the adults' scams 3 and 4 went through.
 * One more case names a transfer whose decision is no longer stored (recorded when it was
 * reported, deleted since, as a DECISION_RETENTION_DAYS shorter than the window would).
 */
async function seed(app: TestApp): Promise<void> {
  const at = new Date(NOW - 3_600_000).toISOString();
  for (let i = 0; i < 20; i++) {
    const res = await app.server.inject({
      method: 'POST',
      url: '/v1/transfers/score',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        transferId: `t-${i}`,
        occurredAt: at,
        amount: 1000,
        currency: 'CNY',
        payer: { accountId: `p-${i}`, birthYear: [0, 1, 2, 5, 6, 7, 8, 9].includes(i) ? 1950 : 1990 },
        payee: { accountId: `q-${i}` },
        context: { onCall: i <= 7 },
      }),
    });
    expect(res.statusCode).toBe(200);
  }
  const cases: [string, string, string][] = [
    ['t-0', 'q-0', 'impersonation'], ['t-1', 'q-1', 'impersonation'], ['t-2', 'q-2', 'impersonation'],
    ['t-3', 'q-3', 'romance'], ['t-4', 'q-4', 'romance'], ['ghost-1', 'q-ghost', 'investment'],
  ];
  // a report names transfers the decision history records: copy the decisions first
  for (let i = 0; i < 200 && (await app.redis.xlen(`${app.prefix}{decisions}`)) < 20; i++) await new Promise((r) => setTimeout(r, 10));
  await app.sink.catchUp();
  await recordPaid(app.sql, paid('p-ghost', 'q-ghost', ['ghost-1']));
  for (const [t, q, scamType] of cases) {
    const res = await app.server.inject({
      method: 'POST',
      url: '/v1/cases',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ reporter: { type: 'victim' }, payer: { accountId: t.startsWith('t-') ? `p-${t.slice(2)}` : 'p-ghost' }, payee: { accountId: q }, transferIds: [t], amountLost: 1000, currency: 'CNY', scamType, scamAt: at }),
    });
    expect(res.statusCode).toBe(201);
  }
  await app.sql.query(`DELETE FROM decisions WHERE transfer_id = 'ghost-1'`);
}

/** IV of the on-call split by hand: scams 5 on a call / 0 not, others 3 / 12, add-0.5 smoothing. */
const ON_CALL_IV = (() => {
  const ps = [5.5 / 6, 0.5 / 6];
  const po = [3.5 / 16, 12.5 / 16];
  return Math.round(ps.reduce((s, p, k) => s + (p - po[k]!) * Math.log(p / po[k]!), 0) * 1e4) / 1e4;
})();

describe.each(SQL_BACKENDS)('GET /v1/cases/analysis on %s', (backend) => {
  const sql = testSql(backend);
  let app: TestApp;

  beforeAll(async () => {
    app = await testApp({ ...sql.env, DECISION_SINK: 'false' }, { clock: () => NOW });
    await seed(app);
  });
  afterAll(async () => {
    await app.close();
    await sql.cleanup();
  });

  it('finds what separates the reported scams, overall, by scam type and by age band', async () => {
    const res = await app.server.inject({ url: '/v1/cases/analysis?top=3' });
    expect(res.statusCode).toBe(200);
    const a = res.json();
    expect(AnalysisReportSchema.strict().parse(a)).toEqual(a);
    expect(a).toMatchObject({
      from: '2026-08-23T03:10:00.000Z',
      to: '2026-11-21T03:10:00.000Z',
      sampleRate: null,
      otherCatalogue: 0,
      reportedWithoutDecision: 1,
      transfers: 20,
      reported: 5,
    });
    expect(ON_CALL_IV).toBeCloseTo(2.562, 3);
    expect(a.overall.ranking.slice(0, 3)).toEqual([
      { feature: 'context.on_call', separation: ON_CALL_IV },
      { feature: 'payer.age', separation: expect.any(Number) },
      { feature: 'payer.age_band', separation: a.overall.ranking[1].separation },
    ]);
    expect(a.overall.ranking[3].separation).toBe(0);
    const onCall = a.overall.features[0];
    expect(onCall.buckets.slice(0, 2)).toEqual([
      { label: 'true', scamCount: 5, allCount: 8, scamShare: 1, allShare: 0.4, lift: 2.5 },
      { label: 'false', scamCount: 0, allCount: 12, scamShare: 0, allShare: 0.6, lift: 0 },
    ]);
    expect(a.overall.features[2].buckets.filter((b: { allCount: number }) => b.allCount > 0)).toEqual([
      { label: 'adult', scamCount: 2, allCount: 12, scamShare: 0.4, allShare: 0.6, lift: 0.6667 },
      { label: 'elderly', scamCount: 3, allCount: 8, scamShare: 0.6, allShare: 0.4, lift: 1.5 },
    ]);
    expect(a.byScamType.map((s: { segment: string; reported: number }) => [s.segment, s.reported])).toEqual([['impersonation', 3], ['romance', 2]]);
    // the romance scams here are adults on a call
    expect(a.byScamType[1].ranking[0].feature).toBe('context.on_call');
    expect(a.byAgeBand.map((s: { segment: string; transfers: number; reported: number }) => [s.segment, s.transfers, s.reported])).toEqual([
      ['adult', 12, 2],
      ['elderly', 8, 3],
    ]);
    const adultOnCall = a.byAgeBand[0].features.find((f: { feature: string }) => f.feature === 'context.on_call').buckets[0];
    expect(adultOnCall).toEqual({ label: 'true', scamCount: 2, allCount: 2, scamShare: 1, allShare: 0.1667, lift: 6 });
  });

  it('says which rules fired on reported scams and which scams nothing caught', async () => {
    const a = (await app.server.inject({ url: '/v1/cases/analysis' })).json();
    expect(a.rules).toEqual([{ ruleId: 'elderly-on-call-new-payee', mode: 'active', firedOnReported: 3, shareOfReported: 0.6, firedOnAll: 6, precision: 0.5 }]);
    expect(a.missed).toEqual({
      count: 2,
      shareOfReported: 0.4,
      byScamType: { romance: 2 },
      byAgeBand: { adult: 2 },
      traits: [
        { feature: 'context.on_call', bucket: 'true', missedCount: 2, missedShare: 1, allShare: 0.4, lift: 2.5 },
        { feature: 'payer.age', bucket: '= 36', missedCount: 2, missedShare: 1, allShare: 0.6, lift: 1.6667 },
        { feature: 'payer.age_band', bucket: 'adult', missedCount: 2, missedShare: 1, allShare: 0.6, lift: 1.6667 },
      ],
      examples: [
        { transferId: 't-3', payeeId: 'q-3', scamType: 'romance', occurredAt: '2026-11-21T02:10:00.000Z' },
        { transferId: 't-4', payeeId: 'q-4', scamType: 'romance', occurredAt: '2026-11-21T02:10:00.000Z' },
      ],
    });
  });

  it('keeps to the window it is given', async () => {
    const a = (await app.server.inject({ url: '/v1/cases/analysis?from=2026-11-21T00:00:00Z&to=2026-11-21T02:00:00Z' })).json();
    expect([a.transfers, a.reported, a.overall.ranking[0].separation, a.reportedWithoutDecision]).toEqual([0, 0, 0, 0]);
  });

  it('answers bad parameters with 400 naming each', async () => {
    const res = await app.server.inject({ url: '/v1/cases/analysis?top=0&maxRows=ten&to=tomorrow&x=1' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: to, top, maxRows, x',
      details: [
        { field: 'to', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
        { field: 'top', message: 'Too small: expected number to be >=1' },
        { field: 'maxRows', message: 'Invalid input: expected number, received NaN' },
        { field: 'x', message: 'is not a known field' },
      ],
    });
    const order = await app.server.inject({ url: '/v1/cases/analysis?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z' });
    expect(order.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: 'Invalid fields: from', details: [{ field: 'from', message: 'must be before to' }] });
  });

  it('samples unreported transfers beyond maxRows and weights them back to the true total', async () => {
    // 280 more unreported transfers like t-10 (an adult not on a call): 295 unreported in all
    await app.sql.query(
      `INSERT INTO decisions SELECT 'copy-' || g, stream_id, occurred_at, decided_at, payer_id, payee_id, amount, currency, action, risk_score,
         model_score, scam_type, segment, rules_version, model_version, catalogue, hit_rules, shadow_rules, decision, features
         FROM decisions, generate_series(1, 280) AS g WHERE transfer_id = 't-10'`,
    );
    try {
      const a = (await app.server.inject({ url: '/v1/cases/analysis?maxRows=100' })).json();
      expect([a.transfers, a.reported, a.sampleRate]).toEqual([300, 5, 0.338983]);
      expect(a.overall.ranking[0].feature).toBe('context.on_call');
    } finally {
      await app.sql.query(`DELETE FROM decisions WHERE transfer_id LIKE 'copy-%'`);
    }
  });
});

describe('npm run cases:analysis', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'calmpay-analysis-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the analysis for a terminal, or as JSON, from the embedded database', async () => {
    const store = await openSqlStore({ databaseUrl: undefined, pgliteDir: path.join(dir, 'pglite'), schema: undefined });
    await migrate(store);
    const app = await testApp({ DECISION_SINK: 'false' }, { clock: () => NOW, sql: store });
    await seed(app);
    await app.close();
    await store.close();

    const env = { ...process.env, DATA_DIR: dir, REDIS_URL: redisUrl(), DATABASE_URL: '' };
    const cli = path.resolve('src/cli/cases-analysis.ts');
    const window = ['--from', '2026-11-20T00:00:00Z', '--to', '2026-11-22T00:00:00Z'];
    const text = (await run(process.execPath, ['--import', 'tsx', cli, ...window], { env })).stdout;
    expect(text).toContain('20 transfers, 5 reported scams (25.0%)');
    expect(text).toMatch(/^ {2} 1\. context\.on_call +2\.562 +#{20}$/m);
    expect(text).toMatch(/^ {4}true +100\.0% +40\.0% +2\.50 {2}▲$/m);
    expect(text).toMatch(/^ {2}elderly-on-call-new-payee +active +3 +60\.0% +6 +50\.0%$/m);
    expect(text).toContain('== Missed: 2 of 5 reported scams (40.0%) were allowed: no rule and no model caught them ==');
    expect(text).toContain('    t-3 to q-3, romance, 2026-11-21T02:10:00.000Z');

    const json = JSON.parse((await run(process.execPath, ['--import', 'tsx', cli, ...window, '--json'], { env })).stdout);
    expect([json.transfers, json.reported, json.missed.count]).toEqual([20, 5, 2]);

    const bad = await run(process.execPath, ['--import', 'tsx', cli, '--top', '0', '--to', 'soon'], { env }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain('--top: Too small: expected number to be >=1');
    expect(bad?.stderr).toContain('--to: must be an ISO 8601 date-time with a time zone');
  }, 90_000);
});
