import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { featureStoreOptions } from '../../src/config-wiring.ts';
import { idx } from '../../src/features/catalogue.ts';
import { buildFeatureVector } from '../../src/features/build-vector.ts';
import { eventHash, parseTransferEvent, type TransferEvent } from '../../src/features/transfer-event.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { defineScoreSteps, sendStepCalls, stepCall } from '../../src/features/score-steps.ts';
import { decodeStoredClaim, type StepName } from '../../src/features/score-step-replies.ts';
import { testApp } from '../helpers/app.ts';
import { streamFeatures } from '../helpers/decision-stream.ts';

/**
 * Nothing answered is lost (issue 19; docs/score-durability.md): the decision is in Redis
 * before its 200, a write that fails is no 200, and a retry of a transfer claimed but never
 * recorded completes it on the state stored with the claim, counting nothing twice.
 */

type TestApp = Awaited<ReturnType<typeof testApp>>;

const T0 = Date.parse('2026-11-21T03:10:00Z');
const LEASE_MS = 5_000;
const OUT_1H = idx('payer.out_count_1h');
const PAIR_COUNT = idx('payee.paid_before_count');

/** Scored cool_off by the fixture rules: elderly payer on a call, large, new payee. */
function coolOff(id: string, payer = `p-${id}`, payee = `q-${id}`, at = T0): Record<string, unknown> {
  return {
    transferId: id,
    occurredAt: new Date(at).toISOString(),
    amount: 48_000,
    currency: 'CNY',
    payer: { accountId: payer, birthYear: 1950 },
    payee: { accountId: payee },
    context: { onCall: true },
  };
}

function parsed(body: Record<string, unknown>): TransferEvent {
  const r = parseTransferEvent(body);
  if (!r.success) throw new Error(r.error.message);
  return r.data;
}

function post(app: TestApp, url: string, body?: unknown) {
  return app.server.inject({
    method: 'POST',
    url,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }),
  });
}

/** The claim a score makes, made without deciding or recording: an engine killed right after it. */
async function claimOnly(app: TestApp, e: TransferEvent, atMs: number) {
  const config = loadConfig({ REDIS_KEY_PREFIX: app.prefix });
  const dead = new FeatureStore(app.redis, makeKeys(app.prefix), featureStoreOptions(config), () => undefined);
  const claim = await dead.claimAndUpdate(e, Date.parse(e.occurredAt), eventHash(e), atMs);
  if (claim.kind !== 'new') throw new Error(`${e.transferId} was claimed before`);
  return buildFeatureVector(e, Date.parse(e.occurredAt), claim.state, config.features.ageBands);
}

const IN_PROGRESS = { code: 'CALMPAY_ERR_TRANSFER_IN_PROGRESS', message: 'This transferId is being scored by another request; retry shortly', details: [] };

describe('a score whose first request died between claim and record', () => {
  let app: TestApp;
  let now = T0;
  beforeAll(async () => {
    app = await testApp({ CLAIM_LEASE_MS: String(LEASE_MS) }, { clock: () => now });
  });
  afterAll(async () => {
    await app.close();
  });

  it('is completed by a retry after the lease, on the stored state, and counts once', async () => {
    const body = coolOff('dead-1');
    now = T0;
    const vector = await claimOnly(app, parsed(body), now);

    // within the lease the first request may still be deciding
    now = T0 + 1_000;
    const early = await post(app, '/v1/transfers/score', body);
    expect([early.statusCode, early.json()]).toEqual([409, IN_PROGRESS]);

    now = T0 + LEASE_MS;
    const retry = await post(app, '/v1/transfers/score', body);
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.json()).toMatchObject({ transferId: 'dead-1', action: 'cool_off', riskScore: 70 });
    // decided on exactly what the claim was answered, and recorded with it
    expect(await streamFeatures(app, 'dead-1')).toEqual(JSON.parse(JSON.stringify(vector)));

    // the lifecycle was registered with the decision: confirm and read work
    const confirmed = await post(app, '/v1/transfers/dead-1/confirm');
    expect(confirmed.statusCode).toBe(200);
    const view = await app.server.inject({ method: 'GET', url: '/v1/transfers/dead-1' });
    expect([view.statusCode, view.json().state]).toEqual([200, 'COOLING_OFF']);

    // a later retry replays the completed decision
    const again = await post(app, '/v1/transfers/score', body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().decidedAt).toBe(retry.json().decidedAt);

    // the windows counted the transfer once: the next one of the same payer and payee sees one
    const next = await post(app, '/v1/transfers/score', coolOff('dead-2', 'p-dead-1', 'q-dead-1', T0 + 60_000));
    expect(next.statusCode).toBe(200);
    const v = await streamFeatures(app, 'dead-2');
    expect([v[OUT_1H], v[PAIR_COUNT]]).toEqual([1, 1]);
  });

  it('answers two racing completions with one decision', async () => {
    const body = coolOff('dead-3');
    now = T0;
    await claimOnly(app, parsed(body), now);
    now = T0 + LEASE_MS;
    const [a, b] = await Promise.all([post(app, '/v1/transfers/score', body), post(app, '/v1/transfers/score', body)]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const { timingsUs: _ta, ...da } = a.json();
    const { timingsUs: _tb, ...db } = b.json();
    expect(db).toEqual(da);
    expect(JSON.parse((await app.redis.get(`${app.prefix}{t:dead-3}:d`))!).decidedAt).toBe(da.decidedAt);
  });

  it('has the decision recorded when the 200 is sent: a confirm right after it finds the transfer', async () => {
    now = T0;
    const ids = Array.from({ length: 20 }, (_, i) => `quick-${i}`);
    const answers = await Promise.all(
      ids.map(async (id) => {
        const scored = await post(app, '/v1/transfers/score', coolOff(id));
        const confirmed = await post(app, `/v1/transfers/${id}/confirm`);
        return [scored.statusCode, confirmed.statusCode];
      }),
    );
    expect(answers).toEqual(ids.map(() => [200, 200]));
  });

  it('times every stage up to the serialised reply, the record included', async () => {
    now = T0;
    const res = await post(app, '/v1/transfers/score', coolOff('timed-1'));
    const t = res.json().timingsUs as Record<string, number>;
    expect(Object.keys(t)).toEqual(['validate', 'features', 'rules', 'model', 'decision', 'record', 'render', 'total']);
    const stages = Object.entries(t).filter(([k]) => k !== 'total');
    for (const [, v] of stages) expect(Number.isInteger(v) && v >= 0).toBe(true);
    expect(t.record).toBeGreaterThan(0);
    // each stage rounds to the microsecond on its own: allow one per stage
    expect(t.total! + stages.length).toBeGreaterThanOrEqual(stages.reduce((s, [, v]) => s + v, 0));
  });
});

describe('a score whose decision cannot be written', () => {
  let app: TestApp;
  let now = T0;
  beforeAll(async () => {
    app = await testApp({ CLAIM_LEASE_MS: String(LEASE_MS), DECISION_SINK: 'false' }, { clock: () => now });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 503, not a 200 with an unrecorded decision, and a retry after the lease completes it', async () => {
    const stream = `${app.prefix}{decisions}`;
    // the decision stream's key holds a string: XADD fails, every other write succeeds
    await app.redis.set(stream, 'not a stream');
    const body = coolOff('unwritten-1');
    now = T0;
    const failed = await post(app, '/v1/transfers/score', body);
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ code: 'CALMPAY_ERR_DECISION_NOT_RECORDED' });
    expect(failed.json().message).toContain('after CLAIM_LEASE_MS (5000 ms)');
    // nothing reads as recorded
    expect(await app.redis.get(`${app.prefix}{t:unwritten-1}:d`)).toBeNull();

    now = T0 + 1_000;
    const early = await post(app, '/v1/transfers/score', body);
    expect([early.statusCode, early.json()]).toEqual([409, IN_PROGRESS]);

    await app.redis.del(stream);
    now = T0 + LEASE_MS;
    const retry = await post(app, '/v1/transfers/score', body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ transferId: 'unwritten-1', action: 'cool_off' });
    expect((await app.redis.xrange(stream, '-', '+')).map(([, f]) => f[1])).toEqual(['unwritten-1']);
    const confirmed = await post(app, '/v1/transfers/unwritten-1/confirm');
    expect(confirmed.statusCode).toBe(200);

    const next = await post(app, '/v1/transfers/score', coolOff('unwritten-2', 'p-unwritten-1', 'q-unwritten-1', T0 + 60_000));
    expect(next.statusCode).toBe(200);
    const v = await streamFeatures(app, 'unwritten-2');
    expect([v[OUT_1H], v[PAIR_COUNT]]).toEqual([1, 1]);
  });
});

describe('a claim the split score left pending (issue 15: release A beside a node running the steps)', () => {
  let app: TestApp;
  let now = T0;
  beforeAll(async () => {
    // this node runs score-features.lua (release A), also under TEST_SCORE_BY_STEPS
    app = await testApp({ CLAIM_LEASE_MS: String(LEASE_MS) }, { clock: () => now, scoreBySteps: false });
  });
  afterAll(async () => {
    await app.close();
  });

  /** What a node running the split score sends before it dies: these steps only, never the record. */
  async function stepsOnly(body: Record<string, unknown>, atMs: number, steps: readonly StepName[]): Promise<void> {
    const e = parsed(body);
    const opts = featureStoreOptions(loadConfig({ REDIS_KEY_PREFIX: app.prefix }));
    defineScoreSteps(app.redis);
    const x = { e, tMs: Date.parse(e.occurredAt), eventHash: eventHash(e), claimMs: atMs };
    for (const [err] of await sendStepCalls(app.redis, steps.map((s) => stepCall(makeKeys(app.prefix), opts, x, s, '')))) expect(err).toBeNull();
    expect(await app.redis.get(`${app.prefix}{t:${e.transferId}}`)).toBe(`${eventHash(e)}|${atMs}|pending`);
  }

  it('answers 409 in progress for the same event, within the lease and after it, and counts nothing', async () => {
    const body = coolOff('pend-1');
    now = T0;
    await stepsOnly(body, now, ['claim', 'payer', 'payee']);
    for (const at of [T0 + 1_000, T0 + LEASE_MS, T0 + 100 * LEASE_MS]) {
      now = at;
      const res = await post(app, '/v1/transfers/score', body);
      expect([res.statusCode, res.json()], `at +${at - T0} ms`).toEqual([409, IN_PROGRESS]);
    }
    expect(await app.redis.get(`${app.prefix}{t:pend-1}:d`)).toBeNull();
    // the payer step counted the transfer once, and wrote today's pair too (for a rollback to
    // this release); this node's answers counted nothing more
    now = T0 + 100 * LEASE_MS;
    const next = await post(app, '/v1/transfers/score', coolOff('pend-2', 'p-pend-1', 'q-pend-1', T0 + 60_000));
    expect(next.statusCode).toBe(200);
    const v = await streamFeatures(app, 'pend-2');
    expect([v[OUT_1H], v[PAIR_COUNT]]).toEqual([1, 1]);
  });

  it('answers 409 conflict for another event under the pending id', async () => {
    now = T0;
    await stepsOnly(coolOff('pend-3'), now, ['claim']);
    const res = await post(app, '/v1/transfers/score', { ...coolOff('pend-3'), amount: 1 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CALMPAY_ERR_TRANSFER_ID_CONFLICT' });
  });
});

describe('a claim the split score left pending, on a node running the steps (issue 15, claim first)', () => {
  let app: TestApp;
  let now = T0;
  beforeAll(async () => {
    app = await testApp({ CLAIM_LEASE_MS: String(LEASE_MS) }, { clock: () => now, scoreBySteps: true });
  });
  afterAll(async () => {
    await app.close();
  });

  async function stepsOnly(body: Record<string, unknown>, atMs: number, steps: readonly StepName[]): Promise<void> {
    const e = parsed(body);
    const opts = featureStoreOptions(loadConfig({ REDIS_KEY_PREFIX: app.prefix }));
    defineScoreSteps(app.redis);
    const x = { e, tMs: Date.parse(e.occurredAt), eventHash: eventHash(e), claimMs: atMs };
    for (const [err] of await sendStepCalls(app.redis, steps.map((s) => stepCall(makeKeys(app.prefix), opts, x, s, '')))) expect(err).toBeNull();
  }

  it('answers 409 in progress within the lease; after it completes the score on the markers, records it and completes the claim, counting once', async () => {
    const body = coolOff('spend-1');
    now = T0;
    // a node died after the claim and the payer step: the payee step never ran
    await stepsOnly(body, now, ['claim', 'payer']);
    now = T0 + 1_000;
    const early = await post(app, '/v1/transfers/score', body);
    expect([early.statusCode, early.json()]).toEqual([409, IN_PROGRESS]);
    expect(await app.redis.exists(`${app.prefix}{a:q-spend-1}:s:spend-1`)).toBe(0);
    now = T0 + LEASE_MS;
    const done = await post(app, '/v1/transfers/score', body);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ transferId: 'spend-1', action: 'cool_off' });
    expect(await app.redis.get(`${app.prefix}{t:spend-1}:d`)).not.toBeNull();
    // the claim now holds the state (score-features.lua's form), its TTL kept
    const claim = (await app.redis.get(`${app.prefix}{t:spend-1}`))!;
    expect(decodeStoredClaim(claim)).toMatchObject({ form: 'complete', eventHash: eventHash(parsed(body)), claimedAtMs: T0 });
    expect(await app.redis.pttl(`${app.prefix}{t:spend-1}`)).toBeGreaterThan(0);
    // a replay answers the decision; the windows counted the transfer once
    const again = await post(app, '/v1/transfers/score', body);
    expect([again.statusCode, again.headers['idempotent-replayed']]).toEqual([200, 'true']);
    const next = await post(app, '/v1/transfers/score', coolOff('spend-2', 'p-spend-1', 'q-spend-1', T0 + 60_000));
    expect(next.statusCode).toBe(200);
    const v = await streamFeatures(app, 'spend-2');
    expect([v[OUT_1H], v[PAIR_COUNT]]).toEqual([1, 1]);
  });

  it('a duplicate of a transfer claimed by score-features.lua (release A) is answered from its claim, counting nothing', async () => {
    now = T0;
    const body = coolOff('rel-a-1');
    // an A node claimed it and died before recording: the claim holds the state, there are no markers
    const vector = await claimOnly(app, parsed(body), now);
    now = T0 + LEASE_MS;
    const done = await post(app, '/v1/transfers/score', body);
    expect(done.statusCode).toBe(200);
    expect(await streamFeatures(app, 'rel-a-1')).toEqual(vector);
    expect(await app.redis.exists(`${app.prefix}{a:p-rel-a-1}:s:rel-a-1`)).toBe(0);
    const next = await post(app, '/v1/transfers/score', coolOff('rel-a-2', 'p-rel-a-1', 'q-rel-a-1', T0 + 60_000));
    const v = await streamFeatures(app, 'rel-a-2');
    expect(next.statusCode).toBe(200);
    expect([v[OUT_1H], v[PAIR_COUNT]]).toEqual([1, 1]);
  });

  it('answers 409 conflict for another event under a claimed id, counting nothing', async () => {
    now = T0;
    const first = await post(app, '/v1/transfers/score', coolOff('conf-1'));
    expect(first.statusCode).toBe(200);
    const res = await post(app, '/v1/transfers/score', { ...coolOff('conf-1', 'p-other', 'q-other'), amount: 1 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CALMPAY_ERR_TRANSFER_ID_CONFLICT' });
    expect(await app.redis.exists(`${app.prefix}{a:p-other}:out`, `${app.prefix}{a:p-other}:s:conf-1`)).toBe(0);
    expect(await app.redis.exists(`${app.prefix}{a:q-other}:in`, `${app.prefix}{a:q-other}:s:conf-1`)).toBe(0);
  });

  it('answers 409 conflict when an entity step holds another event under an id this event claims (StepConflictError)', async () => {
    now = T0;
    // another event's payee step ran under this id (its claim expired before its marker, say)
    await stepsOnly({ ...coolOff('conf-2'), amount: 7 }, now, ['payee']);
    const res = await post(app, '/v1/transfers/score', coolOff('conf-2'));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'CALMPAY_ERR_TRANSFER_ID_CONFLICT' });
    expect(await app.redis.get(`${app.prefix}{t:conf-2}:d`)).toBeNull();
  });
});
