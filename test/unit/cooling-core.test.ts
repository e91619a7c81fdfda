import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { registrationTimes } from '../../src/config-wiring.ts';
import { segmentPolicy } from '../../src/scoring/scoring-config.ts';
import { enginePolicy } from '../../src/scoring/decide.ts';
import { loadLifecycleConfig } from '../../src/cooling/lifecycle-config.ts';
import { trustedContactNotice, voiceWarning, type LifecycleEvent } from '../../src/cooling/notifications.ts';
import { recheckHold, refreshReportFeatures } from '../../src/cooling/recheck.ts';
import { registrationFor, type RegisteredDecision } from '../../src/cooling/registration.ts';
import { holdJobId, illegalTransitionMessage } from '../../src/cooling/transfer-states.ts';
import { signature, signedHeaders, verifySignature } from '../../src/cooling/webhook-signature.ts';
import { renderWarning } from '../../src/i18n/render-warning.ts';
import { pickLanguage } from '../../src/i18n/language.ts';
import { FEATURE_COUNT, idx, type FeatureValue } from '../../src/features/catalogue.ts';
import { compileRules } from '../helpers/rules.ts';

describe('holdJobId', () => {
  it('is the transfer id where BullMQ accepts it, and an escape that cannot collide otherwise', () => {
    expect(holdJobId('t-1')).toBe('t-1');
    expect(holdJobId('a/b=c')).toBe('a/b=c');
    expect(holdJobId('12345')).toBe('~12345');
    expect(holdJobId('-7')).toBe('~-7');
    expect(holdJobId('pay:2026:1')).toBe('~pay%3A2026%3A1');
    // legal transfer ids never contain '~' or '%', so escaped ids cannot meet raw ones
    const ids = ['1', '01', '-1', 'a:b', 'a', 'a.b', 'x:1:2', 'x/1/2'];
    const jobIds = ids.map(holdJobId);
    expect(new Set(jobIds).size).toBe(ids.length);
    for (const j of jobIds) expect(j.startsWith('~') || ids.includes(j)).toBe(true);
  });
});

describe('illegalTransitionMessage', () => {
  it('names the transfer, the state and what the action needs', () => {
    expect(illegalTransitionMessage('t-9', 'release', 'COOLING_OFF')).toBe(
      'Cannot release transfer t-9: it is COOLING_OFF (it is in its cooling-off hold); release needs HELD_FOR_REVIEW',
    );
  });
});

describe('webhook signatures', () => {
  const secret = 'a-secret-of-16-chars';
  const body = '{"id":"evt_1","type":"transfer.released"}';

  it('is HMAC-SHA256 over "<timestamp>.<body>", hex, with a version prefix', () => {
    expect(signature('key', 1_700_000_000, 'x')).toBe(`v1=${createHmac('sha256', 'key').update('1700000000.x').digest('hex')}`);
    const h = signedHeaders(secret, 'evt_1', 1_763_709_000, body);
    expect(h).toEqual({ 'calmpay-event-id': 'evt_1', 'calmpay-timestamp': '1763709000', 'calmpay-signature': signature(secret, 1_763_709_000, body) });
    expect(h['calmpay-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('verifies the right signature and refuses a changed body, a wrong key, a stale or missing timestamp', () => {
    const ts = 1_763_709_000;
    const sig = signature(secret, ts, body);
    expect(verifySignature(secret, body, String(ts), sig, ts + 10)).toEqual({ ok: true });
    expect(verifySignature(secret, `${body} `, String(ts), sig, ts)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifySignature('another-secret-xxxx', body, String(ts), sig, ts)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifySignature(secret, body, String(ts), sig, ts + 301)).toEqual({ ok: false, reason: 'timestamp outside the tolerance' });
    expect(verifySignature(secret, body, undefined, sig, ts)).toEqual({ ok: false, reason: 'missing or malformed timestamp' });
    expect(verifySignature(secret, body, '12a', sig, ts)).toEqual({ ok: false, reason: 'missing or malformed timestamp' });
    expect(verifySignature(secret, body, String(ts), undefined, ts)).toEqual({ ok: false, reason: 'missing signature' });
    expect(verifySignature(secret, body, String(ts), 'v1=short', ts)).toEqual({ ok: false, reason: 'signature mismatch' });
  });
});

describe('lifecycle configuration', () => {
  it('has defaults for every variable', () => {
    expect(loadLifecycleConfig({})).toEqual({
      holdRiskAt: 45,
      warningExpirySeconds: 1_800,
      webhookUrl: undefined,
      webhookSecret: undefined,
      webhookAttempts: 8,
      webhookBackoffMs: 1_000,
      voiceUrl: undefined,
      trustedContactUrl: undefined,
      runWorker: true,
      workerConcurrency: 50,
    });
  });

  it('refuses unsigned deliveries, short secrets, bad URLs and out-of-range numbers, naming the variable', () => {
    expect(() => loadLifecycleConfig({ WEBHOOK_URL: 'http://x.test/h' })).toThrow(/WEBHOOK_SECRET must be set/);
    expect(() => loadLifecycleConfig({ VOICE_URL: 'http://x.test/v' })).toThrow(/WEBHOOK_SECRET must be set/);
    expect(() => loadLifecycleConfig({ WEBHOOK_URL: 'http://x.test/h', WEBHOOK_SECRET: 'short' })).toThrow(/WEBHOOK_SECRET must be at least 16/);
    expect(() => loadLifecycleConfig({ WEBHOOK_URL: 'ftp://x.test/h', WEBHOOK_SECRET: 'x'.repeat(16) })).toThrow(/WEBHOOK_URL must be an http\(s\) URL/);
    expect(() => loadLifecycleConfig({ TRUSTED_CONTACT_URL: 'not a url', WEBHOOK_SECRET: 'x'.repeat(16) })).toThrow(/TRUSTED_CONTACT_URL/);
    expect(() => loadLifecycleConfig({ HOLD_RISK_AT: '102' })).toThrow(/HOLD_RISK_AT must be an integer between 0 and 101/);
    expect(() => loadLifecycleConfig({ WARNING_EXPIRY_SECONDS: '0' })).toThrow(/WARNING_EXPIRY_SECONDS/);
    expect(() => loadLifecycleConfig({ RUN_WORKER: 'maybe' })).toThrow(/RUN_WORKER must be true or false/);
    expect(() => loadLifecycleConfig({ WEBHOOK_ATTEMPTS: '0' })).toThrow(/WEBHOOK_ATTEMPTS/);
  });

  it('is part of the app config', () => {
    expect(loadConfig({ HOLD_RISK_AT: '50', RUN_WORKER: 'false' }).lifecycle).toMatchObject({ holdRiskAt: 50, runWorker: false });
  });
});

const decision = (over: Partial<RegisteredDecision> = {}): RegisteredDecision => ({
  action: 'cool_off',
  riskScore: 70,
  modelScore: null,
  scamType: 'impersonation',
  segment: 'elderly',
  rulesVersion: 'files-abc',
  decidedAt: '2026-11-21T03:10:00.000Z',
  ...over,
});

describe('registrationFor', () => {
  const config = loadConfig({ WARNING_EXPIRY_SECONDS: '600', COOLING_OFF_SECONDS_ELDERLY: '1800', IDEMPOTENCY_TTL_SECONDS: '3600' });
  const event = {
    transferId: 't-1',
    occurredAt: '2026-11-21T03:10:00Z',
    amount: 48_000,
    currency: 'CNY',
    payer: { accountId: 'p-1' },
    payee: { accountId: 'q-7' },
    language: 'zh-CN',
  };
  const v: FeatureValue[] = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
  v[idx('payee.report_count')] = 2;
  // as the score chose them: the event's language, the elderly payer's policy
  const choices = { language: pickLanguage(undefined, event.language, config.i18n.defaultLanguage), policy: segmentPolicy(config.scoring, 'elderly') };
  const times = registrationTimes(config);

  it('is nothing for allow and block decisions', () => {
    expect(registrationFor(decision({ action: 'allow' }), event, v, '[]', choices, times)).toBeNull();
    expect(registrationFor(decision({ action: 'block' }), event, v, '[]', choices, times)).toBeNull();
  });

  it('carries what the lifecycle needs after the decision has expired', () => {
    const r = registrationFor(decision(), event, v, '[1,2]', choices, times)!;
    const decided = Date.parse('2026-11-21T03:10:00.000Z');
    expect(r.args.slice(0, 6)).toEqual([
      't-1',
      String(decided),
      '2026-11-21T03:10:00.000Z',
      String(decided + 600_000),
      String(600_000 + 3_600_000),
      'cool_off decision, risk 70, suspected impersonation: waiting for the payer until 2026-11-21T03:20:00.000Z',
    ]);
    const fields = Object.fromEntries(Array.from({ length: (r.args.length - 6) / 2 }, (_, i) => [r.args[6 + 2 * i], r.args[7 + 2 * i]]));
    expect(fields).toEqual({
      payer: 'p-1',
      payee: 'q-7',
      amount: '48000',
      currency: 'CNY',
      action: 'cool_off',
      risk: '70',
      model: '',
      segment: 'elderly',
      scam: 'impersonation',
      rules: 'files-abc',
      lang: 'zh',
      features: '[1,2]',
      reports: '2',
      // the elderly segment's own hold length
      holdMs: '1800000',
    });
  });
});

describe('recheckHold', () => {
  const rules = (yaml: string) => compileRules(yaml, 'r.yaml');
  // the general thresholds (the vectors name no age band): warn 30, cool_off 60, block 95
  const policy = enginePolicy(loadConfig({}).scoring);
  const v: FeatureValue[] = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
  v[idx('amount')] = 48_000;
  v[idx('payee.report_count')] = 0;
  v[idx('payee.distinct_reporters')] = 0;
  const none = { count: 0, reporters: 0, lastMs: null };
  const now = Date.parse('2026-11-21T04:00:00Z');

  it('refreshes only the report features', () => {
    const r = refreshReportFeatures(v, { count: 3, reporters: 2, lastMs: now - 7_200_000 }, now);
    expect([r[idx('payee.report_count')], r[idx('payee.distinct_reporters')], r[idx('payee.hours_since_last_report')]]).toEqual([3, 2, 2]);
    expect(r.filter((x, i) => x !== v[i]).length).toBe(3);
    expect(v[idx('payee.report_count')]).toBe(0);
  });

  it('releases when the active rule set does not block', () => {
    const set = rules('- id: big\n  description: big\n  when: amount >= 10000\n  score: 40\n  action: warn\n  scam_type: other\n');
    expect(recheckHold({ vector: v, reports: none, unappliedReports: [], nowMs: now, modelScore: null, ruleSet: set, policy })).toEqual({ hold: false, riskScore: 40 });
  });

  it('holds when a rule on the refreshed report features now blocks', () => {
    const set = rules('- id: reported-payee\n  description: reported\n  when: payee.report_count >= 1\n  score: 10\n  action: block\n  scam_type: other\n- id: shadow\n  description: s\n  when: amount > 0\n  score: 90\n  action: block\n  scam_type: other\n  mode: shadow\n');
    expect(recheckHold({ vector: v, reports: none, unappliedReports: [], nowMs: now, modelScore: null, ruleSet: set, policy }).hold).toBe(false);
    expect(recheckHold({ vector: v, reports: { count: 1, reporters: 1, lastMs: now }, unappliedReports: [], nowMs: now, modelScore: null, ruleSet: set, policy })).toEqual({
      hold: true,
      riskScore: 10,
      reason: `rule set ${set.version} now blocks it (risk 10, blocking rules: reported-payee)`,
    });
  });

  it('holds for review while a report on the payee is not applied to its flags yet (issue 19)', () => {
    const set = rules('- id: big\n  description: big\n  when: amount >= 10000\n  score: 40\n  action: warn\n  scam_type: other\n');
    const input = { vector: v, reports: none, nowMs: now, modelScore: null, ruleSet: set, policy };
    expect(recheckHold({ ...input, unappliedReports: ['case-1'] })).toEqual({
      hold: true,
      riskScore: 40,
      reason: 'the payee is named by scam report case-1, not yet applied to its report flags (Redis failed when it was filed)',
    });
    expect(recheckHold({ ...input, unappliedReports: ['case-1', 'case-2', 'case-3', 'case-4', 'case-5'] })).toEqual({
      hold: true,
      riskScore: 40,
      reason: 'the payee is named by scam reports case-1, case-2, case-3 and 2 more, not yet applied to its report flags (Redis failed when it was filed)',
    });
  });

  it('holds by score alone, and on a vector of another catalogue', () => {
    const set = rules('- id: big\n  description: big\n  when: amount >= 10000\n  score: 40\n  scam_type: other\n');
    expect(recheckHold({ vector: v, reports: none, unappliedReports: [], nowMs: now, modelScore: 0.97, ruleSet: set, policy })).toMatchObject({ hold: true, riskScore: 97 });
    expect(recheckHold({ vector: v.slice(1), reports: none, unappliedReports: [], nowMs: now, modelScore: null, ruleSet: set, policy })).toMatchObject({ hold: true, riskScore: 0 });
  });
});

describe('notifications', () => {
  const event: LifecycleEvent = {
    id: 'evt_abc',
    type: 'transfer.cooling_off',
    createdAt: '2026-11-21T03:11:00.000Z',
    transferId: 't-1',
    seq: 2,
    from: 'WARNED',
    to: 'COOLING_OFF',
    actor: 'payer',
    reason: 'confirmed',
    payerId: 'p-1',
    payeeId: 'q-7',
    amount: 48_000,
    currency: 'CNY',
    action: 'cool_off',
    riskScore: 70,
    segment: 'elderly',
    scamType: 'impersonation',
    holdUntil: '2026-11-21T03:26:00.000Z',
  };

  it('the voice warning speaks the decision warning in the payer language', () => {
    const v = voiceWarning(event, 'zh', 15)!;
    expect(v).toEqual({
      id: 'evt_abc-voice',
      type: 'voice.warning',
      createdAt: event.createdAt,
      transferId: 't-1',
      payerId: 'p-1',
      language: 'zh',
      scamType: 'impersonation',
      voiceScript: renderWarning({ scamType: 'impersonation', segment: 'elderly', action: 'cool_off', lang: 'zh', holdMinutes: 15 }).voiceScript,
    });
    expect(voiceWarning({ ...event, scamType: null }, 'en', 15)).toBeNull();
  });

  it("the trusted contact's notice names the amount and the end of the hold", () => {
    const n = trustedContactNotice(event, { name: 'Li Wei', phone: '+86 138', language: null, updatedAt: '' }, 'en');
    expect(n).toMatchObject({ id: 'evt_abc-contact', language: 'en', contact: { name: 'Li Wei', phone: '+86 138' }, holdUntil: event.holdUntil });
    expect(n.message).toBe(
      'Li Wei, a payment of 48,000 CNY by the account p-1 you look out for is on hold until 2026-11-21 03:26 UTC because it looks like a scam. Please call them now: until then they can still cancel it.',
    );
    expect(trustedContactNotice(event, { name: '李伟', phone: '1', language: 'zh', updatedAt: '' }, 'en').message).toContain('暂缓到 2026-11-21 03:26 UTC');
  });
});
