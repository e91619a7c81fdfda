/**
 * Scam reports that age (issue 16; issue 20's windowed payee risk). A report against a payee
 * counts in windows of 1, 7 and 28 days from its own time, and with a weight that halves every
 * half-life and falls with the payee's volume of honest traffic, so one report against a busy
 * merchant does not hold its customers for months. Pure: report-age.lua computes the same
 * counts in Redis; this is its model (velocity-model.ts) and the weight both paths share
 * (build-vector.ts). docs/features.md describes the features.
 */
import type { AgedReports } from './velocity-state.ts';
import { compareBytewise } from './velocity-windows.ts';

const DAY_MS = 86_400_000;

/** REPORT_HALF_LIFE_HOURS' default: a report's weight halves every 7 days. */
export const DEFAULT_REPORT_HALF_LIFE_HOURS = 168;

/** The newest reports per payee whose times are kept (report-flags.lua's ARGV[5]). */
export const REPORT_TIMES_CAP = 100;

/**
 * Honest transfers received in 30 days at which a payee's report weight is halved: the weight
 * is decayed / (1 + honest / REPORT_VOLUME_SCALE).
 */
export const REPORT_VOLUME_SCALE = 10;

/** A report's time as report-flags.lua keeps it (member and score of the sorted set). */
export interface ReportTime {
  readonly caseId: string;
  readonly atMs: number;
}

/** Redis's order of a sorted set: score, then member bytes. */
export function compareReportTimes(a: ReportTime, b: ReportTime): number {
  return a.atMs - b.atMs || compareBytewise(a.caseId, b.caseId);
}

/**
 * report-age.lua on `times` (in compareReportTimes order): the reports at or before tMs in the
 * last 1, 7 and 28 days and the decayed count, rounded to thousandths as the script answers it.
 */
export function reportAgeInts(times: readonly ReportTime[], tMs: number, halfLifeMs: number): [number, number, number, number] {
  let c1 = 0;
  let c7 = 0;
  let c28 = 0;
  let w = 0;
  for (const r of times) {
    if (r.atMs > tMs) break;
    const age = tMs - r.atMs;
    if (age < DAY_MS) c1 += 1;
    if (age < 7 * DAY_MS) c7 += 1;
    if (age < 28 * DAY_MS) c28 += 1;
    w += 2 ** (-age / halfLifeMs);
  }
  return [c1, c7, c28, Math.floor(w * 1000 + 0.5)];
}

/**
 * The payee's report weight: the decayed report count divided by 1 + honest / REPORT_VOLUME_SCALE,
 * where honest is the transfers the payee received in the last 30 days less its reports of the
 * last 28 days (at least 0). A payee nobody pays keeps its full decayed count; a merchant with
 * 300 honest transfers a month turns one fresh report into about 0.03.
 */
export function reportWeight(aged: AgedReports, received30d: number): number {
  const honest = Math.max(0, received30d - aged.last28d);
  return aged.decayed / (1 + honest / REPORT_VOLUME_SCALE);
}

export function halfLifeMs(hours: number): number {
  return hours * 3_600_000;
}
