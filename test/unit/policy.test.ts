import { describe, expect, it } from 'vitest';
import { decide, thresholdAction } from '../../src/scoring/policy.ts';

const T = { warn: 30, coolOff: 60, block: 95 };

describe('decision policy', () => {
  it('maps riskScore to an action at and around each threshold', () => {
    expect([0, 29.99, 30, 59.99, 60, 94.99, 95, 100].map((s) => thresholdAction(s, T))).toEqual([
      'allow',
      'allow',
      'warn',
      'warn',
      'cool_off',
      'cool_off',
      'block',
      'block',
    ]);
  });

  it('compares model points to a threshold given to the hundredth', () => {
    const elderly = { warn: 13.35, coolOff: 60, block: 95 };
    expect([0.1334, 0.1335].map((p) => decide([], p, elderly).action)).toEqual(['allow', 'warn']);
  });

  it('allows with no hits and no model', () => {
    expect(decide([], null, T)).toEqual({ ruleScore: 0, riskScore: 0, action: 'allow', scamType: null });
  });

  it('adds points, caps at 100 and names the highest-scoring scam type', () => {
    const hits = [
      { score: 40, action: 'allow' as const, scamType: 'mule' as const },
      { score: 45, action: 'allow' as const, scamType: 'impersonation' as const },
      { score: 30, action: 'allow' as const, scamType: 'other' as const },
    ];
    expect(decide(hits, null, T)).toEqual({ ruleScore: 100, riskScore: 100, action: 'block', scamType: 'impersonation' });
  });

  it("takes a rule's minimum action over a low score", () => {
    expect(decide([{ score: 5, action: 'cool_off', scamType: 'romance' }], null, T)).toEqual({
      ruleScore: 5,
      riskScore: 5,
      action: 'cool_off',
      scamType: 'romance',
    });
  });

  it('uses the model when it is more alarmed than the rules', () => {
    expect(decide([{ score: 10, action: 'allow', scamType: 'purchase' }], 0.6234, T)).toEqual({
      ruleScore: 10,
      riskScore: 62.34,
      action: 'cool_off',
      scamType: 'purchase',
    });
  });

  it("falls back to scam type 'other' when a warning is due but no hit names a type", () => {
    expect(decide([{ score: 35, action: 'allow', scamType: 'other' }], null, T)).toEqual({
      ruleScore: 35,
      riskScore: 35,
      action: 'warn',
      scamType: 'other',
    });
  });
});
