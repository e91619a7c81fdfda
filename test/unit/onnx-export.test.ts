import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../../src/sim/random.ts';
import type { Dataset } from '../../src/train/dataset.ts';
import { gbdtMargins, gbdtProbabilities, trainGbdt, type GbdtModel } from '../../src/train/gbdt.ts';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSETS } from '../../src/train/onnx-export.ts';
import { decodeModel } from '../../src/train/onnx-proto.ts';
import { normal } from './train-fixtures.ts';

const F = 8;

/**
 * Mixed features: continuous, heavy-tailed, small integers, booleans, all with missing values
 * (10-40 %); the label depends on interactions and on missingness itself.
 */
function mixedData(n: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const x = new Float32Array(n * F);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const row = x.subarray(r * F, (r + 1) * F);
    row[0] = normal(rand);
    row[1] = Math.exp(3 * rand()) * 100;
    row[2] = Math.floor(rand() * 6);
    row[3] = rand() < 0.3 ? 1 : 0;
    row[4] = rand();
    row[5] = Math.floor(rand() * 3);
    row[6] = normal(rand) * 1e4;
    row[7] = rand() * 1e-3;
    for (let j = 0; j < F; j++) if (rand() < 0.1 + 0.04 * j) row[j] = Number.NaN;
    const missing1 = Number.isNaN(row[1]!);
    const logit =
      -1 + 1.2 * (row[0]! || 0) * (row[3] === 1 ? 1 : -0.5) + (missing1 ? 1.5 : Math.log(row[1]! / 100) - 1) + ((row[2]! || 0) >= 3 ? 0.8 : -0.4) + 2 * ((row[4]! || 0.5) - 0.5) * ((row[5]! || 0) - 1);
    labels[r] = rand() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x, nRows: n, nFeatures: F, labels, featureNames: Array.from({ length: F }, (_, j) => `f${j}`) };
}

function thresholdsByFeature(model: GbdtModel): number[][] {
  const out: number[][] = Array.from({ length: model.nFeatures }, () => []);
  for (const t of model.trees) for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! >= 0) out[t.feature[i]!]!.push(t.threshold[i]!);
  return out;
}

/** float32 one step away from x (toward +∞ when up) */
function step(x: number, up: boolean): number {
  const a = new Float32Array([x]);
  const u = new Uint32Array(a.buffer);
  if (x === 0) return up ? 1.4e-45 : -1.4e-45;
  u[0]! += (x > 0) === up ? 1 : -1;
  return a[0]!;
}

/**
 * Parity rows: each value is drawn from the training distribution, or is exactly a threshold
 * the trees use on that feature, or one float32 step either side of one, or missing, or ±∞.
 */
function parityRows(model: GbdtModel, base: Dataset, n: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const ts = thresholdsByFeature(model);
  const x = new Float32Array(n * F);
  for (let r = 0; r < n; r++) {
    const src = Math.floor(rand() * base.nRows);
    for (let j = 0; j < F; j++) {
      const u = rand();
      const t = ts[j]!;
      let v = base.x[src * F + j]!;
      if (t.length > 0 && u < 0.3) v = t[Math.floor(rand() * t.length)]!;
      else if (t.length > 0 && u < 0.45) v = step(t[Math.floor(rand() * t.length)]!, rand() < 0.5);
      else if (u < 0.6) v = Number.NaN;
      else if (u < 0.62) v = rand() < 0.5 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      x[r * F + j] = v;
    }
  }
  return { x, nRows: n, nFeatures: F, labels: new Uint8Array(n), featureNames: base.featureNames };
}

describe('exportOnnx', () => {
  const train = mixedData(6_000, 1);
  const { model } = trainGbdt(train, mixedData(2_000, 2), { maxRounds: 120, maxDepth: 5, maxLeaves: 24, subsample: 0.8, earlyStoppingRounds: 0 });

  test('onnxruntime scores the exported file as the trainer does on 12,000 rows with missing values, infinities and values on thresholds', async () => {
    const bytes = exportOnnx(model, { name: 'parity', version: '1', featureNames: train.featureNames });
    const session = await ort.InferenceSession.create(bytes);
    const rows = parityRows(model, train, 12_000, 3);
    // the rows really exercise the edge cases
    const ts = thresholdsByFeature(model).map((t) => new Set(t));
    let onThreshold = 0;
    let missing = 0;
    for (let i = 0; i < rows.x.length; i++) {
      const v = rows.x[i]!;
      if (Number.isNaN(v)) missing++;
      else if (ts[i % F]!.has(v)) onThreshold++;
    }
    expect(onThreshold).toBeGreaterThan(20_000);
    expect(missing).toBeGreaterThan(10_000);

    const out = await session.run({ features: new ort.Tensor('float32', rows.x, [rows.nRows, F]) });
    const onnxP = out.probability!.data as Float32Array;
    const onnxM = out.margin!.data as Float32Array;
    expect(out.probability!.dims).toEqual([rows.nRows, 1]);
    const p = gbdtProbabilities(model, rows);
    const m = gbdtMargins(model, rows);
    let maxP = 0;
    let maxM = 0;
    for (let i = 0; i < rows.nRows; i++) {
      maxP = Math.max(maxP, Math.abs(onnxP[i]! - p[i]!));
      maxM = Math.max(maxM, Math.abs(onnxM[i]! - m[i]!) / Math.max(1, Math.abs(m[i]!)));
    }
    expect(maxP).toBeLessThan(1e-5);
    // float32 accumulation in onnxruntime against double in the trainer: rounding only
    expect(maxM).toBeLessThan(1e-5);
    // the trees route rows differently enough that the check is not vacuous
    expect(new Set(Array.from(p, (x) => x.toFixed(4))).size).toBeGreaterThan(1_000);
    // one row at a time takes another path inside onnxruntime: the same answers
    for (let i = 0; i < 200; i++) {
      const one = await session.run({ features: new ort.Tensor('float32', rows.x.slice(i * F, (i + 1) * F), [1, F]) });
      expect(Math.abs((one.probability!.data as Float32Array)[0]! - p[i]!)).toBeLessThan(1e-5);
    }
    await session.release();
  });

  test('the file states its IR version, opsets, graph and metadata', () => {
    const bytes = exportOnnx(model, { name: 'parity', version: '7', featureNames: train.featureNames, props: { catalogue_version: 'fc-x' } });
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(ONNX_IR_VERSION);
    expect(m.opsetImport).toEqual([
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 3 },
    ]);
    expect(ONNX_OPSETS).toEqual({ '': 13, 'ai.onnx.ml': 3 });
    expect(m.graph.node.map((n) => [n.domain, n.opType, n.input, n.output])).toEqual([
      ['ai.onnx.ml', 'TreeEnsembleRegressor', ['features'], ['margin']],
      ['', 'Sigmoid', ['margin'], ['probability']],
    ]);
    expect(m.graph.input.map((i) => [i.name, i.type.tensorType.elemType, i.type.tensorType.shape.dim])).toEqual([['features', 1, [{ dimParam: 'N' }, { dimValue: F }]]]);
    expect(m.graph.output.map((o) => o.name)).toEqual(['probability', 'margin']);
    const props = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(props).toEqual({
      catalogue_version: 'fc-x',
      model_name: 'parity',
      model_version: '7',
      feature_names: JSON.stringify(train.featureNames),
      opsets: '{"":13,"ai.onnx.ml":3}',
      trees: String(model.trees.length),
    });
    const attrs = new Map(m.graph.node[0]!.attribute.map((a) => [a.name, a]));
    const nodes = model.trees.reduce((s, t) => s + t.feature.length, 0);
    const leaves = model.trees.reduce((s, t) => s + t.feature.filter((f) => f < 0).length, 0);
    expect(attrs.get('nodes_treeids')!.ints!.length).toBe(nodes);
    expect(attrs.get('nodes_values')!.floats!.length).toBe(nodes);
    expect(attrs.get('target_weights')!.floats!.length).toBe(leaves);
    expect(attrs.get('base_values')!.floats).toEqual([model.baseMargin]);
    const modes = new Set(attrs.get('nodes_modes')!.strings!.map((s) => new TextDecoder().decode(s)));
    expect([...modes].sort()).toEqual(['BRANCH_LEQ', 'LEAF']);
    expect(new TextDecoder().decode(attrs.get('post_transform')!.s)).toBe('NONE');
  });

  test('refuses what it cannot write faithfully', () => {
    expect(() => exportOnnx(model, { name: 'x', version: '1', featureNames: ['a'] })).toThrow(`1 feature names for a model of ${F} features`);
    expect(() => exportOnnx({ ...model, trees: [] }, { name: 'x', version: '1', featureNames: train.featureNames })).toThrow('a model without trees cannot be exported');
  });
});
