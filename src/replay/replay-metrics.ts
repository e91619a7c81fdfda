import { alertCount, averagePrecision, positivesInTop, recallAtAlertRate, rocAuc } from '../train/metrics.ts';

/**
 * Detection figures of one scored test window (issue 8), next to the Fraud Detection
 * Handbook's (Le Borgne et al., ch. 4 "Performance metrics"). Ties in score are split pro rata,
 * as in src/train/metrics.ts, so no figure depends on row order.
 */

export interface ScoredRows {
  readonly scores: ArrayLike<number>;
  /** 1 = fraud */
  readonly labels: ArrayLike<number>;
  readonly amounts: ArrayLike<number>;
  /** payer (the handbook's card / customer) of each row */
  readonly payers: readonly string[];
  /** UTC day index (ms / 86 400 000, floored) of each row */
  readonly days: ArrayLike<number>;
  /** '0' for legitimate rows */
  readonly scenarios: readonly string[];
}

export interface DetectionMetrics {
  readonly rows: number;
  readonly frauds: number;
  readonly rocAuc: number;
  readonly averagePrecision: number;
  /** mean over days of the share of the day's 100 highest-scored payers with a fraud that day */
  readonly cardPrecisionAt100: number;
  /** the same, as the handbook computes it: payers found compromised on an earlier day are left out */
  readonly cardPrecisionAt100ExcludingDetected: number;
  readonly recallAt1pct: number;
  readonly recallAt5pct: number;
  /** share of the fraud amount in the top 1 % / 5 % of rows by score */
  readonly fraudValueRecallAt1pct: number;
  readonly fraudValueRecallAt5pct: number;
}

/**
 * Card precision@k per day, averaged over the days present. Per day each payer counts once with
 * its highest score, and is a hit when any of its rows that day is fraud. With fewer than k
 * payers on a day, the day's precision is over the payers there are. `excludeDetected` follows
 * the handbook: a payer that was a hit in an earlier day's top k is no longer ranked.
 */
export function cardPrecisionAtK(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  payers: readonly string[],
  days: ArrayLike<number>,
  k: number,
  excludeDetected = false,
): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const byDay = new Map<number, Map<string, { max: number; fraud: number }>>();
  for (let i = 0; i < scores.length; i++) {
    let day = byDay.get(days[i]!);
    if (day === undefined) byDay.set(days[i]!, (day = new Map()));
    const p = day.get(payers[i]!);
    if (p === undefined) day.set(payers[i]!, { max: scores[i]!, fraud: labels[i]! });
    else {
      p.max = Math.max(p.max, scores[i]!);
      p.fraud = Math.max(p.fraud, labels[i]!);
    }
  }
  const detected = new Set<string>();
  let sum = 0;
  let nDays = 0;
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
    const entries = [...byDay.get(d)!].filter(([id]) => !detected.has(id));
    if (entries.length === 0) continue;
    const s = entries.map(([, v]) => v.max);
    const l = entries.map(([, v]) => v.fraud);
    const kk = Math.min(k, entries.length);
    sum += positivesInTop(s, l, kk) / kk;
    nDays += 1;
    if (excludeDetected) {
      // the top k as a reviewer would see them; within a tie at the cut, the first by id order
      const order = entries.map((_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
      for (const i of order.slice(0, kk)) if (l[i] === 1) detected.add(entries[i]![0]);
    }
  }
  return nDays === 0 ? Number.NaN : sum / nDays;
}

/** Share of the fraud amount caught when the top `rate` of rows by score raise an alert. */
export function fraudValueRecallAtAlertRate(scores: ArrayLike<number>, labels: ArrayLike<number>, amounts: ArrayLike<number>, rate: number): number {
  const n = scores.length;
  let total = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) total += amounts[i]!;
  if (total === 0) return Number.NaN;
  const k = alertCount(n, rate);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  let taken = 0;
  let caught = 0;
  for (let i = 0; i < n && taken < k; ) {
    let j = i;
    let value = 0;
    while (j < n && scores[order[j]!] === scores[order[i]!]) {
      if (labels[order[j]!] === 1) value += amounts[order[j]!]!;
      j += 1;
    }
    const take = Math.min(j - i, k - taken);
    caught += (value * take) / (j - i);
    taken += take;
    i = j;
  }
  return caught / total;
}

export function detectionMetrics(r: ScoredRows): DetectionMetrics {
  let frauds = 0;
  for (let i = 0; i < r.labels.length; i++) frauds += r.labels[i]!;
  return {
    rows: r.scores.length,
    frauds,
    rocAuc: rocAuc(r.scores, r.labels),
    averagePrecision: averagePrecision(r.scores, r.labels),
    cardPrecisionAt100: cardPrecisionAtK(r.scores, r.labels, r.payers, r.days, 100),
    cardPrecisionAt100ExcludingDetected: cardPrecisionAtK(r.scores, r.labels, r.payers, r.days, 100, true),
    recallAt1pct: recallAtAlertRate(r.scores, r.labels, 0.01),
    recallAt5pct: recallAtAlertRate(r.scores, r.labels, 0.05),
    fraudValueRecallAt1pct: fraudValueRecallAtAlertRate(r.scores, r.labels, r.amounts, 0.01),
    fraudValueRecallAt5pct: fraudValueRecallAtAlertRate(r.scores, r.labels, r.amounts, 0.05),
  };
}

/** The rows `keep` accepts, every column alike. */
export function subset(r: ScoredRows, keep: (i: number) => boolean): ScoredRows {
  const idx: number[] = [];
  for (let i = 0; i < r.scores.length; i++) if (keep(i)) idx.push(i);
  return {
    scores: idx.map((i) => r.scores[i]!),
    labels: idx.map((i) => r.labels[i]!),
    amounts: idx.map((i) => r.amounts[i]!),
    payers: idx.map((i) => r.payers[i]!),
    days: idx.map((i) => r.days[i]!),
    scenarios: idx.map((i) => r.scenarios[i]!),
  };
}

export interface DetectionReport {
  readonly overall: DetectionMetrics;
  /**
   * Per fraud scenario: every figure on the legitimate rows plus that scenario's fraud rows
   * (other scenarios' frauds left out), so a scenario is ranked against normal traffic only.
   */
  readonly byScenario: Readonly<Record<string, DetectionMetrics>>;
}

export function detectionReport(r: ScoredRows): DetectionReport {
  const scenarios = [...new Set(r.scenarios.filter((s, i) => r.labels[i] === 1))].sort();
  const byScenario: Record<string, DetectionMetrics> = {};
  for (const s of scenarios) byScenario[s] = detectionMetrics(subset(r, (i) => r.labels[i] === 0 || r.scenarios[i] === s));
  return { overall: detectionMetrics(r), byScenario };
}
