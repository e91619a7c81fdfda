import { describe, expect, it } from 'vitest';
import { degradedAction, parseDegradedPolicy } from '../../src/scoring/degraded-policy.ts';

describe('DEGRADED_FEATURES_POLICY', () => {
  it('maps amounts to actions by exclusive upper bound', () => {
    const bands = parseDegradedPolicy('500:allow, 5000.5:warn, *:block');
    expect([0.01, 499.99, 500, 5000.49, 5000.5, 1e12].map((a) => degradedAction(a, bands))).toEqual(['allow', 'allow', 'warn', 'warn', 'block', 'block']);
  });

  it('accepts a single catch-all band', () => {
    expect(degradedAction(1, parseDegradedPolicy('*:cool_off'))).toBe('cool_off');
  });

  it.each([
    ['500:allow', 'DEGRADED_FEATURES_POLICY: must end with *:<action> for the largest amounts'],
    ['500:maybe,*:warn', 'DEGRADED_FEATURES_POLICY: "maybe" is not one of allow, warn, cool_off, block'],
    ['*:warn,500:allow', 'DEGRADED_FEATURES_POLICY: *:<action> must come last'],
    ['500:allow,100:warn,*:block', 'DEGRADED_FEATURES_POLICY: amounts must increase (100:warn)'],
    ['-5:allow,*:warn', 'DEGRADED_FEATURES_POLICY: "-5:allow" is not <amount>:<action> or *:<action>'],
  ])('rejects %s', (text, message) => {
    expect(() => parseDegradedPolicy(text)).toThrow(message);
  });
});
