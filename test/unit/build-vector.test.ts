import { describe, expect, it } from 'vitest';
import { FEATURES, vectorToRecord } from '../../src/features/catalogue.ts';
import { ageBand, buildFeatureVector } from '../../src/features/build-vector.ts';
import { hourInZone } from '../../src/features/time-zones.ts';
import type { VelocityState } from '../../src/features/velocity-state.ts';

const empty: VelocityState = {
  payerOut: { counts: [0, 0, 0, 0], sums: [0, 0, 0, 0] },
  payerLastMs: null,
  payerDistinctPayees24h: 0,
  pairCount: 0,
  pairFirstMs: null,
  deviceNewForPayer: null,
  deviceDistinctPayers24h: null,
  payeeIn: { counts: [0, 0, 0, 0], sums: [0, 0, 0, 0] },
  payeeOutSum1h: 0,
  payeeOutSum24h: 0,
  payeeDistinctPayers24h: 0,
  payeeNewPayers24h: 0,
  payeeReportCount: 0,
  payeeDistinctReporters: 0,
  payeeLastReportMs: null,
  payeeReportsAged: { last1d: 0, last7d: 0, last28d: 0, decayed: 0 },
  guardian: null,
};

describe('feature vector', () => {
  it('has one unique name per catalogue entry and a value or null for each', () => {
    expect(new Set(FEATURES.map((f) => f.name)).size).toBe(FEATURES.length);
    const t = Date.parse('2026-11-21T03:10:00Z');
    const v = buildFeatureVector(
      { transferId: 't', occurredAt: '2026-11-21T03:10:00Z', amount: 10, currency: 'CNY', payer: { accountId: 'a' }, payee: { accountId: 'b' } },
      t,
      empty,
    );
    expect(v.length).toBe(FEATURES.length);
    for (let i = 0; i < FEATURES.length; i++) {
      const f = FEATURES[i]!;
      if (v[i] === null) expect([f.name, f.nullable]).toEqual([f.name, true]);
      else expect([f.name, typeof v[i]]).toEqual([f.name, f.type]);
    }
  });

  it('leaves missing optional fields missing, never guessed', () => {
    const t = Date.parse('2026-11-21T03:10:00Z');
    const r = vectorToRecord(
      buildFeatureVector(
        { transferId: 't', occurredAt: '2026-11-21T03:10:00Z', amount: 10, currency: 'CNY', payer: { accountId: 'a' }, payee: { accountId: 'b' } },
        t,
        empty,
      ),
    );
    expect([r['hour_of_day'], r['payer.age'], r['payer.age_band'], r['context.on_call'], r['payer.avg_amount_30d'], r['payee.first_seen']]).toEqual([
      null,
      null,
      null,
      null,
      null,
      true,
    ]);
  });

  it('derives event features and ratios', () => {
    const t = Date.parse('2026-11-21T03:10:00Z');
    const r = vectorToRecord(
      buildFeatureVector(
        {
          transferId: 't',
          occurredAt: '2026-11-21T03:10:00Z',
          amount: 48_000,
          currency: 'CNY',
          channel: 'app',
          payer: { accountId: 'p', birthYear: 1950, accountCreatedAt: '2015-01-01T00:00:00Z', timeZone: 'Asia/Shanghai' },
          payee: { accountId: 'q', accountCreatedAt: '2026-11-19T03:10:00Z' },
          context: { newDevice: true, onCall: true, remoteAccess: false, payeePasted: true },
        },
        t,
        {
          ...empty,
          payerOut: { counts: [0, 1, 3, 4], sums: [0, 100, 900, 1200] },
          payerLastMs: t - 90_000,
          pairCount: 2,
          pairFirstMs: t - 3 * 86_400_000,
          payeeIn: { counts: [1, 2, 2, 2], sums: [500, 1000, 1000, 1000] },
          payeeOutSum24h: 2500,
          payeeLastReportMs: t - 7_200_000,
          payeeReportCount: 1,
        },
      ),
    );
    expect(r).toMatchObject({
      amount: 48_000,
      currency: 'CNY',
      channel: 'app',
      hour_of_day: 11,
      'payer.age': 76,
      'payer.age_band': 'elderly',
      'payee.account_age_days': 2,
      'context.new_device': true,
      'context.remote_access': false,
      'payer.avg_amount_30d': 300,
      'payer.amount_to_avg_30d': 160,
      'payer.seconds_since_last': 90,
      'payee.first_seen': false,
      'payee.paid_before_count': 2,
      'payee.days_since_first_paid': 3,
      'payee.pass_through_24h': 1,
      'payee.report_count': 1,
      'payee.hours_since_last_report': 2,
    });
  });

  it('bands ages at their edges', () => {
    expect([null, 0, 17, 18, 59, 60, 99].map((a) => ageBand(a))).toEqual([null, 'minor', 'minor', 'adult', 'adult', 'elderly', 'elderly']);
  });

  it('bands ages at configured edges', () => {
    const bands = { minorBelow: 16, elderlyFrom: 65 };
    expect([15, 16, 64, 65].map((a) => ageBand(a, bands))).toEqual(['minor', 'adult', 'adult', 'elderly']);
  });

  it('reads the hour in the payer zone across a date line', () => {
    const t = Date.parse('2026-11-21T23:30:00Z');
    expect([hourInZone(t, 'UTC'), hourInZone(t, 'Asia/Shanghai'), hourInZone(t, 'America/New_York')]).toEqual([23, 7, 18]);
  });
});
