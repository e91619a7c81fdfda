import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey, SCOPES, type Scope } from '../../src/http/api-keys.ts';
import type { RouteScope } from '../../src/http/server.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * Issue 19, "let in": authentication follows the route the router matched, never the URL's
 * text. Every registered route is sent under every encoding and request-line form we know the
 * router to decode or normalise (percent-encoded segments in either hex case, absolute-form
 * request lines, dot segments sent as they are), plus forms it must not match (double and
 * trailing slashes, an encoded slash, another case). For each form an admin key shows whether
 * the router matched the route; where it did, no key gives 401 and a key of another scope 403;
 * where it did not, both give the not-found 404. Nothing else, and never a 2xx.
 */

const admin = newApiKey('root', ['admin']);
const single = Object.fromEntries(SCOPES.filter((s) => s !== 'admin').map((s) => [s, newApiKey(`only-${s}`, [s])])) as Record<
  Exclude<Scope, 'admin'>,
  ReturnType<typeof newApiKey>
>;

/** A key that must be refused on a route needing `scope`. */
function wrongKey(scope: Scope): string {
  const other = (Object.keys(single) as Exclude<Scope, 'admin'>[]).find((s) => s !== scope);
  return single[other!].key;
}

const hex = (c: string, lower: boolean): string => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${lower ? h : h.toUpperCase()}`;
};
const encodeAll = (segment: string, lower: boolean): string => [...segment].map((c) => hex(c, lower)).join('');
/** hex digits alternating in case, e.g. %6e%6E: decoders must not care */
const encodeMixed = (segment: string): string => [...segment].map((c, i) => hex(c, i % 2 === 0)).join('');

interface Form {
  readonly name: string;
  readonly target: string;
}

/** Path forms for app.inject (light-my-request sends them as given, after its own URL parsing). */
function injectForms(path: string): Form[] {
  const segments = path.split('/').slice(1);
  const [first, ...rest] = segments;
  const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
  const forms: Form[] = [
    { name: 'plain', target: path },
    { name: 'first segment fully encoded', target: `/%76%31${tail}` },
    { name: 'first segment partly encoded (v%31)', target: `/v%31${tail}` },
    { name: 'first segment partly encoded (%761)', target: `/%761${tail}` },
    { name: 'every segment encoded, upper-case hex', target: `/${segments.map((s) => encodeAll(s, false)).join('/')}` },
    { name: 'every segment encoded, lower-case hex', target: `/${segments.map((s) => encodeAll(s, true)).join('/')}` },
    { name: 'every segment encoded, mixed-case hex', target: `/${segments.map(encodeMixed).join('/')}` },
    { name: 'later segments encoded', target: `/${first}/${rest.map((s) => `${hex(s[0]!, false)}${s.slice(1)}`).join('/')}` },
    { name: 'query string', target: `${path}?x=1` },
    { name: 'double slash in front', target: `/${path}` },
    { name: 'double slash inside', target: `/${first}/${tail}` },
    { name: 'trailing slash', target: `${path}/` },
    { name: 'encoded slash, upper-case', target: `/${first}%2F${rest.join('/')}` },
    { name: 'encoded slash, lower-case', target: `/${first}%2f${rest.join('/')}` },
    { name: 'other case', target: path.toUpperCase() },
  ];
  return forms;
}

/** Request-line forms for a real socket: sent byte for byte (as `curl --path-as-is` does). */
function socketForms(path: string): Form[] {
  const segments = path.split('/').slice(1);
  const tail = segments.length > 1 ? `/${segments.slice(1).join('/')}` : '';
  return [
    { name: 'plain (socket)', target: path },
    { name: 'first segment fully encoded (socket)', target: `/%76%31${tail}` },
    { name: 'first segment partly encoded (socket)', target: `/v%31${tail}` },
    { name: 'dot segment (path as is)', target: `/${segments[0]}/.${tail}` },
    { name: 'dot-dot segment (path as is)', target: `/x/..${path}` },
    { name: 'double slash in front (socket)', target: `/${path}` },
    { name: 'absolute-form', target: `http://x${path}` },
    { name: 'absolute-form with a port and upper-case scheme', target: `HTTP://X:1${path}` },
    { name: 'absolute-form, first segment encoded', target: `http://x/%76%31${tail}` },
    { name: 'absolute-form with a query', target: `http://x${path}?x=1` },
  ];
}

interface Answer {
  readonly status: number;
  readonly code: string | null;
}

function codeOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : null;
  } catch {
    return null;
  }
}

/** One raw HTTP/1.1 request on its own connection; the request line goes out exactly as given. */
function rawRequest(port: number, method: string, target: string, key: string | null, body: string | null): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? NaN);
      const split = text.indexOf('\r\n\r\n');
      resolve({ status, code: split < 0 ? null : codeOf(text.slice(split + 4)) });
    });
    const headers = ['host: x', 'connection: close'];
    if (key !== null) headers.push(`authorization: Bearer ${key}`);
    if (body !== null) headers.push('content-type: application/json', `content-length: ${Buffer.byteLength(body)}`);
    socket.write(`${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body ?? ''}`);
  });
}

const hasBody = (method: string): boolean => method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';

/** A concrete path of a route: parameters filled in, a wildcard given a tail. */
const concrete = (route: RouteScope): string => route.url.replace(/:([a-zA-Z]+)/g, 'x-1').replace(/\*$/, 'a');

describe('authentication follows the matched route (issue 19)', () => {
  let app: TestApp;
  let port: number;

  beforeAll(async () => {
    app = await testApp({ API_KEYS: JSON.stringify([admin.entry, ...Object.values(single).map((k) => k.entry)]) });
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.server.address() as AddressInfo).port;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  const keyed = (): RouteScope[] => app.server.calmpayRoutes.filter((r) => !r.public);

  it('declares only health, readiness, metrics, the docs and the console page and sign-in public', () => {
    const open = app.server.calmpayRoutes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    expect(open.filter((r) => !/^GET \/(healthz|readyz|metrics|docs)(\/|$)/.test(r))).toEqual([
      'GET /console',
      'GET /console/',
      'GET /console/assets/:file',
      'POST /console/session',
      'GET /console/session',
      'DELETE /console/session',
    ]);
    expect(open).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /docs', 'GET /docs/json']));
    expect(keyed().length).toBeGreaterThanOrEqual(28);
    expect(keyed().every((r) => r.url.startsWith('/v1/'))).toBe(true);
    // the read-only rule route (issue 16) is keyed with its own scope, so the forms below cover it
    expect(keyed().filter((r) => r.url === '/v1/rules/performance').map((r) => `${r.method} ${r.scope}`)).toEqual(['GET rules:read']);
  });

  it('refuses every keyed route, under every encoding and request-line form, without a key or with another scope', async () => {
    const problems: string[] = [];
    const matched = new Map<string, Set<string>>();
    for (const route of keyed()) {
      const scope = route.scope ?? 'admin';
      const path = concrete(route);
      // HEAD routes exist for every GET route, with the same config
      const methods = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
      const body = hasBody(route.method) ? '{}' : null;
      const send = async (form: Form, viaSocket: boolean, method: string, key: string | null): Promise<Answer> => {
        if (viaSocket) return rawRequest(port, method, form.target, key, method === 'HEAD' ? null : body);
        const withBody = body !== null && method !== 'HEAD';
        const res = await app.server.inject({
          method: method as 'GET',
          url: form.target,
          headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(withBody ? { 'content-type': 'application/json' } : {}) },
          ...(withBody ? { payload: body } : {}),
        });
        return { status: res.statusCode, code: codeOf(res.body) };
      };
      const forms = [...injectForms(path).map((f) => [f, false] as const), ...socketForms(path).map((f) => [f, true] as const)];
      for (const [form, viaSocket] of forms) {
        // an admin key shows whether the router matched the route (GET's answer stands for HEAD's)
        const probe = await send(form, viaSocket, route.method, admin.key);
        const routed = probe.code !== 'CALMPAY_ERR_ROUTE_NOT_FOUND';
        if (routed) {
          const set = matched.get(form.name) ?? new Set<string>();
          set.add(`${route.method} ${route.url}`);
          matched.set(form.name, set);
        }
        for (const method of methods) {
          const anonymous = await send(form, viaSocket, method, null);
          const other = await send(form, viaSocket, method, wrongKey(scope));
          const want = routed ? [401, 403] : [404, 404];
          if (anonymous.status !== want[0] || other.status !== want[1]) {
            problems.push(`${method} ${form.target} (${form.name}, route ${route.url}): no key ${anonymous.status}, ${scope === 'admin' ? 'non-admin' : 'other-scope'} key ${other.status}; expected ${want.join('/')}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // the forms the router decodes really reached every route: otherwise this test proves nothing
    const all = keyed().map((r) => `${r.method} ${r.url}`).sort();
    for (const name of [
      'plain',
      'first segment fully encoded',
      'first segment partly encoded (v%31)',
      'first segment partly encoded (%761)',
      'every segment encoded, upper-case hex',
      'every segment encoded, lower-case hex',
      'every segment encoded, mixed-case hex',
      'later segments encoded',
      'query string',
      'plain (socket)',
      'first segment fully encoded (socket)',
      'first segment partly encoded (socket)',
      'absolute-form',
      'absolute-form with a port and upper-case scheme',
      'absolute-form, first segment encoded',
      'absolute-form with a query',
    ]) {
      expect([name, [...(matched.get(name) ?? [])].sort()]).toEqual([name, all]);
    }
  }, 120_000);

  it('keeps the public routes open without a key', async () => {
    for (const route of app.server.calmpayRoutes.filter((r) => r.public)) {
      const res = await app.server.inject({ method: 'GET', url: concrete(route) });
      // the console's session route answers who is signed in: without a session, nobody (issue 17)
      if (route.url === '/console/session') {
        expect([res.statusCode, res.json<{ message: string }>().message]).toEqual([401, 'No console session: sign in']);
        continue;
      }
      expect([route.url, res.statusCode === 401 || res.statusCode === 403]).toEqual([route.url, false]);
    }
  });

  it('answers 404, not 401, for a path that matches no route', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/v1/no-such-route' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 'CALMPAY_ERR_ROUTE_NOT_FOUND', message: 'No route GET /v1/no-such-route', details: [] });
  });
});
