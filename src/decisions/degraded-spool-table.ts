import { parseDegradedRecord, type DegradedRecord } from './degraded-record.ts';
import { arrayLiteral, DecisionHistory, parseStreamEntry, type DecisionRow } from './decision-history.ts';
import type { SqlExecutor, SqlStore } from '../store/sql/sql-store.ts';

/**
 * The `degraded_spool` table (migration 005): degraded decisions waiting to be written into
 * Redis. Spooling one also inserts its row into the decision history (`decisions`) in the same
 * transaction, so the history has it at once and exactly once: the stream entry the reconciler
 * writes later is skipped by the sink's insert (`ON CONFLICT (transfer_id) DO NOTHING`).
 */

/** the stream id a history row spooled here carries (there was no stream entry yet) */
export const SPOOL_STREAM_ID = 'degraded-spool';

/** A decision the transfer already has, which stands instead of a new degraded one. */
export interface EarlierDecision {
  /** the hash of the event it was made on; '' when the event differs from the one re-sent */
  readonly eventHash: string;
  /** the StoredDecision JSON */
  readonly decision: string;
  /** true when it came through Redis (the decision history): nothing of it is left to reconcile */
  readonly inRedis: boolean;
}

export class DegradedSpoolTable {
  constructor(private readonly sql: SqlStore) {}

  /**
   * Stores the record and its history row, unless the transfer already has a decision: spooled
   * by another node that answered it while Redis was down (the earlier record's hash and
   * decision), or in the decision history from the normal path (decided before Redis became
   * unavailable; its event is compared on the fields the history keeps: ids, time, amount,
   * currency). Then nothing is written and that decision is returned, to be answered instead
   * (an event that differs gets an empty hash: a conflict). Null when this one was stored.
   */
  async insert(r: DegradedRecord): Promise<EarlierDecision | null> {
    const row = parseStreamEntry(SPOOL_STREAM_ID, [
      'transferId', r.transferId, 'decision', r.decision, 'event', r.event, 'features', r.features, 'catalogue', r.catalogue,
    ]); // prettier-ignore
    if ('error' in row) throw new Error(`degraded decision of ${r.transferId}: ${row.error}`);
    return this.sql.transaction(async (tx) => {
      const first = await this.earlier(tx, r, row);
      if (first !== null) return first;
      const inserted = await tx.query(
        'INSERT INTO degraded_spool (transfer_id, spooled_at, record) VALUES ($1, $2, $3) ON CONFLICT (transfer_id) DO NOTHING RETURNING transfer_id',
        [r.transferId, new Date(r.spooledAt), JSON.stringify(r)],
      );
      // another node spooled it between the look-up and the insert
      if (inserted.rowCount === 0) return this.earlier(tx, r, row);
      await new DecisionHistory(tx).insert([row]);
      return null;
    });
  }

  /** The transfer's decision spooled by a node, else in the history (written through Redis), else null: one query. */
  private async earlier(tx: SqlExecutor, r: DegradedRecord, ours: DecisionRow): Promise<EarlierDecision | null> {
    const res = await tx.query<{
      record: string | null;
      decision: unknown;
      payer_id: string;
      payee_id: string;
      amount: string | number;
      currency: string;
      occurred_at: Date | string;
    }>(
      `SELECT s.record, d.decision, d.payer_id, d.payee_id, d.amount, d.currency, d.occurred_at
         FROM (SELECT $1::text AS transfer_id) t
         LEFT JOIN degraded_spool s ON s.transfer_id = t.transfer_id
         LEFT JOIN decisions d ON d.transfer_id = t.transfer_id`,
      [r.transferId],
    );
    const x = res.rows[0];
    if (x === undefined) return null;
    const spooled = x.record === null ? null : parseDegradedRecord(x.record);
    if (spooled !== null) return { eventHash: spooled.eventHash, decision: spooled.decision, inRedis: false };
    if (x.decision === null || x.decision === undefined) return null;
    const same =
      x.payer_id === ours.payerId &&
      x.payee_id === ours.payeeId &&
      Number(x.amount) === ours.amount &&
      x.currency.trim() === ours.currency &&
      new Date(x.occurred_at).getTime() === ours.occurredAtMs;
    return {
      eventHash: same ? r.eventHash : '',
      decision: typeof x.decision === 'string' ? x.decision : JSON.stringify(x.decision),
      inRedis: true,
    };
  }

  /** The oldest `limit` records still to reconcile (of every node sharing this database). */
  async pending(limit: number): Promise<string[]> {
    const res = await this.sql.query<{ record: string }>('SELECT record FROM degraded_spool ORDER BY spooled_at, transfer_id LIMIT $1', [limit]);
    return res.rows.map((r) => r.record);
  }

  /** Whether the transfer is spooled here (answered in degraded mode, not reconciled yet). */
  async has(transferId: string): Promise<boolean> {
    const res = await this.sql.query('SELECT 1 FROM degraded_spool WHERE transfer_id = $1', [transferId]);
    return res.rows.length > 0;
  }

  async delete(transferIds: readonly string[]): Promise<void> {
    if (transferIds.length === 0) return;
    await this.sql.query('DELETE FROM degraded_spool WHERE transfer_id = ANY($1::text[])', [arrayLiteral(transferIds)]);
  }
}
