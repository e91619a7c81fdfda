import type { PolicyThresholds } from '../config.ts';
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';

/**
 * Protection that only adds friction is not protection (issue 6). Per age band: warn and hold
 * rates on legitimate transfers, detection of scams, and the Bank Account Fraud benchmark's
 * fairness metric — the ratio of false-positive rates, elderly / everyone else. Pure.
 */

export interface ScoredTransfer {
  /** 0-100, as the policy sees it: max(rule points, model probability × 100) */
  readonly riskScore: number;
  readonly fraud: boolean;
  readonly band: AgeBand | null;
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

export function evaluateSegments(rows: readonly ScoredTransfer[], thresholdsFor: ThresholdsFor): PolicyOutcome {
  const acc = Object.fromEntries(BANDS.map((b) => [b, { n: 0, legit: 0, scams: 0, warnLegit: 0, holdLegit: 0, caught: 0 }])) as Record<
    BandName,
    { n: number; legit: number; scams: number; warnLegit: number; holdLegit: number; caught: number }
  >;
  let alerts = 0;
  for (const r of rows) {
    const t = thresholdsFor(r.band);
    const a = acc[r.band ?? 'unknown'];
    const warned = r.riskScore >= t.warn;
    a.n += 1;
    if (warned) alerts += 1;
    if (r.fraud) {
      a.scams += 1;
      if (warned) a.caught += 1;
    } else {
      a.legit += 1;
      if (warned) a.warnLegit += 1;
      if (r.riskScore >= t.coolOff) a.holdLegit += 1;
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

export interface TunedThresholds {
  readonly elderlyWarn: number;
  readonly othersWarn: number;
  readonly outcome: PolicyOutcome;
}

/**
 * The warn thresholds (integers, as RISK_WARN_AT_* are) for the elderly and for everyone else
 * that catch the most scams against the elderly with no more alerts overall than `maxAlertRate`
 * and the false-positive-rate ratio within [lo, hi]; ties go to more scams caught overall.
 * The cool-off threshold keeps its distance above warn. Null when no pair qualifies.
 */
export function tuneWarnThresholds(
  rows: readonly ScoredTransfer[],
  general: PolicyThresholds,
  maxAlertRate: number,
  ratioBounds: readonly [number, number] = [0.8, 1.25],
): TunedThresholds | null {
  // atLeast[group][kind][t]: rows of the group (0 elderly, 1 others) and kind (0 legitimate,
  // 1 scam) with riskScore >= t, for integer t (riskScore >= t exactly when floor(riskScore) >= t)
  const atLeast = [0, 1].map(() => [0, 1].map(() => new Float64Array(102)));
  for (const r of rows) {
    const t = Math.max(0, Math.min(100, Math.floor(r.riskScore)));
    atLeast[r.band === 'elderly' ? 0 : 1]![r.fraud ? 1 : 0]![t]! += 1;
  }
  for (const g of atLeast) for (const k of g) for (let t = 100; t >= 0; t--) k[t]! += k[t + 1]!;
  const [elderly, others] = atLeast as [Float64Array[], Float64Array[]];
  const legitE = elderly[0]![0]!;
  const legitO = others[0]![0]!;
  const scamsE = elderly[1]![0]!;
  const scamsO = others[1]![0]!;
  let best: { e: number; o: number; caughtE: number; caught: number } | null = null;
  for (let e = 1; e <= 100; e++) {
    for (let o = 1; o <= 100; o++) {
      const alerts = elderly[0]![e]! + elderly[1]![e]! + others[0]![o]! + others[1]![o]!;
      if (!(alerts / rows.length <= maxAlertRate)) continue;
      const ratio = elderly[0]![e]! / legitE / (others[0]![o]! / legitO);
      if (!(ratio >= ratioBounds[0] && ratio <= ratioBounds[1])) continue;
      const caughtE = elderly[1]![e]!;
      const caught = caughtE + others[1]![o]!;
      if (best === null || caughtE > best.caughtE || (caughtE === best.caughtE && caught > best.caught)) best = { e, o, caughtE, caught };
    }
  }
  if (best === null || scamsE + scamsO === 0) return null;
  const gap = general.coolOff - general.warn;
  const at = (w: number): PolicyThresholds => ({ warn: w, coolOff: Math.min(100, w + gap), block: general.block });
  const { e, o } = best;
  return { elderlyWarn: e, othersWarn: o, outcome: evaluateSegments(rows, (band) => at(band === 'elderly' ? e : o)) };
}
