import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T15:02:00Z');
const guardianKey = newApiKey('family-service', ['guardian']);
const scoreKey = newApiKey('payments', ['score']);
const adminKey = newApiKey('ops', ['admin']);
const API_KEYS = JSON.stringify([guardianKey.entry, scoreKey.entry, adminKey.entry]);

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let seq = 0;
/** A minor's small transfer to a payee they paid before (no rule of the fixture set fires). */
function transfer(payer: string, amount: number, occurredAt: string, over: Record<string, unknown> = {}) {
  seq += 1;
  return {
    transferId: `g-${seq}`,
    occurredAt,
    amount,
    currency: 'CNY',
    payer: { accountId: payer, birthYear: 2014 },
    payee: { accountId: 'shop-1' },
    ...over,
  };
}

describe('guardian limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ API_KEYS }, { clock: () => NOW });
  });
  afterAll(async () => {
    await app.close();
  });

  const put = (account: string, body: unknown, key = guardianKey.key) =>
    app.server.inject({ method: 'PUT', url: `/v1/accounts/${account}/guardian-limits`, headers: auth(key), payload: body as object });
  const get = (account: string, key = guardianKey.key) =>
    app.server.inject({ method: 'GET', url: `/v1/accounts/${account}/guardian-limits`, headers: auth(key) });
  const score = async (body: object) => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', headers: auth(scoreKey.key), payload: body });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  describe('who may set them', () => {
    it('needs a key', async () => {
      const res = await app.server.inject({ method: 'PUT', url: '/v1/accounts/kid-0/guardian-limits', payload: { currency: 'CNY', timeZone: 'UTC', daily: 10 } });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toEqual({
        code: 'CALMPAY_ERR_UNAUTHENTICATED',
        message: 'An API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>"',
        details: [],
      });
    });

    it('refuses an unknown key', async () => {
      const res = await put('kid-0', { currency: 'CNY', timeZone: 'UTC', daily: 10 }, 'cp_not-a-key');
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('CALMPAY_ERR_UNAUTHENTICATED');
    });

    it('refuses a payment backend key without the guardian scope, and changes nothing', async () => {
      const res = await put('kid-0', { currency: 'CNY', timeZone: 'UTC', daily: 10 }, scoreKey.key);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        code: 'CALMPAY_ERR_FORBIDDEN',
        message: 'The API key "payments" lacks the scope "guardian" that PUT /v1/accounts/:id/guardian-limits needs',
        details: [{ field: 'scope', message: 'needs guardian; the key has score' }],
      });
      expect((await get('kid-0')).statusCode).toBe(404);
    });

    it('lets an admin key in, and the guardian key (also through x-api-key)', async () => {
      expect((await put('kid-0', { currency: 'CNY', timeZone: 'UTC', daily: 10 }, adminKey.key)).statusCode).toBe(200);
      const res = await app.server.inject({ method: 'GET', url: '/v1/accounts/kid-0/guardian-limits', headers: { 'x-api-key': guardianKey.key } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ accountId: 'kid-0', daily: 10, updatedBy: 'ops' });
    });

    it('keeps health public', async () => {
      expect((await app.server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    });
  });

  describe('bad input', () => {
    it('lists every offending field and stores nothing', async () => {
      const res = await put('kid-bad', { currency: 'cny', timeZone: 'Mars/Base', perTransfer: -5, daily: 'ten', extra: 1 });
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.code).toBe('CALMPAY_ERR_VALIDATION');
      expect(body.details).toEqual(
        expect.arrayContaining([
          { field: 'currency', message: 'must be an ISO 4217 code of three capital letters' },
          { field: 'timeZone', message: 'must be an IANA time zone such as Asia/Shanghai' },
          { field: 'perTransfer', message: 'must be greater than 0' },
          { field: 'daily', message: expect.stringContaining('number') },
          { field: 'extra', message: 'is not a known field' },
        ]),
      );
      expect((await get('kid-bad')).statusCode).toBe(404);
    });

    it('needs at least one limit, and per-transfer within daily', async () => {
      const none = await put('kid-bad', { currency: 'CNY', timeZone: 'UTC' });
      expect(none.statusCode).toBe(400);
      expect(none.json().details).toEqual([{ field: 'daily', message: 'at least one of perTransfer and daily is required' }]);
      const inverted = await put('kid-bad', { currency: 'CNY', timeZone: 'UTC', perTransfer: 100, daily: 50 });
      expect(inverted.statusCode).toBe(400);
      expect(inverted.json().details).toEqual([{ field: 'perTransfer', message: 'must not exceed daily' }]);
    });

    it('rejects a malformed account id in the path', async () => {
      const res = await put('kid%7Bx%7D', { currency: 'CNY', timeZone: 'UTC', daily: 10 });
      expect(res.statusCode).toBe(400);
      expect(res.json().details).toEqual([{ field: 'params.id', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - + / =' }]);
    });

    it('is a 404 for an account without limits', async () => {
      const res = await get('nobody');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ code: 'CALMPAY_ERR_NOT_FOUND', message: 'Account nobody has no guardian limits', details: [] });
    });
  });

  it('blocks over the per-transfer limit and allows exactly at it', async () => {
    expect((await put('kid-1', { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 50 })).statusCode).toBe(200);
    const at = await score(transfer('kid-1', 50, '2026-11-21T01:00:00Z'));
    expect(at).toMatchObject({ action: 'allow', guardian: null, notice: null });
    const over = await score(transfer('kid-1', 50.01, '2026-11-21T01:01:00Z'));
    expect(over).toMatchObject({
      action: 'block',
      scamType: null,
      segment: 'minor',
      guardian: { reason: 'guardian_limit_per_transfer', currency: 'CNY', limit: 50, spentToday: 50 },
      notice: { reason: 'guardian_limit_per_transfer', title: 'That is more than you can send at once' },
    });
    expect(over.notice.message).toContain('CN¥50.00');
  });

  it('adds up the day, allows reaching the daily limit exactly, blocks beyond it and spends nothing when blocked', async () => {
    await put('kid-2', { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 40, daily: 100 });
    expect((await score(transfer('kid-2', 40, '2026-11-21T01:00:00Z'))).action).toBe('allow');
    expect((await score(transfer('kid-2', 40, '2026-11-21T02:00:00Z'))).action).toBe('allow');
    const over = await score(transfer('kid-2', 30, '2026-11-21T03:00:00Z'));
    expect(over).toMatchObject({ action: 'block', guardian: { reason: 'guardian_limit_daily', limit: 100, spentToday: 80 } });
    expect((await score(transfer('kid-2', 20, '2026-11-21T04:00:00Z'))).action).toBe('allow');
    expect(await score(transfer('kid-2', 0.01, '2026-11-21T05:00:00Z'))).toMatchObject({
      action: 'block',
      guardian: { reason: 'guardian_limit_daily', spentToday: 100 },
    });
    const zh = await app.server.inject({
      method: 'POST',
      url: '/v1/transfers/score',
      headers: auth(scoreKey.key),
      payload: transfer('kid-2', 1, '2026-11-21T05:01:00Z', { language: 'zh' }),
    });
    expect(zh.json().notice).toMatchObject({ reason: 'guardian_limit_daily', title: '今天的额度用完了' });
    expect((await get('kid-2')).json()).toMatchObject({ spentToday: 100, today: '2026-11-21', perTransfer: 40, daily: 100 });
  });

  it('starts a new day at local midnight of the limits time zone, not UTC', async () => {
    // Asia/Tokyo is UTC+9: 14:59Z is 23:59 on the 21st, 15:01Z is 00:01 on the 22nd
    await put('kid-3', { currency: 'CNY', timeZone: 'Asia/Tokyo', daily: 100 });
    expect((await score(transfer('kid-3', 100, '2026-11-21T14:59:00Z'))).action).toBe('allow');
    expect((await score(transfer('kid-3', 1, '2026-11-21T14:59:30Z'))).action).toBe('block');
    expect((await score(transfer('kid-3', 100, '2026-11-21T15:01:00Z'))).action).toBe('allow');
    expect((await get('kid-3')).json()).toMatchObject({ today: '2026-11-22', spentToday: 100 });
    // America/New_York is UTC-5 in November: 04:59Z is 23:59 on the 20th
    await put('kid-4', { currency: 'USD', timeZone: 'America/New_York', daily: 10 });
    const usd = { currency: 'USD' };
    expect((await score(transfer('kid-4', 10, '2026-11-21T04:59:00Z', usd))).action).toBe('allow');
    expect((await score(transfer('kid-4', 10, '2026-11-21T05:00:00Z', usd))).action).toBe('allow');
    expect((await score(transfer('kid-4', 1, '2026-11-21T05:30:00Z', usd))).action).toBe('block');
  });

  it('follows a change of time zone made after the engine learnt the old one', async () => {
    await put('kid-5', { currency: 'CNY', timeZone: 'UTC', daily: 10 });
    expect((await score(transfer('kid-5', 10, '2026-11-21T10:00:00Z'))).action).toBe('allow');
    // in Pacific/Kiritimati (UTC+14) 10:30Z is already the 22nd: a fresh day
    await put('kid-5', { currency: 'CNY', timeZone: 'Pacific/Kiritimati', daily: 10 });
    expect((await score(transfer('kid-5', 10, '2026-11-21T10:30:00Z'))).action).toBe('allow');
    expect((await get('kid-5')).json()).toMatchObject({ timeZone: 'Pacific/Kiritimati', today: '2026-11-22', spentToday: 10 });
  });

  it('blocks a transfer in another currency than the limits, and names the limits\' currency (en and zh)', async () => {
    await put('kid-6', { currency: 'CNY', timeZone: 'UTC', perTransfer: 100 });
    const usd = { currency: 'USD' };
    expect(await score(transfer('kid-6', 10, '2026-11-21T10:00:00Z', usd))).toMatchObject({
      action: 'block',
      guardian: { reason: 'guardian_limit_currency', currency: 'CNY', limit: null },
      notice: {
        reason: 'guardian_limit_currency',
        title: 'You cannot pay in this currency',
        message: 'Your parent or guardian only allows payments in CNY. This payment was not sent. Ask them for help.',
      },
    });
    expect((await score(transfer('kid-6', 10, '2026-11-21T10:01:00Z', { ...usd, language: 'zh' }))).notice).toEqual({
      reason: 'guardian_limit_currency',
      title: '不能用这种货币转账',
      message: '你的家长只允许用 CNY 转账。这次没有转出去。请找家长帮忙。',
    });
  });

  it('lets exactly as many concurrent transfers through as fit under the daily limit', async () => {
    await put('kid-7', { currency: 'CNY', timeZone: 'Asia/Shanghai', daily: 50 });
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => score(transfer('kid-7', 10, `2026-11-21T06:00:${String(i).padStart(2, '0')}Z`))),
    );
    const actions = decisions.map((d) => d.action as string);
    expect(actions.filter((a) => a === 'allow')).toHaveLength(5);
    expect(actions.filter((a) => a === 'block')).toHaveLength(15);
    expect((await get('kid-7')).json().spentToday).toBe(50);
  });

  it('an idempotent replay of a blocked transfer stays blocked and spends nothing', async () => {
    await put('kid-8', { currency: 'CNY', timeZone: 'UTC', daily: 10 });
    const t = transfer('kid-8', 11, '2026-11-21T07:00:00Z');
    expect((await score(t)).action).toBe('block');
    expect((await score(t)).action).toBe('block');
    expect((await get('kid-8')).json().spentToday).toBe(0);
  });

  it('stops enforcing once removed', async () => {
    await put('kid-9', { currency: 'CNY', timeZone: 'UTC', perTransfer: 1 });
    expect((await score(transfer('kid-9', 5, '2026-11-21T08:00:00Z'))).action).toBe('block');
    const del = await app.server.inject({ method: 'DELETE', url: '/v1/accounts/kid-9/guardian-limits', headers: auth(guardianKey.key) });
    expect(del.statusCode).toBe(204);
    expect((await score(transfer('kid-9', 5, '2026-11-21T08:01:00Z'))).action).toBe('allow');
  });
});
