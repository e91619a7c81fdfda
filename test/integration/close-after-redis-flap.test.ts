import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../../src/store/local-redis.ts';
import { startedApp } from '../helpers/app.ts';
import { coolOffTransfer, waitFor } from './cooling-helpers.ts';

/**
 * Issue 19: app.close() after a Redis outage left the lifecycle worker's close() hanging for
 * ever (BullMQ's graceful Worker.close() waits on its blocking connection, which after an
 * outage sits in a reconnect delay of up to 20 s that the close cancels without ending it;
 * the relay's and the sweep's commands wait on a Redis that is gone). Every part must close
 * within a few seconds, whether Redis came back or is still down, and a hold confirmed before
 * the outage must still end by its timer in the next app on the same Redis.
 * The apps run on a redis-server of the test's own, stopped and started again on its port.
 */

type TestApp = Awaited<ReturnType<typeof startedApp>>;
/** how long Redis stays away: long enough for BullMQ's reconnect delay to grow past seconds */
const OUTAGE_MS = 12_000;
const HOLD_SECONDS = OUTAGE_MS / 1000 + 12;
const CLOSE_BOUND_MS = 5_000;

/** Closes `app` part by part, as app.close() does, and how long each part took (a part that hangs counts as 20 s). */
async function timedClose(app: TestApp): Promise<{ name: string; ms: number }[]> {
  const took: { name: string; ms: number }[] = [];
  for (const part of app.closingOrder()) {
    const t0 = Date.now();
    await Promise.race([part.close().catch(() => undefined), sleep(20_000)]);
    took.push({ name: part.name, ms: Date.now() - t0 });
  }
  return took;
}

/** the parts that took CLOSE_BOUND_MS or more (logged, for the record) */
function slow(took: { name: string; ms: number }[]): { name: string; ms: number }[] {
  console.log('close times (ms):', JSON.stringify(took.filter((p) => p.ms >= 50)));
  return took.filter((p) => p.ms >= CLOSE_BOUND_MS);
}

describe('closing the app after its Redis went away', () => {
  let dataDir: string;
  let redis: LocalRedis;
  const apps: TestApp[] = [];
  const restart = async () => {
    redis = await startLocalRedis({ dataDir, port: redis.port, appendOnly: true, log: () => undefined });
  };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'calmpay-close-flap-'));
    redis = await startLocalRedis({ dataDir, appendOnly: true, log: () => undefined });
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function appWithHold(id: string): Promise<TestApp> {
    const app = await startedApp({ REDIS_URL: redis.url, COOLING_OFF_SECONDS: String(HOLD_SECONDS) });
    apps.push(app);
    const scored = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(id) });
    expect(scored.json()).toMatchObject({ action: 'cool_off' });
    await waitFor(`${id} registered`, async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
    expect((await app.server.inject({ method: 'POST', url: `/v1/transfers/${id}/confirm` })).json()).toMatchObject({ state: 'COOLING_OFF' });
    return app;
  }

  async function holdEndsInNextApp(prefix: string, id: string): Promise<void> {
    const next = await startedApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, COOLING_OFF_SECONDS: String(HOLD_SECONDS) });
    apps.push(next);
    const view = await waitFor(
      'the hold to end',
      async () => {
        const v = (await next.server.inject({ method: 'GET', url: `/v1/transfers/${id}` })).json() as { state?: string; history?: { actor: string }[] };
        return v.state === 'RELEASED' ? v : null;
      },
      HOLD_SECONDS * 1000 + 5_000,
      100,
    );
    expect(view.history?.at(-1)?.actor).toBe('system:timer');
  }

  it('closes every part promptly when Redis was restarted, and the hold confirmed before still ends by its timer', async () => {
    const app = await appWithHold('flap-restarted');
    await redis.stop();
    await sleep(OUTAGE_MS);
    await restart();
    await sleep(1_000);
    const took = await timedClose(app);
    apps.splice(apps.indexOf(app), 1);
    expect(slow(took)).toEqual([]);
    expect(took.reduce((s, p) => s + p.ms, 0)).toBeLessThan(CLOSE_BOUND_MS);
    await holdEndsInNextApp(app.prefix, 'flap-restarted');
  }, 90_000);

  it('closes every part promptly when Redis is still down, and the hold ends by its timer once Redis is back', async () => {
    const app = await appWithHold('flap-down');
    await redis.stop();
    await sleep(2_000);
    const took = await timedClose(app);
    apps.splice(apps.indexOf(app), 1);
    expect(slow(took)).toEqual([]);
    expect(took.reduce((s, p) => s + p.ms, 0)).toBeLessThan(CLOSE_BOUND_MS);
    await restart();
    await holdEndsInNextApp(app.prefix, 'flap-down');
  }, 90_000);
});
