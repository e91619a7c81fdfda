import type { TransferEvent } from '../features/transfer-event.ts';
import type { ReplayRow } from './replay-row.ts';

/**
 * PaySim's simulated mobile-money log (Lopez-Rojas, Elmir, Axelsson, "PaySim: a financial
 * mobile money simulator for fraud detection", EMSS 2016) as transfer events (issue 16).
 *
 * - `step` is an hour: step 1 is the first hour of `startMs` (a UTC day, `--paysim-start`), step s
 *   occurs at startMs + (s − 1) h. PaySim gives no time within the hour, so every row of a step
 *   has the same occurredAt and the file's order decides within the step.
 * - `TRANSFER` and `CASH_OUT` are transfers between accounts: payer nameOrig, payee nameDest; they
 *   are trained on, scored and decided. A fraud TRANSFER (the taken-over account emptied to a
 *   mule) reaches the case library as a scam report naming its payee `labelDelayDays` later; a
 *   fraud CASH_OUT (the mule cashing out at an agent) is fraud for training and the metrics but
 *   nobody's report (its payee is the cash-out agent, not the scammer), as the simulator's mule
 *   onward transfers.
 * - `PAYMENT`, `DEBIT` and `CASH_IN` are context: they go through the feature code, so they feed
 *   the accounts' velocity history, but are neither trained on nor scored nor decided. PAYMENT
 *   (customer → merchant) and DEBIT (customer → bank) are money the payer sends: payer nameOrig,
 *   payee nameDest. CASH_IN is money coming into nameOrig from the agent nameDest: it is fed the
 *   way the money goes, payer nameDest → payee nameOrig, so it counts as the customer's incoming
 *   money (payee.in_*, pass-through), never as its spending.
 * - Accounts keep PaySim's names as account ids (`C…` customers, `M…` merchants).
 * - Amounts carry no currency in PaySim: they are taken as given, in major units, and labelled
 *   with `currency` (an assumption of the caller; no conversion is made).
 * - The four balance columns are checked (non-negative decimals) and otherwise ignored: the
 *   engine has no balance features (docs/features.md), and PaySim's balances are known to be
 *   inconsistent with its amounts, which would leak the label into any feature built on them.
 * - `isFraud` is the label. `isFlaggedFraud` is PaySim's own rule (a TRANSFER above 200,000);
 *   the replay reports its precision and recall next to calmpay's, never uses it as a feature.
 */

export const PAYSIM_COLUMNS = [
  'step',
  'type',
  'amount',
  'nameOrig',
  'oldbalanceOrg',
  'newbalanceOrig',
  'nameDest',
  'oldbalanceDest',
  'newbalanceDest',
  'isFraud',
  'isFlaggedFraud',
] as const;

export const PAYSIM_TYPES = ['CASH_IN', 'CASH_OUT', 'DEBIT', 'PAYMENT', 'TRANSFER'] as const;
export type PaySimType = (typeof PAYSIM_TYPES)[number];

/** The types that are transfers between accounts (scored and evaluated); the others are context. */
export const PAYSIM_TRANSFER_TYPES: ReadonlySet<PaySimType> = new Set<PaySimType>(['TRANSFER', 'CASH_OUT']);

export interface PaySimRow {
  /** the line of the file (1 = the header) */
  readonly lineNo: number;
  readonly step: number;
  readonly type: PaySimType;
  readonly amount: number;
  readonly nameOrig: string;
  readonly nameDest: string;
  readonly fraud: boolean;
  readonly flaggedFraud: boolean;
}

const STEP = /^\d{1,7}$/;
const DECIMAL = /^\d{1,13}(\.\d+)?$/;
const CUSTOMER = /^C\d{1,20}$/;
const ACCOUNT = /^[CM]\d{1,20}$/;
const TYPES: ReadonlySet<string> = new Set(PAYSIM_TYPES);
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** the schema's bound on an event's amount */
const MAX_AMOUNT = 1e12;

/** Throws unless `line` is PaySim's header, naming what differs. */
export function checkPaySimHeader(line: string): void {
  const got = line.replace(/^\uFEFF/, '').trim().split(',');
  if (got.length === PAYSIM_COLUMNS.length && got.every((c, i) => c === PAYSIM_COLUMNS[i])) return;
  const at = PAYSIM_COLUMNS.findIndex((c, i) => got[i] !== c);
  const where = at === -1
    ? `${got.length} columns instead of ${PAYSIM_COLUMNS.length}`
    : `column ${at + 1} is "${got[at] ?? ''}", expected "${PAYSIM_COLUMNS[at]}"`;
  throw new Error(`line 1: not a PaySim file (${where}): expected the header ${PAYSIM_COLUMNS.join(',')}, got ${line.slice(0, 200)}`);
}

/** `name (column k)` of a PaySim column, as errors name it. */
function col(name: (typeof PAYSIM_COLUMNS)[number]): string {
  return `${name} (column ${PAYSIM_COLUMNS.indexOf(name) + 1})`;
}

/** One data line; throws an error naming the line and every malformed column. */
export function parsePaySimRow(line: string, lineNo: number): PaySimRow {
  const f = line.trim().split(',');
  if (f.length !== PAYSIM_COLUMNS.length) {
    throw new Error(`line ${lineNo}: expected ${PAYSIM_COLUMNS.length} columns, got ${f.length}: ${line.slice(0, 200)}`);
  }
  const [step, type, amount, nameOrig, oldOrig, newOrig, nameDest, oldDest, newDest, isFraud, isFlagged] = f as [
    string, string, string, string, string, string, string, string, string, string, string,
  ];
  const problems: string[] = [];
  if (!STEP.test(step) || Number(step) < 1) problems.push(`${col('step')} must be a positive integer (hours from 1), got "${step}"`);
  if (!TYPES.has(type)) problems.push(`${col('type')} must be one of ${PAYSIM_TYPES.join(', ')}, got "${type}"`);
  if (!DECIMAL.test(amount)) problems.push(`${col('amount')} must be a non-negative decimal number, got "${amount}"`);
  else if (Number(amount) > MAX_AMOUNT) problems.push(`${col('amount')} must be at most 1e12, got "${amount}"`);
  if (!CUSTOMER.test(nameOrig)) problems.push(`${col('nameOrig')} must be a customer id, C and digits, got "${nameOrig}"`);
  if (!ACCOUNT.test(nameDest)) problems.push(`${col('nameDest')} must be C or M and digits, got "${nameDest}"`);
  else if (nameDest === nameOrig) problems.push(`${col('nameDest')} must differ from nameOrig, both are "${nameDest}"`);
  for (const [name, v] of [['oldbalanceOrg', oldOrig], ['newbalanceOrig', newOrig], ['oldbalanceDest', oldDest], ['newbalanceDest', newDest]] as const) {
    if (!DECIMAL.test(v)) problems.push(`${col(name)} must be a non-negative decimal number, got "${v}"`);
  }
  if (isFraud !== '0' && isFraud !== '1') problems.push(`${col('isFraud')} must be 0 or 1, got "${isFraud}"`);
  if (isFlagged !== '0' && isFlagged !== '1') problems.push(`${col('isFlaggedFraud')} must be 0 or 1, got "${isFlagged}"`);
  if (problems.length > 0) throw new Error(`line ${lineNo}: ${problems.join('; ')}`);
  return {
    lineNo,
    step: Number(step),
    type: type as PaySimType,
    amount: Number(amount),
    nameOrig,
    nameDest,
    fraud: isFraud === '1',
    flaggedFraud: isFlagged === '1',
  };
}

/** When step `step` occurs: the start of its hour, counted from `startMs` (step 1). */
export function paysimStepMs(step: number, startMs: number): number {
  return startMs + (step - 1) * HOUR_MS;
}

export interface PaySimMapping {
  /** UTC midnight of the day of step 1 */
  readonly startMs: number;
  /** ISO 4217 code the amounts are labelled with (PaySim has none) */
  readonly currency: string;
  readonly labelDelayDays: number;
}

/**
 * The row as the engine sees it: a scored transfer (TRANSFER, CASH_OUT) or a context row
 * (PAYMENT, DEBIT, CASH_IN) that only feeds the history. Fraud rows' scenario is their type.
 */
export function paysimReplayRow(r: PaySimRow, m: PaySimMapping): ReplayRow {
  const atMs = paysimStepMs(r.step, m.startMs);
  const id = `ps-${r.lineNo}`;
  const incoming = r.type === 'CASH_IN';
  const event: TransferEvent = {
    transferId: id,
    occurredAt: new Date(atMs).toISOString(),
    amount: r.amount,
    currency: m.currency,
    payer: { accountId: incoming ? r.nameDest : r.nameOrig },
    payee: { accountId: incoming ? r.nameOrig : r.nameDest },
  };
  if (!PAYSIM_TRANSFER_TYPES.has(r.type)) return { event, fraud: false, report: null, scenario: '0', context: true };
  const reported = r.fraud && r.type === 'TRANSFER';
  return {
    event,
    fraud: r.fraud,
    report: reported ? { caseId: id, reporter: `victim:${id}`, atMs: atMs + m.labelDelayDays * DAY_MS } : null,
    scenario: r.fraud ? r.type : '0',
  };
}

/** Scored transfers of one UTC day, with PaySim's own flag (isFlaggedFraud) on them. */
export interface FlagDay {
  transfers: number;
  frauds: number;
  flagged: number;
  flaggedFrauds: number;
}

/** What a PaySim file held, by type, and the flag's counts per day (UTC day index → counts). */
export interface PaySimStats {
  readonly byType: Record<PaySimType, { rows: number; frauds: number; flagged: number }>;
  /** context rows labelled isFraud = 1: not evaluated (PaySim itself labels only TRANSFER and CASH_OUT) */
  contextFrauds: number;
  readonly flagDays: Map<number, FlagDay>;
}

export function emptyPaySimStats(): PaySimStats {
  const byType = Object.fromEntries(PAYSIM_TYPES.map((t) => [t, { rows: 0, frauds: 0, flagged: 0 }])) as PaySimStats['byType'];
  return { byType, contextFrauds: 0, flagDays: new Map() };
}

/** Counts a row that was replayed (inside the window, amount > 0). */
export function countPaySimRow(s: PaySimStats, r: PaySimRow, atMs: number): void {
  const t = s.byType[r.type];
  t.rows += 1;
  if (r.fraud) t.frauds += 1;
  if (r.flaggedFraud) t.flagged += 1;
  if (!PAYSIM_TRANSFER_TYPES.has(r.type)) {
    if (r.fraud) s.contextFrauds += 1;
    return;
  }
  const d = Math.floor(atMs / DAY_MS);
  let day = s.flagDays.get(d);
  if (day === undefined) s.flagDays.set(d, (day = { transfers: 0, frauds: 0, flagged: 0, flaggedFrauds: 0 }));
  day.transfers += 1;
  if (r.fraud) day.frauds += 1;
  if (r.flaggedFraud) day.flagged += 1;
  if (r.fraud && r.flaggedFraud) day.flaggedFrauds += 1;
}
