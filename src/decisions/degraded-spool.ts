import type { StoredDecision } from '../scoring/decision.ts';
import { parseDegradedRecord, type DegradedRecord } from './degraded-record.ts';
import type { SpoolFile } from '../store/spool-file.ts';
import type { DegradedSpoolTable, EarlierDecision } from './degraded-spool-table.ts';
import { withDeadline } from '../deadline.ts';

/**
 * Where decisions answered while Redis is unavailable are recorded before they are answered
 * (issue 19), and this node's memory of them until they are in Redis.
 *
 * The record goes to the SQL store (the decision history's database, which is up when only
 * Redis is down): a row of `degraded_spool` plus the history row, in one transaction (see
 * DegradedSpoolTable). Shared by every node on Postgres, it survives the loss of the node that
 * wrote it, and any node reconciles it. When the SQL store fails too, or does not answer
 * within `sqlDeadlineMs`, the record is appended to a local file under DATA_DIR instead
 * (SpoolFile: fsynced before the answer); this node reconciles it when Redis returns and the
 * stream entry it then writes brings it to the history through the decision sink. When both
 * fail the score fails (503): an answer that nothing recorded is not sent.
 *
 * Replays: until the reconciler has written a decision into Redis, this node answers replays
 * of its transfer from memory (`replay`, one Map lookup per score, no SQL query).
 */

export interface SpooledAnswer {
  readonly eventHash: string;
  readonly decision: StoredDecision;
  /** resolves once the record is durable; rejects when it could not be recorded */
  readonly durable: Promise<void>;
}

type LogFn = (obj: object, msg: string) => void;

/** how long the reconciler's reads and deletes may wait for the SQL store (off the scoring path) */
const SQL_READ_DEADLINE_MS = 5_000;

export interface DegradedSpoolDeps {
  readonly table: DegradedSpoolTable;
  readonly file: SpoolFile;
  /** how long the SQL write may take before the file is used instead */
  readonly sqlDeadlineMs: number;
  readonly log: { readonly warn: LogFn; readonly error: LogFn };
}

export interface PendingRecords {
  readonly records: readonly DegradedRecord[];
  /** whether the SQL store returned as many as asked (more may be waiting) */
  readonly sqlFull: boolean;
}

export class DegradedSpool {
  private readonly deps: DegradedSpoolDeps;
  private readonly answers = new Map<string, SpooledAnswer>();

  constructor(deps: DegradedSpoolDeps) {
    this.deps = deps;
  }

  /** Degraded decisions this node remembers that are not yet in Redis. */
  get size(): number {
    return this.answers.size;
  }

  /** This node's answer to a transfer it decided in degraded mode and has not reconciled yet. */
  replay(transferId: string): SpooledAnswer | undefined {
    return this.answers.get(transferId);
  }

  /**
   * Records a degraded decision durably, and returns the answer that stands for its transfer:
   * this one, the one another node answered first for the same transferId while Redis was
   * down (found in the shared SQL table; compare its eventHash), or the one the decision history
   * has from before Redis became unavailable. Rejects when neither the SQL store nor the file
   * took it.
   */
  async record(r: DegradedRecord, decision: StoredDecision): Promise<SpooledAnswer> {
    const persisted = this.persist(r);
    const durable = persisted.then(() => undefined);
    durable.catch(() => undefined); // the failure is this call's to report; replays awaiting it see it too
    const answer: SpooledAnswer = { eventHash: r.eventHash, decision, durable };
    this.answers.set(r.transferId, answer);
    let earlier: EarlierDecision | null;
    try {
      earlier = await persisted;
    } catch (err) {
      if (this.answers.get(r.transferId) === answer) this.answers.delete(r.transferId);
      throw err;
    }
    if (earlier === null) return answer;
    const first: SpooledAnswer = { eventHash: earlier.eventHash, decision: JSON.parse(earlier.decision) as StoredDecision, durable: Promise.resolve() };
    if (this.answers.get(r.transferId) === answer) {
      // a decision already in Redis needs no reconciliation, so no memory here either
      if (earlier.inRedis) this.answers.delete(r.transferId);
      else this.answers.set(r.transferId, first);
    }
    return first;
  }

  /** Resolves with the transfer's earlier decision when the SQL store already had one. */
  private async persist(r: DegradedRecord): Promise<EarlierDecision | null> {
    try {
      return await withDeadline(this.deps.table.insert(r), this.deps.sqlDeadlineMs);
    } catch (err) {
      this.deps.log.warn({ err, transferId: r.transferId }, `recording a degraded decision in SQL failed; spooling it to ${this.deps.file.location}`);
    }
    await this.deps.file.append(JSON.stringify(r));
    return null;
  }

  /**
   * The records waiting for Redis: the oldest `limit` of the SQL table (every node's) and all of
   * this node's file. A SQL store that fails leaves its records for a later pass (logged).
   */
  async pending(limit: number): Promise<PendingRecords> {
    const byId = new Map<string, DegradedRecord>();
    let sqlFull = false;
    const add = (text: string, where: string): void => {
      const r = parseDegradedRecord(text);
      if (r === null) this.deps.log.error({ where }, 'a spooled degraded decision is malformed; left in place');
      else if (!byId.has(r.transferId)) byId.set(r.transferId, r);
    };
    try {
      const rows = await withDeadline(this.deps.table.pending(limit), SQL_READ_DEADLINE_MS);
      sqlFull = rows.length === limit;
      for (const text of rows) add(text, 'sql');
    } catch (err) {
      this.deps.log.warn({ err }, 'reading the degraded decisions spooled in SQL failed; retrying later');
    }
    for (const text of await this.deps.file.read()) add(text, this.deps.file.location);
    return { records: [...byId.values()], sqlFull };
  }

  /**
   * Remembers records found in the stores (spooled before a restart, or by another node) so that
   * replays reaching this node before their reconciliation get them too.
   */
  remember(records: readonly DegradedRecord[]): void {
    for (const r of records) {
      if (this.answers.has(r.transferId)) continue;
      this.answers.set(r.transferId, answerOf(r));
    }
  }

  /** Drops reconciled records from both stores and from memory. */
  async forget(transferIds: readonly string[]): Promise<void> {
    if (transferIds.length === 0) return;
    const ids = new Set(transferIds);
    // rows left in SQL are reconciled again later, which changes nothing (see the reconciler)
    await withDeadline(this.deps.table.delete(transferIds), SQL_READ_DEADLINE_MS).catch((err: unknown) => {
      this.deps.log.warn({ err }, 'deleting reconciled degraded decisions from SQL failed; they will be reconciled again');
    });
    await this.deps.file.remove((line) => {
      const r = parseDegradedRecord(line);
      return r !== null && ids.has(r.transferId);
    });
    for (const id of transferIds) this.answers.delete(id);
  }
}

function answerOf(r: DegradedRecord): SpooledAnswer {
  return { eventHash: r.eventHash, decision: JSON.parse(r.decision) as StoredDecision, durable: Promise.resolve() };
}
