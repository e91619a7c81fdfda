/**
 * The trainer's input: a dense row-major float32 matrix (NaN = missing) with 0/1 labels.
 * Rows come from `encodeVector` (src/model/encode.ts) for real data, so the numbers the
 * trainer splits on are the numbers the ONNX session will see.
 */
export interface Dataset {
  /** row-major, nRows × nFeatures; NaN marks a missing value */
  readonly x: Float32Array;
  readonly nRows: number;
  readonly nFeatures: number;
  /** 1 = fraud (positive), 0 = not */
  readonly labels: Uint8Array;
  readonly featureNames: readonly string[];
}

/** Why `d` is malformed, or null. Infinite values are allowed (they compare like any number). */
export function datasetProblem(d: Dataset): string | null {
  if (!Number.isInteger(d.nRows) || d.nRows < 1) return `nRows must be a positive integer, got ${d.nRows}`;
  if (!Number.isInteger(d.nFeatures) || d.nFeatures < 1) return `nFeatures must be a positive integer, got ${d.nFeatures}`;
  if (d.x.length !== d.nRows * d.nFeatures) return `x has ${d.x.length} values, expected nRows × nFeatures = ${d.nRows * d.nFeatures}`;
  if (d.labels.length !== d.nRows) return `labels has ${d.labels.length} entries, expected ${d.nRows}`;
  if (d.featureNames.length !== d.nFeatures) return `featureNames has ${d.featureNames.length} names, expected ${d.nFeatures}`;
  for (let i = 0; i < d.nRows; i++) {
    if (d.labels[i]! > 1) return `label of row ${i} is ${d.labels[i]}, expected 0 or 1`;
  }
  return null;
}

export function assertDataset(d: Dataset, what: string): void {
  const p = datasetProblem(d);
  if (p !== null) throw new Error(`${what}: ${p}`);
}

/** A dataset from rows of numbers (null or NaN = missing); handy for small cases and tests. */
export function datasetFromRows(
  rows: readonly (readonly (number | null)[])[],
  labels: readonly number[],
  featureNames?: readonly string[],
): Dataset {
  const nFeatures = rows[0]?.length ?? 0;
  const x = new Float32Array(rows.length * nFeatures);
  rows.forEach((r, i) => {
    if (r.length !== nFeatures) throw new Error(`row ${i} has ${r.length} values, expected ${nFeatures}`);
    r.forEach((v, j) => {
      x[i * nFeatures + j] = v === null ? Number.NaN : v;
    });
  });
  const d: Dataset = {
    x,
    nRows: rows.length,
    nFeatures,
    labels: Uint8Array.from(labels),
    featureNames: featureNames ?? Array.from({ length: nFeatures }, (_, j) => `f${j}`),
  };
  assertDataset(d, 'datasetFromRows');
  return d;
}

/** The rows of `d` at `indices`, in that order. */
export function selectRows(d: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const x = new Float32Array(n * d.nFeatures);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    x.set(d.x.subarray(r * d.nFeatures, (r + 1) * d.nFeatures), i * d.nFeatures);
    labels[i] = d.labels[r]!;
  }
  return { x, nRows: n, nFeatures: d.nFeatures, labels, featureNames: d.featureNames };
}
