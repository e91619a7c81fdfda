import type { FieldProblem } from '../errors.ts';
import type { ScamType } from '../scoring/scam-types.ts';
import { transferParties } from '../decisions/decision-history.ts';
import { sqlState, type SqlExecutor, type SqlParam, type SqlStore } from '../store/sql/sql-store.ts';
import type { Case, CaseListQuery, ReporterType } from './case-schema.ts';

/**
 * The case library's SQL: the same statements on Postgres and PGlite. Times are written as JS
 * Dates (millisecond precision), so a cursor made from a returned time finds the row again.
 */

export interface NewCase {
  readonly caseId: string;
  readonly reporterType: ReporterType;
  readonly reporterId: string;
  readonly payerId: string;
  readonly payeeId: string;
  readonly payeeName: string | null;
  readonly transferIds: readonly string[];
  readonly amountLost: number;
  readonly currency: string;
  readonly scamType: ScamType;
  readonly channel: string | null;
  readonly narrative: string | null;
  readonly scamAtMs: number;
  readonly reportedAtMs: number;
  readonly receivedAtMs: number;
  /**
   * Whether a transfer absent from the decision history may be reported (see
   * CaseService.report: only when the scam is older than the history keeps decisions).
   */
  readonly acceptUnknownTransfers: boolean;
}

export type InsertOutcome =
  | { readonly kind: 'created'; readonly case: Case }
  /** every transfer is already in this case, reported for the same payee: nothing new */
  | { readonly kind: 'duplicate'; readonly case: Case }
  /** some transfers are already in other cases (or the same transfers under another payee) */
  | { readonly kind: 'conflict'; readonly problems: readonly FieldProblem[] }
  /**
   * the decision history contradicts the report: some transfers were paid by another payer or
   * to another payee (`mismatch`), or are not in it (`unknown`, only when those are refused)
   */
  | { readonly kind: 'unproven'; readonly mismatch: readonly FieldProblem[]; readonly unknown: readonly FieldProblem[] };

interface CaseRow {
  case_id: string;
  reporter_type: ReporterType;
  reporter_key: string;
  payer_id: string;
  payee_id: string;
  payee_name: string | null;
  transfer_ids: string[];
  amount_lost: number;
  currency: string;
  scam_type: ScamType;
  channel: string | null;
  narrative: string | null;
  scam_at: Date;
  reported_at: Date;
  received_at: Date;
  flags_applied: boolean;
}

const COLUMNS = `case_id, reporter_type, reporter_key, payer_id, payee_id, payee_name, transfer_ids,
  amount_lost::float8 AS amount_lost, currency, scam_type, channel, narrative, scam_at, reported_at,
  received_at, flags_applied`;

export function reporterKey(type: ReporterType, id: string): string {
  return `${type}:${id}`;
}

function toCase(r: CaseRow): Case {
  return {
    caseId: r.case_id,
    reporter: { type: r.reporter_type, id: r.reporter_key.slice(r.reporter_type.length + 1) },
    payer: { accountId: r.payer_id },
    payee: { accountId: r.payee_id, name: r.payee_name },
    transferIds: r.transfer_ids,
    amountLost: r.amount_lost,
    currency: r.currency,
    scamType: r.scam_type,
    channel: r.channel,
    narrative: r.narrative,
    scamAt: r.scam_at.toISOString(),
    reportedAt: r.reported_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
    flagsApplied: r.flags_applied,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

async function caseById(db: SqlExecutor, caseId: string): Promise<Case | null> {
  const { rows } = await db.query<CaseRow>(`SELECT ${COLUMNS} FROM cases WHERE case_id = $1`, [caseId]);
  return rows[0] === undefined ? null : toCase(rows[0]);
}

export class CaseRepository {
  constructor(private readonly sql: SqlStore) {}

  /**
   * Inserts a case unless its transfers were reported before. A transfer belongs to at most one
   * case (primary key of case_transfers), so two identical reports racing each other end as one
   * case and one duplicate: the loser's insert fails on the key and it classifies again.
   */
  async insert(c: NewCase): Promise<InsertOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sql.transaction((tx) => this.insertIn(tx, c));
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 2) throw err;
      }
    }
  }

  private async insertIn(tx: SqlExecutor, c: NewCase): Promise<InsertOutcome> {
    const { rows: known } = await tx.query<{ transfer_id: string; case_id: string; payee_id: string }>(
      `SELECT ct.transfer_id, ct.case_id, c.payee_id FROM case_transfers ct JOIN cases c USING (case_id)
        WHERE ct.transfer_id = ANY($1::text[])`,
      [c.transferIds],
    );
    if (known.length > 0) return this.classifyKnown(tx, c, known);
    const unproven = await this.checkHistory(tx, c);
    if (unproven !== null) return unproven;
    await tx.query(
      `INSERT INTO cases (case_id, reporter_type, reporter_key, payer_id, payee_id, payee_name, transfer_ids,
         amount_lost, currency, scam_type, channel, narrative, scam_at, reported_at, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        c.caseId,
        c.reporterType,
        reporterKey(c.reporterType, c.reporterId),
        c.payerId,
        c.payeeId,
        c.payeeName,
        c.transferIds,
        c.amountLost,
        c.currency,
        c.scamType,
        c.channel,
        c.narrative,
        new Date(c.scamAtMs),
        new Date(c.reportedAtMs),
        new Date(c.receivedAtMs),
      ],
    );
    await tx.query(`INSERT INTO case_transfers (transfer_id, case_id) SELECT unnest($1::text[]), $2`, [c.transferIds, c.caseId]);
    const created = await caseById(tx, c.caseId);
    if (created === null) throw new Error(`case ${c.caseId} vanished inside its own transaction`);
    return { kind: 'created', case: created };
  }

  /**
   * Every reported transfer must be one the decision history records from this payer to this
   * payee: otherwise the training export would label someone else's payment a scam and the
   * payee's flags would count a report its transfers do not support. Read in the insert's
   * transaction, so a refused report writes nothing.
   */
  private async checkHistory(tx: SqlExecutor, c: NewCase): Promise<InsertOutcome | null> {
    const parties = await transferParties(tx, c.transferIds);
    const mismatch: FieldProblem[] = [];
    const unknown: FieldProblem[] = [];
    c.transferIds.forEach((id, i) => {
      const field = `transferIds.${i}`;
      const p = parties.get(id);
      if (p === undefined) {
        if (!c.acceptUnknownTransfers) {
          unknown.push({
            field,
            message:
              `${id} is not in the decision history: it was not scored by this engine, or was scored moments ago ` +
              'and is still being recorded (retry in a few seconds)',
          });
        }
        return;
      }
      // the history's account ids are not echoed: the reporter learns which side differs, not who
      const wrong = [p.payerId !== c.payerId && `not paid by payer ${c.payerId}`, p.payeeId !== c.payeeId && `not paid to payee ${c.payeeId}`].filter(
        (x): x is string => x !== false,
      );
      if (wrong.length > 0) mismatch.push({ field, message: `${id} was ${wrong.join(' and ')} (the decision history records another account)` });
    });
    return mismatch.length === 0 && unknown.length === 0 ? null : { kind: 'unproven', mismatch, unknown };
  }

  /** Ids of the cases naming this payee whose report flags are not yet in Redis, oldest first. */
  async unappliedOf(payeeId: string): Promise<string[]> {
    const { rows } = await this.sql.query<{ case_id: string }>(
      'SELECT case_id FROM cases WHERE payee_id = $1 AND NOT flags_applied ORDER BY received_at, case_id',
      [payeeId],
    );
    return rows.map((r) => r.case_id);
  }

  private async classifyKnown(
    tx: SqlExecutor,
    c: NewCase,
    known: readonly { transfer_id: string; case_id: string; payee_id: string }[],
  ): Promise<InsertOutcome> {
    const caseIds = new Set(known.map((k) => k.case_id));
    const sole = known[0]!;
    if (known.length === c.transferIds.length && caseIds.size === 1 && sole.payee_id === c.payeeId) {
      const existing = await caseById(tx, sole.case_id);
      if (existing !== null) return { kind: 'duplicate', case: existing };
    }
    const byTransfer = new Map(known.map((k) => [k.transfer_id, k]));
    const problems: FieldProblem[] = [];
    c.transferIds.forEach((id, i) => {
      const k = byTransfer.get(id);
      if (k === undefined) return;
      problems.push({
        field: `transferIds.${i}`,
        message:
          k.payee_id === c.payeeId
            ? `${id} is already reported in case ${k.case_id}`
            : `${id} is already reported in case ${k.case_id} against payee ${k.payee_id}`,
      });
    });
    return { kind: 'conflict', problems };
  }

  async get(caseId: string): Promise<Case | null> {
    return caseById(this.sql, caseId);
  }

  async markFlagsApplied(caseId: string): Promise<void> {
    await this.sql.query('UPDATE cases SET flags_applied = true WHERE case_id = $1', [caseId]);
  }

  /** Cases whose payee flags are not known to be in Redis, oldest first. */
  async pendingFlags(limit: number): Promise<Case[]> {
    const { rows } = await this.sql.query<CaseRow>(
      `SELECT ${COLUMNS} FROM cases WHERE NOT flags_applied ORDER BY received_at LIMIT $1`,
      [limit],
    );
    return rows.map(toCase);
  }

  /** One page, newest report first; `after` is the last item of the previous page. */
  async list(q: Omit<CaseListQuery, 'cursor'>, after: CaseCursor | null): Promise<{ items: Case[]; next: CaseCursor | null }> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const p = (v: SqlParam): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.payeeId !== undefined) where.push(`payee_id = ${p(q.payeeId)}`);
    if (q.payerId !== undefined) where.push(`payer_id = ${p(q.payerId)}`);
    if (q.scamType !== undefined) where.push(`scam_type = ${p(q.scamType)}`);
    if (q.reporterType !== undefined) where.push(`reporter_type = ${p(q.reporterType)}`);
    if (q.transferId !== undefined) where.push(`case_id IN (SELECT case_id FROM case_transfers WHERE transfer_id = ${p(q.transferId)})`);
    if (q.from !== undefined) where.push(`reported_at >= ${p(new Date(q.from))}`);
    if (q.to !== undefined) where.push(`reported_at < ${p(new Date(q.to))}`);
    if (after !== null) where.push(`(reported_at, case_id) < (${p(new Date(after.reportedAtMs))}, ${p(after.caseId)})`);
    const { rows } = await this.sql.query<CaseRow>(
      `SELECT ${COLUMNS} FROM cases ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY reported_at DESC, case_id DESC LIMIT ${p(q.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, q.limit).map(toCase);
    const last = items[items.length - 1];
    const next = rows.length > q.limit && last !== undefined ? { reportedAtMs: Date.parse(last.reportedAt), caseId: last.caseId } : null;
    return { items, next };
  }
}

export interface CaseCursor {
  readonly reportedAtMs: number;
  readonly caseId: string;
}

export function encodeCursor(c: CaseCursor): string {
  return Buffer.from(JSON.stringify([c.reportedAtMs, c.caseId])).toString('base64url');
}

/** null for anything that is not a cursor this API issued. */
export function decodeCursor(s: string): CaseCursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && typeof v[1] === 'string') {
      return { reportedAtMs: v[0] as number, caseId: v[1] };
    }
  } catch {
    // not base64url JSON
  }
  return null;
}
