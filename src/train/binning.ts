import type { Dataset } from './dataset.ts';

/**
 * Quantile binning for the histogram trainer. Each feature gets ascending float32 cut points
 * t_0 < t_1 < … < t_{k-1} (k ≤ maxBins − 1 ≤ 254); a value's bin is the first j with
 * x <= t_j, or k when it is above every cut. A split "bin <= b" is then exactly the ONNX
 * comparison "x <= t_b" (BRANCH_LEQ) on the same float32 numbers, which is what makes the
 * exported file score exactly as the trainer does. NaN goes to the MISSING_BIN.
 *
 * Equal-frequency bins alone lose a sharp threshold in a thin tail (issue 20): on the Fraud
 * Detection Handbook's data every amount above 220 is fraud, but those rows are ~0.2% of a
 * week, fewer than one bin of 255, so the last quantile bin held the legitimate 190-220 and
 * the fraudulent 221+ together and no split could tell them apart. So `buildBinMapper` also
 * cuts at both ends of every long run of the rarer class in value order (`classBoundaryCuts`:
 * Fayyad & Irani's boundary points, where an optimal threshold lies), and the quantile cuts
 * share the budget with them.
 */

export const MISSING_BIN = 255;
/** value bins per feature at most (the byte's 256th value is the missing bin) */
export const MAX_VALUE_BINS = 255;

export interface BinMapper {
  /** per feature: ascending float32 cut points */
  readonly cuts: readonly Float32Array[];
}

/** The cut point between two adjacent distinct float32 values a < b: their float32 midpoint, or a. */
function cutBetween(a: number, b: number): number {
  const mid = Math.fround(a / 2 + b / 2);
  return mid >= a && mid < b ? mid : a;
}

/** Cut points for one feature from its sorted non-missing values. */
export function quantileCuts(sorted: Float32Array, maxBins: number): Float32Array {
  const n = sorted.length;
  if (n === 0) return new Float32Array(0);
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]!++;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(cutBetween(distinct[i]!, distinct[i + 1]!));
    return Float32Array.from(cuts);
  }
  // Greedy equal-frequency bins over distinct values: a value holding more than a bin's share
  // (a count of 0, say) gets a bin of its own; the target is recomputed on what is left.
  let remaining = n;
  let binsLeft = maxBins;
  let acc = 0;
  for (let i = 0; i + 1 < distinct.length && binsLeft > 1; i++) {
    acc += counts[i]!;
    if (acc >= remaining / binsLeft) {
      cuts.push(cutBetween(distinct[i]!, distinct[i + 1]!));
      remaining -= acc;
      acc = 0;
      binsLeft--;
    }
  }
  return Float32Array.from(cuts);
}

/** Bin of x given a feature's cuts: MISSING_BIN for NaN, else the first j with x <= cuts[j]. */
export function binOf(cuts: Float32Array, x: number): number {
  if (x !== x) return MISSING_BIN;
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= cuts[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Cut points from at most `sampleRows` rows (chosen with `rand` when there are more), so
 * binning a large training set stays cheap; values outside the sample's range still get
 * the first or last bin.
 */
export function buildBinMapper(d: Dataset, maxBins: number, sampleRows: number, rand: () => number): BinMapper {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_VALUE_BINS) {
    throw new Error(`maxBins must be an integer in 2..${MAX_VALUE_BINS}, got ${maxBins}`);
  }
  let rows: Int32Array;
  if (d.nRows <= sampleRows) rows = Int32Array.from({ length: d.nRows }, (_, i) => i);
  else {
    // partial Fisher-Yates: a uniform sample without replacement
    const all = Int32Array.from({ length: d.nRows }, (_, i) => i);
    for (let i = 0; i < sampleRows; i++) {
      const j = i + Math.floor(rand() * (d.nRows - i));
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    rows = all.slice(0, sampleRows);
  }
  let positives = 0;
  for (let i = 0; i < rows.length; i++) positives += d.labels[rows[i]!]!;
  // the rarer class (positives on a tie)
  const rare = positives <= rows.length - positives ? 1 : 0;
  const cuts: Float32Array[] = [];
  const buf = new Float32Array(rows.length);
  const rareBuf = new Float32Array(rows.length);
  const maxClassCuts = Math.min(MAX_CLASS_BOUNDARY_CUTS, Math.floor((maxBins - 1) / 4) * 2);
  for (let f = 0; f < d.nFeatures; f++) {
    let n = 0;
    let nRare = 0;
    for (let i = 0; i < rows.length; i++) {
      const v = d.x[rows[i]! * d.nFeatures + f]!;
      if (v !== v) continue;
      buf[n++] = v;
      if (d.labels[rows[i]!] === rare) rareBuf[nRare++] = v;
    }
    const sorted = buf.slice(0, n).sort();
    const classCuts = classBoundaryCuts(sorted, rareBuf.slice(0, nRare).sort(), MIN_CLASS_RUN_ROWS, maxClassCuts);
    cuts.push(mergeCuts(quantileCuts(sorted, maxBins - classCuts.length), classCuts));
  }
  return { cuts };
}

/** Rows a run of the rarer class needs before its ends become cuts. */
export const MIN_CLASS_RUN_ROWS = 10;
/** Class-boundary cuts per feature at most (two per run). */
export const MAX_CLASS_BOUNDARY_CUTS = 32;

/**
 * Cuts at both ends of the runs of the rare class in value order: maximal stretches of
 * consecutive distinct values that only rows of that class hold (a value both classes hold
 * ends a run: ties are never split), of at least `minRunRows` rows. The longest runs are kept
 * (two cuts each, at most `maxCuts`); a run at either end of the range needs one cut only.
 * `sorted` is every value ascending, `sortedRare` the rare class's values ascending.
 */
export function classBoundaryCuts(sorted: Float32Array, sortedRare: Float32Array, minRunRows: number, maxCuts: number): Float32Array {
  interface Run {
    readonly rows: number;
    readonly cuts: number[];
  }
  const runs: Run[] = [];
  const n = sorted.length;
  let r = 0;
  // the current run: its first distinct value's position in `sorted` and its rows; -1 = none
  let runStart = -1;
  let runRows = 0;
  let prevDistinct = Number.NaN;
  const close = (endValue: number, nextValue: number | null): void => {
    if (runStart >= 0 && runRows >= minRunRows) {
      const c: number[] = [];
      if (runStart > 0) c.push(cutBetween(sorted[runStart - 1]!, sorted[runStart]!));
      if (nextValue !== null) c.push(cutBetween(endValue, nextValue));
      runs.push({ rows: runRows, cuts: c });
    }
    runStart = -1;
    runRows = 0;
  };
  for (let i = 0; i < n; ) {
    const v = sorted[i]!;
    let j = i;
    while (j < n && sorted[j] === v) j++;
    while (r < sortedRare.length && sortedRare[r]! < v) r++;
    let k = r;
    while (k < sortedRare.length && sortedRare[k] === v) k++;
    const pure = k - r === j - i;
    r = k;
    if (pure) {
      if (runStart < 0) runStart = i;
      runRows += j - i;
    } else close(prevDistinct, v);
    prevDistinct = v;
    i = j;
  }
  close(prevDistinct, null);
  runs.sort((a, b) => b.rows - a.rows);
  const out: number[] = [];
  for (const run of runs) {
    if (out.length + run.cuts.length > maxCuts) continue;
    out.push(...run.cuts);
  }
  return Float32Array.from(out.sort((a, b) => a - b));
}

/** The ascending union of two ascending cut lists. */
function mergeCuts(a: Float32Array, b: Float32Array): Float32Array {
  if (b.length === 0) return a;
  const all = [...a, ...b].sort((x, y) => x - y);
  return Float32Array.from(all.filter((c, i) => i === 0 || c !== all[i - 1]));
}

/** Row-major bins (nRows × nFeatures bytes). */
export function binRows(x: Float32Array, nRows: number, nFeatures: number, mapper: BinMapper): Uint8Array {
  const out = new Uint8Array(nRows * nFeatures);
  for (let r = 0; r < nRows; r++) {
    const base = r * nFeatures;
    for (let f = 0; f < nFeatures; f++) out[base + f] = binOf(mapper.cuts[f]!, x[base + f]!);
  }
  return out;
}
