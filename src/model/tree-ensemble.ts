/**
 * A trained tree ensemble as plain data: what the trainer produces, what the manifest stores
 * (so the explainer needs no ONNX parser) and what onnx-export.ts writes.
 *
 * Split semantics, chosen to be exactly ai.onnx.ml TreeEnsembleRegressor's BRANCH_LEQ with
 * `nodes_missing_value_tracks_true` (onnxruntime core/providers/cpu/ml/tree_ensemble_common.h:
 * `x <= threshold || (missing_tracks_true && isnan(x))` → true branch, else false branch):
 * - a row goes left (the ONNX true branch) when `x <= threshold`, where x is the float32 input
 *   and threshold a float32 value (both compare exactly, as doubles, in JS);
 * - a missing value (NaN) goes left when `defaultLeft` is 1, else right (NaN <= t is false);
 * - margin = baseMargin + Σ leaf values; probability = sigmoid(margin).
 * Leaf values, thresholds and baseMargin are float32-representable, so the ONNX file holds
 * exactly these numbers.
 */

export interface Tree {
  /** split feature (model column) per node; -1 for a leaf. Node 0 is the root. */
  readonly feature: readonly number[];
  /** float32 split threshold (`x <= threshold` goes left); 0 for a leaf */
  readonly threshold: readonly number[];
  /** 1: a missing value goes left; 0: right */
  readonly defaultLeft: readonly number[];
  /** child node indices; -1 for a leaf. A child always has a larger index than its parent. */
  readonly left: readonly number[];
  readonly right: readonly number[];
  /**
   * Leaf: the leaf's output (learning rate applied), float32. Internal node: the expected
   * output of its subtree over the training rows, i.e. the cover-weighted mean of its
   * children (used by the Saabas attribution in contributions.ts).
   */
  readonly value: readonly number[];
  /** sum of hessians of the training rows that reached the node */
  readonly cover: readonly number[];
}

export interface TreeEnsemble {
  /** float32 margin before any tree: the log-odds of the training base rate */
  readonly baseMargin: number;
  readonly nFeatures: number;
  readonly trees: readonly Tree[];
}

export const sigmoid = (m: number): number => 1 / (1 + Math.exp(-m));

/** Index of the leaf that `row` (starting at `offset`) reaches in `t`. */
export function leafIndex(t: Tree, row: ArrayLike<number>, offset = 0): number {
  let n = 0;
  for (;;) {
    const f = t.feature[n]!;
    if (f < 0) return n;
    const x = row[offset + f]!;
    n = x <= t.threshold[n]! || (x !== x && t.defaultLeft[n] === 1) ? t.left[n]! : t.right[n]!;
  }
}

export function predictMargin(e: TreeEnsemble, row: ArrayLike<number>, offset = 0): number {
  let m = e.baseMargin;
  for (const t of e.trees) m += t.value[leafIndex(t, row, offset)]!;
  return m;
}

export function predictProbability(e: TreeEnsemble, row: ArrayLike<number>, offset = 0): number {
  return sigmoid(predictMargin(e, row, offset));
}

/** Margins of every row of a row-major matrix with `e.nFeatures` columns. */
export function predictMargins(e: TreeEnsemble, x: Float32Array, nRows: number): Float64Array {
  const out = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) out[r] = predictMargin(e, x, r * e.nFeatures);
  return out;
}

const isF32 = (v: number): boolean => Number.isFinite(v) && Math.fround(v) === v;

/**
 * Structural problems of an ensemble read from a file (null when sound): array lengths,
 * child indices (always forward, so no cycles), feature range, float32 thresholds and leaves.
 */
export function ensembleProblem(e: TreeEnsemble): string | null {
  if (!isF32(e.baseMargin)) return `baseMargin ${e.baseMargin} is not a finite float32`;
  if (!Number.isInteger(e.nFeatures) || e.nFeatures < 1) return `nFeatures ${e.nFeatures} is not a positive integer`;
  for (let k = 0; k < e.trees.length; k++) {
    const t = e.trees[k]!;
    const n = t.feature.length;
    if (n === 0) return `tree ${k} has no nodes`;
    for (const [name, a] of Object.entries({ threshold: t.threshold, defaultLeft: t.defaultLeft, left: t.left, right: t.right, value: t.value, cover: t.cover })) {
      if (a.length !== n) return `tree ${k}: ${name} has ${a.length} entries for ${n} nodes`;
    }
    const reached = new Uint8Array(n);
    reached[0] = 1;
    for (let i = 0; i < n; i++) {
      if (reached[i] !== 1) return `tree ${k}: node ${i} is not reachable from the root`;
      const f = t.feature[i]!;
      if (!Number.isFinite(t.value[i]!)) return `tree ${k}: node ${i} has a non-finite value`;
      if (f === -1) {
        if (!isF32(t.value[i]!)) return `tree ${k}: leaf ${i} value is not a float32`;
        continue;
      }
      if (!Number.isInteger(f) || f < 0 || f >= e.nFeatures) return `tree ${k}: node ${i} splits on feature ${f}, outside 0..${e.nFeatures - 1}`;
      if (!isF32(t.threshold[i]!)) return `tree ${k}: node ${i} threshold ${t.threshold[i]} is not a finite float32`;
      if (t.defaultLeft[i] !== 0 && t.defaultLeft[i] !== 1) return `tree ${k}: node ${i} defaultLeft must be 0 or 1`;
      for (const c of [t.left[i]!, t.right[i]!]) {
        if (!Number.isInteger(c) || c <= i || c >= n) return `tree ${k}: node ${i} has child ${c}, which is not a later node`;
        if (reached[c] === 1) return `tree ${k}: node ${c} has two parents`;
        reached[c] = 1;
      }
    }
  }
  return null;
}

/**
 * The ensemble as flat typed arrays for the per-transfer paths (explanations at scoring time):
 * all trees' nodes back to back, each tree laid out breadth-first with the two children of a
 * node side by side (right = left + 1), so a step is `firstChild + goesRight` without a
 * branch to mispredict. About 1.5× faster than walking the Tree arrays on the machine of
 * bench/model-batch.ts; same routing, same sums.
 */
export interface CompiledEnsemble {
  readonly baseMargin: number;
  readonly nFeatures: number;
  readonly roots: Int32Array;
  /** -1 for a leaf */
  readonly feature: Int32Array;
  readonly threshold: Float32Array;
  /** 1 when a missing value goes right (the Tree's defaultLeft = 0) */
  readonly missingRight: Uint8Array;
  /** index of the left child; the right child follows it */
  readonly firstChild: Int32Array;
  readonly value: Float64Array;
}

export function compileEnsemble(e: TreeEnsemble): CompiledEnsemble {
  const total = e.trees.reduce((s, t) => s + t.feature.length, 0);
  const c = {
    baseMargin: e.baseMargin,
    nFeatures: e.nFeatures,
    roots: new Int32Array(e.trees.length),
    feature: new Int32Array(total),
    threshold: new Float32Array(total),
    missingRight: new Uint8Array(total),
    firstChild: new Int32Array(total),
    value: new Float64Array(total),
  };
  let next = 0;
  e.trees.forEach((t, k) => {
    c.roots[k] = next;
    // breadth-first: [source node, destination slot]
    const queue: [number, number][] = [[0, next++]];
    for (let q = 0; q < queue.length; q++) {
      const [src, dst] = queue[q]!;
      c.feature[dst] = t.feature[src]!;
      c.threshold[dst] = t.threshold[src]!;
      c.missingRight[dst] = t.feature[src]! >= 0 && t.defaultLeft[src] === 0 ? 1 : 0;
      c.value[dst] = t.value[src]!;
      if (t.feature[src]! < 0) c.firstChild[dst] = -1;
      else {
        c.firstChild[dst] = next;
        queue.push([t.left[src]!, next], [t.right[src]!, next + 1]);
        next += 2;
      }
    }
  });
  return c;
}

export function predictMarginCompiled(c: CompiledEnsemble, row: ArrayLike<number>, offset = 0): number {
  let m = c.baseMargin;
  const { feature, threshold, missingRight, firstChild, value, roots } = c;
  for (let k = 0; k < roots.length; k++) {
    let n = roots[k]!;
    for (let f = feature[n]!; f >= 0; f = feature[n]!) {
      const x = row[offset + f]!;
      n = firstChild[n]! + (+(x > threshold[n]!) | (+(x !== x) & missingRight[n]!));
    }
    m += value[n]!;
  }
  return m;
}
