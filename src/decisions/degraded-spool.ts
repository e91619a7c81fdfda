import type { StoredDecision } from '../scoring/decision.ts';
import { parseDegradedRecord, type DegradedRecord } from './degraded-record.ts';
import type { SpoolFile } from '../store/spool-file.ts';
import type { DegradedSpoolTable, EarlierDecision } from './degraded-spool-table.ts';
import { withDeadline } from '../deadline.ts';
import { BoundedCache } from '../bounded-cache.ts';
import { CalmpayError } from '../errors.ts';

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
 * of its transfer from memory (`replay`, one Map lookup per score, no SQL query). That memory
 * is bounded (`maxRemembered`, oldest dropped first), so a long outage cannot grow it without
 * end: a replay of a dropped answer misses it, is decided again, and `record()` then finds the
 * first decision in the SQL table and answers that one instead (the same look-up that finds a
 * transfer another node answered). Answers that only reached the local file (the SQL store
 * failed too) are never dropped: the file has no index to find them in; the reconciler empties
 * them once Redis is back.
 */

/** how many degraded answers a node keeps in memory for replays (issue 19: bounded) */
export const MAX_REMEMBERED_ANSWERS = 50_000;

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
  /** answers kept in memory for replays, beyond those only in the file; default MAX_REMEMBERED_ANSWERS */
  readonly maxRemembered?: number;
}

export interface PendingRecords {
  readonly records: readonly DegradedRecord[];
  /** whether the SQL store returned as many as asked (more may be waiting) */
  readonly sqlFull: boolean;
  /** the transfer ids of `records` that came from the local file (none of them is in SQL) */
  readonly fromFile: ReadonlySet<string>;
}

interface Persisted {
  readonly earlier: EarlierDecision | null;
  readonly where: 'sql' | 'file';
}

export class DegradedSpool {
  private readonly deps: DegradedSpoolDeps;
  /** answers recorded in SQL: the oldest are dropped beyond maxRemembered (SQL has them) */
  private readonly answers: BoundedCache<string, SpooledAnswer>;
  /** answers recorded only in the local file: kept until reconciled (nothing else can find them) */
  private readonly fileOnly = new Map<string, SpooledAnswer>();
  /** whether an answer was ever dropped from memory: then a miss may still be in SQL */
  private dropped = false;

  constructor(deps: DegradedSpoolDeps) {
    this.deps = deps;
    this.answers = new BoundedCache(deps.maxRemembered ?? MAX_REMEMBERED_ANSWERS);
  }

  /** Degraded decisions this node remembers that are not yet in Redis. */
  get size(): number {
    return this.answers.size + this.fileOnly.size;
  }

  /** This node's answer to a transfer it decided in degraded mode and has not reconciled yet, when it still remembers it. */
  replay(transferId: string): SpooledAnswer | undefined {
    return this.answers.get(transferId) ?? this.fileOnly.get(transferId);
  }

  /**
   * Whether the transfer was answered in degraded mode and is not reconciled yet: remembered
   * here, or (once this node has dropped answers from memory) spooled in the SQL table. A SQL
   * store that fails or misses the deadline is a 503: the transfer may well have been answered.
   */
  async isPending(transferId: string): Promise<boolean> {
    if (this.replay(transferId) !== undefined) return true;
    if (!this.dropped) return false;
    try {
      return await withDeadline(this.deps.table.has(transferId), this.deps.sqlDeadlineMs);
    } catch (err) {
      throw new CalmpayError('CALMPAY_ERR_SQL_UNAVAILABLE', `looking up the degraded decision of ${transferId} failed: ${(err as Error).message}`);
    }
  }

  private remembered(transferId: string, answer: SpooledAnswer): void {
    if (this.answers.wouldDrop(transferId)) this.dropped = true;
    this.answers.set(transferId, answer);
  }

  private forgetAnswer(transferId: string, answer?: SpooledAnswer): void {
    if (answer === undefined || this.answers.get(transferId) === answer) this.answers.delete(transferId);
    if (answer === undefined || this.fileOnly.get(transferId) === answer) this.fileOnly.delete(transferId);
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
    this.remembered(r.transferId, answer);
    let outcome: Persisted;
    try {
      outcome = await persisted;
    } catch (err) {
      this.forgetAnswer(r.transferId, answer);
      throw err;
    }
    const { earlier, where } = outcome;
    if (where === 'file') {
      // only the file has it: keep it out of the bounded memory, which may drop it
      this.forgetAnswer(r.transferId, answer);
      this.fileOnly.set(r.transferId, answer);
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

  /** Where the record went, with the transfer's earlier decision when the SQL store already had one. */
  private async persist(r: DegradedRecord): Promise<Persisted> {
    try {
      return { earlier: await withDeadline(this.deps.table.insert(r), this.deps.sqlDeadlineMs), where: 'sql' };
    } catch (err) {
      this.deps.log.warn({ err, transferId: r.transferId }, `recording a degraded decision in SQL failed; spooling it to ${this.deps.file.location}`);
    }
    await this.deps.file.append(JSON.stringify(r));
    return { earlier: null, where: 'file' };
  }

  /**
   * The records waiting for Redis: the oldest `limit` of the SQL table (every node's) and all of
   * this node's file. A SQL store that fails leaves its records for a later pass (logged).
   */
  async pending(limit: number): Promise<PendingRecords> {
    const byId = new Map<string, DegradedRecord>();
    const fromFile = new Set<string>();
    let sqlFull = false;
    const add = (text: string, where: string): void => {
      const r = parseDegradedRecord(text);
      if (r === null) this.deps.log.error({ where }, 'a spooled degraded decision is malformed; left in place');
      else if (!byId.has(r.transferId)) {
        byId.set(r.transferId, r);
        if (where !== 'sql') fromFile.add(r.transferId);
      }
    };
    try {
      const rows = await withDeadline(this.deps.table.pending(limit), SQL_READ_DEADLINE_MS);
      sqlFull = rows.length === limit;
      for (const text of rows) add(text, 'sql');
    } catch (err) {
      this.deps.log.warn({ err }, 'reading the degraded decisions spooled in SQL failed; retrying later');
    }
    for (const text of await this.deps.file.read()) add(text, this.deps.file.location);
    return { records: [...byId.values()], sqlFull, fromFile };
  }

  /**
   * Remembers records found in the stores (spooled before a restart, or by another node) so that
   * replays reaching this node before their reconciliation get them too.
   */
  remember(records: readonly DegradedRecord[], fromFile: ReadonlySet<string> = new Set()): void {
    for (const r of records) {
      if (this.replay(r.transferId) !== undefined) continue;
      if (fromFile.has(r.transferId)) this.fileOnly.set(r.transferId, answerOf(r));
      else this.remembered(r.transferId, answerOf(r));
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
    for (const id of transferIds) this.forgetAnswer(id);
  }
}

function answerOf(r: DegradedRecord): SpooledAnswer {
  return { eventHash: r.eventHash, decision: JSON.parse(r.decision) as StoredDecision, durable: Promise.resolve() };
}
