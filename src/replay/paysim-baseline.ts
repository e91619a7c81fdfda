import type { ActionRates, DecisionReport } from './replay-decisions.ts';
import type { FlagDay } from './paysim-row.ts';

/**
 * PaySim's own rule (`isFlaggedFraud`: a TRANSFER above 200,000 is flagged as an illegal
 * attempt) as a baseline next to calmpay's decisions on the same test window (issue 16): of
 * the window's scored transfers (TRANSFER and CASH_OUT), how many each flags, and its precision
 * (share of its alerts that are fraud) and recall (share of the frauds it alerts on).
 */

export interface AlertFigures {
  readonly alerts: number;
  /** alerts on fraud */
  readonly caught: number;
  /** caught / alerts (NaN without alerts) */
  readonly precision: number;
  /** caught / frauds (NaN without frauds) */
  readonly recall: number;
}

export interface FlagBaseline {
  readonly transfers: number;
  readonly frauds: number;
  readonly paysimIsFlaggedFraud: AlertFigures;
  /** the engine's decisions (rules + the week's GBDT through the policy): any of warn, hold, block */
  readonly calmpayAnyIntervention: AlertFigures;
  /** the engine's holds (cool_off) and blocks: the actions that stop a payment, as PaySim's flag would */
  readonly calmpayHoldOrBlock: AlertFigures;
}

function figures(alerts: number, caught: number, frauds: number): AlertFigures {
  return { alerts, caught, precision: alerts === 0 ? Number.NaN : caught / alerts, recall: frauds === 0 ? Number.NaN : caught / frauds };
}

const intervened = (r: ActionRates): number => r.transfers - r.counts.allow;
const stopped = (r: ActionRates): number => r.counts.cool_off + r.counts.block;

/**
 * The flag's counts over the days of [fromMs, toMs) (whole UTC days) next to the engine's
 * decisions on that window; throws when the two do not count the same transfers (they must:
 * both are the window's TRANSFER and CASH_OUT rows with an amount above 0).
 */
export function flagBaseline(days: ReadonlyMap<number, FlagDay>, fromMs: number, toMs: number, engine: DecisionReport): FlagBaseline {
  const sum: FlagDay = { transfers: 0, frauds: 0, flagged: 0, flaggedFrauds: 0 };
  for (const [d, c] of days) {
    const ms = d * 86_400_000;
    if (ms < fromMs || ms >= toMs) continue;
    sum.transfers += c.transfers;
    sum.frauds += c.frauds;
    sum.flagged += c.flagged;
    sum.flaggedFrauds += c.flaggedFrauds;
  }
  const { legitimate: legit, fraud } = engine;
  if (sum.transfers !== legit.transfers + fraud.transfers || sum.frauds !== fraud.transfers) {
    throw new Error(
      `the PaySim flag counts ${sum.transfers} transfers (${sum.frauds} fraud) in the window, the decisions ${legit.transfers + fraud.transfers} (${fraud.transfers})`,
    );
  }
  return {
    transfers: sum.transfers,
    frauds: sum.frauds,
    paysimIsFlaggedFraud: figures(sum.flagged, sum.flaggedFrauds, sum.frauds),
    calmpayAnyIntervention: figures(intervened(legit) + intervened(fraud), intervened(fraud), sum.frauds),
    calmpayHoldOrBlock: figures(stopped(legit) + stopped(fraud), stopped(fraud), sum.frauds),
  };
}
