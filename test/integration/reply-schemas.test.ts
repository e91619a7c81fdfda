import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deadLetterOf } from '../../src/cooling/deliveries.ts';
import { FIXTURE_RULES, testApp } from '../helpers/app.ts';
import { paid, recordPaid } from '../helpers/decision-rows.ts';
import { exampleTransfer } from '../helpers/example-event.ts';

/**
 * Every /v1 route's answers fit the response schema it declares for their status code: the
 * schemas that validate nothing at run time (answers are serialised as they are) and type the
 * handlers' answers (src/http/validation.ts) are checked here against real answers, success
 * and refusal alike, on every /v1 route the server registers.
 */

type TestApp = Awaited<ReturnType<typeof testApp>>;

interface Step {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** the route as registered */
  readonly route: string;
  readonly url?: string;
  readonly body?: unknown;
}

const files = [{ name: 'basic.yaml', text: readFileSync(path.join(FIXTURE_RULES, 'basic.yaml'), 'utf8') }];
const otherFiles = [{ name: 'basic.yaml', text: `${files[0]!.text}\n# another version\n` }];
const badFiles = [{ name: 'bad.yaml', text: '- id: x\n  when: amount >>> 1\n  score: 5\n' }];
const limits = { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 500, daily: 1000 };
const contact = { name: 'Li Wei', phone: '+8613800000000', language: 'zh' };
const caseReport = {
  reporter: { type: 'victim' },
  payer: { accountId: 'p-r' },
  payee: { accountId: 'q-r', name: 'Officer Wang' },
  transferIds: ['t-r'],
  amountLost: 48000,
  currency: 'CNY',
  scamType: 'impersonation',
  channel: 'phone',
  narrative: 'A caller claiming to be the police asked me to move my savings.',
  scamAt: '2026-11-20T10:00:00Z',
};
const review = { analyst: 'Ana', reason: 'checked with the payer' };

/** Success and refusal of each route, in an order that gives the later ones something to find. */
const STEPS: readonly Step[] = [
  { method: 'POST', route: '/v1/transfers/score', body: exampleTransfer() },
  { method: 'POST', route: '/v1/transfers/score', body: exampleTransfer({ transferId: 't-2', amount: 20 }) },
  { method: 'POST', route: '/v1/transfers/score', body: exampleTransfer({ amount: 'lots' }) },
  { method: 'GET', route: '/v1/transfers/:id', url: '/v1/transfers/t-1' },
  { method: 'GET', route: '/v1/transfers/:id', url: '/v1/transfers/unknown' },
  { method: 'POST', route: '/v1/transfers/:id/confirm', url: '/v1/transfers/t-1/confirm', body: {} },
  { method: 'POST', route: '/v1/transfers/:id/cancel', url: '/v1/transfers/t-1/cancel', body: {} },
  { method: 'POST', route: '/v1/transfers/:id/cancel', url: '/v1/transfers/t-2/cancel', body: {} },
  { method: 'POST', route: '/v1/transfers/:id/release', url: '/v1/transfers/t-1/release', body: review },
  { method: 'POST', route: '/v1/transfers/:id/reject', url: '/v1/transfers/t-1/reject', body: review },
  { method: 'POST', route: '/v1/transfers/:id/reject', url: '/v1/transfers/t-1/reject', body: {} },
  { method: 'PUT', route: '/v1/accounts/:id/guardian-limits', url: '/v1/accounts/p-m/guardian-limits', body: limits },
  { method: 'GET', route: '/v1/accounts/:id/guardian-limits', url: '/v1/accounts/p-m/guardian-limits' },
  { method: 'DELETE', route: '/v1/accounts/:id/guardian-limits', url: '/v1/accounts/p-m/guardian-limits' },
  { method: 'GET', route: '/v1/accounts/:id/guardian-limits', url: '/v1/accounts/p-m/guardian-limits' },
  { method: 'PUT', route: '/v1/accounts/:id/trusted-contact', url: '/v1/accounts/p-1/trusted-contact', body: contact },
  { method: 'GET', route: '/v1/accounts/:id/trusted-contact', url: '/v1/accounts/p-1/trusted-contact' },
  { method: 'DELETE', route: '/v1/accounts/:id/trusted-contact', url: '/v1/accounts/p-1/trusted-contact' },
  { method: 'GET', route: '/v1/accounts/:id/trusted-contact', url: '/v1/accounts/p-1/trusted-contact' },
  { method: 'POST', route: '/v1/cases', body: caseReport },
  { method: 'POST', route: '/v1/cases', body: caseReport },
  { method: 'POST', route: '/v1/cases', body: { ...caseReport, transferIds: [] } },
  { method: 'GET', route: '/v1/cases' },
  { method: 'GET', route: '/v1/cases', url: '/v1/cases?limit=0' },
  { method: 'GET', route: '/v1/cases/analysis' },
  { method: 'GET', route: '/v1/webhooks/dead-letters' },
  { method: 'GET', route: '/v1/webhooks/dead-letters', url: '/v1/webhooks/dead-letters?limit=-1' },
  { method: 'POST', route: '/v1/webhooks/dead-letters/:eventId/redrive', url: '/v1/webhooks/dead-letters/evt_a/redrive', body: {} },
  { method: 'POST', route: '/v1/webhooks/dead-letters/:eventId/redrive', url: '/v1/webhooks/dead-letters/evt_x/redrive', body: {} },
  { method: 'DELETE', route: '/v1/webhooks/dead-letters/:eventId', url: '/v1/webhooks/dead-letters/evt_b' },
  { method: 'DELETE', route: '/v1/webhooks/dead-letters/:eventId', url: '/v1/webhooks/dead-letters/evt_x' },
  { method: 'POST', route: '/v1/webhooks/dead-letters/redrive', body: {} },
  { method: 'DELETE', route: '/v1/webhooks/dead-letters' },
  { method: 'GET', route: '/v1/webhooks/dead-letters/audit' },
  { method: 'GET', route: '/v1/rules' },
  { method: 'POST', route: '/v1/rules/validate', body: { files } },
  { method: 'POST', route: '/v1/rules/validate', body: { files: badFiles } },
  { method: 'POST', route: '/v1/rules/validate', body: { files: [] } },
  { method: 'PUT', route: '/v1/rules', body: { files: otherFiles, comment: 'a new version', author: 'Ana' } },
  { method: 'PUT', route: '/v1/rules', body: { files: badFiles, comment: 'broken', author: 'Ana' } },
  { method: 'GET', route: '/v1/rules/versions' },
  { method: 'GET', route: '/v1/rules/versions/:id', url: '/v1/rules/versions/1' },
  { method: 'GET', route: '/v1/rules/versions/:id', url: '/v1/rules/versions/999' },
  { method: 'POST', route: '/v1/rules/versions/:id/approve', url: '/v1/rules/versions/2/approve', body: { approver: 'Bo' } },
  { method: 'POST', route: '/v1/rules/versions/:id/reject', url: '/v1/rules/versions/2/reject', body: { reason: 'no', approver: 'Bo' } },
  { method: 'POST', route: '/v1/rules/rollback', body: { versionId: 1, reason: 'back', author: 'Ana' } },
  { method: 'POST', route: '/v1/rules/rollback', body: { versionId: 999, reason: 'back', author: 'Ana' } },
  { method: 'GET', route: '/v1/rules/audit' },
  { method: 'POST', route: '/v1/rules/backtest', body: { files } },
  { method: 'POST', route: '/v1/rules/backtest', body: { files: badFiles } },
  { method: 'GET', route: '/v1/rules/backtest/:id', url: '/v1/rules/backtest/nope' },
  { method: 'GET', route: '/v1/rules/shadow' },
  { method: 'GET', route: '/v1/rules/performance' },
  { method: 'GET', route: '/v1/rules/performance', url: '/v1/rules/performance?from=monday' },
  { method: 'GET', route: '/v1/overview' },
  { method: 'GET', route: '/v1/overview', url: '/v1/overview?minutes=0' },
];

describe('answers of the /v1 routes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp();
    await recordPaid(app.sql, paid('p-r', 'q-r', ['t-r']));
    // two dead letters, as the delivery worker records them
    for (const eventId of ['evt_a', 'evt_b']) {
      const job = { target: 'webhook' as const, eventId, body: JSON.stringify({ id: eventId, type: 'transfer.warned' }) };
      await app.lifecycle.store.deadLetter(`webhooks:${eventId}`, deadLetterOf(job, 'https://hooks.example/calmpay', 3, 'HTTP 500'));
    }
  });
  afterAll(async () => {
    await app.close();
  });

  it('fit the response schema each route declares for their status code, on every /v1 route', { timeout: 120_000 }, async () => {
    const routes = app.server.calmpayRoutes.filter((r) => r.url.startsWith('/v1/'));
    const misfits: string[] = [];
    const seen = new Set<string>();
    const statuses = new Map<string, Set<number>>();
    const check = async (step: Step): Promise<void> => {
      const key = `${step.method} ${step.route}`;
      const route = routes.find((r) => r.method === step.method && r.url === step.route);
      if (route === undefined) throw new Error(`no route ${key}`);
      const res = await app.server.inject({
        method: step.method,
        url: step.url ?? step.route,
        ...(step.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(step.body) }),
      });
      seen.add(key);
      statuses.set(key, (statuses.get(key) ?? new Set()).add(res.statusCode));
      const schema = route.responses[String(res.statusCode)];
      if (!(schema instanceof z.ZodType)) {
        misfits.push(`${key} answered ${res.statusCode}, a status it declares no zod schema for: ${res.body.slice(0, 300)}`);
        return;
      }
      const body: unknown = res.statusCode === 204 ? null : res.json();
      const fit = schema.safeParse(body);
      if (!fit.success) misfits.push(`${key} ${res.statusCode}: ${JSON.stringify(fit.error.issues.slice(0, 3))} in ${res.body.slice(0, 300)}`);
    };
    for (const step of STEPS) await check(step);
    // once the backtest job is there, its own answer
    const job = (await app.server.inject({ method: 'POST', url: '/v1/rules/backtest', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ files }) })).json() as { id?: string };
    if (job.id !== undefined) await check({ method: 'GET', route: '/v1/rules/backtest/:id', url: `/v1/rules/backtest/${job.id}` });

    expect(misfits).toEqual([]);
    expect(routes.map((r) => `${r.method} ${r.url}`).filter((k) => !seen.has(k))).toEqual([]);
    // success and refusal both met: more than one status per route on most of them
    expect([...statuses.values()].filter((s) => s.size > 1).length).toBeGreaterThan(10);
  });
});
