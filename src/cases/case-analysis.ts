import { z } from 'zod';
import { CATALOGUE_VERSION, type FeatureValue } from '../features/catalogue.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { analyseFeaturesAsync, type AnalysisRow, type FeatureAnalysis } from './feature-analysis.ts';

/**
 * Loads the analysis window from the SQL store (decisions joined with the case library) and
 * runs the pure feature analysis on it. Shared by GET /v1/cases/analysis and
 * `npm run cases:analysis`.
 *
 * The window is by the transfers' occurredAt. Every reported transfer in it is loaded; the other
 * transfers are loaded in full up to `maxRows`, beyond that as a uniform random sample whose
 * rows stand for (others / sampled) transfers each. Only vectors of the current catalogue are
 * analysed (feature names come from it); others are counted.
 */

export const DEFAULT_WINDOW_DAYS = 90;

export const AnalysisQuerySchema = z.strictObject({
  /** occurredAt >= from; default: `to` minus 90 days */
  from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' }).optional(),
  /** occurredAt < to; default: now */
  to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-21T03:10:00Z' }).optional(),
  /** bucket detail for this many of the most separating features per segment */
  top: z.coerce.number().int('must be an integer').min(1).max(200).default(10),
  /** transfers that were not reported, at most this many loaded (beyond: a weighted sample) */
  maxRows: z.coerce.number().int('must be an integer').min(100).max(500_000).default(50_000),
});

export type AnalysisQuery = z.infer<typeof AnalysisQuerySchema>;

export interface AnalysisReport extends FeatureAnalysis {
  readonly from: string;
  readonly to: string;
  readonly catalogue: string;
  /** null: every transfer in the window was loaded; else the share of unreported ones sampled */
  readonly sampleRate: number | null;
  /** decisions in the window made with another feature catalogue (not analysed) */
  readonly otherCatalogue: number;
  /** transfers of cases whose scam happened in the window but that have no stored decision */
  readonly reportedWithoutDecision: number;
}

interface DbRow {
  transfer_id: string;
  payee_id: string;
  occurred_at: Date;
  action: string;
  hit_rules: string[];
  shadow_rules: string[];
  features: FeatureValue[];
  scam_type: string | null;
}

export async function runAnalysis(sql: SqlStore, q: AnalysisQuery, nowMs: number): Promise<AnalysisReport> {
  const toMs = q.to === undefined ? nowMs : Date.parse(q.to);
  const fromMs = q.from === undefined ? toMs - DEFAULT_WINDOW_DAYS * 86_400_000 : Date.parse(q.from);
  const from = new Date(fromMs);
  const to = new Date(toMs);

  const counts = await sql.query<{ others: number; other_catalogue: number }>(
    `SELECT count(*) FILTER (WHERE ct.transfer_id IS NULL AND d.catalogue = $3)::int AS others,
            count(*) FILTER (WHERE d.catalogue <> $3)::int AS other_catalogue
       FROM decisions d LEFT JOIN case_transfers ct ON ct.transfer_id = d.transfer_id
      WHERE d.occurred_at >= $1 AND d.occurred_at < $2`,
    [from, to, CATALOGUE_VERSION],
  );
  const others = counts.rows[0]?.others ?? 0;
  const rate = others > q.maxRows ? q.maxRows / others : 1;
  const { rows } = await sql.query<DbRow>(
    `SELECT d.transfer_id, d.payee_id, d.occurred_at, d.action, d.hit_rules, d.shadow_rules, d.features, c.scam_type
       FROM decisions d
       LEFT JOIN case_transfers ct ON ct.transfer_id = d.transfer_id
       LEFT JOIN cases c ON c.case_id = ct.case_id
      WHERE d.occurred_at >= $1 AND d.occurred_at < $2 AND d.catalogue = $3
        AND (c.case_id IS NOT NULL OR $4::float8 >= 1 OR random() < $4::float8)
      ORDER BY d.occurred_at, d.transfer_id`,
    [from, to, CATALOGUE_VERSION, rate],
  );
  const sampledOthers = rows.filter((r) => r.scam_type === null).length;
  const weight = rate < 1 && sampledOthers > 0 ? others / sampledOthers : 1;
  const analysisRows: AnalysisRow[] = rows.map((r) => ({
    transferId: r.transfer_id,
    payeeId: r.payee_id,
    occurredAtMs: r.occurred_at.getTime(),
    features: r.features,
    action: r.action,
    hitRules: r.hit_rules,
    shadowRules: r.shadow_rules,
    reportedAs: r.scam_type,
    weight: r.scam_type === null ? weight : 1,
  }));
  const unmatched = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM case_transfers ct JOIN cases c ON c.case_id = ct.case_id
      WHERE c.scam_at >= $1 AND c.scam_at < $2
        AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.transfer_id = ct.transfer_id)`,
    [from, to],
  );
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    catalogue: CATALOGUE_VERSION,
    sampleRate: rate < 1 ? Math.round(rate * 1e6) / 1e6 : null,
    otherCatalogue: counts.rows[0]?.other_catalogue ?? 0,
    reportedWithoutDecision: unmatched.rows[0]?.n ?? 0,
    // between steps the event loop serves other requests (scores) on this node
    ...(await analyseFeaturesAsync(analysisRows, { top: q.top }, () => nextTurn())),
  };
}

const Bucket = z.object({
  label: z.string(),
  scamCount: z.number(),
  allCount: z.number(),
  scamShare: z.number(),
  allShare: z.number(),
  lift: z.number().nullable().describe('scamShare / allShare'),
});
const Segment = z.object({
  segment: z.string().describe('"all", a scam type or an age band'),
  transfers: z.number(),
  reported: z.number(),
  ranking: z.array(z.object({ feature: z.string(), separation: z.number().describe('information value, reported vs not') })),
  features: z.array(z.object({ feature: z.string(), separation: z.number(), buckets: z.array(Bucket) })),
});

export const AnalysisReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    catalogue: z.string(),
    sampleRate: z.number().nullable(),
    otherCatalogue: z.number(),
    reportedWithoutDecision: z.number(),
    transfers: z.number(),
    reported: z.number(),
    overall: Segment,
    byScamType: z.array(Segment),
    byAgeBand: z.array(Segment),
    rules: z.array(
      z.object({
        ruleId: z.string(),
        mode: z.enum(['active', 'shadow']),
        firedOnReported: z.number(),
        shareOfReported: z.number(),
        firedOnAll: z.number(),
        precision: z.number().nullable(),
      }),
    ),
    missed: z.object({
      count: z.number(),
      shareOfReported: z.number(),
      byScamType: z.record(z.string(), z.number()),
      byAgeBand: z.record(z.string(), z.number()),
      traits: z.array(
        z.object({ feature: z.string(), bucket: z.string(), missedCount: z.number(), missedShare: z.number(), allShare: z.number(), lift: z.number().nullable() }),
      ),
      examples: z.array(z.object({ transferId: z.string(), payeeId: z.string(), scamType: z.string(), occurredAt: z.string() })),
    }),
  })
  .describe('CaseAnalysis');
