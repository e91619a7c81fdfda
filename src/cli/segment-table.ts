import type { PolicyThresholds } from '../scoring/scoring-config.ts';
import type { BandName, PolicyOutcome, TunedThresholds } from '../train/segment-fairness.ts';

/**
 * What `npm run eval:segments` prints by default (issue 19: it printed hundreds of lines of
 * JSON where docs/protection.md shows a table): that per-band table, the fairness ratio, the
 * target and the suggestion. `--json` prints every figure instead.
 */

export interface SegmentTableInput {
  readonly data: { readonly payers: number; readonly days: number; readonly seed: number; readonly testDays: number; readonly transfersScored: number; readonly scams: number };
  readonly model: string | null;
  readonly general: PolicyThresholds;
  readonly blind: PolicyOutcome;
  readonly configured: PolicyOutcome;
  readonly baseline: { readonly warn: number; readonly outcome: PolicyOutcome };
  readonly tuned: TunedThresholds | null;
  readonly met: boolean;
}

const BANDS: readonly BandName[] = ['minor', 'adult', 'elderly', 'unknown'];
const pct = (x: number): string => (Number.isNaN(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`);
const ratio = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const count = (n: number): string => n.toLocaleString('en');

export function segmentTable(r: SegmentTableInput): string {
  const lines: string[] = [];
  const d = r.data;
  lines.push(
    `${count(d.transfersScored)} transfers scored (${count(d.scams)} scams), the last ${d.testDays} of ${d.days} simulated days ` +
      `(${count(d.payers)} payers, seed ${d.seed}); ${r.model === null ? 'rules alone' : `model ${r.model}`}`,
    '',
    '| band | warns legitimate | holds legitimate | scams caught, segment-blind | scams caught, configured |',
    '|---|---|---|---|---|',
  );
  for (const band of BANDS) {
    const b = r.blind.byBand[band];
    const c = r.configured.byBand[band];
    if (c.transfers === 0) continue;
    const warns = pct(b.warnRateLegit) === pct(c.warnRateLegit) ? pct(c.warnRateLegit) : `${pct(b.warnRateLegit)} (configured ${pct(c.warnRateLegit)})`;
    const holds = pct(b.holdRateLegit) === pct(c.holdRateLegit) ? pct(c.holdRateLegit) : `${pct(b.holdRateLegit)} (configured ${pct(c.holdRateLegit)})`;
    lines.push(`| ${band} | ${warns} | ${holds} | ${count(b.scamsCaught)} of ${count(b.scams)} | ${count(c.scamsCaught)} of ${count(c.scams)} |`);
  }
  const e = r.baseline.outcome.byBand.elderly;
  lines.push(
    '',
    `FPR ratio elderly / others: segment-blind ${ratio(r.blind.fprRatioElderly)}, configured ${ratio(r.configured.fprRatioElderly)}; ` +
      `alert rate segment-blind ${pct(r.blind.alertRate)}, configured ${pct(r.configured.alertRate)}`,
    `Segment-blind at the configured alert rate (warn at ${r.baseline.warn} for all): ${count(e.scamsCaught)} of ${count(e.scams)} scams against the elderly caught`,
    `Target (ratio within 0.8-1.25 and more scams against the elderly caught than that): ${r.met ? 'met' : 'NOT met'}`,
    r.tuned === null
      ? 'Suggested warn thresholds: none found on this run'
      : `Suggested (tuned on this run: evaluate on another --sim-seed): RISK_WARN_AT_ELDERLY=${r.tuned.elderlyWarn} RISK_WARN_AT=${r.tuned.othersWarn} ` +
          `(elderly caught ${count(r.tuned.outcome.byBand.elderly.scamsCaught)}, ratio ${ratio(r.tuned.outcome.fprRatioElderly)}, alert rate ${pct(r.tuned.outcome.alertRate)})`,
    `(general thresholds: warn ${r.general.warn}, cool_off ${r.general.coolOff}, block ${r.general.block}; every figure: --json)`,
  );
  return lines.join('\n');
}
