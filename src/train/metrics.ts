/**
 * Ranking metrics of a fraud score against 0/1 labels. Ties are handled the way a random
 * order within tied scores would on average, so no metric depends on how rows happen to be
 * ordered:
 * - rocAuc: the Mann-Whitney statistic with average ranks for ties (a tied positive-negative
 *   pair counts ½);
 * - averagePrecision: Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct score thresholds, highest first
 *   (scikit-learn's definition; a tie group enters as one step);
 * - precisionAtK / recallAtK / recallAtAlertRate: the top k rows by score (the rows an alert
 *   budget of k would review); when the k-th place falls inside a tie group, the group
 *   contributes its share of positives pro rata.
 * Metrics that are undefined for the data (no positives, no negatives) are NaN.
 */

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new Error(`${scores.length} scores for ${labels.length} labels`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) throw new Error(`score ${i} is NaN`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`label ${i} is ${labels[i]}, expected 0 or 1`);
  }
}

/** Indices ordered by score, descending. */
function byScoreDesc(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function countPositives(labels: ArrayLike<number>): number {
  let p = 0;
  for (let i = 0; i < labels.length; i++) p += labels[i]!;
  return p;
}

export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs(scores, labels);
  const n = scores.length;
  const nPos = countPositives(labels);
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  const order = byScoreDesc(scores).reverse(); // ascending
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    let pos = 0;
    while (j < n && scores[order[j]!] === scores[order[i]!]) pos += labels[order[j++]!]!;
    // ranks i+1 .. j share their average
    rankSumPos += (pos * (i + 1 + j)) / 2;
    i = j;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs(scores, labels);
  const n = scores.length;
  const nPos = countPositives(labels);
  if (nPos === 0) return Number.NaN;
  const order = byScoreDesc(scores);
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && scores[order[j]!] === scores[order[i]!]) tp += labels[order[j++]!]!;
    seen = j;
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j;
  }
  return ap;
}

/** Expected number of positives among the k highest scores (tie groups split pro rata). */
export function positivesInTop(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  checkInputs(scores, labels);
  const n = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`k must be an integer in 0..${n}, got ${k}`);
  const order = byScoreDesc(scores);
  let taken = 0;
  let positives = 0;
  for (let i = 0; i < n && taken < k; ) {
    let j = i;
    let pos = 0;
    while (j < n && scores[order[j]!] === scores[order[i]!]) pos += labels[order[j++]!]!;
    const size = j - i;
    const take = Math.min(size, k - taken);
    positives += (pos * take) / size;
    taken += take;
    i = j;
  }
  return positives;
}

export function precisionAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  return k === 0 ? Number.NaN : positivesInTop(scores, labels, k) / k;
}

export function recallAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const nPos = countPositives(labels);
  return nPos === 0 ? Number.NaN : positivesInTop(scores, labels, k) / nPos;
}

/** Rows an alert rate selects: ceil(rate × n) (at least one row when rate > 0). */
export function alertCount(n: number, rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`alert rate must be in [0, 1], got ${rate}`);
  return Math.min(n, Math.max(0, Math.ceil(rate * n - 1e-9)));
}

/** Share of all positives caught when the top `rate` of rows (0.01 = 1 %) raise an alert. */
export function recallAtAlertRate(scores: ArrayLike<number>, labels: ArrayLike<number>, rate: number): number {
  return recallAtK(scores, labels, alertCount(scores.length, rate));
}

export function precisionAtAlertRate(scores: ArrayLike<number>, labels: ArrayLike<number>, rate: number): number {
  return precisionAtK(scores, labels, alertCount(scores.length, rate));
}

export interface ModelMetrics {
  readonly rocAuc: number;
  readonly averagePrecision: number;
  readonly recallAt1pct: number;
  readonly precisionAt1pct: number;
  readonly rows: number;
  readonly positives: number;
}

/** The metrics the manifest records, on one evaluation set. */
export function evaluateScores(scores: ArrayLike<number>, labels: ArrayLike<number>): ModelMetrics {
  return {
    rocAuc: rocAuc(scores, labels),
    averagePrecision: averagePrecision(scores, labels),
    recallAt1pct: recallAtAlertRate(scores, labels, 0.01),
    precisionAt1pct: precisionAtAlertRate(scores, labels, 0.01),
    rows: scores.length,
    positives: countPositives(labels),
  };
}
