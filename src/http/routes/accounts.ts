import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { zodProblems } from '../http-errors.ts';
import { ErrorSchema } from '../score-schemas.ts';
import { redisStep } from '../../store/store-failures.ts';
import { CalmpayError, validationError } from '../../errors.ts';
import { ACCOUNT_ID, PARSE_MESSAGES } from '../../features/transfer-event.ts';
import { GuardianLimitsSchema } from '../../protection/guardian-limits.ts';
import type { GuardianStore } from '../../protection/guardian-store.ts';

export interface AccountRouteDeps {
  readonly guardians: GuardianStore;
  readonly clock: () => number;
}

const Params = z.strictObject({ id: ACCOUNT_ID });

const LimitsViewSchema = z
  .object({
    accountId: z.string(),
    currency: z.string(),
    timeZone: z.string(),
    perTransfer: z.number().optional(),
    daily: z.number().optional(),
    today: z.string().describe('the local date in timeZone'),
    spentToday: z.number().describe('spent today within the limits (blocked transfers spend nothing)'),
    updatedAt: z.string(),
    updatedBy: z.string().nullable().describe('name of the API key that set the limits'),
  })
  .describe('GuardianLimits');

function accountId(params: unknown): string {
  const parsed = Params.safeParse(params, PARSE_MESSAGES);
  if (!parsed.success) throw validationError(zodProblems(parsed.error).map((p) => ({ ...p, field: `params.${p.field}` })));
  return parsed.data.id;
}

/** Guardian limits of a minor's account: only a credential with the `guardian` scope may call these. */
export function accountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  const passThrough = () => (data: unknown) => ({ value: data });
  const tags = ['accounts'];

  app.route({
    method: 'PUT',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Set a minor's per-transfer and daily limits (guardian only)",
      description:
        'Transfers over a limit are blocked with reason guardian_limit_per_transfer or guardian_limit_daily; a transfer in ' +
        'another currency than the limits is blocked with guardian_limit_currency. The day starts at midnight in timeZone.',
      tags,
      body: GuardianLimitsSchema,
      response: { 200: LimitsViewSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 503: ErrorSchema },
    },
    validatorCompiler: passThrough,
    handler: async (request) => {
      const id = accountId(request.params);
      const parsed = GuardianLimitsSchema.safeParse(request.body, PARSE_MESSAGES);
      if (!parsed.success) throw validationError(zodProblems(parsed.error));
      const now = deps.clock();
      await redisStep('setting guardian limits', () => deps.guardians.set(id, parsed.data, request.principal?.name ?? null, now));
      const view = await redisStep('reading guardian limits', () => deps.guardians.get(id, now));
      if (view === null) throw new Error(`guardian limits of ${id} vanished after being set`);
      return view;
    },
  });

  app.route({
    method: 'GET',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Read a minor's guardian limits and today's spend",
      tags,
      response: { 200: LimitsViewSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    validatorCompiler: passThrough,
    handler: async (request) => {
      const id = accountId(request.params);
      const view = await redisStep('reading guardian limits', () => deps.guardians.get(id, deps.clock()));
      if (view === null) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no guardian limits`);
      return view;
    },
  });

  app.route({
    method: 'DELETE',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Remove a minor's guardian limits",
      tags,
      response: { 204: z.null(), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    validatorCompiler: passThrough,
    handler: async (request, reply) => {
      const id = accountId(request.params);
      if (!(await redisStep('removing guardian limits', () => deps.guardians.remove(id)))) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no guardian limits`);
      return reply.status(204).send();
    },
  });
}
