import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorSchema } from '../score-schemas.ts';
import { ACTIONS } from '../../scoring/actions.ts';
import { CalmpayError } from '../../errors.ts';
import { ACCOUNT_ID } from '../../features/transfer-event.ts';
import { AccountParams } from '../account-params.ts';
import { noNul } from '../no-nul.ts';
import { reportedUnder, type ZodRequestTypes } from '../validation.ts';
import type { DeadLetters } from '../../cooling/dead-letters.ts';
import type { LifecycleService, TransferView } from '../../cooling/lifecycle-service.ts';
import type { LifecycleStore } from '../../cooling/lifecycle-store.ts';
import { TRANSFER_STATES } from '../../cooling/transfer-states.ts';

/**
 * The lifecycle routes (DESIGN §3): the payer's confirm and cancel, the transfer's state,
 * analysts' release and reject of held transfers, elderly payers' trusted contacts, and the
 * webhook dead-letter list (list, redrive, clear, and the audit of both). Inputs are validated by their zod schemas (400 naming every field);
 * transitions answer 200 with the transfer as it is now (header `idempotent-replayed: true`
 * when the action had been applied before), 404 for an unknown transfer, 409 naming the
 * current state for an action that state does not allow.
 */

export interface LifecycleRouteDeps {
  readonly service: LifecycleService;
  readonly store: LifecycleStore;
  readonly deadLetters: DeadLetters;
  readonly clock: () => number;
}

const Note = noNul(z.string().trim().max(500));
const PayerBody = z.strictObject({ note: Note.optional() }).describe('optional: a note from the payer, kept in the audit trail');
const ReviewBody = z.strictObject({
  analyst: ACCOUNT_ID.describe('id of the analyst who decides'),
  reason: Note.min(1, 'is required'),
});
const ContactBody = z.strictObject({
  name: noNul(z.string().trim().min(1).max(100)),
  phone: z.string().regex(/^\+?[0-9 ()-]{5,32}$/, 'must be a phone number: digits, spaces, ( ) - and an optional leading +'),
  language: z.enum(['en', 'zh']).optional(),
});
const DeadLetterQuery = reportedUnder(
  'query',
  z.strictObject({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  }),
);

const EventParams = reportedUnder(
  'params',
  z.strictObject({
    eventId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:-]+$/, 'must be an event id: letters, digits and . _ : -'),
  }),
);
const DeadLetterActionResult = z.object({
  count: z.number().int().describe('dead letters acted on'),
  eventIds: z.array(z.string()),
});

const AuditEntrySchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.string().describe('engine, payer, analyst:<id>, case-library, system:timer, system:sweep, system:warning-expiry'),
  from: z.enum(TRANSFER_STATES).nullable(),
  to: z.enum(TRANSFER_STATES),
  reason: z.string(),
  eventId: z.string().describe('id of the webhook event that announced this transition'),
});

export const TransferViewSchema = z
  .object({
    transferId: z.string(),
    state: z.enum(TRANSFER_STATES),
    action: z.enum(ACTIONS).describe('the action of the decision'),
    riskScore: z.number(),
    scamType: z.string().nullable(),
    segment: z.string().nullable(),
    rulesVersion: z.string().nullable(),
    payerId: z.string().nullable(),
    payeeId: z.string().nullable(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    decidedAt: z.string().nullable(),
    warningExpiresAt: z.string().nullable().describe('an unanswered warning becomes ABANDONED then'),
    holdUntil: z.string().nullable().describe('end of the cooling-off hold'),
    confirmedAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
    reason: z.string().nullable().describe('reason of the latest transition'),
    history: z.array(AuditEntrySchema).describe('audit trail: every transition with time, actor and reason'),
  })
  .describe('Transfer');

const ContactSchema = z.object({
  accountId: z.string(),
  name: z.string(),
  phone: z.string(),
  language: z.string().nullable(),
  updatedAt: z.string(),
});

/** Who acted, as the audit trail records it: the role, and the API key when one was used. */
function actor(request: FastifyRequest, role: string): string {
  const key = request.principal?.name;
  return key === undefined ? role : `${role} (key ${key})`;
}

function answer(reply: FastifyReply, result: { view: TransferView; replayed: boolean }): TransferView {
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return result.view;
}

export function lifecycleRoutes(app: FastifyInstance, deps: LifecycleRouteDeps): void {
  const routes = app.withTypeProvider<ZodRequestTypes>();
  const tags = ['transfers'];
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

  routes.route({
    method: 'GET',
    url: '/v1/transfers/:id',
    config: { scope: 'transfer' },
    schema: {
      summary: 'A transfer: its state, decision, hold end and audit trail',
      tags,
      params: AccountParams,
      response: { 200: TransferViewSchema, ...errors },
    },
    handler: async (request) => deps.service.view(request.params.id),
  });

  routes.route({
    method: 'POST',
    url: '/v1/transfers/:id/confirm',
    config: { scope: 'transfer' },
    schema: {
      summary: 'The payer goes ahead after the warning',
      description:
        'A cool_off transfer, or a warn one with riskScore >= HOLD_RISK_AT, enters COOLING_OFF for the cooling-off period; ' +
        'a lower-risk warn one is RELEASED at once; one whose payee was reported since the decision is HELD_FOR_REVIEW. ' +
        'Confirming again changes nothing (200, header idempotent-replayed).',
      tags,
      params: AccountParams,
      body: PayerBody.optional(),
      response: { 200: TransferViewSchema, ...errors },
    },
    handler: async (request, reply) => {
      return answer(reply, await deps.service.confirm(request.params.id, request.body?.note ?? '', actor(request, 'payer')));
    },
  });

  routes.route({
    method: 'POST',
    url: '/v1/transfers/:id/cancel',
    config: { scope: 'transfer' },
    schema: {
      summary: 'The payer cancels, at any time before release',
      description:
        'WARNED -> ABANDONED; COOLING_OFF or HELD_FOR_REVIEW -> CANCELLED. Cancelling a cancelled or abandoned transfer ' +
        'changes nothing (200, header idempotent-replayed); a released or rejected one is a 409.',
      tags,
      params: AccountParams,
      body: PayerBody.optional(),
      response: { 200: TransferViewSchema, ...errors },
    },
    handler: async (request, reply) => {
      return answer(reply, await deps.service.cancel(request.params.id, request.body?.note ?? '', actor(request, 'payer')));
    },
  });

  for (const verdict of ['release', 'reject'] as const) {
    routes.route({
      method: 'POST',
      url: `/v1/transfers/:id/${verdict}`,
      config: { scope: 'admin' },
      schema: {
        summary: verdict === 'release' ? 'An analyst releases a held transfer' : 'An analyst rejects a held transfer',
        description: `HELD_FOR_REVIEW -> ${verdict === 'release' ? 'RELEASED' : 'REJECTED'}. The same verdict again changes nothing.`,
        tags,
        params: AccountParams,
        body: ReviewBody,
        response: { 200: TransferViewSchema, ...errors },
      },
      handler: async (request, reply) => {
        const { body } = request;
        return answer(reply, await deps.service.review(request.params.id, verdict, actor(request, `analyst:${body.analyst}`), body.reason));
      },
    });
  }

  const contactTags = ['accounts'];
  routes.route({
    method: 'PUT',
    url: '/v1/accounts/:id/trusted-contact',
    config: { scope: 'guardian' },
    schema: {
      summary: "Set a payer's trusted contact, told when an elderly payer's transfer is held",
      tags: contactTags,
      params: AccountParams,
      body: ContactBody,
      response: { 200: ContactSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { params: { id }, body } = request;
      const contact = { name: body.name, phone: body.phone, language: body.language ?? null, updatedAt: new Date(deps.clock()).toISOString() };
      await storeCall(() => deps.store.setContact(id, contact));
      return { accountId: id, ...contact };
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/accounts/:id/trusted-contact',
    config: { scope: 'guardian' },
    schema: {
      summary: "A payer's trusted contact",
      tags: contactTags,
      params: AccountParams,
      response: { 200: ContactSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request) => {
      const { id } = request.params;
      const contact = await storeCall(() => deps.store.contact(id));
      if (contact === null) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no trusted contact`);
      return { accountId: id, ...contact };
    },
  });

  routes.route({
    method: 'DELETE',
    url: '/v1/accounts/:id/trusted-contact',
    config: { scope: 'guardian' },
    schema: {
      summary: "Remove a payer's trusted contact",
      tags: contactTags,
      params: AccountParams,
      response: { 204: z.null(), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      if (!(await storeCall(() => deps.store.removeContact(id)))) {
        throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `Account ${id} has no trusted contact`);
      }
      return reply.status(204).send(null);
    },
  });

  routes.route({
    method: 'GET',
    url: '/v1/webhooks/dead-letters',
    config: { scope: 'admin' },
    schema: {
      summary: 'Deliveries (webhooks, voice warnings, trusted-contact notices) that failed their last attempt',
      tags: ['ops'],
      querystring: DeadLetterQuery,
      response: {
        200: z.object({ total: z.number().int(), entries: z.array(z.unknown()) }),
        400: ErrorSchema,
        401: ErrorSchema,
        403: ErrorSchema,
        503: ErrorSchema,
      },
    },
    handler: async (request) => {
      const q = request.query;
      return storeCall(() => deps.store.deadLetters(q.offset, q.limit));
    },
  });

  const deadLetterErrors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema };
  const redriveDescription =
    'Queued again with a fresh count of WEBHOOK_ATTEMPTS attempts, to the URL configured now, with the same event id ' +
    '(receivers dedupe by calmpay-event-id) and body; taken off the list and recorded in the dead-letter audit.';
  const clearDescription = 'Taken off the list for good, recorded in the dead-letter audit.';
  for (const action of ['redrive', 'clear'] as const) {
    const run = (eventId: string | null, request: FastifyRequest): Promise<string[]> =>
      storeCall(() => (action === 'redrive' ? deps.deadLetters.redrive(eventId, actor(request, 'operator')) : deps.deadLetters.clear(eventId, actor(request, 'operator'))));
    const method = action === 'redrive' ? 'POST' : 'DELETE';
    const suffix = action === 'redrive' ? '/redrive' : '';
    routes.route({
      method,
      url: `/v1/webhooks/dead-letters/:eventId${suffix}`,
      config: { scope: 'admin' },
      schema: {
        summary: action === 'redrive' ? 'Redrive the dead letters of one event' : 'Clear the dead letters of one event',
        description: action === 'redrive' ? redriveDescription : clearDescription,
        tags: ['ops'],
        params: EventParams,
        response: { 200: DeadLetterActionResult, ...deadLetterErrors },
      },
      handler: async (request) => {
        const { eventId } = request.params;
        const eventIds = await run(eventId, request);
        if (eventIds.length === 0) throw new CalmpayError('CALMPAY_ERR_NOT_FOUND', `No dead letter for event ${eventId}`);
        return { count: eventIds.length, eventIds };
      },
    });
    routes.route({
      method,
      url: `/v1/webhooks/dead-letters${suffix}`,
      config: { scope: 'admin' },
      schema: {
        summary: action === 'redrive' ? 'Redrive every dead letter' : 'Clear every dead letter',
        description: `${action === 'redrive' ? redriveDescription : clearDescription} An empty list answers count 0.`,
        tags: ['ops'],
        response: { 200: DeadLetterActionResult, ...deadLetterErrors },
      },
      handler: async (request) => {
        const eventIds = await run(null, request);
        return { count: eventIds.length, eventIds };
      },
    });
  }

  routes.route({
    method: 'GET',
    url: '/v1/webhooks/dead-letters/audit',
    config: { scope: 'admin' },
    schema: {
      summary: 'What was done to dead letters (redriven, cleared), by whom and when; newest first',
      tags: ['ops'],
      querystring: DeadLetterQuery,
      response: {
        200: z.object({
          total: z.number().int(),
          entries: z.array(
            z.object({
              action: z.enum(['redrive', 'clear']),
              actor: z.string(),
              at: z.string(),
              eventId: z.string().nullable(),
              target: z.string().nullable(),
            }),
          ),
        }),
        ...deadLetterErrors,
      },
    },
    handler: async (request) => {
      const q = request.query;
      return storeCall(() => deps.store.deadLetterAudit(q.offset, q.limit));
    },
  });
}

async function storeCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw new CalmpayError('CALMPAY_ERR_STORE_UNAVAILABLE', `Redis failed: ${(err as Error).message}`);
  }
}
