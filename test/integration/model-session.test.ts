import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FeatureValue } from '../../src/features/catalogue.ts';
import { saabasContributions, topFactors } from '../../src/model/contributions.ts';
import { encodeVector, ENCODING_VERSION } from '../../src/model/encode.ts';
import { sha256 } from '../../src/model/manifest.ts';
import { ModelScorer } from '../../src/model/model-session.ts';
import { predictProbability } from '../../src/model/tree-ensemble.ts';
import { trainGbdt, type GbdtModel } from '../../src/train/gbdt.ts';
import { saveModel } from '../../src/train/save-model.ts';
import { syntheticModelData } from '../../bench/model-data.ts';
import { until } from '../helpers/until.ts';

/**
 * The model session against real onnxruntime sessions and real files: which model is loaded,
 * hot swap, refusal of corrupt or mismatched files (the previous model stays), and that every
 * concurrent caller gets its own row's score.
 */

const WINDOW = { from: '2026-10-01T00:00:00Z', to: '2026-10-31T00:00:00Z' };
const METRICS = { rocAuc: 0.9, averagePrecision: 0.5, recallAt1pct: 0.1 };

let modelA: GbdtModel;
let modelB: GbdtModel;
let vectors: FeatureValue[][];

beforeAll(() => {
  const data = syntheticModelData(3_000, 31);
  vectors = syntheticModelData(400, 32).vectors;
  modelA = trainGbdt(data.dataset, null, { maxRounds: 25, seed: 1 }).model;
  modelB = trainGbdt(data.dataset, null, { maxRounds: 60, learningRate: 0.2, subsample: 0.7, seed: 2 }).model;
});

let dir = '';
let scorer: ModelScorer | null = null;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'calmpay-models-'));
});
afterEach(async () => {
  await scorer?.close();
  scorer = null;
  await rm(dir, { recursive: true, force: true });
});

const save = (model: GbdtModel, version: string, createdAt: string) =>
  saveModel({
    dir,
    model,
    name: 'fraud',
    version,
    createdAt,
    trainingWindow: WINDOW,
    validationWindow: null,
    dataSource: 'test synthetic data',
    metrics: METRICS,
    baselineMetrics: null,
  });

const expectedScore = (model: GbdtModel, v: readonly FeatureValue[]): number => predictProbability(model, encodeVector(v));

describe('ModelScorer', () => {
  test('loads the newest model; assess gives its score, version and top factors', async () => {
    await save(modelA, '1', '2026-11-01T00:00:00Z');
    await save(modelB, '2', '2026-11-02T00:00:00Z');
    scorer = await ModelScorer.open({ dir, watch: false });
    expect(scorer.status()).toMatchObject({ active: { name: 'fraud', version: '2', manifestFile: 'fraud-2.json', trees: modelB.trees.length }, problems: [] });
    const v = vectors[0]!;
    const a = await scorer.assess(v, 3);
    const row = encodeVector(v);
    expect(a).toMatchObject({ modelVersion: '2', failure: null });
    expect(Math.abs(a.modelScore! - expectedScore(modelB, v))).toBeLessThan(1e-5);
    expect(a.factors).toEqual(topFactors(saabasContributions(modelB, row), row, 3));
    expect(a.factors.length).toBe(3);
    expect(await scorer.readiness.check()).toEqual({ ready: true, detail: `fraud 2 (${modelB.trees.length} trees)` });
    await scorer.close();
    // explainFrom: a score below it comes without factors
    scorer = await ModelScorer.open({ dir, watch: false, explainFrom: a.modelScore! + 1e-3 });
    expect(await scorer.assess(v, 3)).toMatchObject({ modelScore: a.modelScore, modelVersion: '2', factors: [], failure: null });
  });

  test('every concurrent caller gets its own row’s score, in batches', async () => {
    await save(modelB, '2', '2026-11-02T00:00:00Z');
    scorer = await ModelScorer.open({ dir, watch: false, batch: { maxBatch: 64, deadlineMs: 5_000 } });
    const s = scorer;
    const results = await Promise.all(vectors.map((v) => s.assess(v, 0)));
    results.forEach((r, i) => {
      expect(r.failure).toBeNull();
      expect(Math.abs(r.modelScore! - expectedScore(modelB, vectors[i]!))).toBeLessThan(1e-5);
    });
    // the scores differ from row to row, so a mix-up could not pass unnoticed
    expect(new Set(results.map((r) => r.modelScore)).size).toBeGreaterThan(200);
    const c = s.batchCounters();
    expect(c.rows).toBe(vectors.length);
    expect(c.batches).toBeLessThanOrEqual(Math.ceil(vectors.length / 64) + 1);
    expect(c.largestBatch).toBe(64);
  });

  test('a new model file is picked up without a restart (hot swap)', async () => {
    await save(modelA, '1', '2026-11-01T00:00:00Z');
    scorer = await ModelScorer.open({ dir, debounceMs: 20 });
    const s = scorer;
    const v = vectors[1]!;
    expect((await s.assess(v)).modelVersion).toBe('1');
    await save(modelB, '2', '2026-11-02T00:00:00Z');
    await until(() => s.current()?.version === '2', 'model 2 to become active', 8_000);
    const after = await s.assess(v);
    expect(after.modelVersion).toBe('2');
    expect(Math.abs(after.modelScore! - expectedScore(modelB, v))).toBeLessThan(1e-5);
    expect(expectedScore(modelA, v)).not.toBeCloseTo(expectedScore(modelB, v), 3);
  });

  test('a corrupt ONNX file leaves the old model active and says why', async () => {
    await save(modelA, '1', '2026-11-01T00:00:00Z');
    scorer = await ModelScorer.open({ dir, debounceMs: 20 });
    const s = scorer;
    // model 2 made elsewhere, then copied in with its ONNX file spoilt; the manifest's hash
    // matches the spoilt bytes, so it is onnxruntime that refuses the file
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'calmpay-models-src-'));
    const made = await saveModel({ dir: elsewhere, model: modelB, name: 'fraud', version: '2', createdAt: '2026-11-02T00:00:00Z', trainingWindow: WINDOW, validationWindow: null, dataSource: 'test', metrics: METRICS, baselineMetrics: null });
    const garbage = new TextEncoder().encode('this is not an onnx model');
    const manifest = { ...made.manifest, onnx: { ...made.manifest.onnx, sha256: sha256(garbage) } };
    await rm(elsewhere, { recursive: true, force: true });
    await writeFile(path.join(dir, 'fraud-2.onnx'), garbage);
    await writeFile(path.join(dir, 'fraud-2.json'), JSON.stringify(manifest));
    await until(() => s.status().problems.some((p) => p.message.startsWith('onnxruntime')), 'the refusal', 8_000);
    expect(s.status()).toMatchObject({ active: { version: '1' } });
    expect(s.status().problems).toEqual([{ file: 'fraud-2.json', message: expect.stringMatching(/^onnxruntime cannot load fraud-2\.onnx: /), at: expect.any(String) }]);
    const r = await s.assess(vectors[2]!);
    expect(r).toMatchObject({ modelVersion: '1', failure: null });
    expect(Math.abs(r.modelScore! - expectedScore(modelA, vectors[2]!))).toBeLessThan(1e-5);
    const ready = await s.readiness.check();
    expect(ready.ready).toBe(true);
    expect(ready.detail).toMatch(/^fraud 1 \(\d+ trees\); fraud-2\.json refused: onnxruntime cannot load fraud-2\.onnx: /);
  });

  test('a changed file, a broken manifest and a model for another encoding are refused; the working model stays', async () => {
    await save(modelA, '1', '2026-11-01T00:00:00Z');
    scorer = await ModelScorer.open({ dir, watch: false });
    const s = scorer;

    // the ONNX file no longer matches its manifest
    const b = await save(modelB, '2', '2026-11-02T00:00:00Z');
    const other = await save(modelA, 'tmp', '2026-10-01T00:00:00Z');
    await writeFile(b.onnxPath, other.onnxBytes);
    await unlink(other.manifestPath);
    await unlink(other.onnxPath);
    await s.reload();
    expect(s.current()?.version).toBe('1');
    expect(s.status().problems).toEqual([
      { file: 'fraud-2.json', message: `fraud-2.onnx has SHA-256 ${sha256(other.onnxBytes)}, the manifest says ${b.manifest.onnx.sha256}`, at: expect.any(String) },
    ]);

    // features of another encoding
    const renamed: GbdtModel = { ...modelB, featureNames: modelB.featureNames.map((n, i) => (i === 0 ? 'payer.shoe_size' : n)) };
    await save(renamed, '3', '2026-11-03T00:00:00Z');
    // a manifest that is not JSON
    await writeFile(path.join(dir, 'fraud-4.json'), '{"name": "fraud", "vers');
    await s.reload();
    expect(s.current()?.version).toBe('1');
    const problems = Object.fromEntries(s.status().problems.map((p) => [p.file, p.message]));
    expect(Object.keys(problems).sort()).toEqual(['fraud-2.json', 'fraud-3.json', 'fraud-4.json']);
    expect(problems['fraud-3.json']).toBe(
      `the model's features do not match the current encoding ${ENCODING_VERSION}: not in the model: amount; unknown to the current catalogue: payer.shoe_size`,
    );
    expect(problems['fraud-4.json']).toMatch(/^not a readable JSON manifest: /);
    expect((await s.assess(vectors[3]!)).modelVersion).toBe('1');

    // an ONNX file of other trees than the manifest's (hash updated to match): the probe rows tell
    await unlink(path.join(dir, 'fraud-3.json'));
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'calmpay-models-src-'));
    const other2 = await saveModel({ dir: elsewhere, model: modelA, name: 'x', version: '1', trainingWindow: WINDOW, validationWindow: null, dataSource: 'test', metrics: METRICS, baselineMetrics: null });
    await rm(elsewhere, { recursive: true, force: true });
    const swapped = await save(modelB, '6', '2026-11-06T00:00:00Z');
    await writeFile(swapped.onnxPath, other2.onnxBytes);
    await writeFile(swapped.manifestPath, JSON.stringify({ ...swapped.manifest, onnx: { ...swapped.manifest.onnx, sha256: sha256(other2.onnxBytes) } }));
    await s.reload();
    expect(s.current()?.version).toBe('1');
    expect(s.status().problems.find((p) => p.file === 'fraud-6.json')?.message).toMatch(/^fraud-6\.onnx does not score like the manifest's trees \(probe row \d+: ONNX [\d.e-]+, trees [\d.e-]+\)$/);
    await unlink(swapped.manifestPath);

    // fixing the newest file brings it in; removing it rolls back to the newest remaining good model
    await unlink(path.join(dir, 'fraud-4.json'));
    const good = await save(modelB, '5', '2026-11-05T00:00:00Z');
    await s.reload();
    expect(s.current()?.version).toBe('5');
    await unlink(good.manifestPath);
    await s.reload();
    expect(s.current()?.version).toBe('1');
  });

  test('at start-up the newest loadable model wins over a newer broken one', async () => {
    await save(modelA, '1', '2026-11-01T00:00:00Z');
    const b = await save(modelB, '2', '2026-11-02T00:00:00Z');
    await writeFile(b.onnxPath, new Uint8Array(10));
    scorer = await ModelScorer.open({ dir, watch: false });
    expect(scorer.current()?.version).toBe('1');
    expect(scorer.status().problems.map((p) => p.file)).toEqual(['fraud-2.json']);
  });

  test('without a model: an explicit failure, never a score; readiness as configured', async () => {
    scorer = await ModelScorer.open({ dir, watch: false });
    expect(await scorer.assess(vectors[0]!)).toEqual({
      modelScore: null,
      modelVersion: null,
      factors: [],
      failure: { reason: 'no_model', message: 'no model is loaded' },
      timingUs: expect.any(Number),
    });
    expect(await scorer.readiness.check()).toEqual({ ready: true, detail: 'no model loaded: scoring with rules alone' });
    const strict = await ModelScorer.open({ dir, watch: false, requireModel: true });
    expect((await strict.readiness.check()).ready).toBe(false);
    await strict.close();
    const missingDir = await ModelScorer.open({ dir: path.join(dir, 'nope'), watch: false });
    expect(missingDir.status().problems[0]?.message).toMatch(/^cannot read the model directory: /);
    await missingDir.close();
  });
});
