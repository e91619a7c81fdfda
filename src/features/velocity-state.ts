/**
 * What the feature store knows about a transfer's payer, payee and device BEFORE the
 * transfer (decoded from the score-features script). Amount sums are in major units.
 */
export interface WindowTotals {
  /** per window, in catalogue WINDOWS order (1h, 24h, 7d, 30d) */
  readonly counts: readonly number[];
  readonly sums: readonly number[];
}

export interface VelocityState {
  readonly payerOut: WindowTotals;
  readonly payerLastMs: number | null;
  readonly payerDistinctPayees24h: number;
  readonly pairCount: number;
  readonly pairFirstMs: number | null;
  /** null without a deviceId */
  readonly deviceNewForPayer: boolean | null;
  readonly deviceDistinctPayers24h: number | null;
  readonly payeeIn: WindowTotals;
  readonly payeeOutSum1h: number;
  readonly payeeOutSum24h: number;
  readonly payeeDistinctPayers24h: number;
  readonly payeeNewPayers24h: number;
  readonly payeeReportCount: number;
  readonly payeeDistinctReporters: number;
  readonly payeeLastReportMs: number | null;
  /**
   * the payee's reports by age (report-age.lua); null in a claim written by a score script
   * older than these fields (a retry of such a transfer reads them as missing)
   */
  readonly payeeReportsAged: AgedReports | null;
  /** the payer's guardian limits as checked atomically with the windows; null without limits */
  readonly guardian: GuardianCheck | null;
}

/**
 * A payee's scam reports by the age of each report at the transfer's time (issue 16): only
 * reports reported at or before it count (in a replay, a report's time is when it became known).
 */
export interface AgedReports {
  /** reports of the last 1, 7 and 28 days (reported at in (t - W, t]) */
  readonly last1d: number;
  readonly last7d: number;
  readonly last28d: number;
  /** sum over the reports of 2^(-age / half-life): a report of now counts 1, one a half-life old 0.5 */
  readonly decayed: number;
}

/** The aged reports' integers in a reply: 1d, 7d, 28d, decayed count in thousandths. */
export const AGED_REPORT_INTS = 4;

/**
 * within: the transfer fits (and was added to the day's spend); per_transfer / daily: over
 * that limit; currency: the transfer's currency is not the limits' currency.
 */
export type GuardianOutcome = 'within' | 'per_transfer' | 'daily' | 'currency';

export interface GuardianCheck {
  readonly outcome: GuardianOutcome;
  /**
   * the currency of the limits (a transfer in another one is over them); null in a reply of a
   * score script older than the field
   */
  readonly currency: string | null;
  /** spent on the payer's local day before this transfer, major units */
  readonly spentToday: number;
  readonly perTransferLimit: number | null;
  readonly dailyLimit: number | null;
}

const GUARDIAN_OUTCOMES: Readonly<Record<number, GuardianOutcome>> = {
  1: 'within',
  2: 'per_transfer',
  3: 'daily',
  4: 'currency',
};

/** Amounts are kept in Redis as integers in thousandths of a major unit (exact sums). */
export const AMOUNT_SCALE = 1000;

export function toStoredAmount(amount: number): number {
  return Math.round(amount * AMOUNT_SCALE);
}

export function fromStoredAmount(stored: number): number {
  return stored / AMOUNT_SCALE;
}

/**
 * Decodes what follows the status of the score-features script's reply: 33 integers, then the
 * guardian limits' currency, then the 4 integers of the aged reports (each group absent from
 * the reply of a script older than it, as kept in older claims).
 */
export function decodeVelocityReply(r: readonly (number | string)[]): VelocityState {
  const at = (i: number): number => {
    const v = r[i];
    if (typeof v !== 'number') throw new Error(`score-features reply too short at ${i}`);
    return v;
  };
  const opt = (i: number): number | null => (at(i) < 0 ? null : at(i));
  const windows = (from: number): WindowTotals => ({
    counts: [at(from), at(from + 2), at(from + 4), at(from + 6)],
    sums: [at(from + 1), at(from + 3), at(from + 5), at(from + 7)].map(fromStoredAmount),
  });
  const deviceNew = at(12);
  const guardianCode = at(29);
  const guardianOutcome = GUARDIAN_OUTCOMES[guardianCode];
  if (guardianCode !== 0 && guardianOutcome === undefined) throw new Error(`score-features: unknown guardian outcome ${guardianCode}`);
  const limit = (i: number): number | null => (at(i) < 0 ? null : fromStoredAmount(at(i)));
  const limitsCurrency = r[33];
  const aged = r.length >= VELOCITY_REPLY_LENGTH + 1 + AGED_REPORT_INTS ? agedReports(at(34), at(35), at(36), at(37)) : null;
  return {
    payerOut: windows(0),
    payerLastMs: opt(8),
    payerDistinctPayees24h: at(9),
    pairCount: at(10),
    pairFirstMs: opt(11),
    deviceNewForPayer: deviceNew < 0 ? null : deviceNew === 1,
    deviceDistinctPayers24h: opt(13),
    payeeIn: windows(14),
    payeeOutSum1h: fromStoredAmount(at(22)),
    payeeOutSum24h: fromStoredAmount(at(23)),
    payeeDistinctPayers24h: at(24),
    payeeNewPayers24h: at(25),
    payeeReportCount: at(26),
    payeeDistinctReporters: at(27),
    payeeLastReportMs: opt(28),
    payeeReportsAged: aged,
    guardian:
      guardianOutcome === undefined
        ? null
        : {
            outcome: guardianOutcome,
            currency: typeof limitsCurrency === 'string' && limitsCurrency !== '' ? limitsCurrency : null,
            spentToday: fromStoredAmount(at(30)),
            perTransferLimit: limit(31),
            dailyLimit: limit(32),
          },
  };
}

export const VELOCITY_REPLY_LENGTH = 33;

function agedReports(last1d: number, last7d: number, last28d: number, decayedThousandths: number): AgedReports {
  return { last1d, last7d, last28d, decayed: decayedThousandths / 1000 };
}
