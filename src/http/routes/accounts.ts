import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorSchema } from '../score-schemas.ts';
import { redisStep } from '../../store/store-failures.ts';
import { CalmpayError } from '../../errors.ts';
import { AccountParams } from '../account-params.ts';
import { GuardianLimitsSchema } from '../../protection/guardian-limits.ts';
import type { GuardianStore } from '../../protection/guardian-store.ts';
import type { ZodRequestTypes } from '../validation.ts';

export interface AccountRouteDeps {
  readonly guardians: GuardianStore;
  readonly clock: () => number;
}

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

/** Guardian limits of a minor's account: only a credential with the `guardian` scope may call these. */
export function accountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  const tags = ['accounts'];
  const routes = app.withTypeProvider<ZodRequestTypes>();

  routes.route({
    method: 'PUT',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Set a minor's per-transfer and daily limits (guardian only)",
      description:
        'Transfers over a limit are blocked with reason guardian_limit_per_transfer or guardian_limit_daily; a transfer in ' +
        'another currency than the limits is blocked with guardian_limit_currency. The day starts at midnight in timeZone.',
      tags,
      params: AccountParams,
      body: GuardianLimitsSchema,
      response: { 200: LimitsViewSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const now = deps.clock();
      await redisStep('setting guardian limits', () => deps.guardians.set(id, request.body, request.principal?.name ?? null, now));
      const view = await redisStep('reading guardian limits', () => deps.guardians.get(id, now));
      if (view === null) throw new Error(`guardian limits of ${id} vanished after being set`);
      return view;
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Read a minor's guardian limits and today's spend",
      tags,
      params: AccountParams,
      response: { 200: LimitsViewSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const view = await redisStep('reading guardian limits', () => deps.guardians.get(id, deps.clock()));
      if (view === null) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no guardian limits`);
      return view;
    },
  });

  routes.route({
    method: 'DELETE',
    url: '/v1/accounts/:id/guardian-limits',
    config: { scope: 'guardian' },
    schema: {
      summary: "Remove a minor's guardian limits",
      tags,
      params: AccountParams,
      response: { 204: z.null(), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      if (!(await redisStep('removing guardian limits', () => deps.guardians.remove(id)))) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no guardian limits`);
      return reply.status(204).send(null);
    },
  });
}
