import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorSchema } from '../score-schemas.ts';
import { validationError } from '../../errors.ts';
import {
  ActiveRulesSchema,
  ApproveBodySchema,
  AuditListSchema,
  AuditQuerySchema,
  PublishBodySchema,
  PublishResultSchema,
  RejectBodySchema,
  RollbackBodySchema,
  RULES_BODY_LIMIT_BYTES,
  ValidateBodySchema,
  ValidateResultSchema,
  VersionDetailSchema,
  VersionListQuerySchema,
  VersionListSchema,
  VersionParamsSchema,
  VersionSummarySchema,
} from '../rule-schemas.ts';
import { ruleErrorDetails, type RuleVersions } from '../../rules/versions/rule-versions.ts';
import type { ZodRequestTypes } from '../validation.ts';

export interface RuleRouteDeps {
  readonly versions: RuleVersions;
}

/**
 * The rule routes of issue 7. Who acts: with API keys on, the key's name (request.principal);
 * a body `author`/`approver` must then be left out or equal it, so nobody signs as someone
 * else. With keys off (development), the body names the person and is required.
 */
export function ruleRoutes(app: FastifyInstance, deps: RuleRouteDeps): void {
  const { versions } = deps;
  const routes = app.withTypeProvider<ZodRequestTypes>();

  routes.route({
    method: 'GET',
    url: '/v1/rules',
    // reading the rules is reading, as their performance is: the console's read-only analysts see them (issue 17)
    config: { scope: 'rules:read' },
    schema: {
      summary: 'The rule version this node scores with',
      description: 'Its rules, files, author and activation. A version published on another node is served here within RULES_POLL_MS at most.',
      tags: ['rules'],
      response: { 200: ActiveRulesSchema },
    },
    handler: async () => {
      const a = versions.active;
      return {
        version: a.version,
        activatedAt: a.pointer.activatedAt,
        activatedBy: a.pointer.activatedBy,
        fourEyes: versions.fourEyes,
        lastErrors: versions.serving.lastErrors,
        rules: a.ruleSet.rules.map((r) => ({
          id: r.id,
          description: r.description,
          descriptionZh: r.descriptionZh,
          when: r.when,
          score: r.score,
          action: r.action,
          scamType: r.scamType,
          mode: r.mode,
          file: r.location.file,
          line: r.location.line,
        })),
        files: a.ruleSet.files,
      };
    },
  });

  routes.route({
    method: 'POST',
    url: '/v1/rules/validate',
    config: { scope: 'rules:write' },
    bodyLimit: RULES_BODY_LIMIT_BYTES,
    schema: {
      summary: 'Check rule files without storing anything',
      description:
        'Answers 200 with `valid` and every error (file, rule id, line, column, message), or the diff against the active version. ' +
        'A malformed body (no files, unknown fields) is a 400.',
      tags: ['rules'],
      body: ValidateBodySchema,
      response: { 200: ValidateResultSchema, 400: ErrorSchema },
    },
    handler: async (request) => {
      const { body } = request;
      const result = await versions.validate(body.files);
      return { ...result, errors: ruleErrorDetails(result.errors, body.files) };
    },
  });

  routes.route({
    method: 'PUT',
    url: '/v1/rules',
    config: { scope: 'rules:write' },
    bodyLimit: RULES_BODY_LIMIT_BYTES,
    schema: {
      summary: 'Publish a new rule version',
      description:
        'The files replace the whole rule set. Invalid files are a 400 `CALMPAY_ERR_RULES_INVALID` listing every error; the active ' +
        'version stays. With RULES_FOUR_EYES the version waits for approval (201, `active: false`); otherwise it is active on ' +
        'every node at once (201). Files equal to the active version store nothing (200, `unchanged: true`).',
      tags: ['rules'],
      body: PublishBodySchema,
      response: { 200: PublishResultSchema, 201: PublishResultSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request, reply) => {
      const { body } = request;
      const author = actor(request, 'author', body.author);
      const result = await versions.publish(body.files, author, body.comment);
      return reply.status(result.unchanged ? 200 : 201).send(result);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/rules/versions',
    config: { scope: 'rules:write' },
    schema: {
      summary: 'Rule versions, newest first, with their status',
      tags: ['rules'],
      querystring: VersionListQuerySchema,
      response: { 200: VersionListSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const q = request.query;
      const { pointer, items } = await versions.versions(q.limit, q.before ?? null);
      const activeId = pointer?.versionId ?? null;
      return {
        activeId,
        items: items.map((v) => ({ ...v, active: v.id === activeId })),
        nextBefore: items.length === q.limit ? items[items.length - 1]!.id : null,
      };
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/rules/versions/:id',
    config: { scope: 'rules:write' },
    schema: {
      summary: 'One rule version with its files and its diff against the version it was written on',
      tags: ['rules'],
      params: VersionParamsSchema,
      response: { 200: VersionDetailSchema, 400: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      return versions.detail(id);
    },
  });

  routes.route({
    method: 'POST',
    url: '/v1/rules/rollback',
    config: { scope: 'rules:write' },
    schema: {
      summary: 'Make an earlier approved version active again',
      description: 'Audited as `rollback`. It was approved before, so four-eyes does not apply. 409 when the version is pending, rejected or already active.',
      tags: ['rules'],
      body: RollbackBodySchema,
      response: { 200: PublishResultSchema.omit({ unchanged: true }), 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { body } = request;
      const who = actor(request, 'author', body.author);
      const { version, diff } = await versions.rollback(body.versionId, who, body.reason);
      return { version, active: true, diff };
    },
  });

  routes.route({
    method: 'POST',
    url: '/v1/rules/versions/:id/approve',
    config: { scope: 'rules:approve' },
    schema: {
      summary: 'Four-eyes: approve a pending version, which becomes active on every node',
      description:
        'The approver must not be the author (403 `CALMPAY_ERR_SAME_AUTHOR`). 409 when RULES_FOUR_EYES is off, the version is not ' +
        'pending, or another version became active since it was written (publish it again on top of the active one).',
      tags: ['rules'],
      params: VersionParamsSchema,
      body: ApproveBodySchema.optional(),
      response: { 200: VersionSummarySchema, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const body = request.body ?? {};
      const who = actor(request, 'approver', body.approver);
      return versions.approve(id, who, body.comment ?? null);
    },
  });

  routes.route({
    method: 'POST',
    url: '/v1/rules/versions/:id/reject',
    config: { scope: 'rules:approve' },
    schema: {
      summary: 'Turn down a pending version (its author may withdraw it too)',
      tags: ['rules'],
      params: VersionParamsSchema,
      body: RejectBodySchema,
      response: { 200: VersionSummarySchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const { body } = request;
      const who = actor(request, 'approver', body.approver);
      return versions.reject(id, who, body.reason);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/rules/audit',
    config: { scope: 'rules:write' },
    schema: {
      summary: 'The audit trail of rule versions, newest first',
      description: 'seed, publish, approve, reject, rollback and auto_shadow (the safety cap), each with actor, time, the active version before and after, the rules added/removed/changed and the reason.',
      tags: ['rules'],
      querystring: AuditQuerySchema,
      response: { 200: AuditListSchema, 400: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const q = request.query;
      const items = await versions.audit(q.limit, q.before ?? null, q.versionId ?? null);
      return { items, nextBefore: items.length === q.limit ? items[items.length - 1]!.id : null };
    },
  });
}

/** The person acting: the API key's name when keys are on, else the named body field. */
function actor(request: FastifyRequest, field: 'author' | 'approver', named: string | undefined): string {
  const principal = request.principal;
  if (principal !== undefined) {
    if (named !== undefined && named !== principal.name) {
      throw validationError([{ field, message: `must be left out or equal the API key's name "${principal.name}": with API keys on, the key names who acts` }]);
    }
    return principal.name;
  }
  if (named === undefined) {
    throw validationError([{ field, message: 'is required while API keys are off (with keys on, the key name is used)' }]);
  }
  return named;
}
