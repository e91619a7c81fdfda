import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { CalmpayError } from '../errors.ts';
import { allows, type ApiKeyRing, type Principal, type Scope } from './api-keys.ts';
import { cookieValue, CSRF_HEADER, csrfMatches, isSafeMethod, SESSION_COOKIE, type ConsoleSessions } from '../console/console-sessions.ts';

/**
 * Authentication is decided by the route the router MATCHED, never by the URL's text: the
 * router decodes and normalises the path (`/%76%31/...`, `/v%31/...`, an absolute-form request
 * line all reach the /v1 routes), so a test on `request.url` lets such requests through
 * (issue 19). Deny by default: every route needs an API key with the scope its config names
 * (`config: { scope: 'score' }`, `admin` when it names none) unless its config says
 * `public: true` (health, readiness, metrics, the docs). A request that matches no route is
 * the not-found handler's 404 either way. With no keys configured the hook is not installed at
 * all (development mode; the start-up log and /readyz say so).
 *
 * A request with no key may carry the analyst console's session cookie instead (issue 17): the
 * session stands for the key it was signed in with, with exactly its scopes, and a write
 * (any method but GET/HEAD/OPTIONS) must also carry the session's CSRF token. Sessions are
 * looked up only for requests without a key, so keyed API calls cost what they did.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: Scope;
    /** reachable without an API key: health, readiness, metrics and the docs only */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The OpenAPI security schemes a keyed route accepts: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token: `Authorization: Bearer <key>`' },
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key in the `x-api-key` header' },
} as const;

/** Either scheme satisfies a keyed route (an OpenAPI security requirement is OR across its entries). */
export const KEYED_ROUTE_SECURITY: readonly Record<string, readonly string[]>[] = [{ bearer: [] }, { apiKey: [] }];

/** The scope a route needs, or null for a public route. */
export function requiredScope(config: { readonly scope?: Scope; readonly public?: boolean } | undefined): Scope | null {
  return config?.public === true ? null : (config?.scope ?? 'admin');
}

/** An onRoute hook that declares every route registered in its context public (for plugins such as the docs UI). */
export function markPublic(route: RouteOptions): void {
  route.config = { ...route.config, public: true };
}

/**
 * An onRoute hook that marks every keyed route with its security requirement in the OpenAPI
 * document (so /docs can send a key) and names the scope it needs in its description.
 */
export function documentSecurity(route: RouteOptions): void {
  const scope = requiredScope(route.config);
  if (scope === null) return;
  const schema = (route.schema ?? {}) as { description?: string };
  const needs = `Needs an API key with the scope \`${scope}\` (or \`admin\`).`;
  route.schema = {
    ...route.schema,
    description: schema.description === undefined ? needs : `${schema.description}\n\n${needs}`,
    security: KEYED_ROUTE_SECURITY.map((r) => ({ ...r })),
  } as RouteOptions['schema'];
}

function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return m?.[1] ?? '';
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' ? header : undefined;
}

type Resolved = { readonly kind: 'ok'; readonly principal: Principal } | { readonly kind: 'missing' | 'unknown' | 'expired' };

/** The principal of a console session cookie; a write without the session's CSRF token is refused. */
function sessionPrincipal(request: FastifyRequest, sessions: ConsoleSessions | null): Resolved {
  const id = sessions === null ? undefined : cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (sessions === null || id === undefined || id === '') return { kind: 'missing' };
  const session = sessions.use(id);
  if (session === null) return { kind: 'expired' };
  if (!isSafeMethod(request.method)) {
    const presented = request.headers[CSRF_HEADER];
    if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) {
      throw new CalmpayError('CALMPAY_ERR_CSRF', `A console write needs the session's CSRF token in the ${CSRF_HEADER} header`, [
        { field: CSRF_HEADER, message: presented === undefined ? 'missing' : 'does not match the session' },
      ]);
    }
  }
  return { kind: 'ok', principal: session.principal };
}

export function installAuth(app: FastifyInstance, ring: ApiKeyRing, sessions: ConsoleSessions | null = null): void {
  if (!ring.enabled) return;
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    // no route matched: the not-found handler answers 404, which reveals nothing a key would hide
    if (request.is404) return;
    const scope = requiredScope(request.routeOptions.config);
    if (scope === null) return;
    const key = presentedKey(request);
    const result: Resolved = key === undefined ? sessionPrincipal(request, sessions) : ring.authenticate(key);
    if (result.kind !== 'ok') {
      reply.header('www-authenticate', 'Bearer');
      throw new CalmpayError(
        'CALMPAY_ERR_UNAUTHENTICATED',
        result.kind === 'missing'
          ? 'An API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>"'
          : result.kind === 'expired'
            ? 'The console session has expired or is unknown: sign in again'
            : 'The API key is not valid (unknown, mistyped or rotated out)',
      );
    }
    if (!allows(result.principal, scope)) {
      throw new CalmpayError(
        'CALMPAY_ERR_FORBIDDEN',
        `The API key "${result.principal.name}" lacks the scope "${scope}" that ${request.method} ${request.routeOptions.url ?? request.url} needs`,
        [{ field: 'scope', message: `needs ${scope}; the key has ${[...result.principal.scopes].join(', ')}` }],
      );
    }
    const wait = result.principal.limiter?.take() ?? 0;
    if (wait > 0) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(wait))));
      throw new CalmpayError(
        'CALMPAY_ERR_RATE_LIMITED',
        `The API key "${result.principal.name}" is over its limit of ${result.principal.limiter?.rate} requests per second on this node`,
      );
    }
    request.principal = result.principal;
  });
}
