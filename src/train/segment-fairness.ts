import type { PolicyThresholds } from '../scoring/scoring-config.ts';
import { severity, type Action } from '../scoring/actions.ts';
import { policyAction, type Decision } from '../scoring/decide.ts';
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';

/**
 * Protection that only adds friction is not protection (issue 6). Per age band: warn and hold
 * rates on legitimate transfers, detection of scams, and the Bank Account Fraud benchmark's
 * fairness metric — the ratio of false-positive rates, elderly / everyone else. Pure.
 *
 * A transfer's action is what the engine's decision (scoring/decide.ts `decide`) answers: the
 * more severe of the thresholds' action for its riskScore and the minimum action of the rules
 * that fired. A rule whose action is `warn` warns at any threshold, so thresholds can only move
 * the transfers that no rule forces. Both parts come from the engine's decision (`scoredTransfer`),
 * the one of the scoring route, the rule backtest and the replay, which also leaves shadow hits
 * out; simulated transfers have no guardian limits and are never scored degraded, so nothing
 * else changes the action.
 */

export interface ScoredTransfer {
  /** 0-100, as the policy sees it: max(rule points, model probability × 100), in steps of 0.01 */
  readonly riskScore: number;
  /** the most severe minimum action of the active rules that fired (`allow` when none did) */
  readonly ruleAction: Action;
  readonly fraud: boolean;
  readonly band: AgeBand | null;
}

/** A transfer as decided by the engine (`decide`), in the terms the threshold search needs. */
export function scoredTransfer(d: Decision, fraud: boolean): ScoredTransfer {
  return { riskScore: d.riskScore, ruleAction: d.ruleAction, fraud, band: d.segment };
}

export type BandName = AgeBand | 'unknown';
const BANDS: readonly BandName[] = [...AGE_BANDS, 'unknown'];

export interface BandOutcome {
  readonly transfers: number;
  readonly legitimate: number;
  readonly scams: number;
  /** legitimate transfers at warn or above / legitimate transfers (the false-positive rate) */
  readonly warnRateLegit: number;
  /** legitimate transfers at cool_off or above / legitimate transfers */
  readonly holdRateLegit: number;
  /** scams at warn or above / scams */
  readonly detectionRate: number;
  /** scams at warn or above */
  readonly scamsCaught: number;
}

export interface PolicyOutcome {
  readonly byBand: Readonly<Record<BandName, BandOutcome>>;
  /** transfers at warn or above / all transfers */
  readonly alertRate: number;
  readonly detectionRate: number;
  /** warnRateLegit of the elderly / warnRateLegit of everyone else (NaN without either) */
  readonly fprRatioElderly: number;
}

export type ThresholdsFor = (band: AgeBand | null) => PolicyThresholds;

const rate = (a: number, b: number): number => (b === 0 ? Number.NaN : a / b);
const WARN = severity('warn');
const COOL_OFF = severity('cool_off');

/** The engine's action for a scored transfer under these thresholds (as `decide` computes it). */
export function actionOf(r: ScoredTransfer, t: PolicyThresholds): Action {
  return policyAction(r.riskScore, r.ruleAction, t);
}

export function evaluateSegments(rows: readonly ScoredTransfer[], thresholdsFor: ThresholdsFor): PolicyOutcome {
  const acc = Object.fromEntries(BANDS.map((b) => [b, { n: 0, legit: 0, scams: 0, warnLegit: 0, holdLegit: 0, caught: 0 }])) as Record<
    BandName,
    { n: number; legit: number; scams: number; warnLegit: number; holdLegit: number; caught: number }
  >;
  let alerts = 0;
  for (const r of rows) {
    const s = severity(actionOf(r, thresholdsFor(r.band)));
    const a = acc[r.band ?? 'unknown'];
    const warned = s >= WARN;
    a.n += 1;
    if (warned) alerts += 1;
    if (r.fraud) {
      a.scams += 1;
      if (warned) a.caught += 1;
    } else {
      a.legit += 1;
      if (warned) a.warnLegit += 1;
      if (s >= COOL_OFF) a.holdLegit += 1;
    }
  }
  const byBand = Object.fromEntries(
    BANDS.map((b) => {
      const a = acc[b];
      return [
        b,
        {
          transfers: a.n,
          legitimate: a.legit,
          scams: a.scams,
          warnRateLegit: rate(a.warnLegit, a.legit),
          holdRateLegit: rate(a.holdLegit, a.legit),
          detectionRate: rate(a.caught, a.scams),
          scamsCaught: a.caught,
        },
      ];
    }),
  ) as Record<BandName, BandOutcome>;
  const others = BANDS.filter((b) => b !== 'elderly').map((b) => acc[b]);
  const othersFpr = rate(
    others.reduce((s, a) => s + a.warnLegit, 0),
    others.reduce((s, a) => s + a.legit, 0),
  );
  const scams = BANDS.reduce((s, b) => s + acc[b].scams, 0);
  const caught = BANDS.reduce((s, b) => s + acc[b].caught, 0);
  return {
    byBand,
    alertRate: rate(alerts, rows.length),
    detectionRate: rate(caught, scams),
    fprRatioElderly: rate(byBand.elderly.warnRateLegit, othersFpr),
  };
}

/** Warn thresholds are searched in steps of 0.01 (the resolution of riskScore) within this range. */
export const WARN_THRESHOLD_RANGE = [1, 100] as const;

/** The warn threshold of one group as a step function: candidate thresholds and the counts each alerts. */
interface Ladder {
  /** ascending candidate warn thresholds; alerts are non-increasing along them */
  readonly at: readonly number[];
  /** per candidate: the lowest threshold that alerts the same transfers (just above the previous candidate) */
  readonly from: readonly number[];
  /** per candidate: alerted legitimate transfers, alerted scams */
  readonly legit: readonly number[];
  readonly scams: readonly number[];
  readonly legitTotal: number;
  readonly scamsTotal: number;
}

const cents = (x: number): number => Math.round(x * 100);

/**
 * Every threshold that changes what the group alerts: the lowest bound, each distinct riskScore
 * of a transfer no rule forces to warn (alerting it and everything above), and the highest bound.
 */
function ladder(rows: readonly ScoredTransfer[]): Ladder {
  const [lo, hi] = WARN_THRESHOLD_RANGE.map(cents) as [number, number];
  let forcedLegit = 0;
  let forcedScams = 0;
  let legitTotal = 0;
  let scamsTotal = 0;
  // per score in cents: free (threshold-decided) legitimate transfers and scams
  const free = new Map<number, [number, number]>();
  for (const r of rows) {
    if (r.fraud) scamsTotal += 1;
    else legitTotal += 1;
    if (severity(r.ruleAction) >= WARN) {
      if (r.fraud) forcedScams += 1;
      else forcedLegit += 1;
      continue;
    }
    const c = Math.min(hi, cents(r.riskScore));
    if (c < lo) continue; // below every threshold: never alerted by one
    const e = free.get(c) ?? [0, 0];
    e[r.fraud ? 1 : 0] += 1;
    free.set(c, e);
  }
  const at = [...new Set([lo, hi, ...free.keys()])].sort((a, b) => a - b);
  const legit: number[] = new Array<number>(at.length);
  const scams: number[] = new Array<number>(at.length);
  let l = forcedLegit;
  let s = forcedScams;
  for (let i = at.length - 1; i >= 0; i--) {
    const e = free.get(at[i]!);
    if (e !== undefined) {
      l += e[0];
      s += e[1];
    }
    legit[i] = l;
    scams[i] = s;
  }
  return { at: at.map((c) => c / 100), from: at.map((c, i) => (i === 0 ? c : at[i - 1]! + 1) / 100), legit, scams, legitTotal, scamsTotal };
}

interface Choice {
  /** the elderly warn threshold */
  readonly e: number;
  readonly caughtE: number;
  readonly caught: number;
  readonly alerts: number;
}

/**
 * > 0 when `a` is the better choice: more elderly scams caught, then more scams caught overall,
 * then the lower elderly threshold (the widest protection that costs nobody a caught scam on
 * this data: a scam scoring just under the lowest one seen here is still caught), then fewer alerts.
 */
const preferred = (a: Choice, b: Choice): number =>
  a.caughtE - b.caughtE || a.caught - b.caught || b.e - a.e || b.alerts - a.alerts;

export interface TunedThresholds {
  readonly elderlyWarn: number;
  readonly othersWarn: number;
  readonly outcome: PolicyOutcome;
}

/**
 * Thresholds for the elderly and for everyone else with the warn threshold changed and the
 * general cool-off and block kept (a lower warn threshold adds a reminder, not a hold); warn
 * never exceeds cool-off.
 */
export function withWarn(general: PolicyThresholds, warn: number): PolicyThresholds {
  return { warn, coolOff: Math.max(general.coolOff, warn), block: Math.max(general.block, warn) };
}

/**
 * The warn thresholds (steps of 0.01 in [1, 100]) for the elderly and for everyone else that
 * catch the most scams against the elderly with no more alerts overall than `maxAlertRate`
 * and the false-positive-rate ratio within [lo, hi]; ties go to more scams caught overall, then
 * to the lower elderly threshold, then to fewer alerts (see `preferred`). Rule-forced warnings
 * count at every threshold. Null when no pair qualifies.
 *
 * Tune on one data set and report on another (eval-segments: another simulator seed): on the
 * data it was tuned on, the outcome is optimistic by construction.
 */
export function tuneWarnThresholds(
  rows: readonly ScoredTransfer[],
  general: PolicyThresholds,
  maxAlertRate: number,
  ratioBounds: readonly [number, number] = [0.8, 1.25],
): TunedThresholds | null {
  const E = ladder(rows.filter((r) => r.band === 'elderly'));
  const O = ladder(rows.filter((r) => r.band !== 'elderly'));
  if (E.legitTotal === 0 || O.legitTotal === 0 || E.scamsTotal + O.scamsTotal === 0) return null;
  const budget = Math.floor(maxAlertRate * rows.length + 1e-9);
  const [lo, hi] = ratioBounds;
  let best: (Choice & { o: number }) | null = null;
  for (let i = 0; i < E.at.length; i++) {
    const fprE = E.legit[i]! / E.legitTotal;
    const alertsE = E.legit[i]! + E.scams[i]!;
    // everyone else's alerts and false-positive rate fall as their threshold rises, so the ratio
    // rises with it: take the first threshold within the budget, then (if the ratio is under the
    // lower bound) the first from there that reaches it; the earliest feasible one catches the most
    let j = 0;
    while (j < O.at.length && alertsE + O.legit[j]! + O.scams[j]! > budget) j++;
    while (j < O.at.length && fprE < lo * (O.legit[j]! / O.legitTotal)) j++;
    if (j === O.at.length || fprE > hi * (O.legit[j]! / O.legitTotal)) continue;
    const caughtE = E.scams[i]!;
    const caught = caughtE + O.scams[j]!;
    const alerts = alertsE + O.legit[j]! + O.scams[j]!;
    // on this data any elderly threshold in (previous candidate, this one] does the same: take
    // the lowest (the widest protection); everyone else's is the highest of its range (the budget)
    const candidate = { e: E.from[i]!, o: O.at[j]!, caughtE, caught, alerts };
    if (best === null || preferred(candidate, best) > 0) best = candidate;
  }
  if (best === null) return null;
  const { e, o } = best;
  return { elderlyWarn: e, othersWarn: o, outcome: evaluateSegments(rows, (band) => withWarn(general, band === 'elderly' ? e : o)) };
}

/**
 * The segment-blind policy (one warn threshold for every band, the general cool-off and block)
 * with at least `alertRate` alerts and the fewest such: the baseline a segment-aware policy
 * with that alert rate is compared with ("catching more scams against the elderly than a
 * segment-blind policy at the same overall alert rate").
 */
export function segmentBlindAtAlertRate(
  rows: readonly ScoredTransfer[],
  general: PolicyThresholds,
  alertRate: number,
): { readonly warn: number; readonly outcome: PolicyOutcome } {
  const all = ladder(rows);
  const need = Math.ceil(alertRate * rows.length - 1e-9);
  // alerts fall as the threshold rises: the highest threshold that still alerts `need`
  let k = 0;
  for (let i = 0; i < all.at.length; i++) if (all.legit[i]! + all.scams[i]! >= need) k = i;
  const warn = all.at[k]!;
  return { warn, outcome: evaluateSegments(rows, () => withWarn(general, warn)) };
}
