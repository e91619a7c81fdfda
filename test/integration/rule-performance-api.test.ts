import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import type { HistoryPerformance } from '../../src/rules/performance/performance-history.ts';
import { CONFIGURED_BUDGET } from '../../src/rules/performance/rule-performance.ts';
import { startedApp, testApp } from '../helpers/app.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * GET /v1/rules/performance (issue 16) on PGlite: decisions taken by the engine
 * (POST /v1/transfers/score with the fixture rules, no model), copied into the decision history by
 * the decision sink, two of them reported through POST /v1/cases.
 *
 * | transfer | what                                       | action | rules                      | reported |
 * |----------|--------------------------------------------|--------|----------------------------|----------|
 * | pf-1     | 20000 to a new payee                       | warn   | large-to-new-payee (40)    | yes      |
 * | pf-2     | 15000 to a new payee                       | warn   | large-to-new-payee (40)    | no       |
 * | pf-3..5  | 100 three times within minutes, same payer | allow  | rapid-repeat (10) on pf-5  | no       |
 * | pf-6     | 500 to a new payee                         | allow  | —                          | yes      |
 */

const NOW = Date.parse('2026-11-21T13:00:00Z');
const operator = newApiKey('operator', ['score', 'cases:write']);
const analyst = newApiKey('analyst', ['rules:read']);
const writer = newApiKey('writer', ['rules:write']);

const TRANSFERS = [
  { transferId: 'pf-1', at: '2026-11-21T12:00:00Z', payer: 'p-a', payee: 'q-new1', amount: 20000 },
  { transferId: 'pf-2', at: '2026-11-21T12:01:00Z', payer: 'p-b', payee: 'q-new2', amount: 15000 },
  { transferId: 'pf-3', at: '2026-11-21T12:02:00Z', payer: 'p-c', payee: 'q-x', amount: 100 },
  { transferId: 'pf-4', at: '2026-11-21T12:03:00Z', payer: 'p-c', payee: 'q-x', amount: 100 },
  { transferId: 'pf-5', at: '2026-11-21T12:04:00Z', payer: 'p-c', payee: 'q-x', amount: 100 },
  { transferId: 'pf-6', at: '2026-11-21T12:05:00Z', payer: 'p-d', payee: 'q-new3', amount: 500 },
];

function caseReport(payer: string, payee: string, transferId: string): Record<string, unknown> {
  return {
    reporter: { type: 'victim' },
    payer: { accountId: payer },
    payee: { accountId: payee },
    transferIds: [transferId],
    amountLost: 1000,
    currency: 'CNY',
    scamType: 'impersonation',
    channel: 'phone',
    narrative: 'A caller claiming to be the police asked me to move my savings to a safe account.',
    scamAt: '2026-11-21T12:00:00Z',
  };
}

describe('GET /v1/rules/performance on the decision history (PGlite)', () => {
  let app: TestApp;
  const send = (method: 'GET' | 'POST', url: string, key: string, body?: unknown) =>
    app.server.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    app = await startedApp({ API_KEYS: JSON.stringify([operator.entry, analyst.entry, writer.entry]), INTERVENTION_BUDGET_WARN_PCT: '3' }, { clock: () => NOW });
    for (const t of TRANSFERS) {
      const res = await send('POST', '/v1/transfers/score', operator.key, {
        transferId: t.transferId,
        occurredAt: t.at,
        amount: t.amount,
        currency: 'CNY',
        payer: { accountId: t.payer },
        payee: { accountId: t.payee },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const recorded = async () => (await app.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM decisions WHERE transfer_id LIKE 'pf-%'`)).rows[0]!.n === 6;
    await until(recorded, 'the decision sink to copy the six decisions', 15_000);
    for (const [payer, payee, id] of [['p-a', 'q-new1', 'pf-1'], ['p-d', 'q-new3', 'pf-6']] as const) {
      const res = await send('POST', '/v1/cases', operator.key, caseReport(payer, payee, id));
      expect(res.statusCode, res.body).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it('answers per rule from the decisions as taken and the case reports', async () => {
    const res = await send('GET', '/v1/rules/performance', analyst.key);
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json<HistoryPerformance>();
    const actions = (await app.sql.query<{ transfer_id: string; action: string }>(`SELECT transfer_id, action FROM decisions ORDER BY transfer_id`)).rows;
    expect(actions.map((a) => `${a.transfer_id} ${a.action}`)).toEqual(['pf-1 warn', 'pf-2 warn', 'pf-3 allow', 'pf-4 allow', 'pf-5 allow', 'pf-6 allow']);
    expect(r).toMatchObject({
      window: { from: '2026-11-14T13:00:00.000Z', to: '2026-11-21T13:00:00.000Z' },
      rulesVersion: app.rules.current.version,
      labels: { maturityDays: 30, unsettled: 6 },
      skippedMalformed: 0,
      transfers: 6,
      legitimate: 4,
      fraud: { transfers: 2, amount: { CNY: 20500 } },
      caughtFraud: { transfers: 1, amount: { CNY: 20000 } },
      legitimateRates: { warn: 0.25, cool_off: 0, block: 0 },
      // the configured budget (INTERVENTION_BUDGET_WARN_PCT=3 here), the others at their defaults
      flagPolicy: { budget: { warn: 0.03, cool_off: 0.005, block: 0.001 }, budgetSource: CONFIGURED_BUDGET, budgetShare: 0.25, littleShare: 0.05 },
    });
    expect(r.rules.map((x) => x.ruleId)).toEqual(['large-to-new-payee', 'elderly-on-call-new-payee', 'rapid-repeat', 'night-shadow']);
    expect(r.rules[0]).toMatchObject({
      hits: 2,
      fraudHits: 1,
      precision: 0.5,
      legitimateHitRate: 0.25,
      legitimateInterventions: { warn: 1, cool_off: 0, block: 0 },
      caughtFraud: { transfers: 1, amount: { CNY: 20000 } },
      caughtFraudShare: 1,
      caughtFraudValueShare: { CNY: 1 },
      // no model: without the rule pf-1 is allowed
      uniqueCatches: { transfers: 1, amount: { CNY: 20000 } },
      uniqueCatchShare: 1,
      flagged: false,
    });
    // fired on pf-5 (two transfers in the hour before it), 10 points: no intervention, nothing spent
    expect(r.rules[2]).toMatchObject({ ruleId: 'rapid-repeat', hits: 1, legitimateHits: 1, legitimateHitRate: 0.25, legitimateInterventionRate: 0, flagged: false });
    expect(r.rules[1]).toMatchObject({ hits: 0, precision: null, caughtFraudShare: 0 });
  });

  it('counts only the window asked for', async () => {
    const res = await send('GET', '/v1/rules/performance?from=2026-11-21T12:00:30Z&to=2026-11-21T12:04:30Z', analyst.key);
    expect(res.statusCode).toBe(200);
    expect(res.json<HistoryPerformance>()).toMatchObject({ transfers: 4, legitimate: 4, fraud: { transfers: 0 }, caughtFraud: { transfers: 0 } });
  });

  it('names every bad field of the query (400), and a window longer than BACKTEST_MAX_WINDOW_DAYS', async () => {
    const bad = await send('GET', '/v1/rules/performance?from=monday&limit=3', analyst.key);
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ code: string; details: { field: string }[] }>().code).toBe('CALMPAY_ERR_VALIDATION');
    expect(bad.json<{ details: { field: string }[] }>().details.map((d) => d.field).sort()).toEqual(['from', 'limit']);
    const reversed = await send('GET', '/v1/rules/performance?from=2026-11-21T12:00:00Z&to=2026-11-20T12:00:00Z', analyst.key);
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json<{ details: { field: string }[] }>().details.map((d) => d.field)).toEqual(['from']);
    const long = await send('GET', '/v1/rules/performance?from=2026-01-01T00:00:00Z&to=2026-11-21T00:00:00Z', analyst.key);
    expect(long.statusCode).toBe(400);
    expect(long.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: from',
      details: [{ field: 'from', message: 'must be at most 90 days before to (2026-11-21T00:00:00.000Z): the window is limited to 90 days (BACKTEST_MAX_WINDOW_DAYS)' }],
    });
  });

  it('needs the rules:read scope, which rules:write includes', async () => {
    expect((await send('GET', '/v1/rules/performance', operator.key)).statusCode).toBe(403);
    expect((await send('GET', '/v1/rules/performance', writer.key)).statusCode).toBe(200);
    expect((await app.server.inject({ method: 'GET', url: '/v1/rules/performance' })).statusCode).toBe(401);
  });
});
