import type { FastifyInstance } from 'fastify';
import { ErrorSchema } from '../score-schemas.ts';
import { CaseListQuerySchema, CaseListSchema, CaseReportSchema, ReportResponseSchema } from '../../cases/case-schema.ts';
import { AnalysisQuerySchema, AnalysisReportSchema } from '../../cases/case-analysis.ts';
import type { CaseService } from '../../cases/case-service.ts';
import type { ZodRequestTypes } from '../validation.ts';

export interface CaseRouteDeps {
  readonly service: CaseService;
}

/**
 * POST /v1/cases, GET /v1/cases and GET /v1/cases/analysis. Bodies and query strings are
 * validated by their schemas (src/http/validation.ts), every offending field listed.
 */
export function caseRoutes(app: FastifyInstance, deps: CaseRouteDeps): void {
  const routes = app.withTypeProvider<ZodRequestTypes>();

  routes.route({
    method: 'POST',
    url: '/v1/cases',
    config: { scope: 'cases:write' },
    schema: {
      summary: 'Report a scam',
      description:
        'Records a reported scam in the case library. The payee\'s report count, distinct reporters and ' +
        'latest report time are features of the next score. Reporting the same transfers again is a ' +
        'duplicate (200, `duplicate: true`, nothing counted again); transfers already in another case are a 409. ' +
        'Every transfer must be in the decision history as paid by `payer` to `payee`: a contradiction is a 422 ' +
        '`CALMPAY_ERR_CASE_TRANSFER_MISMATCH`, a transfer not in the history a 422 `CALMPAY_ERR_CASE_TRANSFER_UNKNOWN` ' +
        '(unless `scamAt` is older than DECISION_RETENTION_DAYS); nothing is written then.',
      tags: ['cases'],
      body: CaseReportSchema,
      response: { 200: ReportResponseSchema, 201: ReportResponseSchema, 400: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request, reply) => {
      const result = await deps.service.report(request.body);
      return reply.status(result.duplicate ? 200 : 201).send(result);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/cases',
    config: { scope: 'cases:write' },
    schema: {
      summary: 'List reported scams, newest report first',
      description: 'Filters combine with AND. Paging: pass `nextCursor` of a page as `cursor` for the next one.',
      tags: ['cases'],
      querystring: CaseListQuerySchema,
      response: { 200: CaseListSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      return deps.service.list(request.query);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/cases/analysis',
    config: { scope: 'cases:write' },
    schema: {
      summary: 'Feature analysis of reported scams against all transfers',
      description:
        'For each feature, the distribution among reported scam transfers against all transfers of the window ' +
        '(lift per bucket) and a ranking by information value; the same by scam type and by age band; the rules ' +
        'that fired on reported scams; and the reported scams that no rule and no model caught, with their common ' +
        'traits. `npm run cases:analysis` prints the same for a terminal.',
      tags: ['cases'],
      querystring: AnalysisQuerySchema,
      response: { 200: AnalysisReportSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      return deps.service.analyse(request.query);
    },
  });
}
