import { DecisionHistory, type DecisionRow } from '../../src/decisions/decision-history.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';

/**
 * Decisions written straight into the decision history, for tests of what reads it (a scam report
 * must name transfers the history records from its payer to its payee). Only who paid whom and
 * when matter to those; the rest is a plausible allow.
 */
export interface PaidTransfer {
  readonly transferId: string;
  readonly payerId: string;
  readonly payeeId: string;
  /** default 2026-11-20T10:00:00Z */
  readonly occurredAt?: string;
}

export function decisionRow(t: PaidTransfer): DecisionRow {
  const at = Date.parse(t.occurredAt ?? '2026-11-20T10:00:00Z');
  return {
    transferId: t.transferId,
    streamId: '0-1',
    occurredAtMs: at,
    decidedAtMs: at,
    payerId: t.payerId,
    payeeId: t.payeeId,
    amount: 100,
    currency: 'CNY',
    action: 'allow',
    riskScore: 0,
    modelScore: null,
    scamType: null,
    segment: 'adult',
    rulesVersion: 'test',
    modelVersion: null,
    catalogue: 'test',
    hitRules: [],
    shadowRules: [],
    decisionJson: JSON.stringify({ transferId: t.transferId, action: 'allow' }),
    features: [],
  };
}

/** Records the transfers as paid (a transfer already recorded keeps its first row). */
export async function recordPaid(sql: SqlStore, transfers: readonly PaidTransfer[]): Promise<void> {
  await new DecisionHistory(sql).insert(transfers.map(decisionRow));
}

/** Each of `transferIds` paid by `payerId` to `payeeId`. */
export function paid(payerId: string, payeeId: string, transferIds: readonly string[], occurredAt?: string): PaidTransfer[] {
  return transferIds.map((transferId) => ({ transferId, payerId, payeeId, ...(occurredAt !== undefined && { occurredAt }) }));
}
