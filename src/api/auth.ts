import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CalmpayError } from '../errors.ts';
import { allows, type ApiKeyRing, type Principal, type Scope } from './api-keys.ts';

/**
 * Every /v1 route names the scope it needs in its route config (`config: { scope: 'score' }`).
 * A /v1 route that names none needs `admin`, so a route added without thought is closed, not
 * open. Health, readiness and the docs are public. With no keys configured the hook is not
 * installed at all (development mode; the start-up log and /readyz say so).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
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

export function installAuth(app: FastifyInstance, ring: ApiKeyRing): void {
  if (!ring.enabled) return;
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    const scope: Scope = request.routeOptions.config.scope ?? 'admin';
    const result = ring.authenticate(presentedKey(request));
    if (result.kind !== 'ok') {
      reply.header('www-authenticate', 'Bearer');
      throw new CalmpayError(
        'CALMPAY_ERR_UNAUTHENTICATED',
        result.kind === 'missing'
          ? 'An API key is required: send "Authorization: Bearer <key>" or "x-api-key: <key>"'
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
