import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey, SCOPES } from '../../src/http/api-keys.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Every route × every scope (issue 9): a key with only scope S reaches route R exactly when R
 * declares S, or S is admin, or R needs rules:read and S is rules:write or rules:approve; /v1 routes without a declared scope need admin; the rest is public.
 * Requests carry no valid body, so an admitted request ends in 400/404/409, never 401/403.
 */
const keys = Object.fromEntries(SCOPES.map((s) => [s, newApiKey(`only-${s}`, [s])]));

describe('scope matrix', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify(Object.values(keys).map((k) => k.entry)) });
  });
  afterAll(async () => {
    await app.close();
  });

  it('declares a scope on every /v1 route', () => {
    const v1 = app.server.calmpayRoutes.filter((r) => r.url.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(10);
    expect(v1.filter((r) => r.scope === null)).toEqual([]);
  });

  it('admits each key exactly where its scope allows, and nobody without a key', async () => {
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const route of app.server.calmpayRoutes.filter((r) => r.url.startsWith('/v1/'))) {
      const url = route.url.replace(/:([a-zA-Z]+)/g, 'x-1');
      const anonymous = await app.server.inject({ method: route.method as 'GET', url, payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} });
      outcomes.push(`${route.method} ${route.url} anonymous ${anonymous.statusCode === 401 ? 'refused' : 'admitted'}`);
      expected.push(`${route.method} ${route.url} anonymous refused`);
      for (const scope of SCOPES) {
        const res = await app.server.inject({
          method: route.method as 'GET',
          url,
          headers: { authorization: `Bearer ${keys[scope]!.key}` },
          payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
        });
        expect(res.statusCode).not.toBe(500);
        outcomes.push(`${route.method} ${route.url} ${scope} ${res.statusCode === 403 ? 'refused' : res.statusCode === 401 ? 'unauthenticated' : 'admitted'}`);
        expected.push(`${route.method} ${route.url} ${scope} ${scope === 'admin' || scope === route.scope || (route.scope === 'rules:read' && (scope === 'rules:write' || scope === 'rules:approve')) ? 'admitted' : 'refused'}`);
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('admits a console session exactly where its key is admitted (issue 17), CSRF token sent', async () => {
    const sessions = new Map<string, { cookie: string; csrf: string }>();
    for (const scope of SCOPES) {
      const res = await app.server.inject({ method: 'POST', url: '/console/session', payload: { key: keys[scope]!.key } });
      expect(res.statusCode).toBe(200);
      sessions.set(scope, { cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: res.json<{ csrfToken: string }>().csrfToken });
    }
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const route of app.server.calmpayRoutes.filter((r) => r.url.startsWith('/v1/'))) {
      const url = route.url.replace(/:([a-zA-Z]+)/g, 'x-1');
      for (const scope of SCOPES) {
        const s = sessions.get(scope)!;
        const res = await app.server.inject({
          method: route.method as 'GET',
          url,
          headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
          payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
        });
        expect(res.statusCode).not.toBe(500);
        outcomes.push(`${route.method} ${route.url} ${scope} ${res.statusCode === 403 ? 'refused' : res.statusCode === 401 ? 'unauthenticated' : 'admitted'}`);
        expected.push(`${route.method} ${route.url} ${scope} ${scope === 'admin' || scope === route.scope || (route.scope === 'rules:read' && (scope === 'rules:write' || scope === 'rules:approve')) ? 'admitted' : 'refused'}`);
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('keeps health, readiness, metrics and docs public', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      expect([url, (await app.server.inject({ method: 'GET', url })).statusCode]).not.toEqual([url, 401]);
    }
  });
});
