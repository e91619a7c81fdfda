import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isTimeZone } from './time-zones.ts';

/**
 * The transfer event of DESIGN §3: what a payment backend sends for every transfer a payer
 * starts. Only transferId, occurredAt, amount, currency, payer.accountId and payee.accountId
 * are required; a missing optional field is a missing feature, never a guessed one.
 *
 * Objects are strict: an unknown key is an error rather than silently dropped, because a
 * misspelt optional field (`birthyear`) would otherwise turn into a quietly missing feature.
 */

/** Ids become parts of Redis keys: printable ASCII, no spaces or braces (hash tags). */
const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@\-+/=]+$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - + / =');

const Timestamp = z.iso.datetime({
  offset: true,
  // undefined falls through to the parse-level "is required"
  error: (issue) =>
    issue.input === undefined ? undefined : 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z',
});

const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

const currentYear = new Date().getUTCFullYear();

export const CURRENCY = z
  .string()
  .regex(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 code of three capital letters', abort: true })
  .refine((c) => CURRENCIES.has(c), 'is not a known ISO 4217 currency');

/** An account id in a route parameter or body: the same rule as in the event. */
export const ACCOUNT_ID = Id;

export const PayerSchema = z.strictObject({
  accountId: Id,
  birthYear: z.number().int().min(1900).max(currentYear + 1).optional(),
  accountCreatedAt: Timestamp.optional(),
  deviceId: Id.optional(),
  timeZone: z
    .string()
    .max(64)
    .refine(isTimeZone, { message: 'must be an IANA time zone such as Asia/Shanghai' })
    .optional(),
});

export const PayeeSchema = z.strictObject({
  accountId: Id,
  accountCreatedAt: Timestamp.optional(),
  /** shown to analysts; never stored in the velocity store */
  name: z.string().max(200).optional(),
});

export const ContextSchema = z.strictObject({
  newDevice: z.boolean().optional(),
  onCall: z.boolean().optional(),
  remoteAccess: z.boolean().optional(),
  payeePasted: z.boolean().optional(),
  memo: z.string().max(500).optional(),
});

export const TransferEventSchema = z.strictObject({
  transferId: Id,
  occurredAt: Timestamp,
  amount: z
    .number()
    .positive('must be greater than 0')
    .max(1e12, 'must be at most 1e12')
    .refine(Number.isFinite, 'must be a finite number'),
  currency: CURRENCY,
  channel: z.string().min(1).max(32).regex(/^[a-z0-9_-]+$/, 'must be lower-case letters, digits, _ or -').optional(),
  payer: PayerSchema,
  payee: PayeeSchema,
  context: ContextSchema.optional(),
  /** language of the warning texts; not part of the event's identity */
  language: z.string().max(35).optional(),
}).refine((e) => e.payer.accountId !== e.payee.accountId, {
  path: ['payee', 'accountId'],
  message: 'must differ from payer.accountId',
});

export type TransferEvent = z.infer<typeof TransferEventSchema>;

/** Parse-level messages: a missing required field reads "is required". */
export const PARSE_MESSAGES = {
  error: (issue: { code: string; input?: unknown }): string | undefined =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
};

/** Identity of an event for idempotency: everything but the response language. */
export function eventHash(e: TransferEvent): string {
  const { language: _language, ...identity } = e;
  return createHash('sha1').update(JSON.stringify(identity)).digest('base64url');
}
