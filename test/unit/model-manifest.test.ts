import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { CATALOGUE_VERSION } from '../../src/features/catalogue.ts';
import { ENCODING_VERSION, EXCLUDED_FEATURES } from '../../src/model/encode.ts';
import { buildManifest, parseManifest, sha256, writeModelFiles, type ManifestInput } from '../../src/model/manifest.ts';
import { ensembleProblem, type Tree, type TreeEnsemble } from '../../src/model/tree-ensemble.ts';

const tree = (over: Partial<Tree> = {}): Tree => ({
  feature: [0, -1, -1],
  threshold: [0.5, 0, 0],
  defaultLeft: [1, 0, 0],
  left: [1, -1, -1],
  right: [2, -1, -1],
  value: [0, 0.25, -0.25],
  cover: [2, 1, 1],
  ...over,
});
const ensemble = (t: Tree = tree()): TreeEnsemble => ({ baseMargin: -2, nFeatures: 1, trees: [t] });
const bytes = new TextEncoder().encode('onnx bytes');
const input = (over: Partial<ManifestInput> = {}): ManifestInput => ({
  name: 'fraud',
  version: '2026.11.21',
  createdAt: '2026-11-21T00:00:00Z',
  ensemble: ensemble(),
  onnxBytes: bytes,
  irVersion: 8,
  opsets: { '': 13, 'ai.onnx.ml': 3 },
  input: 'features',
  output: 'probability',
  trainingWindow: { from: '2026-09-01T00:00:00Z', to: '2026-10-31T00:00:00Z' },
  validationWindow: { from: '2026-11-01T00:00:00Z', to: '2026-11-15T00:00:00Z' },
  dataSource: 'unit test',
  metrics: { rocAuc: 0.91, averagePrecision: 0.4, recallAt1pct: Number.NaN },
  baselineMetrics: null,
  params: { maxDepth: 6 },
  featureNames: ['f0'],
  ...over,
});

test('buildManifest records what the model is, takes and was trained on; NaN metrics become null', () => {
  const m = buildManifest(input());
  expect(m).toMatchObject({
    format: 1,
    name: 'fraud',
    version: '2026.11.21',
    onnx: { file: 'fraud-2026.11.21.onnx', sha256: sha256(bytes), irVersion: 8, opsets: { '': 13, 'ai.onnx.ml': 3 }, input: 'features', output: 'probability' },
    featureNames: ['f0'],
    encodingVersion: ENCODING_VERSION,
    catalogueVersion: CATALOGUE_VERSION,
    excludedFeatures: [...EXCLUDED_FEATURES],
    metrics: { rocAuc: 0.91, averagePrecision: 0.4, recallAt1pct: null, precisionAt1pct: null },
    ensemble: ensemble(),
  });
  const back = parseManifest(JSON.stringify(m));
  expect(back).toEqual({ ok: true, manifest: m });
});

test('parseManifest lists every problem: schema, names, structure of the trees', () => {
  expect(parseManifest('{"name": ')).toEqual({ ok: false, problems: [expect.stringMatching(/^not JSON: /)] });
  const m = buildManifest(input());
  const bad = { ...m, version: '../x', createdAt: 'yesterday', extra: 1 };
  const r = parseManifest(JSON.stringify(bad));
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.problems).toHaveLength(3);
  expect(r.problems.some((p) => p.startsWith('version: '))).toBe(true);
  expect(r.problems.some((p) => p.startsWith('createdAt: '))).toBe(true);
  expect(r.problems.some((p) => p.startsWith('(manifest): ') && p.includes('extra'))).toBe(true);
  const cyc = parseManifest(JSON.stringify({ ...m, ensemble: ensemble(tree({ left: [0, -1, -1] })) }));
  expect(cyc).toEqual({ ok: false, problems: ['ensemble: tree 0: node 0 has child 0, which is not a later node'] });
});

test('ensembleProblem: float32 thresholds and leaves, features in range, every node reachable once', () => {
  expect(ensembleProblem(ensemble())).toBeNull();
  expect(ensembleProblem(ensemble(tree({ threshold: [0.1, 0, 0] })))).toBe('tree 0: node 0 threshold 0.1 is not a finite float32');
  expect(ensembleProblem(ensemble(tree({ value: [0, 0.1, 0] })))).toBe('tree 0: leaf 1 value is not a float32');
  expect(ensembleProblem(ensemble(tree({ feature: [3, -1, -1] })))).toBe('tree 0: node 0 splits on feature 3, outside 0..0');
  expect(ensembleProblem(ensemble(tree({ right: [1, -1, -1] })))).toBe('tree 0: node 1 has two parents');
  expect(ensembleProblem(ensemble(tree({ cover: [1] })))).toBe('tree 0: cover has 1 entries for 3 nodes');
  expect(ensembleProblem({ ...ensemble(), baseMargin: 0.1 })).toBe('baseMargin 0.1 is not a finite float32');
});

test('writeModelFiles writes the model then the manifest, and refuses bytes that do not match the hash', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'calmpay-manifest-'));
  try {
    const m = buildManifest(input());
    await expect(writeModelFiles(dir, m, new Uint8Array([1]))).rejects.toThrow('the ONNX bytes do not match the manifest hash');
    const written = await writeModelFiles(dir, m, bytes);
    expect((await readdir(dir)).sort()).toEqual(['fraud-2026.11.21.json', 'fraud-2026.11.21.onnx']);
    expect(new Uint8Array(await readFile(written.onnxPath))).toEqual(bytes);
    expect(parseManifest(await readFile(written.manifestPath, 'utf8'))).toEqual({ ok: true, manifest: m });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
