import { predictMargin, sigmoid, type Tree, type TreeEnsemble } from '../model/tree-ensemble.ts';
import { binRows, buildBinMapper, MISSING_BIN, type BinMapper } from './binning.ts';
import { assertDataset, type Dataset } from './dataset.ts';
import { mulberry32 } from '../sim/random.ts';

/**
 * Gradient-boosted decision trees for binary classification, histogram-based (as LightGBM and
 * XGBoost's `hist` method: Ke et al., "LightGBM", NeurIPS 2017; Chen & Guestrin, "XGBoost",
 * KDD 2016):
 * - logistic loss: gradient p − y, hessian p(1 − p), starting from the log-odds of the base rate;
 * - quantile bins per feature (binning.ts), plus a missing bin whose direction every split
 *   learns: both directions are scored and the better kept; when the node has no missing
 *   values, missing goes to the child with more training weight;
 * - leaf-wise growth (best gain first) bounded by maxLeaves and maxDepth; a split needs
 *   minChildWeight hessian and minChildSamples rows on each side and a gain above
 *   minSplitGain; leaf value −G/(H + λ) × learningRate (L2 λ);
 * - histogram subtraction: only the smaller child's histogram is built;
 * - optional row subsampling per tree (seeded), early stopping on a validation set (pass the
 *   later time window) by log loss, keeping the best number of trees.
 * Everything is deterministic for a given seed.
 */

export interface GbdtParams {
  /** trees at most */
  readonly maxRounds: number;
  readonly learningRate: number;
  readonly maxDepth: number;
  readonly maxLeaves: number;
  /** minimum hessian sum on each side of a split */
  readonly minChildWeight: number;
  /** minimum rows on each side of a split */
  readonly minChildSamples: number;
  /** L2 regularisation of leaf values */
  readonly lambda: number;
  readonly minSplitGain: number;
  /** fraction of rows each tree is grown on (1 = all) */
  readonly subsample: number;
  /** value bins per feature, ≤ 255 */
  readonly maxBins: number;
  /** rows the bin boundaries are computed from */
  readonly binSampleRows: number;
  /** stop after this many rounds without a better validation loss (0 = never) */
  readonly earlyStoppingRounds: number;
  readonly seed: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = Object.freeze({
  maxRounds: 300,
  learningRate: 0.1,
  maxDepth: 6,
  maxLeaves: 31,
  minChildWeight: 1e-3,
  minChildSamples: 20,
  lambda: 1,
  minSplitGain: 0,
  subsample: 1,
  maxBins: 255,
  binSampleRows: 200_000,
  earlyStoppingRounds: 30,
  seed: 1,
});

export interface GbdtModel extends TreeEnsemble {
  readonly featureNames: readonly string[];
  readonly params: GbdtParams;
}

export interface GbdtReport {
  /** trees kept (the best validation round, or all rounds without validation) */
  readonly trees: number;
  /** rounds actually grown */
  readonly rounds: number;
  readonly stoppedEarly: boolean;
  /** why boosting ended */
  readonly stopReason: 'max_rounds' | 'early_stopping' | 'no_split';
  /** mean log loss after each round */
  readonly trainLoss: readonly number[];
  readonly validLoss: readonly number[];
}

export interface GbdtResult {
  readonly model: GbdtModel;
  readonly report: GbdtReport;
}

function checkParams(p: GbdtParams): void {
  const bad = (name: keyof GbdtParams, want: string): never => {
    throw new Error(`GBDT parameter ${name} must be ${want}, got ${String(p[name])}`);
  };
  if (!Number.isInteger(p.maxRounds) || p.maxRounds < 1) bad('maxRounds', 'a positive integer');
  if (!(p.learningRate > 0 && p.learningRate <= 1)) bad('learningRate', 'in (0, 1]');
  if (!Number.isInteger(p.maxDepth) || p.maxDepth < 1 || p.maxDepth > 30) bad('maxDepth', 'an integer in 1..30');
  if (!Number.isInteger(p.maxLeaves) || p.maxLeaves < 2) bad('maxLeaves', 'an integer ≥ 2');
  if (!(p.minChildWeight >= 0)) bad('minChildWeight', '≥ 0');
  if (!Number.isInteger(p.minChildSamples) || p.minChildSamples < 1) bad('minChildSamples', 'an integer ≥ 1');
  if (!(p.lambda >= 0)) bad('lambda', '≥ 0');
  if (!(p.minSplitGain >= 0)) bad('minSplitGain', '≥ 0');
  if (!(p.subsample > 0 && p.subsample <= 1)) bad('subsample', 'in (0, 1]');
  if (!Number.isInteger(p.binSampleRows) || p.binSampleRows < 1) bad('binSampleRows', 'a positive integer');
  if (!Number.isInteger(p.earlyStoppingRounds) || p.earlyStoppingRounds < 0) bad('earlyStoppingRounds', 'an integer ≥ 0');
  if (!Number.isInteger(p.seed)) bad('seed', 'an integer');
}

/** Mean log loss of margins against labels. */
export function logLoss(margins: ArrayLike<number>, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const m = margins[i]!;
    // log(1 + e^-m) for y = 1, log(1 + e^m) for y = 0, computed without overflow
    const z = labels[i] === 1 ? -m : m;
    s += z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  }
  return s / labels.length;
}

/** histogram layout: per feature 256 bins × (gradient, hessian, count) */
const HIST_STRIDE = 256 * 3;

interface Split {
  readonly gain: number;
  readonly feature: number;
  readonly bin: number;
  readonly defaultLeft: boolean;
  readonly gl: number;
  readonly hl: number;
  readonly nl: number;
}

interface OpenLeaf {
  readonly node: number;
  readonly start: number;
  readonly end: number;
  readonly depth: number;
  readonly g: number;
  readonly h: number;
  readonly hist: Float64Array;
  readonly split: Split | null;
}

/** A tree under construction, as growable arrays (the Tree fields plus the split bin). */
class TreeBuilder {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly thresholdBin: number[] = [];
  readonly defaultLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly value: number[] = [];
  readonly cover: number[] = [];

  add(cover: number): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.thresholdBin.push(-1);
    this.defaultLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.cover.push(cover);
    return this.feature.length - 1;
  }

  /** Internal values: the cover-weighted mean of the children, bottom-up (children come later). */
  finish(): Tree {
    for (let i = this.feature.length - 1; i >= 0; i--) {
      if (this.feature[i]! < 0) continue;
      const l = this.left[i]!;
      const r = this.right[i]!;
      const cl = this.cover[l]!;
      const cr = this.cover[r]!;
      this.value[i] = cl + cr > 0 ? (cl * this.value[l]! + cr * this.value[r]!) / (cl + cr) : (this.value[l]! + this.value[r]!) / 2;
    }
    return {
      feature: this.feature,
      threshold: this.threshold,
      defaultLeft: this.defaultLeft,
      left: this.left,
      right: this.right,
      value: this.value,
      cover: this.cover,
    };
  }
}

class Grower {
  private readonly nFeatures: number;
  private readonly nBins: Int32Array;
  private readonly pool: Float64Array[] = [];
  private readonly scratch: Int32Array;

  constructor(
    private readonly bins: Uint8Array,
    private readonly mapper: BinMapper,
    private readonly p: GbdtParams,
    nRows: number,
  ) {
    this.nFeatures = mapper.cuts.length;
    this.nBins = Int32Array.from(mapper.cuts, (c) => c.length + 1);
    this.scratch = new Int32Array(nRows);
  }

  private takeHist(): Float64Array {
    const h = this.pool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.nFeatures * HIST_STRIDE);
  }

  private buildHist(idx: Int32Array, start: number, end: number, g: Float64Array, h: Float64Array): Float64Array {
    const hist = this.takeHist();
    const F = this.nFeatures;
    const bins = this.bins;
    for (let i = start; i < end; i++) {
      const r = idx[i]!;
      const gr = g[r]!;
      const hr = h[r]!;
      const base = r * F;
      let o = 0;
      for (let f = 0; f < F; f++) {
        const k = o + bins[base + f]! * 3;
        hist[k]! += gr;
        hist[k + 1]! += hr;
        hist[k + 2]! += 1;
        o += HIST_STRIDE;
      }
    }
    return hist;
  }

  private bestSplit(hist: Float64Array, G: number, H: number, n: number, depth: number): Split | null {
    if (depth >= this.p.maxDepth || n < 2 * this.p.minChildSamples) return null;
    const { lambda, minChildWeight, minChildSamples, minSplitGain } = this.p;
    const parentScore = (G * G) / (H + lambda);
    let best: Split | null = null;
    let bestGain = minSplitGain;
    for (let f = 0; f < this.nFeatures; f++) {
      const o = f * HIST_STRIDE;
      const m = o + MISSING_BIN * 3;
      const gm = hist[m]!;
      const hm = hist[m + 1]!;
      const nm = hist[m + 2]!;
      let gl = 0;
      let hl = 0;
      let nl = 0;
      const last = this.nBins[f]! - 1;
      for (let b = 0; b < last; b++) {
        const k = o + b * 3;
        gl += hist[k]!;
        hl += hist[k + 1]!;
        nl += hist[k + 2]!;
        // missing right, then (when the node has missing values) missing left
        for (let dir = 0; dir < (nm > 0 ? 2 : 1); dir++) {
          const GL = dir === 0 ? gl : gl + gm;
          const HL = dir === 0 ? hl : hl + hm;
          const NL = dir === 0 ? nl : nl + nm;
          const GR = G - GL;
          const HR = H - HL;
          const NR = n - NL;
          if (NL < minChildSamples || NR < minChildSamples || HL < minChildWeight || HR < minChildWeight) continue;
          const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            const defaultLeft = nm > 0 ? dir === 1 : HL >= HR;
            best = { gain, feature: f, bin: b, defaultLeft, gl: GL, hl: HL, nl: NL };
          }
        }
      }
    }
    return best;
  }

  /** Stable in-place partition of idx[start, end) by the split; returns the first right position. */
  private partition(idx: Int32Array, start: number, end: number, s: Split): number {
    const F = this.nFeatures;
    let w = start;
    let nr = 0;
    for (let i = start; i < end; i++) {
      const r = idx[i]!;
      const b = this.bins[r * F + s.feature]!;
      const goLeft = b === MISSING_BIN ? s.defaultLeft : b <= s.bin;
      if (goLeft) idx[w++] = r;
      else this.scratch[nr++] = r;
    }
    idx.set(this.scratch.subarray(0, nr), w);
    return w;
  }

  /** large −= small over the bins in use (value bins of each feature and the missing bin). */
  private subtract(large: Float64Array, small: Float64Array): void {
    for (let f = 0; f < this.nFeatures; f++) {
      const o = f * HIST_STRIDE;
      const end = o + this.nBins[f]! * 3;
      for (let k = o; k < end; k++) large[k]! -= small[k]!;
      const m = o + MISSING_BIN * 3;
      large[m]! -= small[m]!;
      large[m + 1]! -= small[m + 1]!;
      large[m + 2]! -= small[m + 2]!;
    }
  }

  private leafValue(g: number, h: number): number {
    return Math.fround((-g / (h + this.p.lambda)) * this.p.learningRate);
  }

  /** Grows one tree on idx[0, n); null when the root cannot be split. */
  grow(idx: Int32Array, n: number, g: Float64Array, h: Float64Array): { tree: Tree; splitBin: number[] } | null {
    const tb = new TreeBuilder();
    let G = 0;
    let H = 0;
    for (let i = 0; i < n; i++) {
      G += g[idx[i]!]!;
      H += h[idx[i]!]!;
    }
    const rootHist = this.buildHist(idx, 0, n, g, h);
    const root: OpenLeaf = { node: tb.add(H), start: 0, end: n, depth: 0, g: G, h: H, hist: rootHist, split: this.bestSplit(rootHist, G, H, n, 0) };
    if (root.split === null) {
      this.pool.push(rootHist);
      return null;
    }
    const open: OpenLeaf[] = [root];
    let leaves = 1;
    while (leaves < this.p.maxLeaves) {
      let bi = -1;
      for (let i = 0; i < open.length; i++) {
        const s = open[i]!.split;
        if (s !== null && (bi < 0 || s.gain > open[bi]!.split!.gain)) bi = i;
      }
      if (bi < 0) break;
      const leaf = open[bi]!;
      open.splice(bi, 1);
      const s = leaf.split!;
      const mid = this.partition(idx, leaf.start, leaf.end, s);
      const nl = mid - leaf.start;
      const nr = leaf.end - mid;
      const gr = leaf.g - s.gl;
      const hr = leaf.h - s.hl;
      const l = tb.add(s.hl);
      const r = tb.add(hr);
      tb.feature[leaf.node] = s.feature;
      tb.thresholdBin[leaf.node] = s.bin;
      tb.threshold[leaf.node] = this.mapper.cuts[s.feature]![s.bin]!;
      tb.defaultLeft[leaf.node] = s.defaultLeft ? 1 : 0;
      tb.left[leaf.node] = l;
      tb.right[leaf.node] = r;
      // histogram subtraction: build the smaller child, the larger is parent − smaller
      const leftSmaller = nl <= nr;
      const small = leftSmaller ? this.buildHist(idx, leaf.start, mid, g, h) : this.buildHist(idx, mid, leaf.end, g, h);
      const large = leaf.hist;
      this.subtract(large, small);
      const histL = leftSmaller ? small : large;
      const histR = leftSmaller ? large : small;
      const depth = leaf.depth + 1;
      open.push(
        { node: l, start: leaf.start, end: mid, depth, g: s.gl, h: s.hl, hist: histL, split: this.bestSplit(histL, s.gl, s.hl, nl, depth) },
        { node: r, start: mid, end: leaf.end, depth, g: gr, h: hr, hist: histR, split: this.bestSplit(histR, gr, hr, nr, depth) },
      );
      leaves++;
    }
    for (const leaf of open) {
      tb.value[leaf.node] = this.leafValue(leaf.g, leaf.h);
      this.pool.push(leaf.hist);
    }
    return { tree: tb.finish(), splitBin: tb.thresholdBin };
  }
}

/** Leaf reached by a binned row: the same path as the float row takes (see binning.ts). */
function binnedLeaf(t: Tree, splitBin: readonly number[], bins: Uint8Array, base: number): number {
  let n = 0;
  for (;;) {
    const f = t.feature[n]!;
    if (f < 0) return n;
    const b = bins[base + f]!;
    const goLeft = b === MISSING_BIN ? t.defaultLeft[n] === 1 : b <= splitBin[n]!;
    n = goLeft ? t.left[n]! : t.right[n]!;
  }
}

/**
 * Trains on `train`, early-stopping on `valid` when given (it should be a later time window
 * than `train`, as scoring will be). `params` override DEFAULT_GBDT_PARAMS.
 */
export function trainGbdt(train: Dataset, valid: Dataset | null, params: Partial<GbdtParams> = {}): GbdtResult {
  const p: GbdtParams = Object.freeze({ ...DEFAULT_GBDT_PARAMS, ...params });
  checkParams(p);
  assertDataset(train, 'training set');
  if (valid !== null) {
    assertDataset(valid, 'validation set');
    if (valid.nFeatures !== train.nFeatures) throw new Error(`validation set has ${valid.nFeatures} features, training set ${train.nFeatures}`);
  }
  const rand = mulberry32(p.seed);
  const mapper = buildBinMapper(train, p.maxBins, p.binSampleRows, rand);
  const bins = binRows(train.x, train.nRows, train.nFeatures, mapper);
  const n = train.nRows;

  let positives = 0;
  for (let i = 0; i < n; i++) positives += train.labels[i]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, positives / n));
  const baseMargin = Math.fround(Math.log(rate / (1 - rate)));

  const margin = new Float64Array(n).fill(baseMargin);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const validMargin = valid === null ? null : new Float64Array(valid.nRows).fill(baseMargin);
  const idx = new Int32Array(n);
  const grower = new Grower(bins, mapper, p, n);

  const trees: Tree[] = [];
  const trainLoss: number[] = [];
  const validLoss: number[] = [];
  let best = { loss: Number.POSITIVE_INFINITY, trees: 0 };
  let stopReason: GbdtReport['stopReason'] = 'max_rounds';

  for (let round = 0; round < p.maxRounds; round++) {
    for (let i = 0; i < n; i++) {
      const pr = sigmoid(margin[i]!);
      g[i] = pr - train.labels[i]!;
      h[i] = Math.max(pr * (1 - pr), 1e-16);
    }
    let m = 0;
    if (p.subsample >= 1) for (let i = 0; i < n; i++) idx[m++] = i;
    else for (let i = 0; i < n; i++) if (rand() < p.subsample) idx[m++] = i;
    const grown = m > 0 ? grower.grow(idx, m, g, h) : null;
    if (grown === null) {
      stopReason = 'no_split';
      break;
    }
    const { tree, splitBin } = grown;
    trees.push(tree);
    const F = train.nFeatures;
    for (let i = 0; i < n; i++) margin[i]! += tree.value[binnedLeaf(tree, splitBin, bins, i * F)]!;
    trainLoss.push(logLoss(margin, train.labels));

    if (valid !== null && validMargin !== null) {
      for (let i = 0; i < valid.nRows; i++) {
        let node = 0;
        const base = i * F;
        for (;;) {
          const f = tree.feature[node]!;
          if (f < 0) break;
          const x = valid.x[base + f]!;
          node = x <= tree.threshold[node]! || (x !== x && tree.defaultLeft[node] === 1) ? tree.left[node]! : tree.right[node]!;
        }
        validMargin[i]! += tree.value[node]!;
      }
      const loss = logLoss(validMargin, valid.labels);
      validLoss.push(loss);
      if (loss < best.loss) best = { loss, trees: trees.length };
      else if (p.earlyStoppingRounds > 0 && trees.length - best.trees >= p.earlyStoppingRounds) {
        stopReason = 'early_stopping';
        break;
      }
    }
  }
  const kept = valid !== null && p.earlyStoppingRounds > 0 && best.trees > 0 ? best.trees : trees.length;
  const model: GbdtModel = {
    baseMargin,
    nFeatures: train.nFeatures,
    trees: trees.slice(0, kept),
    featureNames: [...train.featureNames],
    params: p,
  };
  return {
    model,
    report: { trees: kept, rounds: trees.length, stoppedEarly: stopReason === 'early_stopping', stopReason, trainLoss, validLoss },
  };
}

/** Margins of every row of `d` (the trainer's own prediction, in double precision). */
export function gbdtMargins(model: TreeEnsemble, d: Dataset): Float64Array {
  const out = new Float64Array(d.nRows);
  for (let r = 0; r < d.nRows; r++) out[r] = predictMargin(model, d.x, r * d.nFeatures);
  return out;
}

/** P(fraud) of every row of `d`. */
export function gbdtProbabilities(model: TreeEnsemble, d: Dataset): Float64Array {
  const m = gbdtMargins(model, d);
  for (let i = 0; i < m.length; i++) m[i] = sigmoid(m[i]!);
  return m;
}
