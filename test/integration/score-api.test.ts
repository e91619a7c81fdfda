import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionSchema } from '../../src/http/score-schemas.ts';
import { CATALOGUE_VERSION, FEATURES } from '../../src/features/catalogue.ts';
import { testApp } from '../helpers/app.ts';
import { exampleTransfer } from '../helpers/example-event.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

const NOW = Date.parse('2026-11-21T03:10:00Z');

const transfer = exampleTransfer;

async function score(app: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return app.server.inject({
    method: 'POST',
    url: '/v1/transfers/score',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('POST /v1/transfers/score', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({}, { clock: () => NOW });
  });
  afterAll(async () => {
    await app.close();
  });

  it('scores the DESIGN example: elderly payer on a call, large, new payee', async () => {
    const res = await score(app, transfer());
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d).toMatchObject({
      transferId: 't-1',
      action: 'cool_off',
      riskScore: 70,
      ruleScore: 70,
      modelScore: null,
      scamType: 'impersonation',
      segment: 'elderly',
      hits: [
        { ruleId: 'large-to-new-payee', reasonCode: 'large-to-new-payee', reason: 'Large transfer to a payee never paid before', score: 40, action: 'warn', scamType: 'impersonation' },
        { ruleId: 'elderly-on-call-new-payee', reasonCode: 'elderly-on-call-new-payee', reason: 'Elderly payer on a call paying a new payee', score: 30, action: 'cool_off', scamType: 'impersonation' },
      ],
      shadowHits: [],
      ruleErrors: [],
      degraded: [],
      language: 'en',
      rulesVersion: app.rules.current.version,
      modelVersion: null,
      decidedAt: '2026-11-21T03:10:00.000Z',
    });
    // the OpenAPI schema documents exactly what is served
    expect(DecisionSchema.strict().parse(d)).toEqual(d);
    expect(d.warning.scamType).toBe('impersonation');
    expect(d.warning.title.length).toBeGreaterThan(0);
    expect(d.warning.message).toContain('15');
    expect(Object.keys(d.timingsUs)).toEqual(['validate', 'features', 'rules', 'model', 'decision', 'record', 'render', 'total']);
    for (const v of Object.values(d.timingsUs as Record<string, number>)) expect(Number.isInteger(v) && v >= 0).toBe(true);
  });

  it('appends the decision with its feature vector to the stream, without names or free text', async () => {
    await score(app, transfer({ transferId: 'stream-1' }));
    let entries: [string, string[]][] = [];
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      entries = (await app.redis.xrange(`${app.prefix}{decisions}`, '-', '+')).filter(([, f]) => f[1] === 'stream-1');
      if (entries.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(entries).toHaveLength(1);
    const fields = entries[0]![1];
    const entry = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    expect(Object.keys(entry)).toEqual(['transferId', 'decision', 'event', 'features', 'catalogue']);
    expect(JSON.parse(entry.event!)).toEqual({ occurredAt: '2026-11-21T03:10:00Z', amount: 48000, currency: 'CNY', payerId: 'p-1', payeeId: 'q-7' });
    expect(JSON.parse(entry.decision!).transferId).toBe('stream-1');
    expect(JSON.parse(entry.features!)).toHaveLength(FEATURES.length);
    expect(entry.catalogue).toBe(CATALOGUE_VERSION);
    expect(JSON.stringify(entry)).not.toMatch(/Someone|safe account/);
  });

  it('is idempotent: the same event returns the same decision and counts once', async () => {
    const body = transfer({ transferId: 'idem-1', payer: { accountId: 'idem-p' }, payee: { accountId: 'idem-q' }, amount: 5 });
    const first = await score(app, body);
    const again = await score(app, body, { 'accept-language': 'zh-CN' });
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const { language: l1, timingsUs: t1, ...d1 } = first.json();
    const { language: l2, timingsUs: t2, ...d2 } = again.json();
    expect([l1, l2]).toEqual(['en', 'zh']);
    expect(d2).toEqual(d1);
    // a replay shows the first request's stages as stored with its decision, up to the decision
    const { record: _record, render: _render, total: _total, ...stages } = t1;
    expect(t2).toMatchObject(stages);
    expect(Object.keys(t2)).toEqual(['validate', 'features', 'rules', 'model', 'decision', 'total']);
    // windows counted the transfer once: a later transfer sees one earlier transfer in the hour
    const next = await score(app, { ...body, transferId: 'idem-2', occurredAt: '2026-11-21T03:11:00Z' });
    const third = await score(app, { ...body, transferId: 'idem-3', occurredAt: '2026-11-21T03:12:00Z' });
    expect(next.json().hits).toEqual([]);
    expect(third.json().hits.map((h: { ruleId: string }) => h.ruleId)).toEqual(['rapid-repeat']);
  });

  it('answers 409 for a different event under a used transferId, and changes nothing', async () => {
    const body = transfer({ transferId: 'conflict-1', payer: { accountId: 'c-p' }, payee: { accountId: 'c-q' }, amount: 5 });
    expect((await score(app, body)).statusCode).toBe(200);
    const res = await score(app, { ...body, amount: 6 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_TRANSFER_ID_CONFLICT',
      message: 'This transferId was already scored with a different event',
      details: [{ field: 'transferId', message: 'conflict-1 was scored with a different event' }],
    });
  });

  it('renders reasons and the warning in Chinese from the language field or Accept-Language', async () => {
    const viaField = await score(app, transfer({ transferId: 'zh-1', payer: { accountId: 'zh-p', birthYear: 1950 }, language: 'zh-CN' }));
    const viaHeader = await score(app, transfer({ transferId: 'zh-2', payer: { accountId: 'zh-p2', birthYear: 1950 } }), {
      'accept-language': 'fr;q=0.9, zh;q=0.8, en;q=0.1',
    });
    for (const res of [viaField, viaHeader]) {
      const d = res.json();
      expect(d.language).toBe('zh');
      expect(d.hits[0].reason).toBe('向从未转账过的收款人大额转账');
      expect(d.warning.message).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('reports shadow hits without acting on them', async () => {
    const res = await score(
      app,
      transfer({ transferId: 'shadow-1', occurredAt: '2026-11-20T18:30:00Z', amount: 5, payer: { accountId: 's-p', timeZone: 'Asia/Shanghai' }, payee: { accountId: 's-q' }, context: {} }),
    );
    const d = res.json();
    expect([d.action, d.riskScore, d.hits, d.shadowHits.map((h: { ruleId: string }) => h.ruleId)]).toEqual(['allow', 0, [], ['night-shadow']]);
    expect(d.warning).toBeNull();
  });
});

describe('bad input is a 400 naming every offending field, never scored', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ BODY_LIMIT_BYTES: '4096' }, { clock: () => NOW });
  });
  afterAll(async () => {
    await app.close();
  });

  const cases: [string, unknown, { field: string; message: string }[]][] = [
    ['missing required fields', { amount: 5 }, [
      { field: 'transferId', message: 'is required' },
      { field: 'occurredAt', message: 'is required' },
      { field: 'currency', message: 'is required' },
      { field: 'payer', message: 'is required' },
      { field: 'payee', message: 'is required' },
    ]],
    ['wrong types', transfer({ amount: '5', payer: { accountId: 7 }, context: { onCall: 'yes' } }), [
      { field: 'amount', message: 'Invalid input: expected number, received string' },
      { field: 'payer.accountId', message: 'Invalid input: expected string, received number' },
      { field: 'context.onCall', message: 'Invalid input: expected boolean, received string' },
    ]],
    ['a negative amount', transfer({ amount: -1 }), [{ field: 'amount', message: 'must be greater than 0' }]],
    ['a zero amount', transfer({ amount: 0 }), [{ field: 'amount', message: 'must be greater than 0' }]],
    ['an unknown currency format', transfer({ currency: 'cny' }), [{ field: 'currency', message: 'must be an ISO 4217 code of three capital letters' }]],
    ['an unknown currency', transfer({ currency: 'XYZ' }), [{ field: 'currency', message: 'is not a known ISO 4217 currency' }]],
    ['a date that does not parse', transfer({ occurredAt: '21/11/2026 03:10' }), [
      { field: 'occurredAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
    ]],
    ['a date without a time zone', transfer({ occurredAt: '2026-11-21T03:10:00' }), [
      { field: 'occurredAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
    ]],
    ['an impossible calendar date', transfer({ payee: { accountId: 'q', accountCreatedAt: '2026-02-30T00:00:00Z' } }), [
      { field: 'payee.accountCreatedAt', message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' },
    ]],
    ['an unknown time zone', transfer({ payer: { accountId: 'p', timeZone: 'Mars/Olympus' } }), [
      { field: 'payer.timeZone', message: 'must be an IANA time zone such as Asia/Shanghai' },
    ]],
    ['unknown keys', transfer({ amout: 5, payer: { accountId: 'p', birthyear: 1950 } }), [
      { field: 'payer.birthyear', message: 'is not a known field' },
      { field: 'amout', message: 'is not a known field' },
    ]],
    ['an id with braces', transfer({ transferId: '{x}' }), [
      { field: 'transferId', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - + / =' },
    ]],
    ['payer paying itself', transfer({ payer: { accountId: 'same' }, payee: { accountId: 'same' } }), [
      { field: 'payee.accountId', message: 'must differ from payer.accountId' },
    ]],
    ['an array body', [transfer()], [{ field: '', message: 'Invalid input: expected object, received array' }]],
    ['a future occurredAt', transfer({ occurredAt: '2026-11-21T04:10:00Z' }), [
      { field: 'occurredAt', message: 'is more than 300 s in the future (server time 2026-11-21T03:10:00.000Z)' },
    ]],
  ];

  it.each(cases)('%s', async (_name, body, details) => {
    const res = await score(app, body);
    expect(res.statusCode).toBe(400);
    const fields = [...new Set(details.map((d) => d.field || '(body)'))];
    expect(res.json()).toEqual({ code: 'CALMPAY_ERR_VALIDATION', message: `Invalid fields: ${fields.join(', ')}`, details });
  });

  it('rejects non-finite amounts (1e999 parses to Infinity)', async () => {
    const res = await score(app, JSON.stringify(transfer()).replace('"amount":48000', '"amount":1e999'));
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([{ field: 'amount', message: 'Invalid input: expected number, received Infinity' }]);
  });

  it('rejects invalid JSON', async () => {
    const res = await score(app, '{"transferId": "t-1", ');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CALMPAY_ERR_INVALID_JSON', message: 'The request body is not valid JSON' });
    expect(res.json().details).toHaveLength(1);
  });

  it('rejects prototype-pollution keys', async () => {
    const res = await score(app, '{"__proto__": {"polluted": true}, "transferId": "t"}');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('CALMPAY_ERR_INVALID_JSON');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects an empty body', async () => {
    const res = await score(app, '');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_INVALID_JSON',
      message: 'The request body is empty',
      details: [{ field: '', message: 'a JSON object is required' }],
    });
  });

  it('rejects a body over the size limit with 413', async () => {
    const res = await score(app, transfer({ context: { memo: 'x'.repeat(500) }, payee: { accountId: 'q', name: 'y'.repeat(5000) } }));
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('CALMPAY_ERR_BODY_TOO_LARGE');
  });

  it('rejects a non-JSON content type with 415', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/v1/transfers/score', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({
      code: 'CALMPAY_ERR_UNSUPPORTED_MEDIA_TYPE',
      message: 'The request body must be application/json',
      details: [],
    });
  });

  it('wrote nothing to Redis for any of them', async () => {
    // the queue worker's own bookkeeping (BullMQ meta, the lifecycle event stream) exists from
    // start-up; no transfer, account, device or decision key may
    const keys = await app.redis.keys(`${app.prefix}*`);
    expect(keys.filter((k) => /\{[tad]:|\{decisions\}/.test(k))).toEqual([]);
  });
});

describe('health and docs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers liveness, readiness and the OpenAPI document', async () => {
    expect((await app.server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.server.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('ready');
    const doc = (await app.server.inject({ url: '/docs/json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/transfers/score', '/healthz', '/readyz']));
  });

  it('answers unknown routes with the error shape', async () => {
    const res = await app.server.inject({ url: '/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 'CALMPAY_ERR_ROUTE_NOT_FOUND', message: 'No route GET /v1/nope', details: [] });
  });
});
