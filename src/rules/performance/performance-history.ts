import { setImmediate as nextTurn } from 'node:timers/promises';
import { AGE_BANDS, type AgeBand } from '../../features/catalogue.ts';
import { isAction } from '../../scoring/actions.ts';
import type { EnginePolicy } from '../../scoring/decide.ts';
import { isScamType } from '../../scoring/scam-types.ts';
import type { SqlStore } from '../../store/sql/sql-store.ts';
import type { RuleSet } from '../language/rule-set.ts';
import { DEFAULT_FLAG_POLICY, RulePerformanceTally, type FlagPolicy, type PerformanceHit, type RulePerformanceReport } from './rule-performance.ts';

/**
 * Rule performance of the decision history (issue 16, IO): the decisions of a window as they
 * were taken (the stored hits, shadow hits, action, model score, age band, guardian block and
 * degraded mode), joined with the case library (a transfer it names is fraud, every other
 * legitimate), counted by src/rules/performance/rule-performance.ts. Read in keyset pages on
 * (occurred_at, transfer_id), never the whole window in memory, yielding to the event loop every
 * YIELD_EVERY_ROWS rows, as the backtest does. A unique catch is judged by the engine's decision
 * under today's policy (thresholds of the payer's age band) without the rule's stored hit.
 */

export const PERFORMANCE_PAGE_SIZE = 5_000;
const YIELD_EVERY_ROWS = 500;
const DAY_MS = 86_400_000;

export interface HistoryPerformance extends RulePerformanceReport {
  readonly window: { readonly from: string; readonly to: string };
  /** the active rule set: its rules are listed first, in its order */
  readonly rulesVersion: string;
  /** the labels: the case library at the time of the request */
  readonly labels: {
    /** a decision younger than this may still be reported (LABEL_MATURITY_DAYS) */
    readonly maturityDays: number;
    /** decisions of the window younger than maturityDays: counted legitimate until reported */
    readonly unsettled: number;
  };
  /** stored decisions whose action is not one of the engine's (not counted) */
  readonly skippedMalformed: number;
}

export interface HistoryPerformanceInput {
  readonly sql: SqlStore;
  readonly active: RuleSet;
  readonly policy: EnginePolicy;
  readonly window: { readonly fromMs: number; readonly toMs: number };
  readonly nowMs: number;
  readonly labelMaturityDays: number;
  readonly flags?: FlagPolicy;
  readonly pageSize?: number;
}

interface PageRow {
  transfer_id: string;
  at: string;
  at_ms: number;
  amount: number;
  currency: string;
  action: string;
  model_score: number | null;
  segment: string | null;
  guardian: boolean;
  degraded: boolean;
  hits: string | null;
  shadow: string | null;
  reported: boolean;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored hits as the decision reads them; a hit without a number score counts 0 points. */
function storedHits(text: string | null): PerformanceHit[] {
  if (text === null) return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return [];
  const out: PerformanceHit[] = [];
  for (const h of parsed as unknown[]) {
    if (!isObject(h) || typeof h.ruleId !== 'string') continue;
    out.push({
      ruleId: h.ruleId,
      score: typeof h.score === 'number' && Number.isFinite(h.score) ? h.score : 0,
      action: isAction(h.action) ? h.action : 'allow',
      scamType: isScamType(h.scamType) ? h.scamType : 'other',
    });
  }
  return out;
}

function shadowIds(text: string | null): string[] {
  if (text === null) return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? (parsed as unknown[]).filter((x): x is string => typeof x === 'string') : [];
}

const segmentOf = (s: string | null): AgeBand | null => ((AGE_BANDS as readonly string[]).includes(s ?? '') ? (s as AgeBand) : null);

export async function historyPerformance(input: HistoryPerformanceInput): Promise<HistoryPerformance> {
  const { sql, active, window } = input;
  const pageSize = input.pageSize ?? PERFORMANCE_PAGE_SIZE;
  const flags = input.flags ?? DEFAULT_FLAG_POLICY;
  const tally = new RulePerformanceTally(active.rules, input.policy, flags);
  const from = new Date(window.fromMs);
  const to = new Date(window.toMs);
  const matureBeforeMs = input.nowMs - input.labelMaturityDays * DAY_MS;
  let unsettled = 0;
  let malformed = 0;
  let seen = 0;
  // every transfer id is non-empty, so (from, '') precedes the first row at `from`
  let after: { at: string | Date; id: string } = { at: from, id: '' };
  for (;;) {
    const { rows } = await sql.query<PageRow>(
      `SELECT d.transfer_id, d.occurred_at::text AS at, (extract(epoch FROM d.occurred_at) * 1000)::float8 AS at_ms,
              d.amount::float8 AS amount, d.currency, d.action, d.model_score::float8 AS model_score, d.segment,
              coalesce(jsonb_typeof(d.decision -> 'guardian') = 'object', false) AS guardian,
              coalesce(d.decision -> 'degraded' ? 'features', false) AS degraded,
              (d.decision -> 'hits')::text AS hits,
              to_jsonb(d.shadow_rules)::text AS shadow,
              EXISTS (SELECT 1 FROM case_transfers ct WHERE ct.transfer_id = d.transfer_id) AS reported
         FROM decisions d
        WHERE d.occurred_at >= $1 AND d.occurred_at < $2
          AND (d.occurred_at, d.transfer_id) > ($3::timestamptz, $4)
        ORDER BY d.occurred_at, d.transfer_id
        LIMIT ${pageSize}`,
      [from, to, after.at, after.id],
    );
    for (const r of rows) {
      if (++seen % YIELD_EVERY_ROWS === 0) await nextTurn();
      if (!isAction(r.action)) {
        malformed++;
        continue;
      }
      if (r.at_ms >= matureBeforeMs) unsettled++;
      const modelScore = r.model_score === null ? null : Math.round(r.model_score * 1e6) / 1e6;
      tally.add({
        hits: storedHits(r.hits),
        shadowRuleIds: shadowIds(r.shadow),
        segment: segmentOf(r.segment),
        context: { modelScore, guardianBlocked: r.guardian, featuresDegraded: r.degraded, amount: r.amount },
        action: r.action,
        fraud: r.reported,
        amount: r.amount,
        currency: r.currency,
      });
    }
    const last = rows[rows.length - 1];
    if (rows.length < pageSize || last === undefined) break;
    after = { at: last.at, id: last.transfer_id };
    await nextTurn();
  }
  return {
    window: { from: from.toISOString(), to: to.toISOString() },
    rulesVersion: active.version,
    labels: { maturityDays: input.labelMaturityDays, unsettled },
    skippedMalformed: malformed,
    ...tally.result(),
  };
}
