import { z } from 'zod';
import type { FeatureValue } from '../../features/catalogue.ts';
import type { SqlParam, SqlStore } from './sql-store.ts';

/**
 * The `decisions` table: every decision with the feature vector it was made on, copied from the
 * Redis decision stream by the decision sink. The stream entry is the contract (written by
 * src/api/score-service.ts): fields transferId, decision (StoredDecision JSON), event (JSON
 * occurredAt, amount, currency, payerId, payeeId), features (JSON array in catalogue order),
 * catalogue (CATALOGUE_VERSION).
 */

export interface DecisionRow {
  readonly transferId: string;
  readonly streamId: string;
  readonly occurredAtMs: number;
  readonly decidedAtMs: number;
  readonly payerId: string;
  readonly payeeId: string;
  readonly amount: number;
  readonly currency: string;
  readonly action: string;
  readonly riskScore: number;
  readonly modelScore: number | null;
  readonly scamType: string | null;
  readonly segment: string | null;
  readonly rulesVersion: string;
  readonly modelVersion: string | null;
  readonly catalogue: string;
  readonly hitRules: readonly string[];
  readonly shadowRules: readonly string[];
  /** the StoredDecision JSON as it was in the stream */
  readonly decisionJson: string;
  readonly features: readonly FeatureValue[];
}

const Hit = z.looseObject({ ruleId: z.string() });
const StreamDecision = z.looseObject({
  transferId: z.string(),
  action: z.string(),
  riskScore: z.number(),
  modelScore: z.number().nullable().optional(),
  scamType: z.string().nullable().optional(),
  segment: z.string().nullable().optional(),
  hits: z.array(Hit),
  shadowHits: z.array(Hit).optional(),
  rulesVersion: z.string(),
  modelVersion: z.string().nullable().optional(),
  decidedAt: z.iso.datetime({ offset: true }),
});
const StreamEvent = z.looseObject({
  occurredAt: z.iso.datetime({ offset: true }),
  amount: z.number(),
  currency: z.string().length(3),
  payerId: z.string(),
  payeeId: z.string(),
});
const Features = z.array(z.union([z.number(), z.string(), z.boolean(), z.null()]));

function json(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A stream entry as a row, or why it cannot be one. */
export function parseStreamEntry(streamId: string, fields: readonly string[]): DecisionRow | { readonly error: string } {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const transferId = f.get('transferId');
  const decisionJson = f.get('decision');
  const catalogue = f.get('catalogue');
  const d = StreamDecision.safeParse(json(decisionJson));
  const e = StreamEvent.safeParse(json(f.get('event')));
  const v = Features.safeParse(json(f.get('features')));
  if (transferId === undefined || decisionJson === undefined || catalogue === undefined || !d.success || !e.success || !v.success) {
    const what = [
      transferId === undefined && 'transferId',
      !d.success && 'decision',
      !e.success && 'event',
      !v.success && 'features',
      catalogue === undefined && 'catalogue',
    ].filter(Boolean);
    return { error: `stream entry ${streamId} has a missing or malformed ${what.join(', ')}` };
  }
  return {
    transferId,
    streamId,
    occurredAtMs: Date.parse(e.data.occurredAt),
    decidedAtMs: Date.parse(d.data.decidedAt),
    payerId: e.data.payerId,
    payeeId: e.data.payeeId,
    amount: e.data.amount,
    currency: e.data.currency,
    action: d.data.action,
    riskScore: d.data.riskScore,
    modelScore: d.data.modelScore ?? null,
    scamType: d.data.scamType ?? null,
    segment: d.data.segment ?? null,
    rulesVersion: d.data.rulesVersion,
    modelVersion: d.data.modelVersion ?? null,
    catalogue,
    hitRules: d.data.hits.map((h) => h.ruleId),
    shadowRules: (d.data.shadowHits ?? []).map((h) => h.ruleId),
    decisionJson,
    features: v.data,
  };
}

const INSERT_COLUMNS = [
  'transfer_id', 'stream_id', 'occurred_at', 'decided_at', 'payer_id', 'payee_id', 'amount', 'currency', 'action',
  'risk_score', 'model_score', 'scam_type', 'segment', 'rules_version', 'model_version', 'catalogue', 'hit_rules',
  'shadow_rules', 'decision', 'features',
] as const;

const CASTS: Partial<Record<(typeof INSERT_COLUMNS)[number], string>> = {
  hit_rules: '::text[]',
  shadow_rules: '::text[]',
  decision: '::jsonb',
  features: '::jsonb',
};

/** Rows deleted per statement by the retention, so no single delete holds locks for long. */
const RETENTION_CHUNK = 5_000;

export class DecisionHistory {
  constructor(private readonly sql: SqlStore) {}

  /**
   * Inserts the rows in one statement; a transferId already stored keeps its first decision (the
   * one the payer saw), so re-delivered stream entries change nothing. Returns rows inserted.
   */
  async insert(rows: readonly DecisionRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const params: SqlParam[] = [];
    const tuples: string[] = [];
    for (const r of rows) {
      const values: SqlParam[] = [
        r.transferId, r.streamId, new Date(r.occurredAtMs), new Date(r.decidedAtMs), r.payerId, r.payeeId, r.amount,
        r.currency, r.action, r.riskScore, r.modelScore, r.scamType, r.segment, r.rulesVersion, r.modelVersion,
        r.catalogue, r.hitRules, r.shadowRules, r.decisionJson, JSON.stringify(r.features),
      ];
      const base = params.length;
      params.push(...values);
      tuples.push(`(${INSERT_COLUMNS.map((c, i) => `$${base + i + 1}${CASTS[c] ?? ''}`).join(', ')})`);
    }
    const res = await this.sql.query(
      `INSERT INTO decisions (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (transfer_id) DO NOTHING`,
      params,
    );
    return res.rowCount;
  }

  /** Deletes decisions that occurred before `beforeMs`; returns how many. */
  async deleteOlderThan(beforeMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const res = await this.sql.query(
        `DELETE FROM decisions WHERE transfer_id IN (SELECT transfer_id FROM decisions WHERE occurred_at < $1 LIMIT ${RETENTION_CHUNK})`,
        [new Date(beforeMs)],
      );
      total += res.rowCount;
      if (res.rowCount < RETENTION_CHUNK) return total;
    }
  }
}
