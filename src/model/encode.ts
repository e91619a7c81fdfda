import { FEATURES, type FeatureSpec, type FeatureValue } from '../features/catalogue.ts';

/**
 * The one encoding from an engine feature vector (catalogue order, see catalogue.ts) to the
 * model's float32 input row. Training (replayed vectors) and scoring (live vectors) both go
 * through `encodeVector`, so the trainer, the exported ONNX file and the live session see the
 * same numbers bit for bit.
 *
 * Per catalogue feature:
 * - number: the value rounded to float32 (the ONNX input type); a non-number is a bug upstream
 *   and is encoded as missing rather than guessed;
 * - boolean: false → 0, true → 1;
 * - string with a closed `values` list (payer.age_band): its position in that list (minor 0,
 *   adult 1, elderly 2). One ordinal column rather than one-hot: trees isolate any code with at
 *   most two splits, the code order follows age, and the explainer gets one factor per
 *   catalogue feature. A value outside the list is encoded as missing;
 * - string without a closed list (currency, channel): not a model input. Their values are an
 *   open set, so any numeric code would depend on the training data; `EXCLUDED_FEATURES` lists
 *   them and the manifest records the list;
 * - a feature marked `modelInput: false` in the catalogue (rule and analyst features not yet
 *   trained on): not a model input either, listed with them;
 * - null (missing) → NaN. The trees learn where missing values go at every split (DESIGN: a
 *   missing feature is never guessed).
 *
 * `ENCODING_VERSION` identifies names, order and codes; a model whose manifest names another
 * encoding is refused when loaded.
 */

export type ColumnEncoding =
  | { readonly kind: 'number' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'ordinal'; readonly values: readonly string[] };

export interface ModelColumn {
  /** the catalogue feature this column encodes (also the model feature name) */
  readonly name: string;
  /** position of the feature in the engine vector */
  readonly vectorIndex: number;
  readonly encoding: ColumnEncoding;
  readonly spec: FeatureSpec;
}

function columnEncoding(f: FeatureSpec): ColumnEncoding | null {
  if (f.modelInput === false) return null;
  if (f.type === 'number') return { kind: 'number' };
  if (f.type === 'boolean') return { kind: 'boolean' };
  return f.values ? { kind: 'ordinal', values: f.values } : null;
}

const COLUMNS_BUILT: ModelColumn[] = [];
const EXCLUDED_BUILT: string[] = [];
FEATURES.forEach((spec, vectorIndex) => {
  const encoding = columnEncoding(spec);
  if (encoding === null) EXCLUDED_BUILT.push(spec.name);
  else COLUMNS_BUILT.push(Object.freeze({ name: spec.name, vectorIndex, encoding, spec }));
});

export const MODEL_COLUMNS: readonly ModelColumn[] = Object.freeze(COLUMNS_BUILT);

/** The model's input feature names, in column order. */
export const MODEL_FEATURE_NAMES: readonly string[] = Object.freeze(MODEL_COLUMNS.map((c) => c.name));

export const MODEL_FEATURE_COUNT = MODEL_COLUMNS.length;

/** Catalogue features that are not model inputs (open-set strings, and those marked `modelInput: false`). */
export const EXCLUDED_FEATURES: readonly string[] = Object.freeze(EXCLUDED_BUILT);

function describeColumn(c: ModelColumn): string {
  return c.encoding.kind === 'ordinal' ? `${c.name}:ordinal(${c.encoding.values.join(',')})` : `${c.name}:${c.encoding.kind}`;
}

/** FNV-1a over every column's name and encoding, in order (as CATALOGUE_VERSION is made). */
export const ENCODING_VERSION: string = (() => {
  let h = 0x811c9dc5;
  for (const ch of MODEL_COLUMNS.map(describeColumn).join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `enc-${MODEL_FEATURE_COUNT}-${h.toString(16).padStart(8, '0')}`;
})();

function encodeValue(c: ModelColumn, v: FeatureValue | undefined): number {
  if (v === null || v === undefined) return Number.NaN;
  switch (c.encoding.kind) {
    case 'number':
      return typeof v === 'number' ? v : Number.NaN;
    case 'boolean':
      return v === true ? 1 : v === false ? 0 : Number.NaN;
    case 'ordinal': {
      const i = typeof v === 'string' ? c.encoding.values.indexOf(v) : -1;
      return i >= 0 ? i : Number.NaN;
    }
  }
}

/**
 * Writes the encoded row of `v` into `out` at `offset` (a Float32Array rounds every number to
 * float32). Returns `out`.
 */
export function encodeVectorInto(v: readonly FeatureValue[], out: Float32Array, offset = 0): Float32Array {
  for (let j = 0; j < MODEL_COLUMNS.length; j++) {
    const c = MODEL_COLUMNS[j]!;
    out[offset + j] = encodeValue(c, v[c.vectorIndex]);
  }
  return out;
}

export function encodeVector(v: readonly FeatureValue[]): Float32Array {
  return encodeVectorInto(v, new Float32Array(MODEL_FEATURE_COUNT));
}

/** Names that differ between a model's feature list and the current encoding, for a refusal message. */
export function featureNameMismatch(names: readonly string[]): string | null {
  if (names.length === MODEL_FEATURE_NAMES.length && names.every((n, i) => n === MODEL_FEATURE_NAMES[i])) return null;
  const current = new Set(MODEL_FEATURE_NAMES);
  const theirs = new Set(names);
  const missing = MODEL_FEATURE_NAMES.filter((n) => !theirs.has(n));
  const extra = names.filter((n) => !current.has(n));
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`not in the model: ${missing.join(', ')}`);
  if (extra.length > 0) parts.push(`unknown to the current catalogue: ${extra.join(', ')}`);
  if (parts.length === 0) {
    const i = names.findIndex((n, k) => n !== MODEL_FEATURE_NAMES[k]);
    parts.push(`same names in another order (first difference at column ${i}: model ${names[i]}, current ${MODEL_FEATURE_NAMES[i]})`);
  }
  return `the model's features do not match the current encoding ${ENCODING_VERSION}: ${parts.join('; ')}`;
}
