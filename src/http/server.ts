import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { ReasonLookup } from '../scoring/decision.ts';
import type { ApiKeyRing, Scope } from './api-keys.ts';
import { documentSecurity, installAuth, markPublic, SECURITY_SCHEMES } from './auth.ts';
import { ERRORS } from '../errors.ts';
import { installErrorHandler } from './http-errors.ts';
import { replySerializer, requestValidator } from './validation.ts';
import { healthRoutes, type ReadinessCheck } from './routes/health.ts';
import { scoreRoutes } from './routes/score.ts';
import type { ScoreService } from '../scoring/score-service.ts';
import type { ConsoleSessions } from '../console/console-sessions.ts';

export interface RouteScope {
  readonly method: string;
  readonly url: string;
  /** the scope the route declares; null when it declares none (then it needs admin unless public) */
  readonly scope: Scope | null;
  /** reachable without an API key (`config: { public: true }`) */
  readonly public: boolean;
  /** the response schemas it declares, by status code (zod on the API's routes; test/integration/reply-schemas.test.ts) */
  readonly responses: Readonly<Record<string, unknown>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    calmpayRoutes: readonly RouteScope[];
  }
}

export interface ServerDeps {
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  readonly service: ScoreService;
  readonly reasons: ReasonLookup;
  readonly readiness: readonly ReadinessCheck[];
  readonly apiKeys: ApiKeyRing;
  readonly requestTimeoutMs: number;
  /** /readyz answers within this: a check still running then counts as failed */
  readonly readinessDeadlineMs: number;
  /** the Prometheus exposition text */
  readonly metrics: () => string;
  /** the analyst console's sessions, which stand in for an API key on requests without one (src/console) */
  readonly consoleSessions?: ConsoleSessions;
}

/** The HTTP shell: fastify with zod schemas, OpenAPI at /docs, one error handler. Not listening. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.logLevel },
    // per-request logs would cost more than scoring itself; errors are still logged
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // a client that trickles its request (slowloris) is cut off rather than holding a socket
    requestTimeout: deps.requestTimeoutMs,
    // the longest id TransferEventSchema accepts (ID_MAX_LENGTH in features/transfer-event.ts): every scored id can be confirmed, read and cancelled
    routerOptions: { maxParamLength: 128 },
    // router-level rejections (a malformed URL, a path parameter over the length limit) get the
    // registry's error shape too, not fastify's own body
    frameworkErrors: (error, _request, rawReply) => {
      // the option's reply type is generic over route schemas that do not exist at this point
      const reply = rawReply as unknown as FastifyReply;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return reply.status(414).send({ code: 'CALMPAY_ERR_URI_TOO_LONG', message: ERRORS.CALMPAY_ERR_URI_TOO_LONG.message, details: [{ field: 'url', message: error.message }] });
      }
      if (error.code === 'FST_ERR_BAD_URL') {
        return reply.status(400).send({ code: 'CALMPAY_ERR_VALIDATION', message: 'The URL is malformed', details: [{ field: 'url', message: error.message }] });
      }
      return reply.status(500).send({ code: 'CALMPAY_ERR_INTERNAL', message: ERRORS.CALMPAY_ERR_INTERNAL.message, details: [] });
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.setValidatorCompiler(requestValidator);
  app.setSerializerCompiler(replySerializer);
  installErrorHandler(app);
  installAuth(app, deps.apiKeys, deps.consoleSessions ?? null);
  // every route with the scope it declares, for the scope matrix and auth bypass tests and docs/api.md's route table
  const routes: RouteScope[] = [];
  app.decorate('calmpayRoutes', routes);
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      // read when asked: hooks of plugin contexts (the docs' markPublic) run after this one
      if (method !== 'HEAD') {
        routes.push({
          method,
          url: r.url,
          get scope() {
            return r.config?.scope ?? null;
          },
          get public() {
            return r.config?.public === true;
          },
          get responses() {
            return (r.schema?.response ?? {}) as Readonly<Record<string, unknown>>;
          },
        });
      }
    }
  });
  // keyed routes carry their security requirement in the OpenAPI document; public ones none
  app.addHook('onRoute', documentSecurity);
  // every body is JSON: anything else is a 415, not a string handed to the validator
  app.removeContentTypeParser('text/plain');

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'calmpay',
        description: 'Anti-fraud payment risk engine: scores transfers with analyst rules and a model.',
        version: '0.1.0',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: jsonSchemaTransform,
  });
  // the docs UI and the document are public: every route the plugin registers says so
  await app.register(async (docs) => {
    docs.addHook('onRoute', markPublic);
    docs.register(fastifySwaggerUi, { routePrefix: '/docs' });
  });

  healthRoutes(app, { checks: deps.readiness, deadlineMs: deps.readinessDeadlineMs, metrics: deps.metrics });
  scoreRoutes(app, { service: deps.service, reasons: deps.reasons });
  return app;
}
