import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { decide, enginePolicy, replayedContext, verdictOf } from '../../src/scoring/decide.ts';
import { TransferEventSchema, type TransferEvent } from '../../src/features/transfer-event.ts';
import { ModelScorer } from '../../src/model/model-session.ts';
import { loadRuleDir } from '../../src/rules/language/index.ts';
import type { RuleSet } from '../../src/rules/language/index.ts';
import { FeatureReplay } from '../../src/features/feature-replay.ts';
import { redisUrl } from '../helpers/redis.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Issue 19: ordinary repeat payments were flagged when a payment backend left optional fields
 * out (an adult's third 54 CNY payment to the same payee warned at model score 0.49; a child's
 * second 180 CNY payment held at 0.94, later ones blocked). Here the engine as shipped decides
 * them: the feature code of the scoring route (FeatureReplay, held to the route's vectors by
 * feature-replay.test.ts), the model the engine loads by default from models/ (ModelScorer,
 * onnxruntime), the shipped rules and the default decision policy, without guardian limits.
 * A missing field must read as missing, not as risk: every repeat payment is allowed.
 */
describe('the shipped model on events without optional fields', () => {
  let redis: Redis;
  let scorer: ModelScorer;
  let ruleSet: RuleSet;
  const policy = enginePolicy(loadConfig({}).scoring);
  beforeAll(async () => {
    redis = new Redis(redisUrl());
    scorer = await ModelScorer.open({ dir: path.join(ROOT, 'models'), watch: false, topFactors: 0 });
    const rules = await loadRuleDir(path.join(ROOT, 'rules'));
    if (!rules.ok) throw new Error('the shipped rules do not load');
    ruleSet = rules.ruleSet;
  });
  afterAll(async () => {
    await scorer?.close();
    await redis?.quit();
  });

  /** `count` payments of `amount` from one payer to one payee, `gapMs` apart; only the required fields (and `birthYear` when given). */
  async function repeatPayments(name: string, amount: number, count: number, gapMs: number, birthYear?: number) {
    const run = `${name}-${Date.now().toString(36)}`;
    const first = Date.parse('2026-11-16T02:00:00Z');
    const events: TransferEvent[] = Array.from({ length: count }, (_, i) =>
      TransferEventSchema.parse({
        transferId: `${run}-${i}`,
        occurredAt: new Date(first + i * gapMs).toISOString(),
        amount,
        currency: 'CNY',
        payer: birthYear === undefined ? { accountId: `${run}-payer` } : { accountId: `${run}-payer`, birthYear },
        payee: { accountId: `${run}-payee` },
      }),
    );
    const out: { payment: number; action: string; modelScore: number | null; modelVersion: string | null; hits: string[] }[] = [];
    const replay = new FeatureReplay({ redis, ageBands: loadConfig({}).features.ageBands });
    try {
      const vectors: (readonly (string | number | boolean | null)[])[] = [];
      await replay.replay(events, (_e, v) => vectors.push(v));
      for (const [i, v] of vectors.entries()) {
        const m = await scorer.assess(v, 0);
        const evaluation = ruleSet.evaluate(v);
        const d = decide(verdictOf(evaluation, v), replayedContext(m.modelScore), policy);
        const hits = evaluation.hits.filter((h) => h.mode !== 'shadow').map((h) => h.ruleId);
        out.push({ payment: i + 1, action: d.action, modelScore: m.modelScore, modelVersion: m.modelVersion, hits });
      }
    } finally {
      await replay.close();
    }
    return out;
  }

  const allowed = (ds: Awaited<ReturnType<typeof repeatPayments>>) =>
    ds.map((d) => ({ payment: d.payment, action: d.action, modelScore: d.modelScore, hits: d.hits })).map((d) => ({ ...d, action: 'allow' }));
  const decided = (ds: Awaited<ReturnType<typeof repeatPayments>>) =>
    ds.map((d) => ({ payment: d.payment, action: d.action, modelScore: d.modelScore, hits: d.hits }));

  it('scores with the model the engine loads by default', () => {
    expect(scorer.status().active?.name).toBe('calmpay-gbdt');
  });

  for (const [gap, gapMs] of [['a day', DAY_MS], ['ten minutes', 10 * MINUTE_MS]] as const) {
    it(`allows an adult's repeat 54 CNY payments to one payee, ${gap} apart (no birth year, account dates, device or context)`, async () => {
      const ds = await repeatPayments('adult', 54, 6, gapMs);
      // the 3rd payment and every later one
      expect(decided(ds.slice(2))).toEqual(allowed(ds.slice(2)));
    });

    it(`allows a child's repeat 180 CNY payments to one payee, ${gap} apart (birth year only, no guardian limits)`, async () => {
      const ds = await repeatPayments('child', 180, 6, gapMs, 2013);
      // the 2nd payment and every later one
      expect(decided(ds.slice(1))).toEqual(allowed(ds.slice(1)));
    });
  }
});
