/**
 * Bodies, query strings and answers of the rule routes (issue 7). Objects are strict: a
 * misspelt field is an error, not a silently ignored one.
 */
import { z } from 'zod';
import { ACTIONS } from '../scoring/actions.ts';
import { noNul } from './no-nul.ts';
import { SCAM_TYPES } from '../scoring/scam-types.ts';
import { MAX_RULE_FILES, MAX_RULE_SET_CHARS, ruleSetSizeProblem } from '../rules/language/limits.ts';
import { RULE_MODES } from '../rules/language/rule-file.ts';
import { AUDIT_ACTIONS, VERSION_STATUSES } from '../rules/versions/rule-version-store.ts';
import { FILES_AUTHOR, SAFETY_CAP_AUTHOR } from '../rules/versions/rule-versions.ts';

/** Rule bodies carry whole files; the default BODY_LIMIT_BYTES is sized for transfer events. */
export const RULES_BODY_LIMIT_BYTES = 1_048_576;

const RESERVED = new Set([FILES_AUTHOR, SAFETY_CAP_AUTHOR]);

/** A person's name in the audit trail (an API key name has at most 64 characters too). */
const PersonName = noNul(z.string().trim().min(1, 'must not be empty').max(64))
  .refine((s) => !RESERVED.has(s), { message: `"${FILES_AUTHOR}" and "${SAFETY_CAP_AUTHOR}" are reserved for calmpay itself` });

const Text = (max: number) => noNul(z.string().trim().min(1, 'must not be empty').max(max));

/**
 * The files of a rule set, within the size limits of src/rules/language/limits.ts: a set beyond them is
 * a 400 naming `files` before any of it is parsed (issue 19).
 */
export const RuleFilesSchema = z
  .array(
    z.strictObject({
      name: noNul(z.string().min(1).max(200)).describe('a file name such as `default.yaml` (no directories)'),
      text: noNul(z.string().max(RULES_BODY_LIMIT_BYTES)).describe('the YAML text of the file'),
    }),
  )
  .min(1, 'must name at least one rule file')
  .max(MAX_RULE_FILES)
  .superRefine((files, ctx) => {
    const problem = ruleSetSizeProblem(files);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(`the whole rule set, as files: a version replaces every file (at most ${MAX_RULE_FILES} files and ${MAX_RULE_SET_CHARS} characters together)`);

export const ValidateBodySchema = z.strictObject({ files: RuleFilesSchema });

export const PublishBodySchema = z.strictObject({
  files: RuleFilesSchema,
  comment: Text(2_000).describe('why: shown in the version list and the audit trail'),
  author: PersonName.optional().describe('required when API keys are off; with keys the key name is the author (a different name here is a 400)'),
});

export const RollbackBodySchema = z.strictObject({
  versionId: z.number().int().positive().describe('an earlier approved version'),
  reason: Text(2_000),
  author: PersonName.optional().describe('as for PUT /v1/rules'),
});

export const ApproveBodySchema = z.strictObject({
  comment: Text(2_000).optional(),
  approver: PersonName.optional().describe('required when API keys are off; with keys the key name is the approver'),
});

export const RejectBodySchema = z.strictObject({
  reason: Text(2_000),
  approver: PersonName.optional().describe('as for approve'),
});

const Id = z.coerce.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer').max(2_147_483_647);

export const VersionParamsSchema = z.strictObject({ id: Id });

export const VersionListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: Id.optional().describe('page on: versions with a smaller id than this'),
});

export const AuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: Id.optional().describe('page on: entries with a smaller id than this'),
  versionId: Id.optional().describe('only entries about this version'),
});

// --- answers (documentation for /docs; answers are serialised directly)

const DiffSchema = z
  .object({
    added: z.array(z.string()),
    removed: z.array(z.string()),
    changed: z.array(z.object({ id: z.string(), fields: z.array(z.string()).describe('the rule-file keys that differ') })),
  })
  .describe('rule ids added, removed and changed against the active version');

const RuleErrorSchema = z.object({
  field: z.string().optional(),
  file: z.string().nullable(),
  ruleId: z.string().nullable(),
  line: z.number(),
  column: z.number(),
  message: z.string(),
});

export const VersionSummarySchema = z.object({
  id: z.number(),
  contentVersion: z.string().describe('`files-<sha12>`: the rulesVersion decisions carry'),
  ruleCount: z.number(),
  author: z.string(),
  comment: z.string(),
  createdAt: z.string(),
  baseId: z.number().nullable().describe('the active version it was written against'),
  status: z.enum(VERSION_STATUSES),
  decidedBy: z.string().nullable().describe('approver or rejecter; null when four-eyes was off'),
  decidedAt: z.string().nullable(),
  decisionComment: z.string().nullable(),
});

export const ActiveRulesSchema = z.object({
  version: VersionSummarySchema,
  activatedAt: z.string(),
  activatedBy: z.string(),
  fourEyes: z.boolean(),
  lastErrors: z.array(RuleErrorSchema).nullable().describe('errors of the latest rejected file edit or load on this node'),
  rules: z.array(
    z.object({
      id: z.string(),
      description: z.string(),
      descriptionZh: z.string().nullable(),
      when: z.string(),
      score: z.number(),
      action: z.enum(ACTIONS),
      scamType: z.enum(SCAM_TYPES),
      mode: z.enum(RULE_MODES),
      file: z.string(),
      line: z.number(),
    }),
  ),
  files: z.array(z.object({ name: z.string(), text: z.string() })),
});

export const ValidateResultSchema = z.object({
  valid: z.boolean(),
  errors: z.array(RuleErrorSchema),
  contentVersion: z.string().nullable(),
  ruleCount: z.number(),
  diff: DiffSchema.nullable(),
});

export const PublishResultSchema = z.object({
  version: VersionSummarySchema,
  active: z.boolean().describe('false: it waits for approval (RULES_FOUR_EYES)'),
  unchanged: z.boolean().describe('the files equal the active version: nothing was stored'),
  diff: DiffSchema,
});

export const VersionListSchema = z.object({
  activeId: z.number().nullable(),
  items: z.array(VersionSummarySchema.extend({ active: z.boolean() })),
  nextBefore: z.number().nullable().describe('pass as `before` for the next page'),
});

export const VersionDetailSchema = VersionSummarySchema.extend({
  active: z.boolean(),
  files: z.array(z.object({ name: z.string(), text: z.string() })),
  diff: DiffSchema.nullable().describe('against the version it was written against'),
});

export const AuditListSchema = z.object({
  items: z.array(
    z.object({
      id: z.number(),
      at: z.string(),
      actor: z.string(),
      action: z.enum(AUDIT_ACTIONS),
      versionId: z.number().nullable(),
      activeBefore: z.number().nullable(),
      activeAfter: z.number().nullable(),
      diff: DiffSchema,
      reason: z.string().nullable(),
    }),
  ),
  nextBefore: z.number().nullable(),
});
