import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticModelData } from '../../bench/model-data.ts';
import { encodeVector } from '../../src/model/encode.ts';
import { predictProbability } from '../../src/model/tree-ensemble.ts';
import { trainGbdt, type GbdtModel } from '../../src/train/gbdt.ts';
import { saveModel } from '../../src/train/save-model.ts';
import { testApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

/**
 * The scoring route with a model: the decision carries the model's own score for this
 * transfer's vector (the one recorded in the decision stream), its version and factors, and
 * the policy uses it.
 */
describe('scoring with a model', () => {
  let dir: string;
  let app: TestApp;
  let model: GbdtModel;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'calmpay-score-model-'));
    model = trainGbdt(syntheticModelData(3_000, 5).dataset, null, { maxRounds: 30, seed: 3 }).model;
    await saveModel({
      dir,
      model,
      name: 'fraud',
      version: 't1',
      trainingWindow: { from: '2026-10-01T00:00:00Z', to: '2026-10-31T00:00:00Z' },
      validationWindow: null,
      dataSource: 'test synthetic data',
      metrics: { rocAuc: 0.9, averagePrecision: 0.5, recallAt1pct: 0.1 },
      baselineMetrics: null,
    });
    app = await testApp({ MODELS_DIR: dir, MODEL_EXPLAIN_FROM: '0' });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('scores every transfer with the model on its own feature vector, with factors in the response language', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      transferId: `sm-${i}`,
      occurredAt: new Date(Date.now() - 60_000 + i).toISOString(),
      amount: 50 + i * 997,
      currency: 'CNY',
      payer: { accountId: `p-${i % 3}`, birthYear: 1940 + i * 3 },
      payee: { accountId: `q-${i % 4}`, accountCreatedAt: '2026-11-01T00:00:00Z' },
      context: { onCall: i % 2 === 0, remoteAccess: i % 5 === 0 },
      language: i % 2 === 0 ? 'zh' : 'en',
    }));
    // concurrently, so they share micro-batches
    const decisions = await Promise.all(
      bodies.map(async (b) => (await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: b })).json()),
    );
    await new Promise((r) => setTimeout(r, 50));
    const entries = await app.redis.xrange(`${app.prefix}{decisions}`, '-', '+');
    const features = new Map(entries.map(([, f]) => [f[f.indexOf('transferId') + 1]!, JSON.parse(f[f.indexOf('features') + 1]!)]));
    for (const d of decisions) {
      const expected = predictProbability(model, encodeVector(features.get(d.transferId)));
      expect(d.modelVersion).toBe('t1');
      expect(d.degraded).toEqual([]);
      expect(Math.abs(d.modelScore - expected)).toBeLessThan(1e-5);
      expect(d.riskScore).toBe(Math.max(d.ruleScore, Math.round(d.modelScore * 10_000) / 100));
      expect(d.modelFactors.length).toBe(3);
      expect(d.modelFactors[0].text).toMatch(d.language === 'zh' ? /（使风险(升高|降低)）$/ : /\((raises|lowers) the risk\)$/);
    }
  });
});
