import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, startedApp } from '../helpers/app.ts';
import { coolOffTransfer, startReceiver, waitFor, type Receiver } from './cooling-helpers.ts';

/**
 * Issue 19: dead-lettered deliveries could be listed but not redriven or cleared. Against the
 * shared test Redis (a key prefix of its own) and a local HTTP receiver that verifies signatures.
 */

type TestApp = Awaited<ReturnType<typeof testApp>>;
const SECRET = 'redrive-secret-abcdefghij';

interface DeadList {
  total: number;
  entries: { eventId: string; attempts: number; target: string }[];
}

describe('redriving and clearing dead letters', () => {
  let app: TestApp;
  let receiver: Receiver;

  const dead = async (): Promise<DeadList> => (await app.server.inject({ method: 'GET', url: '/v1/webhooks/dead-letters' })).json();
  /** scores a cool_off transfer and waits until its transfer.warned webhook is dead-lettered; its event id */
  const deadLettered = async (id: string): Promise<string> => {
    expect((await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(id) })).statusCode).toBe(200);
    return waitFor(`the dead letter of ${id}`, async () => {
      const view = (await app.server.inject({ method: 'GET', url: `/v1/transfers/${id}` })).json() as { history?: { eventId: string }[] };
      const eventId = view.history?.[0]?.eventId;
      return eventId !== undefined && (await dead()).entries.some((e) => e.eventId === eventId) ? eventId : null;
    });
  };
  const attemptsOf = (eventId: string): number => receiver.received.filter((r) => r.eventId === eventId).length;

  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
    receiver.respondWith(500);
    app = await startedApp({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ATTEMPTS: '2', WEBHOOK_BACKOFF_MS: '50' });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await receiver.close();
  }, 60_000);

  it('redrives one event with a fresh attempt count, then all of them, with the same event ids', { timeout: 60_000 }, async () => {
    const e1 = await deadLettered('dr-1');
    const e2 = await deadLettered('dr-2');
    expect(attemptsOf(e1)).toBe(2);

    // still failing: WEBHOOK_ATTEMPTS more attempts, then the dead-letter list again
    const one = await app.server.inject({ method: 'POST', url: `/v1/webhooks/dead-letters/${e1}/redrive` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ count: 1, eventIds: [e1] });
    await waitFor('the redriven event to fail again', async () => attemptsOf(e1) === 4 && (await dead()).entries.some((e) => e.eventId === e1));
    expect((await dead()).entries.map((e) => [e.eventId, e.attempts])).toEqual([
      [e2, 2],
      [e1, 2],
    ]);

    receiver.respondWith(204);
    const all = await app.server.inject({ method: 'POST', url: '/v1/webhooks/dead-letters/redrive' });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ count: 2, eventIds: [e2, e1] });
    expect(await dead()).toEqual({ total: 0, entries: [] });
    await waitFor('both deliveries', () => attemptsOf(e1) === 5 && attemptsOf(e2) === 3);
    // the same event, as a receiver deduplicating by event id sees it
    const delivered = receiver.received.filter((r) => r.eventId === e2);
    expect(new Set(delivered.map((r) => r.raw)).size).toBe(1);
    expect(delivered[0]!.body).toMatchObject({ id: e2, type: 'transfer.warned', transferId: 'dr-2' });

    const audit = (await app.server.inject({ method: 'GET', url: '/v1/webhooks/dead-letters/audit' })).json() as { total: number; entries: unknown[] };
    expect(audit.total).toBe(3);
    expect(audit.entries).toEqual([
      { action: 'redrive', actor: 'operator', at: expect.any(String), eventId: e1, target: 'webhook' },
      { action: 'redrive', actor: 'operator', at: expect.any(String), eventId: e2, target: 'webhook' },
      { action: 'redrive', actor: 'operator', at: expect.any(String), eventId: e1, target: 'webhook' },
    ]);
  });

  it('clears one event and all of them, for good and audited', { timeout: 60_000 }, async () => {
    receiver.respondWith(500);
    const e3 = await deadLettered('dr-3');
    const e4 = await deadLettered('dr-4');
    const one = await app.server.inject({ method: 'DELETE', url: `/v1/webhooks/dead-letters/${e3}` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ count: 1, eventIds: [e3] });
    expect((await dead()).entries.map((e) => e.eventId)).toEqual([e4]);

    const again = await app.server.inject({ method: 'DELETE', url: `/v1/webhooks/dead-letters/${e3}` });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'CALMPAY_ERR_NOT_FOUND', message: `No dead letter for event ${e3}` });

    const all = await app.server.inject({ method: 'DELETE', url: '/v1/webhooks/dead-letters' });
    expect(all.json()).toEqual({ count: 1, eventIds: [e4] });
    expect(await dead()).toEqual({ total: 0, entries: [] });
    expect((await app.server.inject({ method: 'DELETE', url: '/v1/webhooks/dead-letters' })).json()).toEqual({ count: 0, eventIds: [] });
    expect(attemptsOf(e3)).toBe(2);

    const audit = (await app.server.inject({ method: 'GET', url: '/v1/webhooks/dead-letters/audit?limit=2' })).json() as { entries: { action: string; eventId: string }[] };
    expect(audit.entries.map((e) => [e.action, e.eventId])).toEqual([
      ['clear', e4],
      ['clear', e3],
    ]);
  });

  it('answers 404 for an unknown event and 400 naming a malformed event id', async () => {
    const unknown = await app.server.inject({ method: 'POST', url: '/v1/webhooks/dead-letters/evt_nope/redrive' });
    expect(unknown.statusCode).toBe(404);
    const bad = await app.server.inject({ method: 'POST', url: '/v1/webhooks/dead-letters/a%20b/redrive' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'CALMPAY_ERR_VALIDATION', details: [{ field: 'params.eventId' }] });
  });
});
