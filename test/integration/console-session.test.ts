import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { SESSION_IDLE_MS } from '../../src/console/console-sessions.ts';
import { DecisionHistory } from '../../src/decisions/decision-history.ts';
import { decisionRow } from '../helpers/decision-rows.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * The analyst console's sessions (issue 17): an API key posted once becomes an HttpOnly
 * session cookie that stands for the key on the /v1 routes, with its scopes; writes made with
 * it need the session's CSRF token. test/browser/console.test.ts drives the same in Chromium.
 */

const analyst = newApiKey('analyst', ['rules:write']);
const reader = newApiKey('reader', ['rules:read']);

describe('console sessions', () => {
  let app: TestApp;
  let now = Date.parse('2026-12-06T10:00:30Z');
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([analyst.entry, reader.entry]) }, { clock: () => now });
  }, 120_000);
  afterAll(async () => {
    await app.close();
  });

  async function signIn(key: string): Promise<{ cookie: string; csrf: string; setCookie: string; body: Record<string, unknown> }> {
    const res = await app.server.inject({ method: 'POST', url: '/console/session', payload: { key } });
    expect(res.statusCode).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    const body = res.json<Record<string, unknown>>();
    return { cookie: setCookie.split(';')[0]!, csrf: String(body.csrfToken), setCookie, body };
  }

  const validate = (headers: Record<string, string>) =>
    app.server.inject({ method: 'POST', url: '/v1/rules/validate', headers, payload: { files: [{ name: 'a.yaml', text: '[]' }] } });

  it('signs in with a key: an HttpOnly SameSite=Strict cookie, not Secure over plain HTTP, and the key never in it', async () => {
    const s = await signIn(analyst.key);
    expect(s.setCookie).toMatch(/^calmpay_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(s.setCookie).not.toContain(analyst.key);
    expect(s.body).toEqual({
      name: 'analyst',
      scopes: ['rules:write'],
      csrfToken: s.csrf,
      expiresAt: new Date(now + SESSION_IDLE_MS).toISOString(),
      authentication: 'keys',
    });
    const again = await app.server.inject({ method: 'GET', url: '/console/session', headers: { cookie: s.cookie } });
    expect(again.json()).toEqual(s.body);
  });

  it('refuses a wrong key, a missing one and a body that is not {key}', async () => {
    const wrong = await app.server.inject({ method: 'POST', url: '/console/session', payload: { key: 'cp_nope' } });
    expect([wrong.statusCode, wrong.json()]).toEqual([401, { code: 'CALMPAY_ERR_UNAUTHENTICATED', message: 'The API key is not valid (unknown, mistyped or rotated out)', details: [] }]);
    const empty = await app.server.inject({ method: 'POST', url: '/console/session', payload: { key: '' } });
    expect([empty.statusCode, empty.json()]).toEqual([401, { code: 'CALMPAY_ERR_UNAUTHENTICATED', message: 'Sign in with an API key', details: [] }]);
    const bad = await app.server.inject({ method: 'POST', url: '/console/session', payload: { apiKey: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ code: string }>().code).toBe('CALMPAY_ERR_VALIDATION');
    const none = await app.server.inject({ method: 'GET', url: '/console/session' });
    expect([none.statusCode, none.json()]).toEqual([401, { code: 'CALMPAY_ERR_UNAUTHENTICATED', message: 'No console session: sign in', details: [] }]);
  });

  it('the cookie stands for the key: reads without a token, writes only with the CSRF token', async () => {
    const s = await signIn(analyst.key);
    expect((await app.server.inject({ method: 'GET', url: '/v1/rules', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    const missing = await validate({ cookie: s.cookie });
    expect([missing.statusCode, missing.json()]).toEqual([
      403,
      {
        code: 'CALMPAY_ERR_CSRF',
        message: "A console write needs the session's CSRF token in the x-csrf-token header",
        details: [{ field: 'x-csrf-token', message: 'missing' }],
      },
    ]);
    const other = await signIn(analyst.key);
    const forged = await validate({ cookie: s.cookie, 'x-csrf-token': other.csrf });
    expect([forged.statusCode, forged.json<{ details: unknown }>().details]).toEqual([403, [{ field: 'x-csrf-token', message: 'does not match the session' }]]);
    expect((await validate({ cookie: s.cookie, 'x-csrf-token': s.csrf })).statusCode).toBe(200);
    // a key in the header needs no token: nothing ambient is used
    expect((await validate({ cookie: s.cookie, authorization: `Bearer ${analyst.key}` })).statusCode).toBe(200);
  });

  it("a session has exactly its key's scopes", async () => {
    const s = await signIn(reader.key);
    expect((await app.server.inject({ method: 'GET', url: '/v1/rules', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    const write = await validate({ cookie: s.cookie, 'x-csrf-token': s.csrf });
    expect([write.statusCode, write.json<{ code: string; message: string }>()]).toEqual([
      403,
      {
        code: 'CALMPAY_ERR_FORBIDDEN',
        message: 'The API key "reader" lacks the scope "rules:write" that POST /v1/rules/validate needs',
        details: [{ field: 'scope', message: 'needs rules:write; the key has rules:read' }],
      },
    ]);
    const publish = await app.server.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { files: [{ name: 'a.yaml', text: '[]' }], comment: 'no' },
    });
    expect(publish.statusCode).toBe(403);
  });

  it('ends after 30 minutes unused, and at sign-out (which needs the token too)', async () => {
    const s = await signIn(analyst.key);
    now += SESSION_IDLE_MS - 1;
    expect((await app.server.inject({ method: 'GET', url: '/v1/rules', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    now += SESSION_IDLE_MS;
    const expired = await app.server.inject({ method: 'GET', url: '/v1/rules', headers: { cookie: s.cookie } });
    expect([expired.statusCode, expired.json()]).toEqual([
      401,
      { code: 'CALMPAY_ERR_UNAUTHENTICATED', message: 'The console session has expired or is unknown: sign in again', details: [] },
    ]);
    const t = await signIn(analyst.key);
    const noToken = await app.server.inject({ method: 'DELETE', url: '/console/session', headers: { cookie: t.cookie } });
    expect([noToken.statusCode, noToken.json<{ code: string }>().code]).toEqual([403, 'CALMPAY_ERR_CSRF']);
    const out = await app.server.inject({ method: 'DELETE', url: '/console/session', headers: { cookie: t.cookie, 'x-csrf-token': t.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toBe('calmpay_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect((await app.server.inject({ method: 'GET', url: '/v1/rules', headers: { cookie: t.cookie } })).statusCode).toBe(401);
  });

  it('serves the page with a strict CSP and its hashed assets for good; an unknown asset is a 404', async () => {
    const page = await app.server.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[\w-]{24}'; .*frame-ancestors 'none'$/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const nonce = /'nonce-([\w-]{24})'/.exec(String(page.headers['content-security-policy']))![1]!;
    expect(page.body).toContain(`<meta name="calmpay-style-nonce" content="${nonce}">`);
    const script = /src="(\/console\/assets\/app-[0-9a-f]{16}\.js)"/.exec(page.body)![1]!;
    const js = await app.server.inject({ method: 'GET', url: script });
    expect([js.statusCode, js.headers['content-type'], js.headers['cache-control']]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    expect(js.body).not.toMatch(/\beval\(|new Function\(/);
    const missing = await app.server.inject({ method: 'GET', url: '/console/assets/app-0000.js' });
    expect([missing.statusCode, missing.json<{ code: string }>().code]).toEqual([404, 'CALMPAY_ERR_NOT_FOUND']);
    expect((await app.server.inject({ method: 'GET', url: '/console' })).headers.location).toBe('/console/');
  }, 60_000);
});

describe('console sessions without API keys (development mode)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('signs in without a key, as the open API does', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/console/session', payload: { key: '' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'development', scopes: ['admin'], authentication: 'off' });
  });
});

describe('GET /v1/overview', () => {
  let app: TestApp;
  const now = Date.parse('2026-12-06T10:00:30Z');
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([analyst.entry, reader.entry]) }, { clock: () => now });
    const at = (min: number, s = 0) => new Date(now - min * 60_000 - s * 1000).toISOString();
    const row = (id: string, occurredAt: string, action: string, segment: string | null, degraded: string[] = []) => ({
      ...decisionRow({ transferId: id, payerId: 'p', payeeId: `q-${id}`, occurredAt }),
      action,
      segment,
      decisionJson: JSON.stringify({ transferId: id, action, degraded }),
    });
    await new DecisionHistory(app.sql).insert([
      row('a', at(0), 'allow', 'adult'),
      row('b', at(0), 'warn', 'elderly'),
      row('c', at(1), 'allow', 'adult', ['features']),
      row('d', at(1), 'block', null),
      row('e', at(5), 'cool_off', 'elderly'),
      // outside a 5-minute window
      row('f', at(5, 31), 'warn', 'adult'),
    ]);
  });
  afterAll(async () => {
    await app.close();
  });

  it('counts decisions per minute by action, degraded ones by stage, and legitimate interventions per band against the budget', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/v1/overview?minutes=5', headers: { authorization: `Bearer ${reader.key}` } });
    expect(res.statusCode).toBe(200);
    const o = res.json<Record<string, unknown> & { interventions: { band: string }[] }>();
    expect(o.window).toEqual({ from: '2026-12-06T09:56:00.000Z', to: '2026-12-06T10:00:30.000Z', minutes: 5 });
    expect(o.decisionsPerMinute).toEqual([
      { minute: '2026-12-06T09:56:00.000Z', allow: 0, warn: 0, cool_off: 0, block: 0 },
      { minute: '2026-12-06T09:57:00.000Z', allow: 0, warn: 0, cool_off: 0, block: 0 },
      { minute: '2026-12-06T09:58:00.000Z', allow: 0, warn: 0, cool_off: 0, block: 0 },
      { minute: '2026-12-06T09:59:00.000Z', allow: 1, warn: 0, cool_off: 0, block: 1 },
      { minute: '2026-12-06T10:00:00.000Z', allow: 1, warn: 1, cool_off: 0, block: 0 },
    ]);
    expect(o.degradedPerMinute).toEqual([{ minute: '2026-12-06T09:59:00.000Z', stage: 'features', count: 1 }]);
    expect(o.degradedNow).toEqual({ stages: ['features'], pendingOnThisNode: 0 });
    expect(o.interventions.find((b) => b.band === 'all')).toEqual({
      band: 'all',
      legitimate: 4,
      rates: { warn: 0.25, cool_off: 0, block: 0.25 },
      budget: { warn: 0.02, cool_off: 0.005, block: 0.001 },
    });
    expect(o.interventions.find((b) => b.band === 'elderly')).toEqual({
      band: 'elderly',
      legitimate: 1,
      rates: { warn: 1, cool_off: 0, block: 0 },
      budget: { warn: 0.025, cool_off: 0.005, block: 0.001 },
    });
    expect(o.interventions.find((b) => b.band === 'minor')).toMatchObject({ legitimate: 0, rates: { warn: null, cool_off: null, block: null } });
    expect(o.latency).toEqual({ scores: 0, p50Ms: null, p99Ms: null });
    expect(o.versions).toMatchObject({ rules: { versionId: 1, activatedBy: expect.any(String) }, model: null });
  });

  it('needs rules:read and a window of 1-1440 minutes', async () => {
    const noKey = await app.server.inject({ method: 'GET', url: '/v1/overview' });
    expect(noKey.statusCode).toBe(401);
    const tooLong = await app.server.inject({ method: 'GET', url: '/v1/overview?minutes=1441', headers: { authorization: `Bearer ${reader.key}` } });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toMatchObject({ code: 'CALMPAY_ERR_VALIDATION', details: [{ field: 'minutes' }] });
  });
});
