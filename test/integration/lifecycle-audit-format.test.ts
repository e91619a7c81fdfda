import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleStore } from '../../src/cooling/lifecycle-store.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { redisUrl } from '../helpers/redis.ts';

/**
 * The audit entry a lifecycle transition appends (lifecycle-common.lua) keeps its stored bytes:
 * keys in the order seq, at, actor, from, to, reason, eventId, strings as cjson writes them
 * ('/' as '\/', UTF-8 as is), null for a first transition's `from`. Entries already stored
 * read the same as new ones, and the store reads both back as the values written.
 */

/** A string as Redis's cjson encodes it. */
const cjsonString = (s: string): string => JSON.stringify(s).replaceAll('/', '\\/');

describe('the lifecycle audit entry', () => {
  let redis: Redis;
  let keys: Keys;
  let store: LifecycleStore;
  beforeAll(() => {
    redis = new Redis(redisUrl());
    keys = makeKeys(`audit-format:${randomUUID()}:`);
    store = new LifecycleStore(redis, keys, 86_400_000);
  });
  afterAll(async () => {
    const found = await redis.keys(`${keys.txState('x').split('{')[0]}*`);
    if (found.length > 0) await redis.del(...found);
    await redis.quit();
  });

  it('is stored byte for byte as before, whatever the reason and actor hold', async () => {
    const id = 'tx-audit-1';
    const decidedMs = 1_700_000_000_000;
    const decidedIso = new Date(decidedMs).toISOString();
    const registered = 'warn decision, risk 40: waiting for the payer until 2023-11-15T22:13:20.000Z';
    const registration = await redis.cpRegisterTransfer(
      keys.txState(id), keys.txAudit(id), keys.lifecycleAwaiting(), keys.lifecycleEvents(),
      id, String(decidedMs), decidedIso, String(decidedMs + 86_400_000), '172800000', registered,
      'payer', 'p-1', 'payee', 'q-1', 'amount', '10', 'currency', 'EUR', 'action', 'warn', 'risk', '40', 'model', '',
      'segment', '', 'scam', '', 'rules', 'r1', 'lang', 'en', 'features', '[]', 'reports', '0', 'holdMs', '60000',
    ); // prettier-ignore
    expect(registration).toBe(1);
    const cancelMs = decidedMs + 5_000;
    const actor = 'payer "ü" / ☃';
    const note = 'said "stop" \\ now / here\nline two\tand é, {"json":[1]}';
    expect(await store.cancel(id, cancelMs, actor, note)).toMatchObject({ kind: 'moved', state: 'ABANDONED' });
    const reason = `cancelled by the payer after the warning: ${note}`;

    const eventId = (seq: number): string => `evt_${createHash('sha1').update(`${keys.txState(id)}#${decidedMs}#${seq}`).digest('hex')}`;
    const raw = await redis.lrange(keys.txAudit(id), 0, -1);
    expect(raw).toEqual([
      `{"seq":1,"at":"${decidedIso}","actor":"engine","from":null,"to":"WARNED","reason":${cjsonString(registered)},"eventId":"${eventId(1)}"}`,
      `{"seq":2,"at":"${new Date(cancelMs).toISOString()}","actor":${cjsonString(actor)},"from":"WARNED","to":"ABANDONED","reason":${cjsonString(reason)},"eventId":"${eventId(2)}"}`,
    ]);
    expect((await store.load(id)).audit).toEqual([
      { seq: 1, at: decidedIso, actor: 'engine', from: null, to: 'WARNED', reason: registered, eventId: eventId(1) },
      { seq: 2, at: new Date(cancelMs).toISOString(), actor, from: 'WARNED', to: 'ABANDONED', reason, eventId: eventId(2) },
    ]);
  });
});
