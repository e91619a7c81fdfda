import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKeys } from '../../src/store/keys.ts';
import { DecisionSink, type SinkLog } from '../../src/decisions/decision-sink.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { redisUrl } from '../helpers/redis.ts';
import { SQL_BACKENDS, testSql } from '../helpers/sql.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');
const DAY = 86_400_000;

const quiet: SinkLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function score(app: TestApp, transferId: string, over: Record<string, unknown> = {}) {
  const res = await app.server.inject({
    method: 'POST',
    url: '/v1/transfers/score',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      transferId,
      occurredAt: '2026-11-21T03:00:00Z',
      amount: 12000,
      currency: 'CNY',
      payer: { accountId: `p-${transferId}`, birthYear: 1950 },
      payee: { accountId: 'q-sink' },
      context: { onCall: true },
      ...over,
    }),
  });
  expect(res.statusCode).toBe(200);
}

interface Row {
  transfer_id: string;
  occurred_at: Date;
  payer_id: string;
  payee_id: string;
  amount: number;
  currency: string;
  action: string;
  risk_score: number;
  hit_rules: string[];
  shadow_rules: string[];
  catalogue: string;
  decision: unknown;
  features: unknown;
}

async function rows(app: TestApp): Promise<Row[]> {
  const r = await app.sql.query<Row>(
    `SELECT transfer_id, occurred_at, payer_id, payee_id, amount::float8 AS amount, currency, action, risk_score, hit_rules,
            shadow_rules, catalogue, decision, features FROM decisions ORDER BY transfer_id`,
  );
  return r.rows;
}

/** The stream as {transferId: fields}, once every pending decision write has landed. */
async function streamEntries(app: TestApp, n: number): Promise<Map<string, Record<string, string>>> {
  for (let i = 0; i < 200; i++) {
    const entries = await app.redis.xrange(`${app.prefix}{decisions}`, '-', '+');
    if (entries.length >= n) {
      return new Map(
        entries.map(([, f]) => {
          const rec = Object.fromEntries(Array.from({ length: f.length / 2 }, (_, k) => [f[2 * k]!, f[2 * k + 1]!]));
          return [rec.transferId!, rec];
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the stream never reached ${n} entries`);
}

describe.each(SQL_BACKENDS)('the decision sink on %s', (backend) => {
  const sql = testSql(backend);
  let app: TestApp;
  let conn: Redis;
  const sinks: DecisionSink[] = [];
  const sink = (opts: { claimIdleMs?: number; retentionDays?: number; batchSize?: number } = {}) => {
    const s = new DecisionSink(conn, makeKeys(app.prefix), app.sql, { batchSize: opts.batchSize ?? 2, retentionDays: opts.retentionDays ?? 400, claimIdleMs: opts.claimIdleMs ?? 60_000 }, () => NOW, quiet);
    sinks.push(s);
    return s;
  };
  const pending = async () => Number(((await conn.xpending(`${app.prefix}{decisions}`, 'sql-sink')) as [number])[0]);

  beforeAll(async () => {
    // the app's own sink is off: these tests drive sinks step by step
    app = await startedApp({ ...sql.env, DECISION_SINK: 'false' }, { clock: () => NOW });
    conn = new Redis(redisUrl());
  });
  afterAll(async () => {
    for (const s of sinks) await s.stop();
    conn.disconnect();
    await app.close();
    await sql.cleanup();
  });

  it('copies every decision with the feature vector it was made on, once', async () => {
    for (const id of ['s-1', 's-2', 's-3', 's-4', 's-5']) await score(app, id, id === 's-5' ? { amount: 10 } : {});
    const stream = await streamEntries(app, 5);
    const s = sink();
    expect(await s.catchUp()).toBe(5);
    const stored = await rows(app);
    expect(stored.map((r) => r.transfer_id)).toEqual(['s-1', 's-2', 's-3', 's-4', 's-5']);
    for (const r of stored) {
      const e = stream.get(r.transfer_id)!;
      const decision = JSON.parse(e.decision!) as { action: string; riskScore: number; hits: { ruleId: string }[]; shadowHits: { ruleId: string }[] };
      expect(r).toEqual({
        transfer_id: r.transfer_id,
        occurred_at: new Date('2026-11-21T03:00:00Z'),
        payer_id: `p-${r.transfer_id}`,
        payee_id: 'q-sink',
        amount: r.transfer_id === 's-5' ? 10 : 12000,
        currency: 'CNY',
        action: decision.action,
        risk_score: decision.riskScore,
        hit_rules: decision.hits.map((h) => h.ruleId),
        shadow_rules: decision.shadowHits.map((h) => h.ruleId),
        catalogue: e.catalogue,
        decision,
        features: JSON.parse(e.features!),
      });
    }
    expect(stored[0]!.hit_rules).toEqual(['large-to-new-payee', 'elderly-on-call-new-payee']);
    expect(await pending()).toBe(0);
    expect(await s.catchUp()).toBe(0);

    // every entry delivered again (as after a crash before XACK): no second row, no change
    await conn.xgroup('SETID', `${app.prefix}{decisions}`, 'sql-sink', '0');
    expect(await s.catchUp()).toBe(5);
    expect(await rows(app)).toEqual(stored);
    expect(s.getStats()).toMatchObject({ copied: 5, acked: 10, rejected: 0, lost: 0 });
  });

  it('takes over what a crashed consumer read but never acknowledged', async () => {
    for (const id of ['c-1', 'c-2', 'c-3']) await score(app, id);
    await streamEntries(app, 8);
    // the crashed consumer: read, never acked
    const read = (await conn.call('XREADGROUP', 'GROUP', 'sql-sink', 'crashed', 'COUNT', 10, 'STREAMS', `${app.prefix}{decisions}`, '>')) as [string, unknown[]][];
    expect(read[0]![1]).toHaveLength(3);
    expect(await pending()).toBe(3);
    const s = sink({ claimIdleMs: 20 });
    await new Promise((r) => setTimeout(r, 40));
    expect(await s.claimStale()).toBe(3);
    expect((await rows(app)).map((r) => r.transfer_id)).toEqual(['c-1', 'c-2', 'c-3', 's-1', 's-2', 's-3', 's-4', 's-5']);
    expect(await pending()).toBe(0);
  });

  it('counts entries trimmed from the stream before anyone copied them as lost', async () => {
    await score(app, 'lost-1');
    await streamEntries(app, 9);
    await conn.call('XREADGROUP', 'GROUP', 'sql-sink', 'crashed', 'COUNT', 10, 'STREAMS', `${app.prefix}{decisions}`, '>');
    await conn.xtrim(`${app.prefix}{decisions}`, 'MAXLEN', 0);
    const s = sink({ claimIdleMs: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(await s.claimStale()).toBe(0);
    expect(s.getStats().lost).toBe(1);
    expect(await pending()).toBe(0);
  });

  it('acknowledges a malformed entry without copying it, so it cannot block the stream', async () => {
    await conn.xadd(`${app.prefix}{decisions}`, '*', 'transferId', 'bad-1', 'decision', '{"action":', 'event', '{}', 'features', '[]', 'catalogue', 'x');
    await score(app, 'after-bad');
    await streamEntries(app, 2);
    const s = sink();
    expect(await s.catchUp()).toBe(2);
    expect(s.getStats()).toMatchObject({ copied: 1, rejected: 1 });
    const ids = (await rows(app)).map((r) => r.transfer_id);
    expect(ids).toContain('after-bad');
    expect(ids).not.toContain('bad-1');
    expect(await pending()).toBe(0);
  });

  it('acknowledges an entry the SQL store refuses for its data, copying the rest of its batch', async () => {
    await score(app, 'poison-src');
    const source = (await streamEntries(app, 3)).get('poison-src')!;
    // a decision JSON that parses, but whose \u0000 jsonb cannot store (SQLSTATE 22P05)
    const decision = source.decision!.replace('{', '{"note":"\\u0000",').replace('"transferId":"poison-src"', '"transferId":"poison-1"');
    expect(JSON.parse(decision)).toMatchObject({ note: '\u0000', transferId: 'poison-1' });
    await conn.xadd(`${app.prefix}{decisions}`, '*', 'transferId', 'poison-1', 'decision', decision, 'event', source.event!, 'features', source.features!, 'catalogue', source.catalogue!);
    await score(app, 'after-poison');
    await streamEntries(app, 5);
    const s = sink({ batchSize: 10 });
    expect(await s.catchUp()).toBe(3);
    expect(s.getStats()).toMatchObject({ copied: 2, rejected: 1 });
    const ids = (await rows(app)).map((r) => r.transfer_id);
    expect(ids).toEqual(expect.arrayContaining(['poison-src', 'after-poison']));
    expect(ids).not.toContain('poison-1');
    expect(await pending()).toBe(0);
  });

  it('deletes decisions older than the retention', async () => {
    await score(app, 'old-1', { occurredAt: new Date(NOW - 40 * DAY).toISOString() });
    await score(app, 'recent-1', { occurredAt: new Date(NOW - 20 * DAY).toISOString() });
    const s = sink({ retentionDays: 30 });
    await s.catchUp();
    const before = (await rows(app)).length;
    expect(await s.applyRetention()).toBe(1);
    const after = (await rows(app)).map((r) => r.transfer_id);
    expect(after).toHaveLength(before - 1);
    expect(after).toContain('recent-1');
    expect(after).not.toContain('old-1');
  });
});

describe('the decision sink inside the app', () => {
  it('runs by default and copies a scored decision without anyone asking', async () => {
    const app = await startedApp({}, { clock: () => NOW });
    try {
      await score(app, 'auto-1');
      let found: Row[] = [];
      for (let i = 0; i < 100 && found.length === 0; i++) {
        found = (await rows(app)).filter((r) => r.transfer_id === 'auto-1');
        if (found.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(found.map((r) => [r.transfer_id, r.payee_id])).toEqual([['auto-1', 'q-sink']]);
      expect(app.sink.getStats()).toMatchObject({ copied: 1, running: true, lastError: null });
      const ready = (await app.server.inject({ url: '/readyz' })).json();
      expect(ready.checks.sql).toEqual({ ready: true, detail: 'pglite memory://; decision sink copied 1' });
    } finally {
      await app.close();
    }
    expect(app.sink.getStats().running).toBe(false);
  });
});
