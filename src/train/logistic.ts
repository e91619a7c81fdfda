import { sigmoid } from '../model/tree-ensemble.ts';
import { assertDataset, type Dataset } from './dataset.ts';
import { logLoss } from './gbdt.ts';

/**
 * Logistic regression, the baseline the trees must beat.
 * - Inputs are standardised with the training mean and standard deviation of their finite
 *   values; a missing (NaN) or infinite value is imputed with the mean (0 after
 *   standardising) and, for every feature that had missing values in training, a 0/1
 *   missing-indicator column is added, so "missing" can carry its own weight.
 * - Objective: mean log loss + (l2 / 2)·‖w‖² (the intercept is not penalised).
 * - Solver: Newton's method (IRLS) with step halving, exact for this convex problem; the
 *   design has at most 2 × features + 1 columns, so the Hessian is small.
 */

export interface LogisticParams {
  readonly l2: number;
  readonly maxIterations: number;
  /** stop when no coefficient moves by more than this */
  readonly tolerance: number;
}

export const DEFAULT_LOGISTIC_PARAMS: LogisticParams = Object.freeze({ l2: 1e-4, maxIterations: 50, tolerance: 1e-7 });

export interface LogisticModel {
  readonly featureNames: readonly string[];
  readonly means: readonly number[];
  readonly scales: readonly number[];
  /** weight of each standardised feature */
  readonly coef: readonly number[];
  /** weight of each feature's missing indicator (0 for features never missing in training) */
  readonly missingCoef: readonly number[];
  readonly hasIndicator: readonly boolean[];
  readonly intercept: number;
  readonly iterations: number;
  readonly converged: boolean;
}

interface Design {
  readonly cols: number;
  /** row-major design matrix, column 0 is the intercept */
  readonly z: Float64Array;
}

function design(d: Dataset, means: readonly number[], scales: readonly number[], hasIndicator: readonly boolean[]): Design {
  const indicatorCol: number[] = [];
  let cols = 1 + d.nFeatures;
  for (let f = 0; f < d.nFeatures; f++) indicatorCol.push(hasIndicator[f] ? cols++ : -1);
  const z = new Float64Array(d.nRows * cols);
  for (let r = 0; r < d.nRows; r++) {
    const o = r * cols;
    z[o] = 1;
    for (let f = 0; f < d.nFeatures; f++) {
      const x = d.x[r * d.nFeatures + f]!;
      if (Number.isFinite(x)) z[o + 1 + f] = (x - means[f]!) / scales[f]!;
      else if (indicatorCol[f]! >= 0) z[o + indicatorCol[f]!] = 1;
    }
  }
  return { cols, z };
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A is overwritten. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= a[j * n + k]! ** 2;
    if (!(s > 0)) throw new Error('logistic regression: the Hessian is not positive definite (raise l2)');
    const ljj = Math.sqrt(s);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = t / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = b[i]!;
    for (let k = 0; k < i; k++) t -= a[i * n + k]! * y[k]!;
    y[i] = t / a[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let t = y[i]!;
    for (let k = i + 1; k < n; k++) t -= a[k * n + i]! * x[k]!;
    x[i] = t / a[i * n + i]!;
  }
  return x;
}

function margins(dz: Design, nRows: number, w: Float64Array): Float64Array {
  const m = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) {
    let s = 0;
    const o = r * dz.cols;
    for (let c = 0; c < dz.cols; c++) s += dz.z[o + c]! * w[c]!;
    m[r] = s;
  }
  return m;
}

export function trainLogistic(train: Dataset, params: Partial<LogisticParams> = {}): LogisticModel {
  const p: LogisticParams = { ...DEFAULT_LOGISTIC_PARAMS, ...params };
  if (!(p.l2 >= 0)) throw new Error(`l2 must be ≥ 0, got ${p.l2}`);
  assertDataset(train, 'training set');
  const { nRows: n, nFeatures: F } = train;
  const means: number[] = [];
  const scales: number[] = [];
  const hasIndicator: boolean[] = [];
  for (let f = 0; f < F; f++) {
    let s = 0;
    let s2 = 0;
    let k = 0;
    for (let r = 0; r < n; r++) {
      const x = train.x[r * F + f]!;
      if (Number.isFinite(x)) {
        s += x;
        k++;
      }
    }
    const mean = k > 0 ? s / k : 0;
    for (let r = 0; r < n; r++) {
      const x = train.x[r * F + f]!;
      if (Number.isFinite(x)) s2 += (x - mean) ** 2;
    }
    const sd = k > 1 ? Math.sqrt(s2 / k) : 0;
    means.push(mean);
    scales.push(sd > 0 ? sd : 1);
    hasIndicator.push(k < n);
  }
  const dz = design(train, means, scales, hasIndicator);
  const C = dz.cols;
  let w = new Float64Array(C);
  let positives = 0;
  for (let r = 0; r < n; r++) positives += train.labels[r]!;
  const rate = Math.min(1 - 1e-9, Math.max(1e-9, positives / n));
  w[0] = Math.log(rate / (1 - rate));

  const objective = (ww: Float64Array): number => {
    let pen = 0;
    for (let c = 1; c < C; c++) pen += ww[c]! ** 2;
    return logLoss(margins(dz, n, ww), train.labels) + (p.l2 / 2) * pen;
  };
  let obj = objective(w);
  let iterations = 0;
  let converged = false;
  while (iterations < p.maxIterations && !converged) {
    iterations++;
    const m = margins(dz, n, w);
    const grad = new Float64Array(C);
    const hess = new Float64Array(C * C);
    for (let r = 0; r < n; r++) {
      const pr = sigmoid(m[r]!);
      const e = pr - train.labels[r]!;
      const wt = Math.max(pr * (1 - pr), 1e-12);
      const o = r * C;
      for (let i = 0; i < C; i++) {
        const zi = dz.z[o + i]!;
        if (zi === 0) continue;
        grad[i]! += e * zi;
        const wz = wt * zi;
        for (let j = 0; j <= i; j++) hess[i * C + j]! += wz * dz.z[o + j]!;
      }
    }
    for (let i = 0; i < C; i++) {
      grad[i] = grad[i]! / n + (i > 0 ? p.l2 * w[i]! : 0);
      for (let j = 0; j <= i; j++) {
        const v = hess[i * C + j]! / n + (i === j ? (i > 0 ? p.l2 : 1e-10) : 0);
        hess[i * C + j] = v;
        hess[j * C + i] = v;
      }
    }
    const step = choleskySolve(hess, grad, C);
    let t = 1;
    let next = w;
    let nextObj = obj;
    for (let halvings = 0; halvings < 30; halvings++) {
      const cand = w.map((wi, i) => wi - t * step[i]!);
      const o = objective(cand);
      if (o <= obj) {
        next = cand;
        nextObj = o;
        break;
      }
      t /= 2;
    }
    let moved = 0;
    for (let i = 0; i < C; i++) moved = Math.max(moved, Math.abs(next[i]! - w[i]!));
    converged = moved < p.tolerance;
    w = next;
    obj = nextObj;
  }
  const coef: number[] = [];
  const missingCoef: number[] = [];
  let ind = 1 + F;
  for (let f = 0; f < F; f++) {
    coef.push(w[1 + f]!);
    missingCoef.push(hasIndicator[f] ? w[ind++]! : 0);
  }
  return { featureNames: [...train.featureNames], means, scales, coef, missingCoef, hasIndicator, intercept: w[0]!, iterations, converged };
}

export function logisticMargin(model: LogisticModel, row: ArrayLike<number>, offset = 0): number {
  let m = model.intercept;
  for (let f = 0; f < model.coef.length; f++) {
    const x = row[offset + f]!;
    m += Number.isFinite(x) ? ((x - model.means[f]!) / model.scales[f]!) * model.coef[f]! : model.missingCoef[f]!;
  }
  return m;
}

export function logisticProbabilities(model: LogisticModel, d: Dataset): Float64Array {
  const out = new Float64Array(d.nRows);
  for (let r = 0; r < d.nRows; r++) out[r] = sigmoid(logisticMargin(model, d.x, r * d.nFeatures));
  return out;
}
