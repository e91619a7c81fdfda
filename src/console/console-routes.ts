import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CalmpayError } from '../errors.ts';
import { SCOPES, type ApiKeyRing, type Principal } from '../http/api-keys.ts';
import { ErrorSchema } from '../http/score-schemas.ts';
import type { ZodRequestTypes } from '../http/validation.ts';
import { STYLE_NONCE_SLOT, type ConsoleAssets } from './console-assets.ts';
import {
  cookieValue,
  CSRF_HEADER,
  csrfMatches,
  SESSION_COOKIE,
  SESSION_MAX_MS,
  type ConsoleSession,
  type ConsoleSessions,
} from './console-sessions.ts';

/**
 * The analyst console at /console (issue 17): its page and bundled assets, served from memory
 * by the engine itself, and its session routes. Every console answer carries a strict
 * Content-Security-Policy (scripts and styles from this origin only: no inline script, no
 * eval), refuses to be framed, and is not sniffed. These routes are public (the page must load
 * before anyone signs in); what the console then shows comes from the /v1 routes, called with
 * the session cookie standing in for the API key (src/http/auth.ts).
 */

/**
 * The policy of every console answer. Styles: this origin's, plus the <style> elements the code
 * editor (CodeMirror 6) inserts, which carry this response's nonce (EditorView.cspNonce); no
 * inline style attribute and no inline or eval'd script at all.
 */
export function consoleCsp(styleNonce: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    styleNonce === null ? "style-src 'self'" : `style-src 'self' 'nonce-${styleNonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface ConsoleRouteDeps {
  readonly sessions: ConsoleSessions;
  readonly apiKeys: ApiKeyRing;
  readonly assets: ConsoleAssets;
}

/** With API_KEYS unset every route is open (development mode): the console signs in without a key, as everything. */
const DEVELOPMENT: Principal = { name: 'development', scopes: new Set(['admin']), limiter: null };

const SignInSchema = z.strictObject({ key: z.string().max(512).describe('an API key (empty when API_KEYS is unset: development mode)') });

const SessionSchema = z
  .object({
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    csrfToken: z.string().describe(`send it back in the ${CSRF_HEADER} header of every write`),
    expiresAt: z.string(),
    authentication: z.enum(['keys', 'off']),
  })
  .describe('ConsoleSession');

function secureHeaders(reply: FastifyReply, styleNonce: string | null = null): FastifyReply {
  return reply
    .header('content-security-policy', consoleCsp(styleNonce))
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

export function consoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { sessions, apiKeys, assets } = deps;
  const routes = app.withTypeProvider<ZodRequestTypes>();
  const describe = (s: ConsoleSession) => ({
    name: s.principal.name,
    scopes: [...s.principal.scopes],
    csrfToken: s.csrfToken,
    expiresAt: new Date(sessions.expiresAtMs(s)).toISOString(),
    authentication: apiKeys.enabled ? ('keys' as const) : ('off' as const),
  });
  const current = (request: FastifyRequest): ConsoleSession | null => {
    const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
    return id === undefined || id === '' ? null : sessions.use(id);
  };

  const page = async (_request: FastifyRequest, reply: FastifyReply) => {
    const bundle = await assets.get();
    // a fresh nonce per page: the page's script hands it to the editor (src/console/client/rule-file-view.tsx)
    const nonce = randomBytes(18).toString('base64url');
    return secureHeaders(reply, nonce)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(bundle.indexHtml.replace(STYLE_NONCE_SLOT, nonce));
  };
  routes.get('/console', { config: { public: true }, schema: { summary: 'Redirects to /console/', tags: ['console'] } }, async (_request, reply) => reply.redirect('/console/'));
  routes.get('/console/', { config: { public: true }, schema: { summary: "The analyst console's page (docs/console.md)", tags: ['console'] } }, page);

  routes.route({
    method: 'GET',
    url: '/console/assets/:file',
    config: { public: true },
    schema: { summary: "The console's bundled script and styles, named by content hash", tags: ['console'], params: z.strictObject({ file: z.string().max(128) }) },
    handler: async (request, reply) => {
      const asset = (await assets.get()).assets.get(request.params.file);
      if (asset === undefined) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `No console asset ${request.params.file}`);
      // named by content hash: a new bundle has new names
      return secureHeaders(reply).header('cache-control', 'public, max-age=31536000, immutable').type(asset.contentType).send(asset.body);
    },
  });

  routes.route({
    method: 'POST',
    url: '/console/session',
    config: { public: true },
    schema: {
      summary: 'Console sign-in: an API key in, an HttpOnly session cookie and a CSRF token out',
      description:
        'The key is checked once and not kept by the browser: the answer sets the `calmpay_session` cookie (HttpOnly, SameSite=Strict, ' +
        'Secure over TLS), which then stands for the key on the /v1 routes, with exactly its scopes. Writes made with the cookie must ' +
        `carry \`csrfToken\` in the \`${CSRF_HEADER}\` header. A session ends after 30 minutes unused, 12 hours at most.`,
      tags: ['console'],
      body: SignInSchema,
      response: { 200: SessionSchema, 400: ErrorSchema, 401: ErrorSchema },
    },
    handler: async (request, reply) => {
      let principal = DEVELOPMENT;
      if (apiKeys.enabled) {
        const result = apiKeys.authenticate(request.body.key);
        if (result.kind !== 'ok') {
          throw new CalmpayError(
            'CALMPAY_ERR_UNAUTHENTICATED',
            result.kind === 'missing' ? 'Sign in with an API key' : 'The API key is not valid (unknown, mistyped or rotated out)',
          );
        }
        principal = result.principal;
      }
      // a sign-in replaces the session it was made from
      const previous = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (previous !== undefined) sessions.end(previous);
      const session = sessions.create(principal);
      secureHeaders(reply).header('cache-control', 'no-store').header('set-cookie', sessionCookie(request, session.id, SESSION_MAX_MS / 1000));
      return describe(session);
    },
  });

  routes.route({
    method: 'GET',
    url: '/console/session',
    config: { public: true },
    schema: {
      summary: "The console session of this browser: who, with which scopes, and its CSRF token",
      tags: ['console'],
      response: { 200: SessionSchema, 401: ErrorSchema },
    },
    handler: async (request, reply) => {
      const session = current(request);
      if (session === null) throw new CalmpayError('CALMPAY_ERR_UNAUTHENTICATED', 'No console session: sign in');
      secureHeaders(reply).header('cache-control', 'no-store');
      return describe(session);
    },
  });

  routes.route({
    method: 'DELETE',
    url: '/console/session',
    config: { public: true },
    schema: {
      summary: 'Console sign-out (needs the CSRF token)',
      tags: ['console'],
      response: { 204: z.null(), 401: ErrorSchema, 403: ErrorSchema },
    },
    handler: async (request, reply) => {
      const session = current(request);
      if (session === null) throw new CalmpayError('CALMPAY_ERR_UNAUTHENTICATED', 'No console session: sign in');
      const presented = request.headers[CSRF_HEADER];
      if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) {
        throw new CalmpayError('CALMPAY_ERR_CSRF', `Signing out needs the session's CSRF token in the ${CSRF_HEADER} header`, [
          { field: CSRF_HEADER, message: presented === undefined ? 'missing' : 'does not match the session' },
        ]);
      }
      sessions.end(session.id);
      return secureHeaders(reply).header('set-cookie', sessionCookie(request, '', 0)).status(204).send(null);
    },
  });
}
