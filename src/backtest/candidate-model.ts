import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeVectorInto, MODEL_FEATURE_COUNT } from '../model/encode.ts';
import { loadModel, type LoadedModel } from '../model/model-session.ts';
import type { PageScorer } from './run-backtest.ts';

/**
 * A candidate model for a backtest (IO): a manifest in the models directory, loaded with the
 * engine's own checks (model-session.ts `loadModel`: manifest, encoding, SHA-256, probe rows),
 * scoring a whole page per onnxruntime run. Scores are rounded as the live assessment rounds them
 * (6 decimals), so the policy sees what it would see live.
 */

/** A model name as the API and CLI take it: the manifest's file name without `.json`. */
export const MODEL_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface CandidateModel {
  readonly name: string;
  readonly version: string;
  readonly score: PageScorer;
  close(): Promise<void>;
}

export type CandidateModelResult = { readonly ok: true; readonly model: CandidateModel } | { readonly ok: false; readonly message: string };

export async function openCandidateModel(modelsDir: string, fileName: string): Promise<CandidateModelResult> {
  if (!MODEL_FILE_NAME.test(fileName) || fileName.includes('..')) {
    return { ok: false, message: 'must be a model file name in the models directory without .json (letters, digits, . _ -)' };
  }
  const manifestFile = path.join(modelsDir, `${fileName}.json`);
  if (!existsSync(manifestFile)) return { ok: false, message: `no model ${fileName}.json in the models directory` };
  const loaded = await loadModel(manifestFile);
  if (!loaded.ok) return { ok: false, message: `${fileName}: ${loaded.message}` };
  const m: LoadedModel = loaded.model;
  return {
    ok: true,
    model: {
      name: m.name,
      version: m.version,
      async score(vectors) {
        const rows = new Float32Array(vectors.length * MODEL_FEATURE_COUNT);
        vectors.forEach((v, i) => encodeVectorInto(v, rows, i * MODEL_FEATURE_COUNT));
        const input = new ort.Tensor('float32', rows, [vectors.length, MODEL_FEATURE_COUNT]);
        const out = await m.session.run({ [m.manifest.onnx.input]: input }, [m.manifest.onnx.output]);
        const data = out[m.manifest.onnx.output]?.data;
        if (!(data instanceof Float32Array) || data.length !== vectors.length) {
          throw new Error(`model ${m.name} ${m.version} gave no float32 output of ${vectors.length} scores`);
        }
        return Array.from(data, (p) => Math.round(p * 1e6) / 1e6);
      },
      close: () => m.session.release(),
    },
  };
}
