import type { Dataset } from './dataset.ts';

/**
 * Quantile binning for the histogram trainer. Each feature gets ascending float32 cut points
 * t_0 < t_1 < … < t_{k-1} (k ≤ maxBins − 1 ≤ 254); a value's bin is the first j with
 * x <= t_j, or k when it is above every cut. A split "bin <= b" is then exactly the ONNX
 * comparison "x <= t_b" (BRANCH_LEQ) on the same float32 numbers, which is what makes the
 * exported file score exactly as the trainer does. NaN goes to the MISSING_BIN.
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
  const cuts: Float32Array[] = [];
  const buf = new Float32Array(rows.length);
  for (let f = 0; f < d.nFeatures; f++) {
    let n = 0;
    for (let i = 0; i < rows.length; i++) {
      const v = d.x[rows[i]! * d.nFeatures + f]!;
      if (v === v) buf[n++] = v;
    }
    const sorted = buf.slice(0, n).sort();
    cuts.push(quantileCuts(sorted, maxBins));
  }
  return { cuts };
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
