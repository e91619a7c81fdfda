import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');
const DAY_MS = 86_400_000;

function transfer(id: string, occurredAt: string): Record<string, unknown> {
  return {
    transferId: id,
    occurredAt,
    amount: 120,
    currency: 'CNY',
    payer: { accountId: `p-${id}`, birthYear: 1950 },
    payee: { accountId: `q-${id}` },
  };
}

/**
 * Issue 19: an occurredAt with no lower bound let year 0001 turn an elderly payer into a minor
 * (age = year of the transfer - birth year). The scoring route takes events at most
 * MAX_EVENT_AGE_DAYS old by the server's clock; replay and training read history through the
 * pure path (TransferEventSchema), which has no such bound. (testApp raises the bound for other
 * tests, so `app` sets the default, 30, itself.)
 */
describe('occurredAt lower bound on the scoring route', () => {
  let app: TestApp;
  let wide: TestApp;
  beforeAll(async () => {
    app = await testApp({ RUN_WORKER: 'false', MAX_EVENT_AGE_DAYS: '30' }, { clock: () => NOW });
    wide = await testApp({ RUN_WORKER: 'false', MAX_EVENT_AGE_DAYS: '3650' }, { clock: () => NOW });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await wide?.close();
  });

  const score = (a: TestApp, body: Record<string, unknown>) => a.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body });

  it('refuses year 0001 with a 400 naming occurredAt, and scores nothing', async () => {
    const res = await score(app, transfer('old-1', '0001-01-01T00:00:00Z'));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_VALIDATION',
      message: 'Invalid fields: occurredAt',
      details: [{ field: 'occurredAt', message: 'is more than 30 days in the past (server time 2026-11-21T03:10:00.000Z; MAX_EVENT_AGE_DAYS)' }],
    });
    expect(await app.redis.exists(`${app.prefix}{t:old-1}`)).toBe(0);
  });

  it('takes an event exactly MAX_EVENT_AGE_DAYS old and refuses one a second older', async () => {
    const edge = await score(app, transfer('edge-1', new Date(NOW - 30 * DAY_MS).toISOString()));
    expect(edge.statusCode).toBe(200);
    expect(edge.json()).toMatchObject({ transferId: 'edge-1', segment: 'elderly' });
    const over = await score(app, transfer('edge-2', new Date(NOW - 30 * DAY_MS - 1000).toISOString()));
    expect(over.statusCode).toBe(400);
    expect((over.json() as { details: { field: string }[] }).details.map((d) => d.field)).toEqual(['occurredAt']);
  });

  it('takes older events when MAX_EVENT_AGE_DAYS allows them (a backfill through the API)', async () => {
    const res = await score(wide, transfer('backfill-1', '2018-03-01T10:00:00Z'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ transferId: 'backfill-1', segment: 'elderly' });
  });
});
