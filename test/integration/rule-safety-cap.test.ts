import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { testApp, startedApp } from '../helpers/app.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';

type TestApp = Awaited<ReturnType<typeof testApp>>;

describe('the safety cap moves a runaway rule to shadow on every node', () => {
  const db = testSql('pglite');
  let sql: SqlStore;
  let a: TestApp;
  let b: TestApp;
  const prefix = `test-cap-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
  const env = {
    REDIS_KEY_PREFIX: prefix,
    RULES_POLL_MS: '100',
    RULES_SAFETY_CAP_FLUSH_MS: '50',
    RULES_SAFETY_CAP_MIN_SAMPLE: '30',
    RULES_SAFETY_CAP_MULTIPLE: '10',
    RULES_SAFETY_CAP_MIN_SHARE_PCT: '5',
    RULES_SAFETY_CAP_WINDOW_MINUTES: '5',
    // a busy shared machine must not push scores into degraded mode (no velocity features)
    FEATURES_DEADLINE_MS: '10000',
  };
  let n = 0;
  const score = async (app: TestApp) =>
    (
      await app.server.inject({
        method: 'POST',
        url: '/v1/transfers/score',
        payload: {
          transferId: `cap-${n++}`,
          occurredAt: new Date().toISOString(),
          amount: 20_000,
          currency: 'CNY',
          payer: { accountId: `cap-p-${n}` },
          payee: { accountId: `cap-q-${n}` },
        },
      })
    ).json() as { ruleScore: number; hits: { ruleId: string }[]; shadowHits: { ruleId: string }[]; rulesVersion: string };

  beforeAll(async () => {
    sql = await db.open();
    a = await startedApp(env, { sql });
    b = await startedApp(env, { sql });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sql?.close();
  });

  it('leaves a rule firing at its usual share alone', async () => {
    // the hour before the window, as all nodes counted it: large-to-new-payee on 60% of 1,000 decisions
    const minute = Math.floor(Date.now() / 60_000);
    await a.redis.hset(`${prefix}{rules}:hits:${minute - 10}`, 'total', 1_000, 'r:large-to-new-payee', 600);
    for (let i = 0; i < 40; i++) expect((await score(i % 2 === 0 ? a : b)).ruleScore).toBe(40);
    await a.ruleHits!.tick();
    await b.ruleHits!.tick();
    expect(a.ruleVersions.active.version.id).toBe(1);
  });

  it('trips when the share jumps far above its hourly level, with audit, alert and a new version', async () => {
    // a quieter hour before: 1% of 20,000 decisions
    const minute = Math.floor(Date.now() / 60_000);
    await a.redis.hset(`${prefix}{rules}:hits:${minute - 10}`, 'total', 20_000, 'r:large-to-new-payee', 200);
    await a.ruleHits!.tick();
    await until(() => a.ruleVersions.active.version.author === 'safety-cap', 'the cap to trip', 10_000, 20);
    await until(() => b.ruleVersions.active.version.id === a.ruleVersions.active.version.id, 'node b to switch', 10_000, 20);
    for (const app of [a, b]) {
      expect(app.rules.current.rules.find((r) => r.id === 'large-to-new-payee')?.mode).toBe('shadow');
      const d = await score(app);
      expect([d.ruleScore, d.hits, d.shadowHits.map((h) => h.ruleId)]).toEqual([0, [], ['large-to-new-payee']]);
    }
    const audit = (await a.server.inject({ url: '/v1/rules/audit' })).json().items;
    expect(audit[0]).toMatchObject({
      action: 'auto_shadow',
      actor: 'safety-cap',
      activeBefore: 1,
      activeAfter: 2,
      versionId: 2,
      diff: { added: [], removed: [], changed: [{ id: 'large-to-new-payee', fields: ['mode'] }] },
    });
    expect(audit[0].reason).toMatch(
      /^safety cap: the rule fired on 100\.0% of \d+ decisions in the last 5 min, against 1\.0% of 20000 in the hour before \(limits: 10x its hourly share and 5\.0% of traffic\)$/,
    );
    expect(audit.filter((e: { action: string }) => e.action === 'auto_shadow')).toHaveLength(1);
    const version = (await a.server.inject({ url: '/v1/rules/versions/2' })).json();
    expect(version).toMatchObject({ author: 'safety-cap', status: 'approved', baseId: 1, active: true });
    // the rest of the file is as the analyst wrote it
    expect(version.files[0].text).toContain('# A small, fixed rule set for API tests');
    expect(version.files[0].text).toMatch(/id: large-to-new-payee[\s\S]*mode: shadow\n- id: elderly-on-call-new-payee/);
  });
});
