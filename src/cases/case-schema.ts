import { z } from 'zod';
import { SCAM_TYPES } from '../scoring/scam-types.ts';
import { ACCOUNT_ID, CURRENCY } from '../features/transfer-event.ts';
import { noNul } from '../http/no-nul.ts';

/**
 * A scam report (issue 5) as a client sends it, and a case as the API returns it. Objects are
 * strict like the transfer event: a misspelt field is an error, not a silently missing value.
 */

export const REPORTER_TYPES = ['victim', 'family', 'bank', 'police'] as const;
export type ReporterType = (typeof REPORTER_TYPES)[number];

/** Transfer ids follow the account-id rule: they are parts of Redis keys. */
const TRANSFER_ID = ACCOUNT_ID;

const Timestamp = z.iso.datetime({
  offset: true,
  error: (issue) =>
    issue.input === undefined ? undefined : 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z',
});

export const MAX_TRANSFERS_PER_CASE = 100;

export const CaseReportSchema = z
  .strictObject({
    reporter: z.strictObject({
      type: z.enum(REPORTER_TYPES),
      /** who reported (an account, a bank or police unit); a victim's defaults to the payer */
      id: noNul(z.string().min(1).max(128)).optional(),
    }),
    payer: z.strictObject({ accountId: ACCOUNT_ID }),
    payee: z.strictObject({ accountId: ACCOUNT_ID, name: noNul(z.string().min(1).max(200)).optional() }),
    transferIds: z
      .array(TRANSFER_ID)
      .min(1, 'must name at least one transfer')
      .max(MAX_TRANSFERS_PER_CASE, `must name at most ${MAX_TRANSFERS_PER_CASE} transfers`),
    amountLost: z
      .number()
      .min(0, 'must be 0 or more')
      .max(1e12, 'must be at most 1e12')
      .refine(Number.isFinite, 'must be a finite number'),
    currency: CURRENCY,
    scamType: z.enum(SCAM_TYPES),
    /** how the scammer reached the victim, e.g. phone, sms, messaging, social, website */
    channel: z.string().min(1).max(32).regex(/^[a-z0-9_-]+$/, 'must be lower-case letters, digits, _ or -').optional(),
    narrative: noNul(z.string().min(1).max(4000)).optional(),
    scamAt: Timestamp,
    /** when the victim or reporter reported it; default: when the engine receives it */
    reportedAt: Timestamp.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.payer.accountId === r.payee.accountId) {
      ctx.addIssue({ code: 'custom', path: ['payee', 'accountId'], message: 'must differ from payer.accountId' });
    }
    if (r.reporter.type !== 'victim' && r.reporter.id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['reporter', 'id'], message: `is required when reporter.type is ${r.reporter.type}` });
    }
    const seen = new Set<string>();
    r.transferIds.forEach((id, i) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['transferIds', i], message: `repeats ${id}` });
      seen.add(id);
    });
    if (r.reportedAt !== undefined && Date.parse(r.reportedAt) < Date.parse(r.scamAt)) {
      ctx.addIssue({ code: 'custom', path: ['reportedAt'], message: 'must not be before scamAt' });
    }
  });

export type CaseReport = z.infer<typeof CaseReportSchema>;

/** A case as stored and returned. */
export interface Case {
  readonly caseId: string;
  readonly reporter: { readonly type: ReporterType; readonly id: string };
  readonly payer: { readonly accountId: string };
  readonly payee: { readonly accountId: string; readonly name: string | null };
  readonly transferIds: readonly string[];
  readonly amountLost: number;
  readonly currency: string;
  readonly scamType: (typeof SCAM_TYPES)[number];
  readonly channel: string | null;
  readonly narrative: string | null;
  readonly scamAt: string;
  readonly reportedAt: string;
  /** when the engine received the report */
  readonly receivedAt: string;
  /** the payee's report flags in Redis include this case (false: to be re-applied) */
  readonly flagsApplied: boolean;
}

export const CaseSchema = z
  .object({
    caseId: z.string(),
    reporter: z.object({ type: z.enum(REPORTER_TYPES), id: z.string() }),
    payer: z.object({ accountId: z.string() }),
    payee: z.object({ accountId: z.string(), name: z.string().nullable() }),
    transferIds: z.array(z.string()),
    amountLost: z.number(),
    currency: z.string(),
    scamType: z.enum(SCAM_TYPES),
    channel: z.string().nullable(),
    narrative: z.string().nullable(),
    scamAt: z.string(),
    reportedAt: z.string(),
    receivedAt: z.string(),
    flagsApplied: z.boolean().describe('the payee report flags used by scoring include this case'),
  })
  .describe('Case');

export const ReportResponseSchema = z
  .object({
    duplicate: z.boolean().describe('true: these transfers were already reported; nothing was counted again'),
    case: CaseSchema,
  })
  .describe('ReportResult');

export const CaseListQuerySchema = z.strictObject({
  payeeId: ACCOUNT_ID.optional(),
  payerId: ACCOUNT_ID.optional(),
  transferId: TRANSFER_ID.optional(),
  scamType: z.enum(SCAM_TYPES).optional(),
  reporterType: z.enum(REPORTER_TYPES).optional(),
  /** reportedAt >= from */
  from: Timestamp.optional(),
  /** reportedAt < to */
  to: Timestamp.optional(),
  limit: z.coerce.number().int('must be an integer').min(1).max(200).default(50),
  /** nextCursor of the previous page */
  cursor: noNul(z.string().max(400)).optional(),
});

export type CaseListQuery = z.infer<typeof CaseListQuerySchema>;

export const CaseListSchema = z
  .object({
    items: z.array(CaseSchema),
    nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
  })
  .describe('CaseList');
