import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFY_QUEUE, WEBHOOK_QUEUE } from '../../src/cooling/deliveries.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';
import { coolOffTransfer, startReceiver, waitFor, type Receiver } from './cooling-helpers.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;
const SECRET = 'webhook-secret-abcdefghij';

async function scoreAndWait(app: TestApp, id: string): Promise<void> {
  const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(id) });
  expect(res.statusCode).toBe(200);
  await waitFor('registration', async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
}

describe('webhook delivery: retries with exponential backoff, then the dead-letter list', () => {
  let app: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
    receiver.respondWith(500);
    app = await startedApp({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ATTEMPTS: '3', WEBHOOK_BACKOFF_MS: '200' });
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  it('tries WEBHOOK_ATTEMPTS times, doubling the wait, and dead-letters the event once', async () => {
    await scoreAndWait(app, 'dl-1');
    const view = (await app.server.inject({ method: 'GET', url: '/v1/transfers/dl-1' })).json();
    const eventId = view.history[0].eventId as string;

    const dead = await waitFor('a dead letter', async () => {
      const res = await app.server.inject({ method: 'GET', url: '/v1/webhooks/dead-letters' });
      const body = res.json() as { total: number; entries: Record<string, unknown>[] };
      return body.total > 0 ? body : null;
    });
    expect(dead.total).toBe(1);
    expect(dead.entries[0]).toMatchObject({
      eventId,
      target: 'webhook',
      url: receiver.url.endsWith('/') ? receiver.url : `${receiver.url}/`,
      attempts: 3,
      lastError: `HTTP 500 from ${receiver.url}/`,
      body: { id: eventId, type: 'transfer.warned', transferId: 'dl-1' },
    });
    const attempts = receiver.received.filter((r) => r.eventId === eventId);
    expect(attempts.length).toBe(3);
    // exponential: the second retry waits at least twice the first
    const gap1 = attempts[1]!.at - attempts[0]!.at;
    const gap2 = attempts[2]!.at - attempts[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(200 - 5);
    expect(gap2).toBeGreaterThanOrEqual(400 - 5);
    // every attempt is the same event, re-signed with its own timestamp
    expect(new Set(attempts.map((a) => a.raw)).size).toBe(1);

    // no attempts after the last one
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receiver.received.filter((r) => r.eventId === eventId).length).toBe(3);
    const paged = await app.server.inject({ method: 'GET', url: '/v1/webhooks/dead-letters?offset=1&limit=5' });
    expect(paged.json()).toEqual({ total: 1, entries: [] });
  });
});

describe('graceful shutdown', () => {
  let hanging: Server | null = null;
  afterEach(async () => {
    hanging?.closeAllConnections();
    await new Promise<void>((r) => (hanging ? hanging.close(() => r()) : r()));
  });

  // webhooks: the relay's own first attempt; voice warnings: a BullMQ job of the worker
  for (const [variable, queueName] of [['WEBHOOK_URL', WEBHOOK_QUEUE], ['VOICE_URL', NOTIFY_QUEUE]] as const) {
    it(`close() waits for the delivery in flight instead of dropping it (${variable})`, async () => {
      // a receiver that holds every request until the test lets it answer
      let answer: () => void = () => {};
      const gate = new Promise<void>((r) => (answer = r));
      let arrived = 0;
      hanging = createServer((_req, res) => {
        arrived++;
        void gate.then(() => {
          res.statusCode = 204;
          res.end();
        });
      });
      await new Promise<void>((r) => hanging!.listen(0, '127.0.0.1', r));
      const port = (hanging.address() as AddressInfo).port;
      const app = await startedApp({ [variable]: `http://127.0.0.1:${port}/`, WEBHOOK_SECRET: SECRET });
      await scoreAndWait(app, `drain-${variable}`);
      await waitFor('the delivery to be in flight', () => arrived > 0);

      let closed = false;
      const closing = app.close().then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(closed).toBe(false);
      answer();
      await closing;
      // it completed rather than being left for another worker to redo (or lost)
      const queue = new Queue(queueName, { connection: { url: redisUrl() }, prefix: `${app.prefix}bull` });
      const counts = await queue.getJobCounts('active', 'wait', 'delayed', 'failed', 'completed');
      await queue.close();
      expect(counts).toEqual({ active: 0, wait: 0, delayed: 0, failed: 0, completed: 0 });
      // and the relay deleted the outbox entries it had delivered or handed on
      const redis = new Redis(redisUrl());
      expect(await redis.xlen(`${app.prefix}{lifecycle}:events`)).toBe(0);
      await redis.quit();
      expect(arrived).toBe(1);
    });
  }
});
