import { z } from 'zod';
import { ACTIONS } from '../scoring/actions.ts';
import { GUARDIAN_REASONS } from '../i18n/guardian-notice.ts';
import { SCAM_TYPES } from '../scoring/scam-types.ts';
import { AGE_BANDS } from '../features/catalogue.ts';
import { ERRORS } from '../errors.ts';

/** Response schemas, for the OpenAPI document at /docs (responses are serialised directly). */

export const ErrorSchema = z
  .object({
    code: z.enum(Object.keys(ERRORS) as [keyof typeof ERRORS, ...(keyof typeof ERRORS)[]]),
    message: z.string(),
    details: z.array(z.unknown()).describe('for validation errors: every offending {field, message}'),
  })
  .describe('Error');

const HitSchema = z.object({
  ruleId: z.string(),
  reasonCode: z.string().describe('stable machine-readable reason (the rule id)'),
  reason: z.string().describe('human reason in the response language'),
  score: z.number(),
  action: z.enum(ACTIONS),
  scamType: z.enum(SCAM_TYPES),
});

export const DecisionSchema = z
  .object({
    transferId: z.string(),
    action: z.enum(ACTIONS).describe('allow | warn | cool_off | block'),
    riskScore: z.number().min(0).max(100),
    ruleScore: z.number().min(0).max(100).describe('points of the active rules that fired, capped at 100'),
    modelScore: z.number().nullable().describe('model probability 0..1; null while no model is loaded, when it failed, or in degraded feature mode'),
    modelFactors: z
      .array(
        z.object({
          feature: z.string(),
          value: z.union([z.number(), z.boolean(), z.string(), z.null()]),
          contribution: z.number().describe('signed log-odds contribution; > 0 raised the risk'),
          direction: z.enum(['raises', 'lowers']),
          text: z.string().describe('the factor in words, in the response language'),
        }),
      )
      .describe('top factors behind modelScore (for scores at or above MODEL_EXPLAIN_FROM)'),
    scamType: z.enum(SCAM_TYPES).nullable().describe('suspected scam type when the action is not allow'),
    segment: z.enum(AGE_BANDS).nullable().describe('age band of the payer, null without payer.birthYear'),
    hits: z.array(HitSchema).describe('active rules that fired'),
    shadowHits: z.array(HitSchema).describe('shadow-mode rules that fired (never act)'),
    ruleErrors: z.array(z.object({ ruleId: z.string(), message: z.string() })),
    degraded: z.array(z.string()).describe('stages that did not run normally, e.g. ["rules"]'),
    warning: z
      .object({ title: z.string(), message: z.string(), voiceScript: z.string(), scamType: z.enum(SCAM_TYPES) })
      .nullable()
      .describe('risk reminder and voice script when the action is warn or cool_off'),
    guardian: z
      .object({
        reason: z.enum(GUARDIAN_REASONS),
        currency: z.string(),
        limit: z.number().nullable(),
        spentToday: z.number(),
      })
      .nullable()
      .describe('the guardian limit that blocked the transfer (action block), null when none did'),
    notice: z
      .object({ reason: z.enum(GUARDIAN_REASONS), title: z.string(), message: z.string() })
      .nullable()
      .describe('for a guardian-limit block: what the minor is shown, in words a child understands'),
    language: z.enum(['en', 'zh']),
    rulesVersion: z.string(),
    modelVersion: z.string().nullable(),
    decidedAt: z.string(),
    timingsUs: z
      .object({
        validate: z.number(),
        features: z.number(),
        rules: z.number(),
        model: z.number(),
        decision: z.number(),
        record: z.number().optional().describe('awaiting the write of the decision to Redis (absent when nothing was recorded)'),
        render: z.number().optional().describe('rendering and serialising the reply'),
        total: z.number().describe('from the start of the body\'s validation to the serialised reply'),
      })
      .describe('per-stage server time in microseconds; a replay shows the stages of the first request up to its decision'),
  })
  .describe('Decision');
