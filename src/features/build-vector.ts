import { FEATURE_COUNT, WINDOWS, idx, type AgeBand, type FeatureValue } from './catalogue.ts';
import { hourInZone } from './time-zones.ts';
import type { TransferEvent } from './transfer-event.ts';
import type { VelocityState } from './velocity-state.ts';
import { reportWeight } from './report-age.ts';

/**
 * Pure: the feature vector of a transfer from the event and the velocity state before it.
 * Shared by scoring and by every replay (training, backtests), so a model learns on exactly
 * what it sees at scoring time.
 */

const DAY_MS = 86_400_000;

/** Age bands of DESIGN §1 / issue 6; the default is minor < 18, elderly >= 60 (configurable). */
export interface AgeBandBounds {
  readonly minorBelow: number;
  readonly elderlyFrom: number;
}
export const DEFAULT_AGE_BANDS: AgeBandBounds = Object.freeze({ minorBelow: 18, elderlyFrom: 60 });

export function ageBand(age: number | null, bands: AgeBandBounds = DEFAULT_AGE_BANDS): AgeBand | null {
  if (age === null) return null;
  if (age < bands.minorBelow) return 'minor';
  if (age >= bands.elderlyFrom) return 'elderly';
  return 'adult';
}

function daysBetween(fromIso: string | undefined, toMs: number): number | null {
  if (fromIso === undefined) return null;
  return Math.max(0, (toMs - Date.parse(fromIso)) / DAY_MS);
}

const I = {
  amount: idx('amount'),
  currency: idx('currency'),
  channel: idx('channel'),
  hour: idx('hour_of_day'),
  payerAge: idx('payer.age'),
  payerBand: idx('payer.age_band'),
  payerAccountAge: idx('payer.account_age_days'),
  payeeAccountAge: idx('payee.account_age_days'),
  newDevice: idx('context.new_device'),
  onCall: idx('context.on_call'),
  remote: idx('context.remote_access'),
  pasted: idx('context.payee_pasted'),
  payerOut: WINDOWS.map((w) => [idx(`payer.out_count_${w.suffix}`), idx(`payer.out_sum_${w.suffix}`)] as const),
  payerAvg: idx('payer.avg_amount_30d'),
  payerRatio: idx('payer.amount_to_avg_30d'),
  payerSinceLast: idx('payer.seconds_since_last'),
  payerPayees: idx('payer.distinct_payees_24h'),
  firstSeen: idx('payee.first_seen'),
  paidBefore: idx('payee.paid_before_count'),
  daysSinceFirst: idx('payee.days_since_first_paid'),
  payeeIn: WINDOWS.map((w) => [idx(`payee.in_count_${w.suffix}`), idx(`payee.in_sum_${w.suffix}`)] as const),
  payeeOut1h: idx('payee.out_sum_1h'),
  payeeOut24h: idx('payee.out_sum_24h'),
  passThrough: idx('payee.pass_through_24h'),
  payeePayers: idx('payee.distinct_payers_24h'),
  payeeNewPayers: idx('payee.new_payers_24h'),
  deviceNew: idx('device.new_for_payer'),
  devicePayers: idx('device.distinct_payers_24h'),
  reports: idx('payee.report_count'),
  reporters: idx('payee.distinct_reporters'),
  sinceReport: idx('payee.hours_since_last_report'),
  reports1d: idx('payee.reports_1d'),
  reports7d: idx('payee.reports_7d'),
  reports28d: idx('payee.reports_28d'),
  reportsDecayed: idx('payee.reports_decayed'),
  reportWeight: idx('payee.report_weight'),
} as const;

/** Features that come from the event alone. */
export function eventFeatures(e: TransferEvent, tMs: number, v: FeatureValue[], bands: AgeBandBounds = DEFAULT_AGE_BANDS): void {
  v[I.amount] = e.amount;
  v[I.currency] = e.currency;
  v[I.channel] = e.channel ?? null;
  v[I.hour] = e.payer.timeZone === undefined ? null : hourInZone(tMs, e.payer.timeZone);
  const age = e.payer.birthYear === undefined ? null : new Date(tMs).getUTCFullYear() - e.payer.birthYear;
  v[I.payerAge] = age;
  v[I.payerBand] = ageBand(age, bands);
  v[I.payerAccountAge] = daysBetween(e.payer.accountCreatedAt, tMs);
  v[I.payeeAccountAge] = daysBetween(e.payee.accountCreatedAt, tMs);
  const c = e.context;
  v[I.newDevice] = c?.newDevice ?? null;
  v[I.onCall] = c?.onCall ?? null;
  v[I.remote] = c?.remoteAccess ?? null;
  v[I.pasted] = c?.payeePasted ?? null;
}

/**
 * The vector when the velocity state could not be read (degraded scoring): event features
 * only, every velocity and report feature missing, so rules that need history stay unknown
 * instead of seeing a false "no history".
 */
export function eventOnlyVector(e: TransferEvent, tMs: number, bands: AgeBandBounds = DEFAULT_AGE_BANDS): FeatureValue[] {
  const v = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
  eventFeatures(e, tMs, v, bands);
  return v;
}

/** Features that come from the velocity state before the transfer. */
export function velocityFeatures(e: TransferEvent, tMs: number, s: VelocityState, v: FeatureValue[]): void {
  for (let w = 0; w < WINDOWS.length; w++) {
    const [ci, si] = I.payerOut[w]!;
    v[ci] = s.payerOut.counts[w]!;
    v[si] = s.payerOut.sums[w]!;
    const [pci, psi] = I.payeeIn[w]!;
    v[pci] = s.payeeIn.counts[w]!;
    v[psi] = s.payeeIn.sums[w]!;
  }
  const n30 = s.payerOut.counts[3]!;
  const avg = n30 > 0 ? s.payerOut.sums[3]! / n30 : null;
  v[I.payerAvg] = avg;
  v[I.payerRatio] = avg !== null && avg > 0 ? e.amount / avg : null;
  v[I.payerSinceLast] = s.payerLastMs === null ? null : Math.max(0, (tMs - s.payerLastMs) / 1000);
  v[I.payerPayees] = s.payerDistinctPayees24h;
  v[I.firstSeen] = s.pairFirstMs === null;
  v[I.paidBefore] = s.pairCount;
  v[I.daysSinceFirst] = s.pairFirstMs === null ? null : Math.max(0, (tMs - s.pairFirstMs) / DAY_MS);
  v[I.payeeOut1h] = s.payeeOutSum1h;
  v[I.payeeOut24h] = s.payeeOutSum24h;
  const in24 = s.payeeIn.sums[1]!;
  v[I.passThrough] = in24 > 0 ? Math.min(1, s.payeeOutSum24h / in24) : null;
  v[I.payeePayers] = s.payeeDistinctPayers24h;
  v[I.payeeNewPayers] = s.payeeNewPayers24h;
  v[I.deviceNew] = s.deviceNewForPayer;
  v[I.devicePayers] = s.deviceDistinctPayers24h;
  v[I.reports] = s.payeeReportCount;
  v[I.reporters] = s.payeeDistinctReporters;
  v[I.sinceReport] = s.payeeLastReportMs === null ? null : Math.max(0, (tMs - s.payeeLastReportMs) / 3_600_000);
  const aged = s.payeeReportsAged;
  if (aged !== null) {
    v[I.reports1d] = aged.last1d;
    v[I.reports7d] = aged.last7d;
    v[I.reports28d] = aged.last28d;
    v[I.reportsDecayed] = aged.decayed;
    v[I.reportWeight] = reportWeight(aged, s.payeeIn.counts[3]!);
  }
}

export function buildFeatureVector(
  e: TransferEvent,
  tMs: number,
  s: VelocityState,
  bands: AgeBandBounds = DEFAULT_AGE_BANDS,
): FeatureValue[] {
  const v = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
  eventFeatures(e, tMs, v, bands);
  velocityFeatures(e, tMs, s, v);
  return v;
}
