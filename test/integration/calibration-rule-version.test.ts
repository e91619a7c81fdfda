import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBudgetConfig } from '../../src/calibration/budget-config.ts';
import { calibrate, type CalibrationTransfer } from '../../src/calibration/calibrate.ts';
import { proposal } from '../../src/calibration/proposal.ts';
import { newApiKey } from '../../src/http/api-keys.ts';
import type { RuleFileText } from '../../src/rules/language/rule-set.ts';
import { loadScoringConfig } from '../../src/scoring/scoring-config.ts';
import { startedApp } from '../helpers/app.ts';

type TestApp = Awaited<ReturnType<typeof startedApp>>;

/**
 * Issue 16: the rule actions a calibration lowers are published as a rule version through the
 * real routes (PUT /v1/rules), wait for a second analyst's approval (four-eyes), become active,
 * and are rolled back like any rule version.
 */
describe('a calibration proposal as a rule version: review, four-eyes approval, rollback', () => {
  const alice = newApiKey('alice', ['rules:write', 'rules:approve']);
  const bob = newApiKey('bob', ['rules:approve']);
  let app: TestApp;
  beforeAll(async () => {
    app = await startedApp({ FEATURES_DEADLINE_MS: '10000', RULES_FOUR_EYES: 'true', API_KEYS: JSON.stringify([alice.entry, bob.entry]) });
  });
  afterAll(async () => {
    await app?.close();
  });
  const as = (key: { key: string }, method: string, url: string, payload?: object) =>
    app.server.inject({ method: method as 'GET', url, payload, headers: { authorization: `Bearer ${key.key}` } });
  const actionOf = (id: string) => app.rules.current.rules.find((r) => r.id === id)?.action;

  /** the fixture's large-to-new-payee (warn, 40 points) warns 10 % of 1000 legitimate transfers and one fraud */
  function population(): CalibrationTransfer[] {
    const out: CalibrationTransfer[] = [];
    for (let i = 0; i < 1000; i++) {
      out.push({ hits: i < 100 ? [{ ruleId: 'large-to-new-payee', score: 40, action: 'warn', scamType: 'impersonation' }] : [], modelScore: i / 100_000, band: 'adult', amount: 100, fraud: false });
    }
    out.push({ hits: [{ ruleId: 'large-to-new-payee', score: 40, action: 'warn', scamType: 'impersonation' }], modelScore: 0.01, band: 'adult', amount: 500, fraud: true });
    for (let i = 0; i < 4; i++) {
      out.push({ hits: [{ ruleId: 'elderly-on-call-new-payee', score: 30, action: 'cool_off', scamType: 'impersonation' }], modelScore: 0.2, band: 'adult', amount: 900, fraud: true });
    }
    return out;
  }

  it('publishes the lowered actions pending approval, activates them on approval, and rolls them back', async () => {
    const result = calibrate(
      population(),
      [
        { id: 'large-to-new-payee', action: 'warn' },
        { id: 'elderly-on-call-new-payee', action: 'cool_off' },
      ],
      loadScoringConfig({}, 20),
      loadBudgetConfig({}),
    );
    expect(result.ruleChanges).toEqual([{ ruleId: 'large-to-new-payee', from: 'warn', to: 'allow' }]);
    expect(result.withinBudget).toBe(true);

    const served = (await as(alice, 'GET', '/v1/rules')).json() as { files: RuleFileText[] };
    const p = proposal(result, { createdAt: '2026-12-06T00:00:00Z', source: { test: true }, rulesVersion: app.rules.current.version, model: null }, undefined, served.files);
    expect(p.ruleVersion?.comment).toContain('large-to-new-payee warn -> allow');

    const seeded = app.rules.current;
    const pub = await as(alice, 'PUT', '/v1/rules', p.ruleVersion);
    expect(pub.statusCode).toBe(201);
    expect(pub.json()).toMatchObject({ active: false, version: { status: 'pending_approval', author: 'alice' } });
    const id = (pub.json() as { version: { id: number } }).version.id;
    expect(app.rules.current).toBe(seeded);
    expect(actionOf('large-to-new-payee')).toBe('warn');

    expect((await as(alice, 'POST', `/v1/rules/versions/${id}/approve`, {})).statusCode).toBe(403);
    const ok = await as(bob, 'POST', `/v1/rules/versions/${id}/approve`, { comment: 'budget' });
    expect(ok.statusCode).toBe(200);
    expect(actionOf('large-to-new-payee')).toBe('allow');
    // nothing else changed
    expect(actionOf('elderly-on-call-new-payee')).toBe('cool_off');
    expect(app.rules.current.rules.map((r) => r.id)).toEqual(seeded.rules.map((r) => r.id));

    const rb = await as(alice, 'POST', '/v1/rules/rollback', { versionId: 1, reason: 'calibration undone' });
    expect(rb.statusCode).toBe(200);
    expect(actionOf('large-to-new-payee')).toBe('warn');
  }, 60_000);
});
