import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorSchema } from '../score-schemas.ts';
import { CalmpayError, validationError } from '../../errors.ts';
import { noNul } from '../no-nul.ts';
import type { SqlStore } from '../../store/sql/sql-store.ts';
import { BacktestsBusyError, type BacktestJobs } from '../../backtest/backtest-jobs.ts';
import { openCandidateModel, type CandidateModel } from '../../backtest/candidate-model.ts';
import type { RuleCheck } from '../../rules/language/rule-check.ts';
import { compileRuleSetFromText, type RuleFileText, type RuleSet, type RuleSetResult } from '../../rules/language/rule-set.ts';
import { RuleFilesSchema } from '../rule-schemas.ts';
import { sqlFailure } from '../../store/store-failures.ts';
import { ruleErrorDetails } from '../../rules/versions/rule-versions.ts';
import { shadowStats } from '../../rules/versions/shadow-stats.ts';
import { DEFAULT_WINDOW_DAYS, requestWindow, type WindowLimit } from '../../backtest/window.ts';
import type { ZodRequestTypes } from '../validation.ts';

/**
 * POST /v1/rules/backtest (start a backtest job), GET /v1/rules/backtest/:id (its progress and
 * report) and GET /v1/rules/shadow (what the active set's shadow rules would have done). Bodies
 * and query strings are validated by their schemas (src/http/validation.ts), every offending
 * field listed.
 *
 * Both read every decision of their window, so the window is bounded (BACKTEST_MAX_WINDOW_DAYS,
 * SHADOW_STATS_MAX_WINDOW_DAYS: a 400 naming `from` and the maximum), and a node takes at most
 * BACKTEST_MAX_JOBS backtests queued or running at once (beyond it: 429 CALMPAY_ERR_BACKTESTS_BUSY,
 * nothing recorded).
 */

export interface BacktestRouteDeps {
  readonly jobs: BacktestJobs;
  readonly sql: SqlStore;
  /** the rule set serving now: the backtest's baseline and the shadow rules' source */
  readonly activeRules: () => RuleSet;
  /** checks the candidate files before this node compiles them (a RuleChecker: off this thread) */
  readonly checkFiles: (files: readonly RuleFileText[]) => Promise<RuleCheck>;
  readonly modelsDir: string;
  readonly clock: () => number;
  /** the longest backtest window, days (BACKTEST_MAX_WINDOW_DAYS) */
  readonly maxWindowDays: number;
  /** the longest shadow statistics window, days (SHADOW_STATS_MAX_WINDOW_DAYS) */
  readonly shadowMaxWindowDays: number;
}

/** Rule files can be larger than a score request: this route takes up to 1 MiB. */
const BACKTEST_BODY_LIMIT = 1_048_576;

const Time = z.iso.datetime({ offset: true });

export const BacktestRequestSchema = z
  .strictObject({
    files: RuleFilesSchema.describe('the candidate rule set: every rule file, as PUT /v1/rules takes them (the same limits)'),
    model: noNul(z.string().min(1).max(200)).optional().describe('a candidate model: its manifest file name in MODELS_DIR without .json'),
    from: Time.optional().describe(`start of the window (inclusive); default: ${DEFAULT_WINDOW_DAYS} days before \`to\``),
    to: Time.optional().describe('end of the window (exclusive); default: now'),
  })
  .describe('BacktestRequest');

const JobSchema = z
  .looseObject({
    id: z.string(),
    state: z.enum(['queued', 'running', 'done', 'failed']),
    progress: z.object({ rowsDone: z.number(), rowsTotal: z.number() }),
    result: z.looseObject({}).nullable().describe('the report once done (docs/rules.md: "Backtest a rule change")'),
    error: z.string().nullable(),
  })
  .describe('BacktestJob');

export const ShadowQuerySchema = z.strictObject({
  from: Time.optional(),
  to: Time.optional(),
  ruleId: noNul(z.string().min(1).max(200)).optional(),
});

const ShadowReportSchema = z.looseObject({ decisions: z.number(), rules: z.array(z.looseObject({ ruleId: z.string(), hits: z.number() })) }).describe('ShadowStats');

/** A full queue: a 429, as the client may retry the same request once a job has finished. */
function busy(maxJobs: number): CalmpayError {
  return new CalmpayError(
    'CALMPAY_ERR_BACKTESTS_BUSY',
    `${maxJobs} backtest job(s) are already queued or running on this node, the most it takes at once (BACKTEST_MAX_JOBS); retry when one has finished`,
    [{ field: '', message: `at most ${maxJobs} backtest job(s) queued or running at once on a node (BACKTEST_MAX_JOBS = ${maxJobs})` }],
  );
}

export function backtestRoutes(app: FastifyInstance, deps: BacktestRouteDeps): void {
  const backtestLimit: WindowLimit = { maxDays: deps.maxWindowDays, variable: 'BACKTEST_MAX_WINDOW_DAYS' };
  const shadowLimit: WindowLimit = { maxDays: deps.shadowMaxWindowDays, variable: 'SHADOW_STATS_MAX_WINDOW_DAYS' };
  const routes = app.withTypeProvider<ZodRequestTypes>();
  routes.route({
    method: 'POST',
    url: '/v1/rules/backtest',
    config: { scope: 'rules:write' },
    bodyLimit: BACKTEST_BODY_LIMIT,
    schema: {
      summary: 'Backtest a candidate rule set (and model) on the decision history',
      description:
        'Replays the stored feature vector of every decision of the window through the candidate rule set (and ' +
        'candidate model, if named) and through the active rule set, with the engine\'s policy, and reports the ' +
        'differences, with the reported scams among them. Runs as a background job: 202 with the job; poll ' +
        '`GET /v1/rules/backtest/{id}`. Invalid rule files are a 400 listing every error with line and column. ' +
        `The window is at most ${deps.maxWindowDays} days (BACKTEST_MAX_WINDOW_DAYS); with ${deps.jobs.maxJobs} jobs ` +
        'queued or running on the node (BACKTEST_MAX_JOBS) a new one is a 429.',
      tags: ['rules'],
      body: BacktestRequestSchema,
      response: { 202: JobSchema, 400: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request, reply) => {
      const { body } = request;
      const window = requestWindow(body.from, body.to, deps.clock(), backtestLimit);
      if (Array.isArray(window)) throw validationError(window);
      // refused before compiling and opening a model; start() checks again, atomically
      if (deps.jobs.full) throw busy(deps.jobs.maxJobs);
      // invalid files cost this thread nothing; valid ones are compiled here, within the size limits
      const check = await deps.checkFiles(body.files);
      const compiled: RuleSetResult = check.ok ? compileRuleSetFromText(body.files) : check;
      if (!compiled.ok) {
        throw new CalmpayError(
          'CALMPAY_ERR_RULES_INVALID',
          `The candidate rule files have ${compiled.errors.length} error(s)`,
          ruleErrorDetails(compiled.errors, body.files),
        );
      }
      let model: CandidateModel | undefined;
      if (body.model !== undefined) {
        const opened = await openCandidateModel(deps.modelsDir, body.model);
        if (!opened.ok) throw validationError([{ field: 'model', message: opened.message }]);
        model = opened.model;
      }
      const job = await deps.jobs
        .start({
          active: deps.activeRules(),
          candidate: compiled.ruleSet,
          ...(model === undefined ? {} : { model }),
          window,
          requestedBy: request.principal?.name ?? null,
        })
        .catch(sqlFailure)
        .catch(async (err: unknown) => {
          await model?.close().catch(() => undefined);
          throw err instanceof BacktestsBusyError ? busy(err.maxJobs) : err;
        });
      return reply.status(202).header('location', `/v1/rules/backtest/${job.id}`).send(job);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/rules/backtest/:id',
    config: { scope: 'rules:write' },
    schema: {
      summary: 'A backtest job: state, progress (rows done of rows total) and, once done, the report',
      tags: ['rules'],
      params: z.object({ id: z.string() }),
      response: { 200: JobSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const job = await deps.jobs.get(id).catch(sqlFailure);
      if (job === null) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `No backtest job ${id}`, [{ field: 'id', message: 'no such backtest job' }]);
      return job;
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/rules/shadow',
    config: { scope: 'rules:write' },
    schema: {
      summary: "Hits of the active set's shadow rules and the reported scams among them",
      description:
        `For each shadow rule of the active rule set (or only \`ruleId\`): hits in the decision history of the window ` +
        `(default: the last ${DEFAULT_WINDOW_DAYS} days; at most ${deps.shadowMaxWindowDays} days, SHADOW_STATS_MAX_WINDOW_DAYS), ` +
        'hit rate, reported scams among the hits, precision and recall.',
      tags: ['rules'],
      querystring: ShadowQuerySchema,
      response: { 200: ShadowReportSchema, 400: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const window = requestWindow(request.query.from, request.query.to, deps.clock(), shadowLimit);
      if (Array.isArray(window)) throw validationError(window);
      const active = deps.activeRules();
      const ruleId = request.query.ruleId;
      if (ruleId !== undefined && !active.rules.some((r) => r.id === ruleId && r.mode === 'shadow')) {
        throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `No shadow rule ${ruleId} in the active rule set ${active.version}`, [
          { field: 'ruleId', message: 'is not a shadow rule of the active rule set' },
        ]);
      }
      return shadowStats(deps.sql, active, window, ruleId).catch(sqlFailure);
    },
  });
}
