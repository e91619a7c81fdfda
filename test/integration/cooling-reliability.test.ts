import { Queue } from 'bullmq';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { lifecycleSettings } from '../../src/config-wiring.ts';
import { HOLD_QUEUE } from '../../src/cooling/hold-timers.ts';
import { LifecycleService } from '../../src/cooling/lifecycle-service.ts';
import { LifecycleStore } from '../../src/cooling/lifecycle-store.ts';
import { freePort, startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { coolOffTransfer, waitFor } from './cooling-helpers.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

async function holds(app: TestApp, prefix: string, n: number): Promise<{ id: string; holdUntil: number }[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(id) });
    expect(res.json().action).toBe('cool_off');
  }
  await waitFor('registrations', async () => (await app.redis.zcard(`${app.prefix}{lifecycle}:awaiting`)) >= n);
  const out: { id: string; holdUntil: number }[] = [];
  for (const id of ids) {
    const res = await app.server.inject({ method: 'POST', url: `/v1/transfers/${id}/confirm` });
    expect(res.json().state).toBe('COOLING_OFF');
    out.push({ id, holdUntil: Date.parse(res.json().holdUntil) });
  }
  return out;
}

/** Outbox entries per transfer (read directly: these apps run no relay). */
async function outboxTypes(app: TestApp): Promise<Map<string, string[]>> {
  const entries = await app.redis.xrange(`${app.prefix}{lifecycle}:events`, '-', '+');
  const byTransfer = new Map<string, string[]>();
  for (const [, f] of entries) {
    const get = (k: string) => f[f.indexOf(k) + 1]!;
    const list = byTransfer.get(get('transfer')) ?? [];
    list.push(get('type'));
    byTransfer.set(get('transfer'), list);
  }
  return byTransfer;
}

describe('cancel and expiry racing on the same transfer', () => {
  let app: TestApp;
  beforeAll(async () => {
    // no worker: the test plays the timer itself, on a connection of its own like a worker's
    app = await startedApp({ COOLING_OFF_SECONDS: '1', RUN_WORKER: 'false' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('end in exactly one of the two, announced once', async () => {
    const n = 200;
    const pending = await holds(app, 'race', n);
    const workerRedis = app.redis.duplicate({ enableOfflineQueue: true });
    workerRedis.on('error', () => {});
    const store = new LifecycleStore(workerRedis, makeKeys(app.prefix), 86_400_000);
    const expiry = new LifecycleService({
      store,
      timers: app.lifecycle.timers,
      ...lifecycleSettings(loadConfig({ COOLING_OFF_SECONDS: '1' })),
      ruleSet: () => app.rules.current,
      clock: Date.now,
      log: { info: () => {}, warn: () => {}, error: () => {} },
    });
    await waitFor('every hold to be due', () => Date.now() > Math.max(...pending.map((p) => p.holdUntil)) + 10);

    // racing, one pair at a time so nothing else queues in front of either: the payer's cancel
    // (HTTP, one read, its script) and the timer's expiry script (its reads and the re-check
    // done just before, as the worker does), the expiry started 0-7 event-loop turns later
    const racing = pending.slice(0, n - 40);
    const expiryFirst = pending.slice(n - 40, n - 20);
    const cancelFirst = pending.slice(n - 20);
    const cancel = (id: string) => app.server.inject({ method: 'POST', url: `/v1/transfers/${id}/cancel` });
    const expire = (id: string) => expiry.expireHold(id, 'timer');
    const results = [];
    for (const [i, { id }] of racing.entries()) {
      let firstDone = Infinity;
      const c = cancel(id).finally(() => (firstDone = Math.min(firstDone, performance.now())));
      for (let turn = 0; turn < i % 8; turn++) await new Promise((r) => setImmediate(r));
      const eStart = performance.now();
      const e = store.expire(id, `q-${id}`, Date.now(), 'system:timer', '').finally(() => (firstDone = Math.min(firstDone, performance.now())));
      const [cr, er] = await Promise.all([c, e]);
      results.push({ id, cancel: cr, expire: er, overlapped: eStart <= firstDone });
    }
    for (const { id } of expiryFirst) {
      const e = await expire(id);
      results.push({ id, expire: e, cancel: await cancel(id), overlapped: false });
    }
    for (const { id } of cancelFirst) {
      const c = await cancel(id);
      results.push({ id, cancel: c, expire: await expire(id), overlapped: false });
    }
    await workerRedis.quit();

    const outbox = await outboxTypes(app);
    let released = 0;
    let cancelled = 0;
    for (const r of results) {
      const view = (await app.server.inject({ method: 'GET', url: `/v1/transfers/${r.id}` })).json();
      const history = view.history as { to: string }[];
      expect(history.map((h) => h.to).slice(0, 2)).toEqual(['WARNED', 'COOLING_OFF']);
      expect(history.length).toBe(3);
      if (view.state === 'RELEASED') {
        released++;
        expect(r.expire).toMatchObject({ kind: 'moved', state: 'RELEASED' });
        expect(r.cancel.statusCode).toBe(409);
        expect(r.cancel.json().details).toEqual([{ field: 'state', message: 'RELEASED' }]);
      } else {
        cancelled++;
        expect(view.state).toBe('CANCELLED');
        expect(r.cancel.statusCode).toBe(200);
        expect(r.cancel.headers['idempotent-replayed']).toBeUndefined();
        expect(r.expire).toEqual({ kind: 'repeat', state: 'CANCELLED' });
      }
      expect(outbox.get(r.id)).toEqual(['transfer.warned', 'transfer.cooling_off', view.state === 'RELEASED' ? 'transfer.released' : 'transfer.cancelled']);
    }
    expect(released + cancelled).toBe(n);
    for (const r of results.slice(n - 40, n - 20)) expect(r.expire).toMatchObject({ kind: 'moved', state: 'RELEASED' });
    for (const r of results.slice(n - 20)) expect(r.cancel.json().state).toBe('CANCELLED');
    // the racing pairs really were in flight together, and each side won some
    const raced = results.slice(0, n - 40);
    expect(raced.filter((r) => r.overlapped).length).toBeGreaterThan(raced.length / 2);
    expect(raced.filter((r) => r.cancel.statusCode === 409).length).toBeGreaterThan(0);
    expect(raced.filter((r) => r.cancel.statusCode === 200).length).toBeGreaterThan(0);
  });
});

describe('a Redis restart with append-only persistence', () => {
  let redis: LocalRedis;
  let dataDir: string;
  let app: TestApp;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-cooling-aof-'));
    redis = await startLocalRedis({ dataDir, port: await freePort(), appendOnly: true, log: () => {} });
    app = await startedApp({ REDIS_URL: redis.url, COOLING_OFF_SECONDS: '5' });
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps pending holds, which release on time once it is back', async () => {
    const n = 50;
    const pending = await holds(app, 'aof', n);
    const firstDue = Math.min(...pending.map((p) => p.holdUntil));
    expect(firstDue - Date.now()).toBeGreaterThan(2_000);

    // a clean stop: redis fsyncs the append-only file; then the same port and data again
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    redis = await startLocalRedis({ dataDir, port: redis.port, appendOnly: true, log: () => {} });

    const queue = new Queue(HOLD_QUEUE, { connection: { url: redis.url }, prefix: `${app.prefix}bull` });
    expect(await queue.getDelayedCount()).toBe(n);
    await queue.close();

    for (const { id, holdUntil } of pending) {
      const view = await waitFor(`${id} released`, async () => {
        const res = await app.server.inject({ method: 'GET', url: `/v1/transfers/${id}` });
        if (res.statusCode !== 200) return null; // the API's own connection may still be reconnecting
        const v = res.json();
        return v.state === 'RELEASED' ? v : null;
      }, 20_000);
      const history = view.history as { to: string; at: string; actor: string }[];
      expect(history.map((h) => h.to)).toEqual(['WARNED', 'COOLING_OFF', 'RELEASED']);
      const late = Date.parse(history[2]!.at) - holdUntil;
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(2_000);
    }
  });
});

describe('the overdue sweep', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ COOLING_OFF_SECONDS: '1' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('ends a hold whose timer is gone (a worker died holding it, or the add failed)', async () => {
    const { id, holdUntil } = (await holds(app, 'sweep', 1))[0]!;
    // the relay adds the timer again from the outbox: let it finish first
    await waitFor('the relay', async () => (await app.redis.xlen(`${app.prefix}{lifecycle}:events`)) === 0);
    // what a worker killed while processing the timer leaves behind: no timer that will fire
    // before BullMQ's lock expires
    expect(await app.lifecycle.timers.queue.remove(id)).toBe(1);
    const view = await waitFor('the sweep to end the hold', async () => {
      const v = (await app.server.inject({ method: 'GET', url: `/v1/transfers/${id}` })).json();
      return v.state === 'RELEASED' ? v : null;
    });
    const last = (view.history as { actor: string; at: string }[]).at(-1)!;
    expect(last.actor).toBe('system:sweep');
    const late = Date.parse(last.at) - holdUntil;
    expect(late).toBeGreaterThanOrEqual(750);
    expect(late).toBeLessThan(2_000);
  });
});
