import { describe, expect, it } from 'vitest';
import { newApiKey } from '../../src/http/api-keys.ts';
import { loadConfig } from '../../src/config.ts';

describe('loadConfig: segments', () => {
  it('gives minors the general policy and the elderly a lower warn threshold unless configured', () => {
    const c = loadConfig({}, '/srv');
    expect(c.scoring.segments.elderly).toEqual({ thresholds: { warn: 10.02, coolOff: 60, block: 95 }, coolingOffSeconds: 900 });
    expect(c.scoring.segments.minor).toEqual(c.scoring.segments.adult);
    // never above the general warn threshold
    expect(loadConfig({ RISK_WARN_AT: '8' }, '/srv').scoring.segments.elderly.thresholds.warn).toBe(8);
    expect(loadConfig({ RISK_WARN_AT: '40' }, '/srv').scoring.segments.elderly.thresholds.warn).toBe(10.02);
    expect(c.features.ageBands).toEqual({ minorBelow: 18, elderlyFrom: 60 });
  });

  it('inherits an unset threshold of a band from the general one', () => {
    const c = loadConfig({ RISK_WARN_AT: '25', RISK_WARN_AT_ELDERLY: '15', COOLING_OFF_SECONDS_ELDERLY: '1800' }, '/srv');
    expect(c.scoring.segments.elderly).toEqual({ thresholds: { warn: 15, coolOff: 60, block: 95 }, coolingOffSeconds: 1800 });
    expect(c.scoring.segments.adult.thresholds.warn).toBe(25);
  });

  it('takes thresholds to the hundredth, the resolution of riskScore, and refuses finer ones', () => {
    const c = loadConfig({ RISK_WARN_AT_ELDERLY: '13.35', RISK_WARN_AT: '30.5' }, '/srv');
    expect(c.scoring.segments.elderly.thresholds).toEqual({ warn: 13.35, coolOff: 60, block: 95 });
    expect(c.scoring.thresholds.warn).toBe(30.5);
    expect(() => loadConfig({ RISK_WARN_AT_ELDERLY: '13.355' }, '/srv')).toThrow(
      'RISK_WARN_AT_ELDERLY must be a number between 1 and 100 with at most two decimals, got "13.355"',
    );
    expect(() => loadConfig({ RISK_BLOCK_AT: '1e2' }, '/srv')).toThrow('RISK_BLOCK_AT must be a number between 1 and 101 with at most two decimals, got "1e2"');
    expect(() => loadConfig({ RISK_COOL_OFF_AT: '0.5' }, '/srv')).toThrow('RISK_COOL_OFF_AT must be a number between 1 and 100 with at most two decimals, got "0.5"');
  });

  it('names the band whose thresholds are out of order', () => {
    expect(() => loadConfig({ RISK_COOL_OFF_AT_MINOR: '20', RISK_WARN_AT_MINOR: '40' }, '/srv')).toThrow(
      'RISK_WARN_AT_MINOR <= RISK_COOL_OFF_AT_MINOR <= RISK_BLOCK_AT_MINOR must hold',
    );
    expect(() => loadConfig({ ELDERLY_AGE_FROM: '30' }, '/srv')).toThrow('ELDERLY_AGE_FROM must be an integer between 40 and 120, got "30"');
  });
});

describe('loadConfig: API keys', () => {
  it('is off without API_KEYS', () => {
    expect(loadConfig({}, '/srv').http.apiKeys).toEqual([]);
  });

  it('reads hashed keys and never keeps the key itself', () => {
    const { key, entry } = newApiKey('backend', ['score', 'transfer']);
    const c = loadConfig({ API_KEYS: JSON.stringify([entry]) }, '/srv');
    expect(c.http.apiKeys).toEqual([{ name: 'backend', scopes: ['score', 'transfer'], sha256: entry.sha256 }]);
    expect(JSON.stringify(c)).not.toContain(key);
  });

  it('says what is wrong with a malformed entry', () => {
    expect(() => loadConfig({ API_KEYS: 'backend:score' }, '/srv')).toThrow('API_KEYS must be a JSON array');
    expect(() => loadConfig({ API_KEYS: JSON.stringify([{ name: 'x', scopes: ['root'], sha256: 'abc' }]) }, '/srv')).toThrow(
      /API_KEYS is invalid: 0\.scopes\.0: .*; 0\.sha256: must be 64 lower-case hex digits/,
    );
  });
});

describe('loadConfig: backtest bounds', () => {
  it('bounds backtest jobs and windows by default, never beyond the retention of decisions', () => {
    expect(loadConfig({}, '/srv').backtest).toEqual({ maxJobs: 4, maxWindowDays: 90, shadowMaxWindowDays: 31 });
    expect(loadConfig({ DECISION_RETENTION_DAYS: '14' }, '/srv').backtest).toEqual({ maxJobs: 4, maxWindowDays: 14, shadowMaxWindowDays: 14 });
    expect(loadConfig({ BACKTEST_MAX_JOBS: '1', BACKTEST_MAX_WINDOW_DAYS: '30', SHADOW_STATS_MAX_WINDOW_DAYS: '7' }, '/srv').backtest).toEqual({
      maxJobs: 1,
      maxWindowDays: 30,
      shadowMaxWindowDays: 7,
    });
    expect(() => loadConfig({ BACKTEST_MAX_JOBS: '0' }, '/srv')).toThrow('BACKTEST_MAX_JOBS must be an integer between 1 and 1000, got "0"');
    expect(() => loadConfig({ SHADOW_STATS_MAX_WINDOW_DAYS: 'all' }, '/srv')).toThrow('SHADOW_STATS_MAX_WINDOW_DAYS must be an integer between 1 and 3650, got "all"');
  });
});

describe('loadConfig: the claim lease of a score', () => {
  it('needs the lease to outlast every deadline a live score can spend', () => {
    expect(loadConfig({}, '/srv').scoring).toMatchObject({ recordDeadlineMs: 500, claimLeaseMs: 5_000 });
    expect(loadConfig({ CLAIM_LEASE_MS: '621' }, '/srv').scoring.claimLeaseMs).toBe(621);
    expect(() => loadConfig({ CLAIM_LEASE_MS: '620' }, '/srv')).toThrow(
      'CLAIM_LEASE_MS (620) must exceed FEATURES_DEADLINE_MS + MODEL_DEADLINE_MS + RECORD_DEADLINE_MS (620)',
    );
  });

  it('follows long deadlines when CLAIM_LEASE_MS is unset', () => {
    expect(loadConfig({ FEATURES_DEADLINE_MS: '10000' }, '/srv').scoring.claimLeaseMs).toBe(11_520);
  });
});

describe('loadConfig: the intervention budget (issue 16)', () => {
  it('defaults to warn 2 %, hold 0.5 %, block 0.1 %, and a 2.5 % warn budget for the elderly and minors', () => {
    const b = loadConfig({}, '/srv').budget;
    expect(b.general).toEqual({ warn: 0.02, coolOff: 0.005, block: 0.001 });
    expect(b.bands.adult).toEqual(b.general);
    expect(b.bands.elderly).toEqual({ warn: 0.025, coolOff: 0.005, block: 0.001 });
    expect(b.bands.minor).toEqual({ warn: 0.025, coolOff: 0.005, block: 0.001 });
  });

  it('lets a band inherit the general hold and block budgets, and a larger general warn budget', () => {
    const b = loadConfig({ INTERVENTION_BUDGET_WARN_PCT: '3', INTERVENTION_BUDGET_BLOCK_PCT: '0.05', INTERVENTION_BUDGET_COOL_OFF_PCT_ELDERLY: '1.25' }, '/srv').budget;
    expect(b.general).toEqual({ warn: 0.03, coolOff: 0.005, block: 0.0005 });
    expect(b.bands.elderly).toEqual({ warn: 0.03, coolOff: 0.0125, block: 0.0005 });
    expect(b.bands.minor).toEqual({ warn: 0.03, coolOff: 0.005, block: 0.0005 });
  });

  it('stops start-up on a malformed budget, naming the variable', () => {
    expect(() => loadConfig({ INTERVENTION_BUDGET_WARN_PCT: '2%' }, '/srv')).toThrow(
      'INTERVENTION_BUDGET_WARN_PCT must be a percentage between 0 and 100 with at most three decimals, got "2%"',
    );
    expect(() => loadConfig({ INTERVENTION_BUDGET_BLOCK_PCT_ELDERLY: '101' }, '/srv')).toThrow('INTERVENTION_BUDGET_BLOCK_PCT_ELDERLY must be a percentage');
    expect(() => loadConfig({ INTERVENTION_BUDGET_COOL_OFF_PCT_MINOR: '-1' }, '/srv')).toThrow('INTERVENTION_BUDGET_COOL_OFF_PCT_MINOR must be a percentage');
    expect(() => loadConfig({ INTERVENTION_BUDGET_WARN_PCT: '0.0001' }, '/srv')).toThrow('INTERVENTION_BUDGET_WARN_PCT must be a percentage');
  });
});
