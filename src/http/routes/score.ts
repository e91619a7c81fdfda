import type { FastifyInstance } from 'fastify';
import { performance } from 'node:perf_hooks';
import { renderDecision, type DecisionResponse, type ReasonLookup, type TimingsUs } from '../../scoring/decision.ts';
import { acceptTransferEvent, occurredAtTooOld, TransferEventSchema } from '../../features/transfer-event.ts';
import { validationError } from '../../errors.ts';
import { DecisionSchema, ErrorSchema } from '../score-schemas.ts';
import { sendJson, withFastPath, type ZodRequestTypes } from '../validation.ts';
import { us, type ScoreService } from '../../scoring/score-service.ts';

export interface ScoreRouteDeps {
  readonly service: ScoreService;
  readonly reasons: ReasonLookup;
}

/** How old an event the route takes (MAX_EVENT_AGE_DAYS), by the app's clock. */
export interface EventAgeBound {
  readonly maxAgeDays: number;
  /** ms since the epoch */
  readonly clock: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** decorated by app.ts, which holds the config and the clock */
    eventAgeBound?: EventAgeBound;
  }
  interface FastifyRequest {
    /** performance.now() as the score route's body validation began: its timings start there */
    scoreStartedAt: number;
  }
}

/**
 * The transfer event, with its fast path in front (bench/results/score-validation-2026-12-06.md:
 * zod alone costs several times as much per valid event).
 */
export const ScoreBody = withFastPath(TransferEventSchema, acceptTransferEvent);

export function scoreRoutes(app: FastifyInstance, deps: ScoreRouteDeps): void {
  app.decorateRequest('scoreStartedAt', 0);
  app.withTypeProvider<ZodRequestTypes>().route({
    method: 'POST',
    url: '/v1/transfers/score',
    config: { scope: 'score' },
    schema: {
      summary: 'Score a transfer event',
      description:
        'Idempotent on transferId: the same event again returns the same decision (header ' +
        '`idempotent-replayed: true`) without counting twice; a different event under a used id is a 409. ' +
        'The warning language comes from the `language` field, else Accept-Language, else DEFAULT_LANGUAGE.',
      tags: ['transfers'],
      body: ScoreBody,
      response: { 200: DecisionSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 503: ErrorSchema },
    },
    // the body's validation (fastify's, right after this hook) is timed as the `validate` stage
    preValidation: (request, _reply, done) => {
      request.scoreStartedAt = performance.now();
      done();
    },
    handler: async (request, reply) => {
      const startedAt = request.scoreStartedAt;
      const validatedAt = performance.now();
      const event = request.body;
      const bound = request.server.eventAgeBound;
      const tooOld = bound === undefined ? null : occurredAtTooOld(event.occurredAt, bound.clock(), bound.maxAgeDays);
      if (tooOld !== null) throw validationError([tooOld]);
      const result = await deps.service.score(event, request.headers['accept-language'], startedAt, validatedAt);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      const renderedAt = performance.now();
      // serialised here, not by the route's serializer, so that `total` includes it
      return sendJson(reply, serialiseTimed(renderDecision(result.decision, result.language, deps.reasons), result.replayed, startedAt, renderedAt));
    },
  });
}

/**
 * The reply body, with `timingsUs` last so that its `total` can be taken once everything else
 * is rendered and serialised (issue 18: the total used to stop before record, render and
 * serialisation). A replay keeps the timings stored with the first decision.
 */
function serialiseTimed(d: DecisionResponse, replayed: boolean, startedAt: number, renderedAt: number): string {
  const head = JSON.stringify({ ...d, timingsUs: undefined });
  const t = d.timingsUs;
  let timings: TimingsUs = t;
  if (!replayed) {
    const end = performance.now();
    const { validate, features, rules, model, decision, record } = t;
    timings = { validate, features, rules, model, decision, record, render: us(renderedAt, end), total: us(startedAt, end) };
  }
  return `${head.slice(0, -1)},"timingsUs":${JSON.stringify(timings)}}`;
}
