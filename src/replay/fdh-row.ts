import type { TransferEvent } from '../features/transfer-event.ts';
import type { ReplayRow } from './replay-row.ts';

/**
 * The Fraud Detection Handbook's simulated transactions (../shared/data/README.md) as transfer
 * events: CUSTOMER_ID → payer `c-<id>`, TERMINAL_ID → payee `t-<id>`, TX_AMOUNT → amount in EUR,
 * TX_DATETIME (no zone in the file; the handbook's clock is UTC) → occurredAt.
 */

export const FDH_COLUMNS = [
  'TRANSACTION_ID',
  'TX_DATETIME',
  'CUSTOMER_ID',
  'TERMINAL_ID',
  'TX_AMOUNT',
  'TX_TIME_SECONDS',
  'TX_TIME_DAYS',
  'TX_FRAUD',
  'TX_FRAUD_SCENARIO',
] as const;

export interface FdhRow {
  readonly transactionId: string;
  /** ISO 8601 with Z */
  readonly occurredAt: string;
  readonly occurredAtMs: number;
  readonly customerId: string;
  readonly terminalId: string;
  readonly amount: number;
  readonly fraud: boolean;
  /** 0 = legitimate, 1..3 = the handbook's fraud scenarios */
  readonly scenario: number;
}

const INT = /^\d{1,12}$/;
const DATETIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;
const DECIMAL = /^\d{1,12}(\.\d+)?$/;

/** Throws unless `line` is the handbook's header, naming what differs. */
export function checkFdhHeader(line: string): void {
  const got = line.trim().split(',');
  if (got.length !== FDH_COLUMNS.length || got.some((c, i) => c !== FDH_COLUMNS[i])) {
    throw new Error(`not a Fraud Detection Handbook file: expected the header ${FDH_COLUMNS.join(',')}, got ${line.slice(0, 200)}`);
  }
}

/** One data line; throws an error naming the line and every malformed column. */
export function parseFdhRow(line: string, lineNo: number): FdhRow {
  const f = line.trim().split(',');
  if (f.length !== FDH_COLUMNS.length) {
    throw new Error(`line ${lineNo}: expected ${FDH_COLUMNS.length} columns, got ${f.length}: ${line.slice(0, 200)}`);
  }
  const [id, dt, customer, terminal, amount, , , fraud, scenario] = f as [string, string, string, string, string, string, string, string, string];
  const problems: string[] = [];
  if (!INT.test(id)) problems.push(`TRANSACTION_ID must be a non-negative integer, got "${id}"`);
  const m = DATETIME.exec(dt);
  const occurredAt = m === null ? '' : `${m[1]}T${m[2]}Z`;
  const occurredAtMs = m === null ? Number.NaN : Date.parse(occurredAt);
  if (Number.isNaN(occurredAtMs)) problems.push(`TX_DATETIME must be YYYY-MM-DD HH:MM:SS, got "${dt}"`);
  if (!INT.test(customer)) problems.push(`CUSTOMER_ID must be a non-negative integer, got "${customer}"`);
  if (!INT.test(terminal)) problems.push(`TERMINAL_ID must be a non-negative integer, got "${terminal}"`);
  if (!DECIMAL.test(amount)) problems.push(`TX_AMOUNT must be a non-negative decimal number, got "${amount}"`);
  if (fraud !== '0' && fraud !== '1') problems.push(`TX_FRAUD must be 0 or 1, got "${fraud}"`);
  if (!/^[0-3]$/.test(scenario)) problems.push(`TX_FRAUD_SCENARIO must be 0, 1, 2 or 3, got "${scenario}"`);
  else if ((scenario === '0') !== (fraud === '0')) problems.push(`TX_FRAUD_SCENARIO ${scenario} contradicts TX_FRAUD ${fraud}`);
  if (problems.length > 0) throw new Error(`line ${lineNo}: ${problems.join('; ')}`);
  return {
    transactionId: id,
    occurredAt,
    occurredAtMs,
    customerId: customer,
    terminalId: terminal,
    amount: Number(amount),
    fraud: fraud === '1',
    scenario: Number(scenario),
  };
}

const DAY_MS = 86_400_000;

/**
 * The row as the engine sees it. A fraud row's label reaches the case library only as a scam
 * report naming its payee (the terminal), `labelDelayDays` after the transaction — the
 * handbook's feedback delay, under which the terminal's report count plays its "terminal risk".
 */
export function fdhReplayRow(r: FdhRow, labelDelayDays: number): ReplayRow {
  const event: TransferEvent = {
    transferId: `fdh-${r.transactionId}`,
    occurredAt: r.occurredAt,
    amount: r.amount,
    currency: 'EUR',
    payer: { accountId: `c-${r.customerId}` },
    payee: { accountId: `t-${r.terminalId}` },
  };
  const caseId = `fdh-${r.transactionId}`;
  return {
    event,
    fraud: r.fraud,
    report: r.fraud ? { caseId, reporter: `bank:${caseId}`, atMs: r.occurredAtMs + labelDelayDays * DAY_MS } : null,
    scenario: String(r.scenario),
  };
}
