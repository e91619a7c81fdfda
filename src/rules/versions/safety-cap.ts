/**
 * The safety cap (issue 7): which acting rules fire far more often than they used to. Pure:
 * counts in, trips out. A rule trips when, in the recent window,
 *   - the window holds at least `minSample` decisions, and so does the hour before it;
 *   - the rule fired on at least `minShare` of the window's decisions; and
 *   - that share is at least `multiple` times its share over the hour before.
 * Shares, not raw counts, so a traffic peak (every rule firing more) does not trip anything;
 * a rule that never fired in the past hour trips as soon as it reaches `minShare`.
 */
import type { SafetyCapConfig } from './rule-versions-config.ts';

export interface HitCounts {
  /** decisions counted */
  readonly total: number;
  /** acting-rule hits by rule id */
  readonly hits: ReadonlyMap<string, number>;
}

export interface SafetyCapTrip {
  readonly ruleId: string;
  readonly share: number;
  readonly baselineShare: number;
  readonly windowTotal: number;
  /** for the audit trail and the alert */
  readonly reason: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 3 : 1)}%`;

export function findTrips(
  window: HitCounts,
  baseline: HitCounts,
  cfg: Pick<SafetyCapConfig, 'multiple' | 'minShare' | 'minSample' | 'windowMinutes'>,
): SafetyCapTrip[] {
  if (window.total < cfg.minSample || baseline.total < cfg.minSample) return [];
  const trips: SafetyCapTrip[] = [];
  for (const [ruleId, hits] of window.hits) {
    const share = hits / window.total;
    const baselineShare = (baseline.hits.get(ruleId) ?? 0) / baseline.total;
    if (share < cfg.minShare || share < cfg.multiple * baselineShare) continue;
    trips.push({
      ruleId,
      share,
      baselineShare,
      windowTotal: window.total,
      reason:
        `safety cap: the rule fired on ${pct(share)} of ${window.total} decisions in the last ${cfg.windowMinutes} min, ` +
        `against ${pct(baselineShare)} of ${baseline.total} in the hour before ` +
        `(limits: ${cfg.multiple}x its hourly share and ${pct(cfg.minShare)} of traffic)`,
    });
  }
  return trips.sort((a, b) => b.share - a.share);
}

/** Adds per-minute counts (as read from Redis hashes: field → count, `total` among them). */
export function sumMinutes(minutes: readonly Readonly<Record<string, string>>[]): HitCounts {
  let total = 0;
  const hits = new Map<string, number>();
  for (const m of minutes) {
    for (const [field, raw] of Object.entries(m)) {
      const v = Number(raw);
      if (!Number.isFinite(v)) continue;
      if (field === TOTAL_FIELD) total += v;
      else if (field.startsWith(RULE_FIELD)) {
        const id = field.slice(RULE_FIELD.length);
        hits.set(id, (hits.get(id) ?? 0) + v);
      }
    }
  }
  return { total, hits };
}

/** Hash fields of a minute's counts: `total`, and `r:<rule id>` per rule. */
export const TOTAL_FIELD = 'total';
export const RULE_FIELD = 'r:';
