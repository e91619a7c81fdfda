import crypto from 'node:crypto';
import { z } from 'zod';
import { hasNul, noNul } from '../http/no-nul.ts';
import { PARSE_MESSAGES } from '../http/validation.ts';
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
const ID_PATTERN = /^[A-Za-z0-9._:@\-+/=]+$/;
/** The router's maxParamLength (http/server.ts) equals it, so every accepted id can be a path parameter. */
export const ID_MAX_LENGTH = 128;
const Id = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ - + / =');

const Timestamp = z.iso.datetime({
  offset: true,
  // undefined falls through to the parse-level "is required"
  error: (issue) =>
    issue.input === undefined ? undefined : 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z',
});

const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

const currentYear = new Date().getUTCFullYear();
const BIRTH_YEAR_MAX = currentYear + 1;
const CHANNEL_PATTERN = /^[a-z0-9_-]+$/;

const CURRENCY_PATTERN = /^[A-Z]{3}$/;

export const CURRENCY = z
  .string()
  .regex(CURRENCY_PATTERN, { message: 'must be an ISO 4217 code of three capital letters', abort: true })
  .refine((c) => CURRENCIES.has(c), 'is not a known ISO 4217 currency');

/** An account id in a route parameter or body: the same rule as in the event. */
export const ACCOUNT_ID = Id;

export const PayerSchema = z.strictObject({
  accountId: Id,
  birthYear: z.number().int().min(1900).max(BIRTH_YEAR_MAX).optional(),
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
  name: noNul(z.string().max(200)).optional(),
});

export const ContextSchema = z.strictObject({
  newDevice: z.boolean().optional(),
  onCall: z.boolean().optional(),
  remoteAccess: z.boolean().optional(),
  payeePasted: z.boolean().optional(),
  memo: noNul(z.string().max(500)).optional(),
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
  channel: z.string().min(1).max(32).regex(CHANNEL_PATTERN, 'must be lower-case letters, digits, _ or -').optional(),
  payer: PayerSchema,
  payee: PayeeSchema,
  context: ContextSchema.optional(),
  /** language of the warning texts; not part of the event's identity */
  language: noNul(z.string().max(35)).optional(),
}).refine((e) => e.payer.accountId !== e.payee.accountId, {
  path: ['payee', 'accountId'],
  message: 'must differ from payer.accountId',
});

export type TransferEvent = z.infer<typeof TransferEventSchema>;

const DAY_MS = 86_400_000;

/**
 * The scoring route's lower bound on `occurredAt` (issue 19: year 0001 made an elderly payer a
 * minor, as age is the transfer's year minus the birth year). Relative to the server's clock, so
 * it is not part of TransferEventSchema: replay and training read years-old history through the
 * schema. Null when the event is recent enough.
 */
export function occurredAtTooOld(occurredAt: string, nowMs: number, maxAgeDays: number): { field: 'occurredAt'; message: string } | null {
  if (Date.parse(occurredAt) >= nowMs - maxAgeDays * DAY_MS) return null;
  return {
    field: 'occurredAt',
    message: `is more than ${maxAgeDays} days in the past (server time ${new Date(nowMs).toISOString()}; MAX_EVENT_AGE_DAYS)`,
  };
}

/**
 * `TransferEventSchema.safeParse(input, PARSE_MESSAGES)`, with the scoring route's fast path
 * (acceptTransferEvent) first: the same answer for every input.
 */
export function parseTransferEvent(
  input: unknown,
): { readonly success: true; readonly data: TransferEvent } | ReturnType<typeof TransferEventSchema.safeParse> {
  const fast = acceptTransferEvent(input);
  return fast === undefined ? TransferEventSchema.safeParse(input, PARSE_MESSAGES) : { success: true, data: fast };
}

/** Keys of each object, in schema order (test/unit/transfer-event-parse.test.ts compares them). */
export const FAST_PARSE_KEYS = {
  event: ['transferId', 'occurredAt', 'amount', 'currency', 'channel', 'payer', 'payee', 'context', 'language'],
  payer: ['accountId', 'birthYear', 'accountCreatedAt', 'deviceId', 'timeZone'],
  payee: ['accountId', 'accountCreatedAt', 'name'],
  context: ['newDevice', 'onCall', 'remoteAccess', 'payeePasted', 'memo'],
} as const;

const KEY_SETS = {
  event: new Set<string>(FAST_PARSE_KEYS.event),
  payer: new Set<string>(FAST_PARSE_KEYS.payer),
  payee: new Set<string>(FAST_PARSE_KEYS.payee),
  context: new Set<string>(FAST_PARSE_KEYS.context),
};

/** zod's own date-time pattern, so both accept the same timestamps; without it, zod does all */
const TIMESTAMP_PATTERN: RegExp | undefined = Timestamp._zod.def.pattern;

type Plain = Record<string, unknown>;

/** A plain object (as JSON.parse makes) whose keys, own or inherited, are all known. */
function plainWithKeys(x: unknown, keys: ReadonlySet<string>): x is Plain {
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype) return false;
  for (const k in x) if (!keys.has(k)) return false;
  return true;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= ID_MAX_LENGTH && ID_PATTERN.test(v);
const isTimestamp = (v: unknown): v is string => typeof v === 'string' && TIMESTAMP_PATTERN!.test(v);
/** free text: within its length and without a NUL (the schema's noNul) */
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max && !hasNul(v);

/**
 * The scoring route's fast path in front of TransferEventSchema (the route declares it with
 * `withFastPath`, src/http/validation.ts): the validated event, or undefined to let zod decide.
 *
 * Zod costs several microseconds per event (a check pipeline per field);
 * bench/score-validation.ts measures both (bench/results/score-validation-2026-12-06.md).
 * Almost every event a payment backend sends is valid, so a plain check of the schema's rules
 * comes first: it accepts only events that satisfy every rule of the schema and returns the
 * object zod would (the schema's key order, only the keys that were sent). Anything it is not
 * sure of, valid or not (an unknown key, a key present as undefined, an object that is not
 * plain, any failed rule), goes to zod, so every error and its message comes from zod.
 * test/unit/transfer-event-parse.test.ts holds the two to the same answers on every edge value
 * and on random bodies, and fails when a field is added to one and not the other.
 *
 * For each optional key: absent is fine and stays absent; present, it must be valid (a key
 * present with the value undefined, which zod would keep, is left to zod).
 */
export function acceptTransferEvent(x: unknown): TransferEvent | undefined {
  if (TIMESTAMP_PATTERN === undefined || !plainWithKeys(x, KEY_SETS.event)) return undefined;
  const { transferId, occurredAt, amount, currency } = x;
  if (!isId(transferId) || !isTimestamp(occurredAt)) return undefined;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0 || amount > 1e12) return undefined;
  if (typeof currency !== 'string' || !CURRENCY_PATTERN.test(currency) || !CURRENCIES.has(currency)) return undefined;
  const out: Plain = { transferId, occurredAt, amount, currency };
  if ('channel' in x) {
    const v = x.channel;
    if (typeof v !== 'string' || v.length < 1 || v.length > 32 || !CHANNEL_PATTERN.test(v)) return undefined;
    out.channel = v;
  }

  const p = x.payer;
  if (!plainWithKeys(p, KEY_SETS.payer) || !isId(p.accountId)) return undefined;
  const payer: Plain = { accountId: p.accountId };
  if ('birthYear' in p) {
    const v = p.birthYear;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1900 || v > BIRTH_YEAR_MAX) return undefined;
    payer.birthYear = v;
  }
  if ('accountCreatedAt' in p) {
    if (!isTimestamp(p.accountCreatedAt)) return undefined;
    payer.accountCreatedAt = p.accountCreatedAt;
  }
  if ('deviceId' in p) {
    if (!isId(p.deviceId)) return undefined;
    payer.deviceId = p.deviceId;
  }
  if ('timeZone' in p) {
    if (!isText(p.timeZone, 64) || !isTimeZone(p.timeZone)) return undefined;
    payer.timeZone = p.timeZone;
  }
  out.payer = payer;

  const q = x.payee;
  if (!plainWithKeys(q, KEY_SETS.payee) || !isId(q.accountId)) return undefined;
  const payee: Plain = { accountId: q.accountId };
  if ('accountCreatedAt' in q) {
    if (!isTimestamp(q.accountCreatedAt)) return undefined;
    payee.accountCreatedAt = q.accountCreatedAt;
  }
  if ('name' in q) {
    if (!isText(q.name, 200)) return undefined;
    payee.name = q.name;
  }
  out.payee = payee;

  if ('context' in x) {
    const c = x.context;
    if (!plainWithKeys(c, KEY_SETS.context)) return undefined;
    const context: Plain = {};
    for (const k of ['newDevice', 'onCall', 'remoteAccess', 'payeePasted'] as const) {
      if (k in c) {
        if (typeof c[k] !== 'boolean') return undefined;
        context[k] = c[k];
      }
    }
    if ('memo' in c) {
      if (!isText(c.memo, 500)) return undefined;
      context.memo = c.memo;
    }
    out.context = context;
  }
  if ('language' in x) {
    if (!isText(x.language, 35)) return undefined;
    out.language = x.language;
  }
  // the schema's refine
  if (payer.accountId === payee.accountId) return undefined;
  return out as TransferEvent;
}

/**
 * Identity of an event for idempotency: everything but the response language.
 *
 * The input is the validated event, whose keys the schema puts in its own order, so the same
 * event sent with its keys in another order hashes the same, and any two events that differ in
 * a field other than `language` serialise, and so hash, differently.
 *
 * The digest is SHA-1, base64url, unchanged since the first version: it is stored with every
 * claim (for IDEMPOTENCY_TTL_SECONDS) and compared with the digest of a retry, so another
 * algorithm would turn each retry of a transfer claimed before a deploy, or by an instance
 * not yet upgraded, into a 409. Collisions are not a practical concern here: the known SHA-1
 * collision attacks need an attacker who chooses both messages and can place arbitrary binary
 * blocks in them, while both events would have to come through an authenticated payment
 * backend as schema-valid JSON. Moving to SHA-256 costs no CPU (measured the same per event)
 * but needs a migration that accepts the old digests for one TTL.
 *
 * `crypto.hash()` is the one-shot form of createHash(): the same digest without building a
 * Hash stream object per score (Node >= 20.12; older 20.x, which package.json still allows,
 * gets createHash). The language-free copy is only made when there is a language
 * (JSON.stringify leaves out absent keys, so without one the event is its own identity).
 */
export function eventHash(e: TransferEvent): string {
  if (e.language === undefined) return sha1(JSON.stringify(e));
  const { language: _language, ...identity } = e;
  return sha1(JSON.stringify(identity));
}

const sha1: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha1', text, 'base64url')
    : (text) => crypto.createHash('sha1').update(text).digest('base64url');
