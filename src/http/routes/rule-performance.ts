import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorSchema } from '../score-schemas.ts';
import { validationError } from '../../errors.ts';
import type { SqlStore } from '../../store/sql/sql-store.ts';
import type { RuleSet } from '../../rules/language/rule-set.ts';
import type { EnginePolicy } from '../../scoring/decide.ts';
import { sqlFailure } from '../../store/store-failures.ts';
import { historyPerformance } from '../../rules/performance/performance-history.ts';
import type { FlagPolicy } from '../../rules/performance/rule-performance.ts';
import { DEFAULT_WINDOW_DAYS, requestWindow, type WindowLimit } from '../../backtest/window.ts';
import type { ZodRequestTypes } from '../validation.ts';

/**
 * GET /v1/rules/performance (issue 16): per rule, over a window of the decision history joined
 * with the case library, its hits, precision, legitimate hit rate, share of caught fraud, unique
 * catches and the flag for a rule that spends the intervention budget and catches little
 * (src/rules/performance). Scope `rules:read`. It reads every decision of its window, so the
 * window is bounded by the backtest's (BACKTEST_MAX_WINDOW_DAYS: a 400 naming `from`).
 */

export interface RulePerformanceRouteDeps {
  readonly sql: SqlStore;
  /** the rule set serving now: its rules are listed first */
  readonly activeRules: () => RuleSet;
  /** the engine's policy, for the decision without a rule (unique catches) */
  readonly policy: EnginePolicy;
  readonly clock: () => number;
  /** the longest window, days (BACKTEST_MAX_WINDOW_DAYS) */
  readonly maxWindowDays: number;
  /** LABEL_MATURITY_DAYS: younger decisions are counted as unsettled */
  readonly labelMaturityDays: number;
  /** the intervention budget the flag is judged against */
  readonly flags: FlagPolicy;
}

const Time = z.iso.datetime({ offset: true });

export const PerformanceQuerySchema = z.strictObject({
  from: Time.optional().describe(`start of the window (inclusive); default: ${DEFAULT_WINDOW_DAYS} days before \`to\``),
  to: Time.optional().describe('end of the window (exclusive); default: now'),
});

const Rate = z.number().nullable();
const Tally = z.object({ transfers: z.number(), amount: z.record(z.string(), z.number()) });
const PerActionCount = z.object({ warn: z.number(), cool_off: z.number(), block: z.number() });

const RulePerformanceSchema = z.looseObject({
  ruleId: z.string(),
  mode: z.enum(['active', 'shadow']),
  inRuleSet: z.boolean(),
  hits: z.number(),
  fraudHits: z.number(),
  legitimateHits: z.number(),
  precision: Rate,
  legitimateHitRate: Rate,
  legitimateInterventions: PerActionCount,
  legitimateInterventionRate: Rate,
  caughtFraud: Tally,
  caughtFraudShare: Rate,
  caughtFraudValueShare: z.record(z.string(), z.number()),
  missedFraudHits: z.number(),
  uniqueCatches: Tally,
  uniqueCatchShare: Rate,
  uniqueCatchValueShare: z.record(z.string(), z.number()),
  flagged: z.boolean(),
  flagReason: z.string().nullable(),
});

const PerformanceReportSchema = z
  .looseObject({
    window: z.object({ from: z.string(), to: z.string() }),
    rulesVersion: z.string(),
    labels: z.object({ maturityDays: z.number(), unsettled: z.number() }),
    skippedMalformed: z.number(),
    transfers: z.number(),
    legitimate: z.number(),
    fraud: Tally,
    caughtFraud: Tally,
    legitimateRates: z.object({ warn: Rate, cool_off: Rate, block: Rate }),
    flagPolicy: z.looseObject({ budget: PerActionCount, budgetSource: z.string(), budgetShare: z.number(), littleShare: z.number() }),
    rules: z.array(RulePerformanceSchema),
  })
  .describe('RulePerformance');

export function rulePerformanceRoutes(app: FastifyInstance, deps: RulePerformanceRouteDeps): void {
  const limit: WindowLimit = { maxDays: deps.maxWindowDays, variable: 'BACKTEST_MAX_WINDOW_DAYS' };
  app.withTypeProvider<ZodRequestTypes>().route({
    method: 'GET',
    url: '/v1/rules/performance',
    config: { scope: 'rules:read' },
    schema: {
      summary: 'Per rule: hits, precision, legitimate hit rate, share of caught fraud, unique catches, budget flag',
      description:
        'For every rule of the active set (and rules of earlier versions that fired), over the decision history of the ' +
        `window (default: the last ${DEFAULT_WINDOW_DAYS} days; at most ${deps.maxWindowDays} days, BACKTEST_MAX_WINDOW_DAYS) ` +
        'joined with the case library (a reported transfer is fraud, every other legitimate): hits, precision, legitimate ' +
        'hit rate and interventions, share of caught fraud by count and value, unique catches (caught fraud the decision ' +
        'without the rule would have allowed) and whether it spends the intervention budget while catching little ' +
        '(docs/rules.md, "Rule performance").',
      tags: ['rules'],
      querystring: PerformanceQuerySchema,
      response: { 200: PerformanceReportSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const nowMs = deps.clock();
      const window = requestWindow(request.query.from, request.query.to, nowMs, limit);
      if (Array.isArray(window)) throw validationError(window);
      return historyPerformance({
        sql: deps.sql,
        active: deps.activeRules(),
        policy: deps.policy,
        window,
        nowMs,
        labelMaturityDays: deps.labelMaturityDays,
        flags: deps.flags,
      }).catch(sqlFailure);
    },
  });
}
