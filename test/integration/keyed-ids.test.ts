import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { featureIndex } from '../../src/features/catalogue.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { keyedIds } from '../../src/store/pseudonyms.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { streamFeatures } from '../helpers/decision-stream.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * ACCOUNT_ID_HASH_KEY (issue 9): with a key, no account or device id appears in Redis — not in
 * a key name, a hash field or a set member — and every feature still works, including the
 * guardian limits and the case library's report flags, which reach the same state by id.
 */
const SECRET = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const NOW = Date.parse('2026-11-21T08:00:00Z');
const PAYER = 'payer-visible-7731';
const PAYEE = 'payee-visible-4410';
const OTHER = 'payer-visible-9902';
const DEVICE = 'device-visible-5521';
const IDS = [PAYER, PAYEE, OTHER, DEVICE];

const idx = (name: string): number => {
  const i = featureIndex(name);
  if (i === undefined) throw new Error(`no feature ${name}`);
  return i;
};

let seq = 0;
function transfer(payer: string, amount: number, over: Record<string, unknown> = {}) {
  seq += 1;
  return {
    transferId: `k-${seq}`,
    occurredAt: new Date(NOW - 60_000 + seq * 1000).toISOString(),
    amount,
    currency: 'CNY',
    payer: { accountId: payer, birthYear: 2013, deviceId: DEVICE },
    payee: { accountId: PAYEE },
    ...over,
  };
}

describe('keyed hashes of account ids in Redis', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ ACCOUNT_ID_HASH_KEY: SECRET }, { clock: () => NOW });
  });
  afterAll(async () => {
    await app.close();
  });

  const score = async (body: object) => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: body });
    expect(res.statusCode).toBe(200);
    return res.json() as { transferId: string; action: string; guardian?: { reason: string } };
  };

  const features = (transferId: string) => streamFeatures(app, transferId);

  it('keeps every velocity feature working', async () => {
    const first = await score(transfer(PAYER, 20));
    const second = await score(transfer(PAYER, 30));
    const fromOther = await score(transfer(OTHER, 40));
    const [f1, f2, f3] = await Promise.all([features(first.transferId), features(second.transferId), features(fromOther.transferId)]);
    expect(f1[idx('payee.first_seen')]).toBe(true);
    expect(f2[idx('payee.first_seen')]).toBe(false);
    expect(f2[idx('payee.paid_before_count')]).toBe(1);
    expect(f2[idx('payer.out_count_1h')]).toBe(1);
    expect(f2[idx('payer.out_sum_1h')]).toBe(20);
    expect(f2[idx('device.new_for_payer')]).toBe(false);
    expect(f3[idx('payee.distinct_payers_24h')]).toBe(1);
    expect(f3[idx('payee.in_sum_1h')]).toBe(50);
    expect(f3[idx('device.distinct_payers_24h')]).toBe(1);
  });

  it('finds the guardian limits and the report flags by the same hashed names', async () => {
    const put = await app.server.inject({
      method: 'PUT',
      url: `/v1/accounts/${PAYER}/guardian-limits`,
      payload: { currency: 'CNY', timeZone: 'Asia/Shanghai', perTransfer: 100 },
    });
    expect(put.statusCode).toBe(200);
    const over = await score(transfer(PAYER, 150));
    expect(over.action).toBe('block');
    expect(over.guardian?.reason).toBe('guardian_limit_per_transfer');

    // a report names a transfer the decision history records (the sink copies it shortly)
    await until(async () => (await app.sql.query(`SELECT 1 FROM decisions WHERE transfer_id = 'k-3'`)).rows.length === 1, 'k-3 in the decision history');
    const reported = await app.server.inject({
      method: 'POST',
      url: '/v1/cases',
      payload: {
        reporter: { type: 'victim' },
        payer: { accountId: OTHER },
        payee: { accountId: PAYEE },
        transferIds: ['k-3'],
        amountLost: 40,
        currency: 'CNY',
        scamType: 'purchase',
        scamAt: new Date(NOW - 30_000).toISOString(),
      },
    });
    expect(reported.statusCode).toBe(201);
    const next = await score(transfer(OTHER, 10));
    expect((await features(next.transferId))[idx('payee.report_count')]).toBe(1);
  });

  it('leaves no account or device id in a key, a field or a member', async () => {
    // every per-account and per-device key kind, named the plain way and the hashed way
    // (the shared test Redis is too large to SCAN)
    const plain = makeKeys(app.prefix);
    const hashed = makeKeys(app.prefix, keyedIds(Buffer.from(SECRET, 'hex')));
    const names = (k: Keys): string[] => [
      ...[PAYER, PAYEE, OTHER].flatMap((id) => [
        k.accountOut(id), k.accountIn(id), k.accountPayees(id), k.accountPayers(id), k.accountNewPayers(id),
        k.accountDevices(id), k.accountReports(id), k.accountReportCases(id), k.accountReporters(id),
        k.accountGuardian(id), k.pair(id, PAYEE),
      ]),
      k.devicePayers(DEVICE),
    ];
    const exists = async (keys: string[]) => (await Promise.all(keys.map((key) => app.redis.exists(key)))).reduce((a, b) => a + b, 0);
    expect(await exists(names(plain))).toBe(0);
    const stored = names(hashed);
    // windows both ways, payees, payers, new payers, devices, reports (3), guardian, pairs (2), device payers
    expect(await exists(stored)).toBeGreaterThanOrEqual(14);
    const contents: string[] = [...stored];
    for (const key of stored) {
      const type = await app.redis.type(key);
      if (type === 'hash') contents.push(...Object.entries(await app.redis.hgetall(key)).flat());
      else if (type === 'zset') contents.push(...(await app.redis.zrange(key, 0, -1)));
      else if (type === 'set') contents.push(...(await app.redis.smembers(key)));
      else if (type === 'string') contents.push((await app.redis.get(key)) ?? '');
    }
    for (const id of IDS) {
      expect(contents.filter((c) => c.includes(id))).toEqual([]);
    }
  });
});

describe('ACCOUNT_ID_HASH_KEY', () => {
  it('refuses a key that is too short or not hex', () => {
    for (const bad of ['abc', '0011223344556677', 'zz112233445566778899aabbccddeeff']) {
      expect(() => loadConfig({ ACCOUNT_ID_HASH_KEY: bad })).toThrow(/ACCOUNT_ID_HASH_KEY must be at least 32 hex digits/);
    }
  });

  it('is deterministic per key and differs between keys and between kinds', () => {
    const a = keyedIds(Buffer.from(SECRET, 'hex'));
    const b = keyedIds(Buffer.from(SECRET.replace(/^00/, '01'), 'hex'));
    expect(a('a', PAYER)).toBe(a('a', PAYER));
    expect(a('a', PAYER)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a('a', PAYER)).not.toBe(b('a', PAYER));
    expect(a('a', PAYER)).not.toBe(a('d', PAYER));
  });
});
