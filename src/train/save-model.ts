import { mkdir } from 'node:fs/promises';
import { CATALOGUE_VERSION } from '../features/catalogue.ts';
import { ENCODING_VERSION } from '../model/encode.ts';
import { buildManifest, writeModelFiles, type MetricsInput, type ModelManifest } from '../model/manifest.ts';
import type { GbdtModel } from './gbdt.ts';
import { exportOnnx, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSETS, ONNX_OUTPUT_PROBABILITY } from './onnx-export.ts';

/**
 * The last step of a training run: export the trees to ONNX and write the model and its
 * manifest into the model directory (`models/<name>-<version>.onnx` + `.json`), where a running
 * engine picks them up (model-session.ts).
 */

export interface SaveModelInput {
  readonly dir: string;
  readonly model: GbdtModel;
  readonly name: string;
  readonly version: string;
  /** ISO 8601; defaults to now */
  readonly createdAt?: string;
  readonly trainingWindow: { readonly from: string; readonly to: string };
  readonly validationWindow: { readonly from: string; readonly to: string } | null;
  /** where the labelled rows came from, e.g. "sim seed 7, 2,000,000 transfers" */
  readonly dataSource: string;
  /** on the validation (later) window */
  readonly metrics: MetricsInput;
  readonly baselineMetrics: MetricsInput | null;
}

export interface SavedModel {
  readonly manifest: ModelManifest;
  readonly onnxBytes: Uint8Array;
  readonly onnxPath: string;
  readonly manifestPath: string;
}

export async function saveModel(i: SaveModelInput): Promise<SavedModel> {
  const createdAt = i.createdAt ?? new Date().toISOString();
  const onnxBytes = exportOnnx(i.model, {
    name: i.name,
    version: i.version,
    featureNames: i.model.featureNames,
    props: {
      created_at: createdAt,
      catalogue_version: CATALOGUE_VERSION,
      encoding_version: ENCODING_VERSION,
      training_window: `${i.trainingWindow.from}/${i.trainingWindow.to}`,
    },
  });
  const manifest = buildManifest({
    name: i.name,
    version: i.version,
    createdAt,
    ensemble: i.model,
    onnxBytes,
    irVersion: ONNX_IR_VERSION,
    opsets: ONNX_OPSETS,
    input: ONNX_INPUT,
    output: ONNX_OUTPUT_PROBABILITY,
    trainingWindow: i.trainingWindow,
    validationWindow: i.validationWindow,
    dataSource: i.dataSource,
    metrics: i.metrics,
    baselineMetrics: i.baselineMetrics,
    params: { ...i.model.params },
    featureNames: i.model.featureNames,
  });
  await mkdir(i.dir, { recursive: true });
  const paths = await writeModelFiles(i.dir, manifest, onnxBytes);
  return { manifest, onnxBytes, ...paths };
}
