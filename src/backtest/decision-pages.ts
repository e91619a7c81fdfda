import { CATALOGUE_VERSION } from '../features/catalogue.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';
import type { BacktestSource, StoredDecisionRow } from './run-backtest.ts';

/**
 * The backtest's reader of the `decisions` table (IO): the decisions of a window, by keyset pages
 * on (occurred_at, transfer_id) — the decisions_by_time index — so a window of any size is
 * streamed, never loaded whole. Each row carries only what a replay needs: the vector as JSON
 * text (parsed by the caller; no driver-side object building), the stored model score, two flags
 * read from the stored decision, and whether the case library names the transfer.
 *
 * The cursor is kept as Postgres' own text of occurred_at, so rows stored with microseconds page
 * exactly. A decision reported after the run started may or may not count as reported.
 */

export const BACKTEST_PAGE_SIZE = 5_000;

export interface DecisionWindow {
  readonly fromMs: number;
  /** exclusive */
  readonly toMs: number;
}

interface PageRow {
  transfer_id: string;
  at: string;
  amount: number;
  currency: string;
  action: string;
  rules_version: string;
  model_score: number | null;
  guardian: boolean;
  degraded: boolean;
  features: string;
  reported: boolean;
}

export function decisionPages(sql: SqlStore, window: DecisionWindow, pageSize: number = BACKTEST_PAGE_SIZE): BacktestSource {
  const from = new Date(window.fromMs);
  const to = new Date(window.toMs);
  return {
    async count() {
      const { rows } = await sql.query<{ current: number; other: number }>(
        `SELECT count(*) FILTER (WHERE catalogue = $3)::int AS current, count(*) FILTER (WHERE catalogue <> $3)::int AS other
           FROM decisions WHERE occurred_at >= $1 AND occurred_at < $2`,
        [from, to, CATALOGUE_VERSION],
      );
      return { current: rows[0]?.current ?? 0, otherCatalogue: rows[0]?.other ?? 0 };
    },
    async *pages() {
      // every transfer id is non-empty, so (from, '') precedes the first row at `from`
      let after: { at: string | Date; id: string } = { at: from, id: '' };
      for (;;) {
        const { rows } = await sql.query<PageRow>(
          `SELECT d.transfer_id, d.occurred_at::text AS at, d.amount::float8 AS amount, d.currency, d.action, d.rules_version,
                  d.model_score::float8 AS model_score,
                  coalesce(jsonb_typeof(d.decision -> 'guardian') = 'object', false) AS guardian,
                  coalesce(d.decision -> 'degraded' ? 'features', false) AS degraded,
                  d.features::text AS features,
                  EXISTS (SELECT 1 FROM case_transfers ct WHERE ct.transfer_id = d.transfer_id) AS reported
             FROM decisions d
            WHERE d.occurred_at >= $1 AND d.occurred_at < $2 AND d.catalogue = $3
              AND (d.occurred_at, d.transfer_id) > ($4::timestamptz, $5)
            ORDER BY d.occurred_at, d.transfer_id
            LIMIT ${pageSize}`,
          [from, to, CATALOGUE_VERSION, after.at, after.id],
        );
        if (rows.length > 0) yield rows.map(toRow);
        const last = rows[rows.length - 1];
        if (rows.length < pageSize || last === undefined) return;
        after = { at: last.at, id: last.transfer_id };
      }
    },
  };
}

function toRow(r: PageRow): StoredDecisionRow {
  return {
    transferId: r.transfer_id,
    amount: r.amount,
    currency: r.currency,
    storedAction: r.action,
    rulesVersion: r.rules_version,
    reported: r.reported,
    // real → float8 widens the float32 exactly; the live score was rounded to 6 decimals
    modelScore: r.model_score === null ? null : Math.round(r.model_score * 1e6) / 1e6,
    guardianBlocked: r.guardian,
    featuresDegraded: r.degraded,
    featuresJson: r.features,
  };
}
