import type { FeatureValue } from '../features/catalogue.ts';
import type { Language } from '../i18n/language.ts';
import { MODEL_COLUMNS } from './encode.ts';
import { factorPhrase } from '../i18n/factor-labels.ts';
import { compileEnsemble, type CompiledEnsemble, type TreeEnsemble } from './tree-ensemble.ts';

/**
 * Per-feature contributions to the model's score for one row, by Saabas path attribution
 * (A. Saabas, "Interpreting random forests", 2014; the "approximate" contributions of
 * XGBoost's predict_contrib): walking a row's path in each tree, the change of the node's
 * expected value (tree-ensemble.ts: cover-weighted mean of the subtree) from a node to the
 * child the row takes is credited to the node's split feature. Per tree the credits telescope
 * to leaf − root value, so over the ensemble
 *
 *     Σ contributions = margin − bias,   bias = baseMargin + Σ root values,
 *
 * in margin (log-odds) units: a positive contribution raises the risk. Chosen over
 * path-dependent TreeSHAP because it costs O(trees × depth) per row — a few microseconds, cheap
 * enough for every scored transfer — while TreeSHAP costs O(trees × leaves × depth²); the
 * price is that Saabas credits favour splits near the leaves and are not SHAP-consistent.
 * Pass a CompiledEnsemble (tree-ensemble.ts) on hot paths; a TreeEnsemble is compiled per call.
 */

export interface Contributions {
  readonly bias: number;
  readonly margin: number;
  /** per model column, in margin units */
  readonly values: Float64Array;
}

export function saabasContributions(e: TreeEnsemble | CompiledEnsemble, row: ArrayLike<number>, offset = 0): Contributions {
  const c = 'roots' in e ? e : compileEnsemble(e);
  const values = new Float64Array(c.nFeatures);
  const { feature, threshold, missingRight, firstChild, value, roots } = c;
  let bias = c.baseMargin;
  let margin = c.baseMargin;
  for (let k = 0; k < roots.length; k++) {
    let n = roots[k]!;
    bias += value[n]!;
    for (let f = feature[n]!; f >= 0; f = feature[n]!) {
      const x = row[offset + f]!;
      const next = firstChild[n]! + (+(x > threshold[n]!) | (+(x !== x) & missingRight[n]!));
      values[f]! += value[next]! - value[n]!;
      n = next;
    }
    margin += value[n]!;
  }
  return { bias, margin, values };
}

/** A factor as stored with a decision: language-neutral (rendered per response language). */
export interface ModelFactor {
  /** catalogue feature name */
  readonly feature: string;
  /** the feature's value as the model saw it (null = missing) */
  readonly value: FeatureValue;
  /** signed, in log-odds: > 0 raised the risk */
  readonly contribution: number;
}

export interface RenderedFactor extends ModelFactor {
  readonly direction: 'raises' | 'lowers';
  /** a short phrase a warning can show, e.g. "Transfer amount: 48,000 (raises the risk)" */
  readonly text: string;
}

/** The engine-side value behind an encoded model column (see encode.ts). */
function decodeColumn(column: number, x: number): FeatureValue {
  if (x !== x) return null;
  const enc = MODEL_COLUMNS[column]!.encoding;
  switch (enc.kind) {
    case 'boolean':
      return x === 1;
    case 'ordinal':
      return enc.values[x] ?? null;
    case 'number':
      return x;
  }
}

export interface TopFactorOptions {
  /** only factors that raised the risk (what a warning explains) */
  readonly raisingOnly?: boolean;
  /** ignore contributions smaller than this in absolute value (log-odds) */
  readonly minAbs?: number;
}

/**
 * The `n` model columns with the largest absolute contribution (ties: column order), for a
 * row encoded with encodeVector. Only for ensembles over the catalogue encoding (MODEL_COLUMNS).
 */
export function topFactors(contrib: Contributions, row: ArrayLike<number>, n: number, options: TopFactorOptions = {}): ModelFactor[] {
  if (contrib.values.length !== MODEL_COLUMNS.length) {
    throw new Error(`contributions over ${contrib.values.length} columns, the encoding has ${MODEL_COLUMNS.length}`);
  }
  const minAbs = options.minAbs ?? 1e-9;
  const cols: number[] = [];
  for (let j = 0; j < contrib.values.length; j++) {
    const c = contrib.values[j]!;
    if (Math.abs(c) >= minAbs && (!options.raisingOnly || c > 0)) cols.push(j);
  }
  cols.sort((a, b) => Math.abs(contrib.values[b]!) - Math.abs(contrib.values[a]!) || a - b);
  return cols.slice(0, n).map((j) => ({
    feature: MODEL_COLUMNS[j]!.name,
    value: decodeColumn(j, row[j]!),
    contribution: contrib.values[j]!,
  }));
}

export function renderFactor(f: ModelFactor, lang: Language): RenderedFactor {
  const direction = f.contribution > 0 ? 'raises' : 'lowers';
  return { ...f, direction, text: factorPhrase(f.feature, f.value, direction, lang) };
}
