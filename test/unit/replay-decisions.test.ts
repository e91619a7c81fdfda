import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { actionRates, decisionReport, replayAction, ruleVerdict } from '../../src/replay/replay-decisions.ts';
import type { RuleSet } from '../../src/rules/language/rule-set.ts';
import { compileRules } from '../helpers/rules.ts';
import { vector } from './rules-fixtures.ts';

const RULES = `
- id: reported
  description: payee reported
  when: payee.report_count >= 1
  score: 35
  action: cool_off
  scam_type: other
- id: large
  description: large amount
  when: amount >= 1000
  score: 20
  action: warn
  scam_type: investment
- id: blocked-payee
  description: many reporters
  when: payee.distinct_reporters >= 3
  score: 10
  action: block
  scam_type: other
- id: shadow-small
  description: measured only
  when: amount < 10
  score: 90
  action: block
  scam_type: other
  mode: shadow
`;

const ruleSet = (): RuleSet => compileRules(RULES);

// general thresholds 30 / 60 / 95; the elderly warn from 20 and hold from 40
const config = loadConfig({ RISK_WARN_AT_ELDERLY: '20', RISK_COOL_OFF_AT_ELDERLY: '40' }, '/tmp').scoring;

describe('the engine decisions on replayed transfers', () => {
  const rules = ruleSet();

  it('takes the active hits of the rule set, leaving shadow rules out', () => {
    const v = ruleVerdict(rules, vector({ amount: 5, 'payee.report_count': 2 }));
    expect(v).toEqual({ hits: [{ score: 35, action: 'cool_off', scamType: 'other' }], segment: null, errors: 0 });
    // the shadow rule alone fires: no active hits, allowed
    expect(replayAction(ruleVerdict(rules, vector({ amount: 5 })), null, config)).toBe('allow');
  });

  it('decides through the policy: rule points, rule minimum action, model score, the band thresholds', () => {
    const act = (o: Parameters<typeof vector>[0], score: number | null): string => replayAction(ruleVerdict(rules, vector(o)), score, config);
    expect(act({ amount: 50 }, null)).toBe('allow');
    expect(act({ amount: 50 }, 0.29)).toBe('allow');
    expect(act({ amount: 50 }, 0.3)).toBe('warn'); // 30 points
    expect(act({ amount: 50 }, 0.61)).toBe('cool_off');
    expect(act({ amount: 50 }, 0.96)).toBe('block');
    expect(act({ amount: 2000 }, null)).toBe('warn'); // 20 points, warn rule
    expect(act({ amount: 2000, 'payee.report_count': 1 }, null)).toBe('cool_off'); // 55 points, cool_off rule
    expect(act({ amount: 50, 'payee.report_count': 3, 'payee.distinct_reporters': 3 }, 0)).toBe('block');
    // an elderly payer: 25 points warns (from 20), and a 0.45 score holds (from 40); an adult is allowed / warned
    expect(act({ amount: 50, 'payer.age_band': 'elderly' }, 0.25)).toBe('warn');
    expect(act({ amount: 50, 'payer.age_band': 'elderly' }, 0.45)).toBe('cool_off');
    expect(act({ amount: 50, 'payer.age_band': 'adult' }, 0.25)).toBe('allow');
    expect(act({ amount: 50, 'payer.age_band': 'adult' }, 0.45)).toBe('warn');
  });

  it('counts the rates on legitimate traffic and on fraud, per scenario and per age band', () => {
    const rows = [
      // legitimate: allow, allow, warn, cool_off (elderly)
      { o: { amount: 50 }, s: null, fraud: 0, scen: '0' },
      { o: { amount: 50, 'payer.age_band': 'elderly' }, s: 0.1, fraud: 0, scen: '0' },
      { o: { amount: 2000 }, s: null, fraud: 0, scen: '0' },
      { o: { amount: 50, 'payer.age_band': 'elderly' }, s: 0.5, fraud: 0, scen: '0' },
      // fraud scenario 1: block, warn; scenario 2: cool_off, allow (elderly, score 0.1)
      { o: { amount: 50, 'payee.distinct_reporters': 3 }, s: null, fraud: 1, scen: '1' },
      { o: { amount: 50 }, s: 0.4, fraud: 1, scen: '1' },
      { o: { amount: 50, 'payee.report_count': 1 }, s: null, fraud: 1, scen: '2' },
      { o: { amount: 50, 'payer.age_band': 'elderly' }, s: 0.1, fraud: 1, scen: '2' },
    ] as const;
    const verdicts = rows.map((r) => ruleVerdict(rules, vector(r.o)));
    const actions = rows.map((r, i) => replayAction(verdicts[i]!, r.s, config));
    expect(actions).toEqual(['allow', 'allow', 'warn', 'cool_off', 'block', 'warn', 'cool_off', 'allow']);
    const report = decisionReport({ actions, labels: rows.map((r) => r.fraud), scenarios: rows.map((r) => r.scen), verdicts });
    expect(report.legitimate).toEqual({
      transfers: 4,
      counts: { allow: 2, warn: 1, cool_off: 1, block: 0 },
      warnRate: 0.25,
      holdRate: 0.25,
      blockRate: 0,
      interventionRate: 0.5,
    });
    expect(report.fraud.counts).toEqual({ allow: 1, warn: 1, cool_off: 1, block: 1 });
    expect(report.fraud.interventionRate).toBe(0.75);
    expect(report.fraudByScenario['1']!.counts).toEqual({ allow: 0, warn: 1, cool_off: 0, block: 1 });
    expect(report.fraudByScenario['2']!.counts).toEqual({ allow: 1, warn: 0, cool_off: 1, block: 0 });
    const bands = report.byAgeBand as Record<string, { legitimate: { counts: unknown }; fraud: { counts: unknown } }>;
    expect(Object.keys(bands)).toEqual(['elderly', 'unknown']);
    expect(bands.elderly!.legitimate.counts).toEqual({ allow: 1, warn: 0, cool_off: 1, block: 0 });
    expect(bands.elderly!.fraud.counts).toEqual({ allow: 1, warn: 0, cool_off: 0, block: 0 });
    expect(bands.unknown!.legitimate.counts).toEqual({ allow: 1, warn: 1, cool_off: 0, block: 0 });
    expect(report.ruleErrors).toBe(0);
    // the fraud's value with an intervention: all but the allowed fraud (the last row)
    const amounts = [50, 50, 2000, 50, 100, 200, 300, 400];
    const valued = decisionReport({ actions, labels: rows.map((r) => r.fraud), scenarios: rows.map((r) => r.scen), verdicts, amounts });
    expect(valued.fraudValueInterventionRate).toBeCloseTo(600 / 1000, 12);
    expect(report.fraudValueInterventionRate).toBeNaN();
  });

  it('says so when the data knows no ages, rather than inventing bands', () => {
    const verdicts = [ruleVerdict(rules, vector({ amount: 50 }))];
    const report = decisionReport({ actions: ['allow'], labels: [0], scenarios: ['0'], verdicts });
    expect(report.byAgeBand).toEqual({ unavailable: expect.stringContaining('no payer ages') });
  });

  it('gives NaN rates for an empty group, not zero', () => {
    expect(actionRates([]).warnRate).toBeNaN();
  });
});
