import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOutboxEntry } from '../../src/cooling/outbox-event.ts';
import { startedApp, testApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';
import { coolOffTransfer, startReceiver, waitFor, type Receiver } from './cooling-helpers.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;
const SECRET = 'webhook-secret-abcdefghij';

/**
 * The webhook body exactly as lifecycle-common.lua's transition() concatenated it before the
 * relay built bodies (the lines below are that code, with its inputs read from ARGV), run in
 * a real Redis so cjson.encode is the real one.
 */
const OLD_LUA_BODY = `
local function jstr(s)
  if s == nil or s == false or s == '' then return 'null' end
  return cjson.encode(s)
end
local function jnum(s)
  if s == nil or s == false or s == '' then return 'null' end
  return s
end
local eventId, kind, nowIso, id, seq, from, to, actor, reason =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local st = { payer = ARGV[10], payee = ARGV[11], amount = ARGV[12], currency = ARGV[13], action = ARGV[14],
  risk = ARGV[15], segment = ARGV[16], scam = ARGV[17], holdUntilIso = ARGV[18] }
local body = '{"id":"' .. eventId .. '","type":"' .. kind .. '","createdAt":' .. cjson.encode(nowIso) ..
    ',"transferId":' .. cjson.encode(id) .. ',"seq":' .. seq .. ',"from":' .. jstr(from) .. ',"to":"' .. to ..
    '","actor":' .. cjson.encode(actor) .. ',"reason":' .. cjson.encode(reason) ..
    ',"payerId":' .. jstr(st.payer) .. ',"payeeId":' .. jstr(st.payee) .. ',"amount":' .. jnum(st.amount) ..
    ',"currency":' .. jstr(st.currency) .. ',"action":' .. jstr(st.action) .. ',"riskScore":' .. jnum(st.risk) ..
    ',"segment":' .. jstr(st.segment) .. ',"scamType":' .. jstr(st.scam) .. ',"holdUntil":' .. jstr(st.holdUntilIso) .. '}'
return body
`;

const ORDER = ['id', 'type', 'createdAt', 'transfer', 'seq', 'from', 'to', 'actor', 'reason', 'payer', 'payee', 'amount', 'currency', 'action', 'risk', 'segment', 'scam', 'holdUntil'] as const;
type EventFields = Record<(typeof ORDER)[number], string>;

const asFields = (e: EventFields): string[] => ORDER.flatMap((k) => [k, e[k]]);
const oldBody = (redis: Redis, e: EventFields): Promise<string> => redis.eval(OLD_LUA_BODY, 0, ...ORDER.map((k) => e[k])) as Promise<string>;

function fieldsOf(entry: string[]): EventFields {
  const e: Record<string, string> = {};
  for (let i = 0; i < entry.length; i += 2) e[entry[i]!] = entry[i + 1]!;
  return e as EventFields;
}

const base: EventFields = {
  id: 'evt_0123456789abcdef0123456789abcdef01234567',
  type: 'transfer.cooling_off',
  createdAt: '2026-12-06T00:30:00.000Z',
  transfer: 't-1',
  seq: '2',
  from: 'WARNED',
  to: 'COOLING_OFF',
  actor: 'payer',
  reason: 'confirmed by the payer; cool_off decision',
  payer: 'p-1',
  payee: 'q-1',
  amount: '48000',
  currency: 'CNY',
  action: 'cool_off',
  risk: '87',
  segment: 'elderly',
  scam: 'impersonation',
  holdUntil: '2026-12-06T00:45:00.000Z',
};

describe('the webhook body built by the relay', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  let every = '';
  for (let c = 0; c < 0x80; c++) every += String.fromCharCode(c);
  const cases: [string, Partial<EventFields>][] = [
    ['an ordinary cool-off', {}],
    ['a registration: no previous state, no hold', { seq: '1', from: '', to: 'WARNED', type: 'transfer.warned', holdUntil: '' }],
    ['absent optional fields', { payer: '', payee: '', amount: '', currency: '', action: '', risk: '', segment: '', scam: '' }],
    ['ids with every character an id may hold', { transfer: 'a/b+c=d:e@f.g_h-i', payer: '//p', payee: 'q==/' }],
    ['a payer note with every ASCII character', { reason: `cancelled by the payer: ${every}` }],
    ['Chinese, emoji and line separators', { reason: '付款人取消：骗子 😀 \u2028\u2029 é', actor: 'analyst:李' }],
    ['fractional numbers as the hash holds them', { amount: '1234.50', risk: '0.125', seq: '17' }],
    ['empty actor and reason', { actor: '', reason: '' }],
  ];

  it.each(cases)('is byte for byte the body the Lua built: %s', async (_name, over) => {
    const e = { ...base, ...over };
    const want = await oldBody(redis, e);
    expect(decodeOutboxEntry(asFields(e))).toEqual({ eventId: e.id, type: e.type, body: want });
    expect(() => JSON.parse(want)).not.toThrow();
  });

  it('names a missing field of a new entry', () => {
    const fields = asFields(base).slice(0, -2);
    expect(() => decodeOutboxEntry(fields)).toThrow(new Error(`outbox entry ${base.id} has no field holdUntil`));
  });

  it('delivers an entry of the old format (a finished body) as it is, with or without its type field', () => {
    const body = '{"id":"evt_x","type":"transfer.warned","transferId":"a\\/b"}';
    expect(decodeOutboxEntry(['id', 'evt_x', 'type', 'transfer.warned', 'transfer', 'a/b', 'body', body])).toEqual({ eventId: 'evt_x', type: 'transfer.warned', body });
    expect(decodeOutboxEntry(['id', 'evt_x', 'body', body])).toEqual({ eventId: 'evt_x', type: 'transfer.warned', body });
    expect(decodeOutboxEntry(null)).toBeNull();
    expect(decodeOutboxEntry(['body', body])).toBeNull();
  });
});

describe('outbox entries written by the lifecycle scripts', () => {
  let app: TestApp;
  beforeAll(async () => {
    // no worker: the test reads the outbox itself
    app = await testApp({ RUN_WORKER: 'false' });
    // the first app of a file pays for loading the engine and PGlite: slow on a loaded machine
  }, 120_000);
  afterAll(async () => {
    await app.close();
  });

  it('give the bodies the Lua built, through registration, confirm and cancel', async () => {
    const id = 'out/box+1=';
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer(id) });
    expect(res.json().action).toBe('cool_off');
    await waitFor('registration', async () => (await app.redis.exists(`${app.prefix}{t:${id}}:s`)) === 1);
    const path = `/v1/transfers/${encodeURIComponent(id)}`;
    expect((await app.server.inject({ method: 'POST', url: `${path}/confirm` })).json().state).toBe('COOLING_OFF');
    const note = 'he said "police" / 公安 \\ ok';
    expect((await app.server.inject({ method: 'POST', url: `${path}/cancel`, payload: { note } })).json().state).toBe('CANCELLED');

    const entries = await app.redis.xrange(`${app.prefix}{lifecycle}:events`, '-', '+');
    const mine = entries.map(([, f]) => fieldsOf(f)).filter((e) => e.transfer === id);
    expect(mine.map((e) => [e.type, e.seq, e.from, e.to])).toEqual([
      ['transfer.warned', '1', '', 'WARNED'],
      ['transfer.cooling_off', '2', 'WARNED', 'COOLING_OFF'],
      ['transfer.cancelled', '3', 'COOLING_OFF', 'CANCELLED'],
    ]);
    for (const e of mine) {
      const decoded = decodeOutboxEntry(asFields(e));
      expect(decoded?.body).toBe(await oldBody(app.redis, e));
    }
    const cancelled = JSON.parse(decodeOutboxEntry(asFields(mine[2]!))!.body) as Record<string, unknown>;
    expect(cancelled).toMatchObject({ transferId: id, from: 'COOLING_OFF', to: 'CANCELLED', amount: 48000, currency: 'CNY', action: 'cool_off', segment: 'elderly' });
    expect(cancelled.reason).toBe(`cancelled by the payer during the cooling-off hold: ${note}`);
  }, 60_000);
});

describe('the relay', () => {
  let app: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
    app = await startedApp({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET });
  }, 120_000);
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  it('delivers entries already in the outbox in the old format, and new ones, each once', async () => {
    const stream = `${app.prefix}{lifecycle}:events`;
    const old = { ...base, id: 'evt_old_with_type', transfer: 'old/1', reason: 'a "quoted" / slashed reason' };
    const oldest = { ...base, id: 'evt_old_without_type', transfer: 'old/2' };
    const oldBodyWithType = await oldBody(app.redis, old);
    const oldBodyWithoutType = await oldBody(app.redis, oldest);
    await app.redis.xadd(stream, '*', 'id', old.id, 'type', old.type, 'transfer', old.transfer, 'body', oldBodyWithType);
    await app.redis.xadd(stream, '*', 'id', oldest.id, 'body', oldBodyWithoutType);
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: coolOffTransfer('new/1') });
    expect(res.json().action).toBe('cool_off');

    await waitFor('three webhooks', () => receiver.unique().length >= 3);
    const byId = new Map(receiver.unique().map((r) => [r.eventId, r]));
    expect(byId.get(old.id)?.raw).toBe(oldBodyWithType);
    expect(byId.get(oldest.id)?.raw).toBe(oldBodyWithoutType);
    const fresh = receiver.unique().find((r) => r.body.transferId === 'new/1');
    expect(fresh?.body).toMatchObject({ type: 'transfer.warned', seq: 1, from: null, to: 'WARNED', amount: 48000, action: 'cool_off', segment: 'elderly' });
    expect(fresh?.raw).toContain('"transferId":"new\\/1"');
    await waitFor('the outbox to be emptied', async () => (await app.redis.xlen(stream)) === 0);
    expect(receiver.received).toHaveLength(3);
  }, 60_000);
});
