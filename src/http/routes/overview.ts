import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorSchema } from '../score-schemas.ts';
import { sqlFailure } from '../../store/store-failures.ts';
import { OVERVIEW_BANDS, overviewFigures, type OverviewDeps } from '../../console/overview.ts';
import type { ZodRequestTypes } from '../validation.ts';

/**
 * GET /v1/overview (issue 17): the figures of the console's Overview screen, for anyone who
 * may read the rules' performance (scope `rules:read`). src/console/overview.ts says what each is.
 */

export interface OverviewRouteDeps extends OverviewDeps {
  readonly clock: () => number;
  /** the rule version serving on this node */
  readonly rules: () => { readonly version: string; readonly versionId: number; readonly ruleCount: number; readonly activatedAt: string; readonly activatedBy: string };
  /** the model scoring on this node, or null (rules alone) */
  readonly model: () => { readonly name: string; readonly version: string; readonly loadedAt: string } | null;
  /** degraded decisions this node answered and has not yet written into Redis */
  readonly degradedPending: () => number;
}

export const MAX_OVERVIEW_MINUTES = 1440;

export const OverviewQuerySchema = z.strictObject({
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_OVERVIEW_MINUTES)
    .default(60)
    .describe(`the window: this many minutes up to now (1-${MAX_OVERVIEW_MINUTES}, default 60)`),
});

const Rate = z.number().nullable();
const Budget = z.object({ warn: z.number(), cool_off: z.number(), block: z.number() });

export const OverviewSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string(), minutes: z.number() }),
    decisionsPerMinute: z.array(z.object({ minute: z.string(), allow: z.number(), warn: z.number(), cool_off: z.number(), block: z.number() })),
    degradedPerMinute: z.array(z.object({ minute: z.string(), stage: z.string(), count: z.number() })),
    degradedNow: z.object({ stages: z.array(z.string()), pendingOnThisNode: z.number() }),
    interventions: z.array(
      z.object({ band: z.enum(OVERVIEW_BANDS), legitimate: z.number(), rates: z.object({ warn: Rate, cool_off: Rate, block: Rate }), budget: Budget }),
    ),
    latency: z.object({ scores: z.number(), p50Ms: z.number().nullable(), p99Ms: z.number().nullable() }),
    versions: z.object({
      rules: z.object({ version: z.string(), versionId: z.number(), ruleCount: z.number(), activatedAt: z.string(), activatedBy: z.string() }),
      model: z.object({ name: z.string(), version: z.string(), loadedAt: z.string() }).nullable(),
    }),
  })
  .describe('Overview');

/** a stage is degraded "now" when a decision of the last two minutes was degraded in it */
const NOW_MINUTES = 2;

export function overviewRoutes(app: FastifyInstance, deps: OverviewRouteDeps): void {
  app.withTypeProvider<ZodRequestTypes>().route({
    method: 'GET',
    url: '/v1/overview',
    config: { scope: 'rules:read' },
    schema: {
      summary: "The console's overview: decisions per minute by action, legitimate intervention rates against the budget, latency, versions, degraded modes",
      description:
        'Over the last `minutes` of the decision history (all nodes, as far as the decision sink has copied them): decisions per minute ' +
        'by action, degraded decisions per minute by stage, and per age band the share of legitimate transfers (not named by a scam ' +
        "report) warned, held and blocked against the intervention budget. This node's score latency p50/p99 since it started " +
        '(estimated from the histogram of /metrics), and the rule version and model it scores with.',
      tags: ['console'],
      querystring: OverviewQuerySchema,
      response: { 200: OverviewSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const nowMs = deps.clock();
      const figures = await overviewFigures(deps, nowMs, request.query.minutes).catch(sqlFailure);
      const recentFromMs = Math.floor(nowMs / 60_000 - NOW_MINUTES) * 60_000;
      const stages = [...new Set(figures.degradedPerMinute.filter((d) => Date.parse(d.minute) >= recentFromMs).map((d) => d.stage))].sort();
      return {
        ...figures,
        degradedNow: { stages, pendingOnThisNode: deps.degradedPending() },
        versions: { rules: deps.rules(), model: deps.model() },
      };
    },
  });
}
