import type { DegradedRecord } from './degraded-record.ts';
import { arrayLiteral, DecisionHistory, parseStreamEntry } from './decision-history.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';

/**
 * The `degraded_spool` table (migration 005): degraded decisions waiting to be written into
 * Redis. Spooling one also inserts its row into the decision history (`decisions`) in the same
 * transaction, so the history has it at once and exactly once: the stream entry the reconciler
 * writes later is skipped by the sink's insert (`ON CONFLICT (transfer_id) DO NOTHING`).
 */

/** the stream id a history row spooled here carries (there was no stream entry yet) */
export const SPOOL_STREAM_ID = 'degraded-spool';

export class DegradedSpoolTable {
  constructor(private readonly sql: SqlStore) {}

  /**
   * Stores the record and its history row, unless the transferId is spooled already (by another
   * node that answered the same transfer while Redis was down): then nothing is written and the
   * earlier record's text is returned, to be answered instead. Null when this one was stored.
   */
  async insert(r: DegradedRecord): Promise<string | null> {
    const row = parseStreamEntry(SPOOL_STREAM_ID, [
      'transferId', r.transferId, 'decision', r.decision, 'event', r.event, 'features', r.features, 'catalogue', r.catalogue,
    ]); // prettier-ignore
    if ('error' in row) throw new Error(`degraded decision of ${r.transferId}: ${row.error}`);
    return this.sql.transaction(async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO degraded_spool (transfer_id, spooled_at, record) VALUES ($1, $2, $3) ON CONFLICT (transfer_id) DO NOTHING RETURNING transfer_id',
        [r.transferId, new Date(r.spooledAt), JSON.stringify(r)],
      );
      if (inserted.rowCount === 0) {
        const earlier = await tx.query<{ record: string }>('SELECT record FROM degraded_spool WHERE transfer_id = $1', [r.transferId]);
        return earlier.rows[0]?.record ?? null;
      }
      await new DecisionHistory(tx).insert([row]);
      return null;
    });
  }

  /** The oldest `limit` records still to reconcile (of every node sharing this database). */
  async pending(limit: number): Promise<string[]> {
    const res = await this.sql.query<{ record: string }>('SELECT record FROM degraded_spool ORDER BY spooled_at, transfer_id LIMIT $1', [limit]);
    return res.rows.map((r) => r.record);
  }

  async delete(transferIds: readonly string[]): Promise<void> {
    if (transferIds.length === 0) return;
    await this.sql.query('DELETE FROM degraded_spool WHERE transfer_id = ANY($1::text[])', [arrayLiteral(transferIds)]);
  }
}
