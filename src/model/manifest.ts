import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CATALOGUE_VERSION } from '../features/catalogue.ts';
import { ENCODING_VERSION, EXCLUDED_FEATURES, MODEL_FEATURE_NAMES } from './encode.ts';
import { ensembleProblem, type TreeEnsemble } from './tree-ensemble.ts';

/**
 * The manifest written next to each model: `models/<name>-<version>.onnx` and
 * `models/<name>-<version>.json`. It says what the model is (name, version, when and from
 * what it was trained, how well it did), what it takes (feature names in order, the
 * encoding and catalogue versions), how the ONNX file is built (IR version, opsets, input and
 * output names, SHA-256 of the file) and carries the trees themselves, so the explainer
 * computes contributions at scoring time without parsing ONNX. The session refuses a model
 * whose manifest does not parse, whose file hash differs, or whose features are not the
 * current encoding.
 */

export const MANIFEST_FORMAT = 1;

/** names and versions end up in file names: keep them to a safe alphabet */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const isoTime = z.iso.datetime({ offset: true });
const window = z.object({ from: isoTime, to: isoTime }).strict();
/** a metric may be undefined for a set (no positives): stored as null */
const metric = z.number().nullable();

const metricsSchema = z
  .object({
    rocAuc: metric,
    averagePrecision: metric,
    recallAt1pct: metric,
    precisionAt1pct: metric.optional(),
    rows: z.number().int().nonnegative().optional(),
    positives: z.number().int().nonnegative().optional(),
  })
  .strict();

const treeSchema = z
  .object({
    feature: z.array(z.number().int()),
    threshold: z.array(z.number()),
    defaultLeft: z.array(z.number().int()),
    left: z.array(z.number().int()),
    right: z.array(z.number().int()),
    value: z.array(z.number()),
    cover: z.array(z.number()),
  })
  .strict();

export const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    name: z.string().regex(NAME, 'letters, digits, ".", "_" and "-" only'),
    version: z.string().regex(SAFE, 'letters, digits, "." and "_" only'),
    createdAt: isoTime,
    onnx: z
      .object({
        file: z.string().min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        irVersion: z.number().int().positive(),
        opsets: z.record(z.string(), z.number().int().positive()),
        input: z.string().min(1),
        output: z.string().min(1),
      })
      .strict(),
    featureNames: z.array(z.string().min(1)).min(1),
    encodingVersion: z.string().min(1),
    catalogueVersion: z.string().min(1),
    excludedFeatures: z.array(z.string()),
    trainingWindow: window,
    validationWindow: window.nullable(),
    dataSource: z.string().min(1),
    metrics: metricsSchema,
    baselineMetrics: metricsSchema.nullable(),
    params: z.record(z.string(), z.number()),
    ensemble: z
      .object({
        baseMargin: z.number(),
        nFeatures: z.number().int().positive(),
        trees: z.array(treeSchema).min(1),
      })
      .strict(),
  })
  .strict();

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestMetrics = z.infer<typeof metricsSchema>;

/** Parses manifest JSON text: the manifest or every problem found, one line each. */
export function parseManifest(text: string): { ok: true; manifest: ModelManifest } | { ok: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    return { ok: false, problems: r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`) };
  }
  const m = r.data;
  const problems: string[] = [];
  if (m.featureNames.length !== m.ensemble.nFeatures) problems.push(`featureNames has ${m.featureNames.length} names, the ensemble ${m.ensemble.nFeatures} features`);
  const ep = ensembleProblem(m.ensemble);
  if (ep !== null) problems.push(`ensemble: ${ep}`);
  if (path.basename(m.onnx.file) !== m.onnx.file) problems.push(`onnx.file must be a file name in the model directory, got ${m.onnx.file}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, manifest: m };
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export function modelBaseName(name: string, version: string): string {
  return `${name}-${version}`;
}

/** A metric for JSON: NaN (undefined for the data) becomes null. */
const finiteOrNull = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);

export interface MetricsInput {
  readonly rocAuc: number;
  readonly averagePrecision: number;
  readonly recallAt1pct: number;
  readonly precisionAt1pct?: number;
  readonly rows?: number;
  readonly positives?: number;
}

export function manifestMetrics(m: MetricsInput): ManifestMetrics {
  return {
    rocAuc: finiteOrNull(m.rocAuc),
    averagePrecision: finiteOrNull(m.averagePrecision),
    recallAt1pct: finiteOrNull(m.recallAt1pct),
    precisionAt1pct: finiteOrNull(m.precisionAt1pct),
    ...(m.rows === undefined ? {} : { rows: m.rows }),
    ...(m.positives === undefined ? {} : { positives: m.positives }),
  };
}

export interface ManifestInput {
  readonly name: string;
  readonly version: string;
  readonly createdAt: string;
  readonly ensemble: TreeEnsemble;
  readonly onnxBytes: Uint8Array;
  readonly irVersion: number;
  readonly opsets: Readonly<Record<string, number>>;
  readonly input: string;
  readonly output: string;
  readonly trainingWindow: { readonly from: string; readonly to: string };
  readonly validationWindow: { readonly from: string; readonly to: string } | null;
  readonly dataSource: string;
  readonly metrics: MetricsInput;
  readonly baselineMetrics: MetricsInput | null;
  readonly params: Readonly<Record<string, number>>;
  /** defaults to the current encoding's names */
  readonly featureNames?: readonly string[];
}

/** The manifest of a model over the current catalogue encoding. */
export function buildManifest(i: ManifestInput): ModelManifest {
  const featureNames = [...(i.featureNames ?? MODEL_FEATURE_NAMES)];
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    name: i.name,
    version: i.version,
    createdAt: i.createdAt,
    onnx: {
      file: `${modelBaseName(i.name, i.version)}.onnx`,
      sha256: sha256(i.onnxBytes),
      irVersion: i.irVersion,
      opsets: { ...i.opsets },
      input: i.input,
      output: i.output,
    },
    featureNames,
    encodingVersion: ENCODING_VERSION,
    catalogueVersion: CATALOGUE_VERSION,
    excludedFeatures: [...EXCLUDED_FEATURES],
    trainingWindow: { ...i.trainingWindow },
    validationWindow: i.validationWindow === null ? null : { ...i.validationWindow },
    dataSource: i.dataSource,
    metrics: manifestMetrics(i.metrics),
    baselineMetrics: i.baselineMetrics === null ? null : manifestMetrics(i.baselineMetrics),
    params: { ...i.params },
    ensemble: {
      baseMargin: i.ensemble.baseMargin,
      nFeatures: i.ensemble.nFeatures,
      trees: i.ensemble.trees.map((t) => ({
        feature: [...t.feature],
        threshold: [...t.threshold],
        defaultLeft: [...t.defaultLeft],
        left: [...t.left],
        right: [...t.right],
        value: [...t.value],
        cover: [...t.cover],
      })),
    },
  };
  const check = parseManifest(JSON.stringify(manifest));
  if (!check.ok) throw new Error(`the manifest of ${i.name} ${i.version} is invalid: ${check.problems.join('; ')}`);
  return manifest;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * Writes `<name>-<version>.onnx` then `<name>-<version>.json` into `dir`, each atomically
 * (temp file + rename). The manifest goes last: a watching session sees a model only once
 * both files are complete.
 */
export async function writeModelFiles(dir: string, manifest: ModelManifest, onnxBytes: Uint8Array): Promise<{ onnxPath: string; manifestPath: string }> {
  if (sha256(onnxBytes) !== manifest.onnx.sha256) throw new Error('the ONNX bytes do not match the manifest hash');
  const base = modelBaseName(manifest.name, manifest.version);
  const onnxPath = path.join(dir, manifest.onnx.file);
  const manifestPath = path.join(dir, `${base}.json`);
  await writeAtomic(onnxPath, onnxBytes);
  await writeAtomic(manifestPath, `${JSON.stringify(manifest)}\n`);
  return { onnxPath, manifestPath };
}
