/**
 * Scam reports that age (issue 16): the payee's reports of the last 1, 7 and 28 days, the
 * decayed count and the volume-weighted report weight, through all three paths that compute
 * them — score-features.lua, the split score's payee step (score-step-payee.lua) on a real
 * Redis, and the velocity model (what WindowReplay replays) — which must agree with each other
 * and with the definition (test/helpers/velocity-contract.ts, agedReference).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportFlags, type ReportToApply } from '../../src/cases/report-flags.ts';
import { buildFeatureVector } from '../../src/features/build-vector.ts';
import { vectorToRecord } from '../../src/features/catalogue.ts';
import { FeatureStore, type FeatureStoreOptions } from '../../src/features/feature-store.ts';
import { ScoreSteps } from '../../src/features/score-steps.ts';
import { eventHash } from '../../src/features/transfer-event.ts';
import { VelocityModel, type ModelTransfer } from '../../src/features/velocity-model.ts';
import type { VelocityState } from '../../src/features/velocity-state.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { redisUrl } from '../helpers/redis.ts';
import { agedReference, type Report } from '../helpers/velocity-contract.ts';
import { transferEvent } from '../helpers/velocity-streams.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 8, 1);
const OPTS: FeatureStoreOptions = { idempotencyTtlSeconds: 3600, pairTtlDays: 400, distinctCap: 10_000, decisionStreamMaxLen: 1000 };

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

/** The three paths side by side: each transfer scored by all of them must get the same state. */
class ThreePaths {
  private readonly run = randomUUID().slice(0, 8);
  private readonly single = makeKeys(`age-a-${this.run}:`);
  private readonly split = makeKeys(`age-b-${this.run}:`);
  private readonly store = new FeatureStore(redis, this.single, OPTS, (err) => {
    throw err;
  });
  private readonly steps = new ScoreSteps(redis, this.split, OPTS, 5_000);
  private readonly flags = [new ReportFlags(redis, this.single, 36_500), new ReportFlags(redis, this.split, 36_500)];
  private readonly model = new VelocityModel(OPTS.distinctCap);
  readonly reports: Report[] = [];
  private n = 0;

  async report(payee: string, atMs: number): Promise<void> {
    const r: ReportToApply = { caseId: `case-${this.reports.length}`, payeeId: payee, reporterKey: `victim:${this.reports.length}`, reportedAtMs: atMs };
    for (const f of this.flags) await f.apply(r);
    this.model.applyReport(r);
    this.reports.push({ caseId: r.caseId, payee, atMs });
  }

  async score(payer: string, payee: string, tMs: number): Promise<{ state: VelocityState; features: ReturnType<typeof vectorToRecord> }> {
    const x: ModelTransfer = { tMs, amount: 100, payerId: payer, payeeId: payee, deviceId: null };
    const e = transferEvent(x, `t-${this.n++}`);
    const single = await this.store.claimAndUpdate(e, tMs, eventHash(e), 1_800_000_000_000);
    const split = await this.steps.score({ e, tMs, eventHash: eventHash(e), claimMs: 1_800_000_000_000 });
    const model = this.model.score(x);
    expect(single).toEqual({ kind: 'new', state: model });
    expect(split).toEqual({ kind: 'new', state: model });
    expect(model.payeeReportsAged).toEqual(agedReference(this.reports, payee, tMs));
    return { state: model, features: vectorToRecord(buildFeatureVector(e, tMs, model)) };
  }
}

describe('payee reports that age (score-features.lua, score-step-payee.lua, the velocity model)', () => {
  it('counts a report in the 1, 7 and 28 day windows from its own time, and a 30-day-old one in none', async () => {
    const p = new ThreePaths();
    await p.score('u1', 'shop', T0 - HOUR);
    await p.report('shop', T0);
    // a transfer before the report's time does not know it yet
    expect((await p.score('u1', 'shop', T0 - 1)).features).toMatchObject({ 'payee.reports_1d': 0, 'payee.reports_28d': 0, 'payee.reports_decayed': 0, 'payee.report_count': 1 });
    expect((await p.score('u2', 'shop', T0)).features).toMatchObject({ 'payee.reports_1d': 1, 'payee.reports_7d': 1, 'payee.reports_28d': 1, 'payee.reports_decayed': 1 });
    expect((await p.score('u3', 'shop', T0 + 2 * DAY)).features).toMatchObject({ 'payee.reports_1d': 0, 'payee.reports_7d': 1, 'payee.reports_28d': 1 });
    // one half-life (7 days by default) later the report weighs half
    expect((await p.score('u4', 'shop', T0 + 7 * DAY)).features).toMatchObject({ 'payee.reports_7d': 0, 'payee.reports_28d': 1, 'payee.reports_decayed': 0.5 });
    expect((await p.score('u5', 'shop', T0 + 28 * DAY - 1)).features).toMatchObject({ 'payee.reports_28d': 1 });
    const old = (await p.score('u6', 'shop', T0 + 30 * DAY)).features;
    expect(old).toMatchObject({ 'payee.reports_1d': 0, 'payee.reports_7d': 0, 'payee.reports_28d': 0, 'payee.report_count': 1 });
    expect(old['payee.reports_decayed']).toBe(0.051); // 2^(-30/7), in thousandths
    // the payer-independent flag of old: still there for analysts
    expect(old['payee.hours_since_last_report']).toBe(30 * 24);
  });

  it('gives one report against a busy payee a low weight, against a quiet one its full weight', async () => {
    const p = new ThreePaths();
    // 300 transfers from 60 payers over the 30 days before: a busy merchant
    for (let i = 0; i < 300; i++) await p.score(`c${i % 60}`, 'merchant', T0 - 29 * DAY + i * 2 * HOUR);
    await p.score('c0', 'quiet', T0 - 2 * DAY);
    await p.report('merchant', T0);
    await p.report('quiet', T0);
    const busy = (await p.score('v1', 'merchant', T0 + HOUR)).features;
    const quiet = (await p.score('v1', 'quiet', T0 + HOUR)).features;
    expect(busy['payee.reports_decayed']).toBe(quiet['payee.reports_decayed']);
    expect(busy['payee.in_count_30d']).toBe(300);
    // 0.996 / (1 + 299 / 10)
    expect(busy['payee.report_weight']).toBeLessThan(0.05);
    expect(quiet['payee.report_weight']).toBeGreaterThan(0.9);
  });

  it('counts many reports against a payee (a compromised terminal) in every window at once', async () => {
    const p = new ThreePaths();
    for (let d = 0; d < 20; d++) {
      await p.score(`c${d}`, 'terminal', T0 + d * DAY);
      await p.report('terminal', T0 + d * DAY + HOUR);
      await p.report('terminal', T0 + d * DAY + 2 * HOUR);
    }
    const f = (await p.score('z', 'terminal', T0 + 20 * DAY)).features;
    expect(f).toMatchObject({ 'payee.reports_1d': 2, 'payee.reports_7d': 14, 'payee.reports_28d': 40, 'payee.report_count': 40 });
    expect(f['payee.report_weight']).toBeGreaterThan(3);
  });
});
