import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeys, SCRIPTS } from '../../src/store/keys.ts';
import { testApp } from '../helpers/app.ts';
import { streamFeatures } from '../helpers/decision-stream.ts';
import { waitFor } from './cooling-helpers.ts';

/**
 * Issue 19: what a transfer within a minor's guardian limits adds to the day's spend at score
 * time is given back, exactly once, when the transfer ends unpaid — blocked, cancelled,
 * abandoned, rejected in review — and kept when it is paid.
 */

type TestApp = Awaited<ReturnType<typeof testApp>>;

const RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/rules-guardian');
/** 11:00 in Asia/Shanghai */
const NOW = Date.parse('2026-11-21T03:00:00Z');
const LIMITS = { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 200, daily: 1000 };

describe('guardian spend of transfers that end unpaid', () => {
  let app: TestApp;
  let now = NOW;
  let seq = 0;

  beforeAll(async () => {
    // no worker: the test ends unanswered warnings itself, at a time it chooses
    app = await testApp({ RULES_DIR: RULES, RUN_WORKER: 'false', WARNING_EXPIRY_SECONDS: '600' }, { clock: () => now });
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, body?: object) =>
    app.server.inject({ method: 'POST', url, ...(body === undefined ? {} : { payload: body }) });

  const setLimits = async (kid: string) => {
    const res = await app.server.inject({ method: 'PUT', url: `/v1/accounts/${kid}/guardian-limits`, payload: LIMITS });
    expect(res.statusCode).toBe(200);
  };

  const spentToday = async (kid: string): Promise<number> => {
    const res = await app.server.inject({ method: 'GET', url: `/v1/accounts/${kid}/guardian-limits` });
    expect(res.statusCode).toBe(200);
    return res.json().spentToday as number;
  };

  /** Scores a minor's transfer now; waits until its decision write (and refund, if any) is done. */
  const score = async (kid: string, amount: number, id = `gr-${++seq}`) => {
    const body = {
      transferId: id,
      occurredAt: new Date(now).toISOString(),
      amount,
      currency: 'CNY',
      payer: { accountId: kid, birthYear: 2014 },
      payee: { accountId: `shop-${id}` },
    };
    const res = await post('/v1/transfers/score', body);
    expect(res.statusCode).toBe(200);
    await streamFeatures(app, id);
    if (['warn', 'cool_off'].includes(res.json().action as string)) {
      await waitFor(`${id} registered`, async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
    }
    return { id, body, decision: res.json() as { action: string; guardian: unknown } };
  };

  const action = async (id: string, verb: 'confirm' | 'cancel' | 'release' | 'reject') => {
    const res = await post(`/v1/transfers/${id}/${verb}`, verb === 'release' || verb === 'reject' ? { analyst: 'ana-1', reason: 'checked' } : undefined);
    return { status: res.statusCode, state: res.json().state as string };
  };

  it('gives back a transfer within the limits that a rule blocks: 360 stays 360, not 460', async () => {
    const kid = 'kid-block';
    await setLimits(kid);
    expect((await score(kid, 200)).decision.action).toBe('allow');
    expect((await score(kid, 160)).decision.action).toBe('allow');
    expect(await spentToday(kid)).toBe(360);
    const blocked = await score(kid, 100);
    // blocked by the rule, not by a guardian limit: 100 fits under both
    expect(blocked.decision).toMatchObject({ action: 'block', guardian: null });
    expect(await spentToday(kid)).toBe(360);
    // an idempotent replay of the blocked transfer changes nothing
    const replay = await post('/v1/transfers/score', blocked.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(await spentToday(kid)).toBe(360);
    // the block's refund recorded again (a retried decision write) gives back nothing more
    const key = makeKeys(app.prefix).accountGuardian(kid);
    expect(await app.redis.eval(SCRIPTS.guardianRefund.lua, 1, key, blocked.id)).toBe(0);
    expect(await app.redis.eval(SCRIPTS.guardianRefund.lua, 1, key, blocked.id)).toBe(0);
    expect(await spentToday(kid)).toBe(360);
    // and the allowance given back can be spent: 640 more reach the daily limit of 1000
    for (const amount of [200, 200, 200, 40]) expect((await score(kid, amount)).decision.action).toBe('allow');
    expect(await spentToday(kid)).toBe(1000);
  });

  it('gives back a warned transfer the payer cancels, once however often it is cancelled', async () => {
    const kid = 'kid-cancel';
    await setLimits(kid);
    await score(kid, 50);
    const warned = await score(kid, 20);
    expect(warned.decision.action).toBe('warn');
    expect(await spentToday(kid)).toBe(70);
    expect(await action(warned.id, 'cancel')).toEqual({ status: 200, state: 'ABANDONED' });
    expect(await spentToday(kid)).toBe(50);
    expect(await action(warned.id, 'cancel')).toEqual({ status: 200, state: 'ABANDONED' });
    expect(await spentToday(kid)).toBe(50);
  });

  it('gives back a transfer cancelled during its cooling-off hold', async () => {
    const kid = 'kid-hold-cancel';
    await setLimits(kid);
    const cooled = await score(kid, 30);
    expect(cooled.decision.action).toBe('cool_off');
    expect(await action(cooled.id, 'confirm')).toEqual({ status: 200, state: 'COOLING_OFF' });
    expect(await spentToday(kid)).toBe(30);
    expect(await action(cooled.id, 'cancel')).toEqual({ status: 200, state: 'CANCELLED' });
    expect(await action(cooled.id, 'cancel')).toEqual({ status: 200, state: 'CANCELLED' });
    expect(await spentToday(kid)).toBe(0);
  });

  it('gives back a warning left unanswered until it expires', async () => {
    const kid = 'kid-abandon';
    await setLimits(kid);
    await score(kid, 45);
    const warned = await score(kid, 20);
    expect(await spentToday(kid)).toBe(65);
    now += 601_000; // past WARNING_EXPIRY_SECONDS, still the same local day
    try {
      expect(await app.lifecycle.service.abandonExpired(100)).toBeGreaterThanOrEqual(1);
      expect((await app.server.inject({ method: 'GET', url: `/v1/transfers/${warned.id}` })).json().state).toBe('ABANDONED');
      expect(await spentToday(kid)).toBe(45);
      // a cancel after the expiry is a repeat and gives back nothing more
      expect(await action(warned.id, 'cancel')).toEqual({ status: 200, state: 'ABANDONED' });
      expect(await spentToday(kid)).toBe(45);
    } finally {
      now = NOW;
    }
  });

  it('gives back a held transfer an analyst rejects, and keeps one an analyst releases', async () => {
    const kid = 'kid-review';
    await setLimits(kid);
    const rejected = await score(kid, 30);
    const released = await score(kid, 30);
    for (const t of [rejected, released]) {
      expect(await action(t.id, 'confirm')).toEqual({ status: 200, state: 'COOLING_OFF' });
      expect(await app.lifecycle.service.escalatePayee(`shop-${t.id}`, 'reported')).toEqual([t.id]);
    }
    expect(await spentToday(kid)).toBe(60);
    expect(await action(rejected.id, 'reject')).toEqual({ status: 200, state: 'REJECTED' });
    expect(await action(rejected.id, 'reject')).toEqual({ status: 200, state: 'REJECTED' });
    expect(await spentToday(kid)).toBe(30);
    expect(await action(released.id, 'release')).toEqual({ status: 200, state: 'RELEASED' });
    expect(await spentToday(kid)).toBe(30);
  });

  it('keeps a warned transfer the payer confirms and that is released', async () => {
    const kid = 'kid-paid';
    await setLimits(kid);
    const warned = await score(kid, 20);
    expect(await action(warned.id, 'confirm')).toEqual({ status: 200, state: 'RELEASED' });
    expect(await action(warned.id, 'cancel')).toEqual({ status: 409, state: undefined });
    expect(await spentToday(kid)).toBe(20);
  });

  it('gives back to the local day the transfer was counted on, and does nothing once that day is dropped', async () => {
    const kid = 'kid-midnight';
    const key = makeKeys(app.prefix).accountGuardian(kid);
    await setLimits(kid);
    try {
      // 23:50 on the 21st in Asia/Shanghai
      now = Date.parse('2026-11-21T15:50:00Z');
      const lateWarn = await score(kid, 20);
      const oldWarn = await score(kid, 20);
      await score(kid, 50);
      // 00:10 on the 22nd: a new day, the 21st is kept as the previous one
      now = Date.parse('2026-11-21T16:10:00Z');
      await score(kid, 60);
      expect(await spentToday(kid)).toBe(60);
      expect(await app.redis.hget(key, 'd:2026-11-21')).toBe('90000');
      expect(await action(lateWarn.id, 'cancel')).toEqual({ status: 200, state: 'ABANDONED' });
      expect(await app.redis.hget(key, 'd:2026-11-21')).toBe('70000');
      expect(await spentToday(kid)).toBe(60);
      // the 23rd: the 21st's figure and spend records are dropped
      now = Date.parse('2026-11-22T16:10:00Z');
      await score(kid, 10);
      expect(await app.redis.hget(key, 'd:2026-11-21')).toBeNull();
      expect(await app.redis.hget(key, `s:${oldWarn.id}`)).toBeNull();
      expect(await action(oldWarn.id, 'cancel')).toEqual({ status: 200, state: 'ABANDONED' });
      expect(await app.redis.hget(key, 'd:2026-11-21')).toBeNull();
      expect(await spentToday(kid)).toBe(10);
    } finally {
      now = NOW;
    }
  });

  it('drops any number of spend records of days no longer kept when the day moves on', async () => {
    const kid = 'kid-many';
    const key = makeKeys(app.prefix).accountGuardian(kid);
    await setLimits(kid);
    await score(kid, 10);
    // records left from the 20th (as many as a very busy account could leave), and one of today
    const old = Array.from({ length: 10_000 }, (_, i) => [`s:old-${i}`, '2026-11-20,1000']).flat();
    await app.redis.hset(key, ...old);
    try {
      now = Date.parse('2026-11-22T03:00:00Z');
      const next = await score(kid, 10);
      expect(next.decision).toMatchObject({ action: 'allow' });
      const fields = Object.keys(await app.redis.hgetall(key)).filter((f) => f.startsWith('s:'));
      expect(fields.sort()).toEqual([`s:gr-${seq - 1}`, `s:${next.id}`].sort());
    } finally {
      now = NOW;
    }
  });
});
