import { beforeAll, describe, expect, it } from 'vitest';
import { SIM_TYPOLOGIES, SimStats, simulate } from '../../src/sim/index.ts';
import { collect, groupBy, share, type Row } from './sim-fixtures.ts';

const HOUR_MS = 3_600_000;
let rows: Row[] = [];

beforeAll(() => {
  rows = collect({ payers: 4_000, days: 30, seed: 5, fraudRate: 0.03 });
});

describe('simulator labels', () => {
  it('mark legitimate transfers with fraud false and every other field null', () => {
    const legit = rows.filter((r) => !r.label.fraud);
    expect(legit.length).toBeGreaterThan(50_000);
    expect(legit.filter((r) => Object.values(r.label).some((v) => v !== null && v !== false)).map((r) => r.id)).toEqual([]);
  });

  it('give every fraudulent transfer a typology, a role and a case', () => {
    const fraud = rows.filter((r) => r.label.fraud);
    const wrong = fraud.filter((r) => {
      const l = r.label;
      if (l.caseId === null) return true;
      if (l.role === 'victim') return !(SIM_TYPOLOGIES as readonly string[]).includes(l.scamType ?? '');
      return !(l.role === 'mule' && l.scamType === 'mule');
    });
    expect(wrong.map((r) => r.label)).toEqual([]);
    expect(new Set(fraud.map((r) => r.label.scamType))).toEqual(new Set([...SIM_TYPOLOGIES, 'mule']));
  });

  it('share one label per case: one payer (the victim, or the mule account), one report after the last transfer', () => {
    const cases = groupBy(
      rows.filter((r) => r.label.fraud),
      (r) => r.label.caseId,
    );
    expect(cases.size).toBeGreaterThan(300);
    const bad: string[] = [];
    for (const [id, txs] of cases) {
      const l = txs[0]!.label;
      if (txs.some((t) => JSON.stringify(t.label) !== JSON.stringify(l))) bad.push(`${id}: labels differ`);
      if (new Set(txs.map((t) => t.payer)).size !== 1) bad.push(`${id}: several payers`);
      if ((l.reportedAt === null) !== (l.reporter === null)) bad.push(`${id}: reportedAt without reporter or the reverse`);
      const last = Math.max(...txs.map((t) => t.ms));
      if (l.reportedAt !== null && !(Date.parse(l.reportedAt) > last)) bad.push(`${id}: reported ${l.reportedAt} before its last transfer`);
    }
    expect(bad).toEqual([]);
    // several transfers in many cases, so sharing is exercised
    expect([...cases.values()].filter((t) => t.length >= 3).length).toBeGreaterThan(100);
  });

  it('reports most victim cases, hours to weeks after the last transfer', () => {
    const cases = [...groupBy(rows.filter((r) => r.label.role === 'victim'), (r) => r.label.caseId).values()];
    const reported = cases.filter((t) => t[0]!.label.reportedAt !== null);
    const reportedShare = reported.length / cases.length;
    expect(reportedShare).toBeGreaterThan(0.65);
    expect(reportedShare).toBeLessThan(0.88);
    const delays = reported.map((t) => (Date.parse(t[0]!.label.reportedAt!) - Math.max(...t.map((x) => x.ms))) / HOUR_MS);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0.5);
    expect(share(delays, (d) => d < 24)).toBeGreaterThan(0.15);
    expect(share(delays, (d) => d > 7 * 24)).toBeGreaterThan(0.1);
    // slow-burning scams are found out later than fast ones
    const medianDelay = (type: string): number => {
      const d = reported.filter((t) => t[0]!.label.scamType === type).map((t) => Date.parse(t[0]!.label.reportedAt!) - Math.max(...t.map((x) => x.ms)));
      return d.sort((a, b) => a - b)[Math.floor(d.length / 2)]!;
    };
    expect(medianDelay('investment')).toBeGreaterThan(5 * medianDelay('impersonation'));
  });

  it('has elderly victims reported by family or the bank more often than adults, minors by family', () => {
    const reportedCases = [...groupBy(rows.filter((r) => r.label.role === 'victim' && r.label.reporter !== null), (r) => r.label.caseId).values()].map((t) => t[0]!);
    const familyOrBank = (band: string): number =>
      share(reportedCases.filter((r) => r.band === band), (r) => r.label.reporter === 'family' || r.label.reporter === 'bank');
    expect(familyOrBank('elderly')).toBeGreaterThan(familyOrBank('adult') + 0.15);
    expect(share(reportedCases.filter((r) => r.band === 'minor'), (r) => r.label.reporter === 'family')).toBeGreaterThan(0.4);
    expect(share(reportedCases.filter((r) => r.band === 'adult'), (r) => r.label.reporter === 'victim')).toBeGreaterThan(0.6);
  });
});

describe('simulator fraud rate', () => {
  function rate(options: Parameters<typeof simulate>[0]): number {
    const s = new SimStats();
    for (const r of simulate(options)) s.add(r);
    const x = s.summary();
    return x.fraudTransfers / x.transfers;
  }

  it('is near the configured rate', () => {
    expect(share(rows, (r) => r.label.fraud)).toBeGreaterThan(0.03 * 0.85);
    expect(share(rows, (r) => r.label.fraud)).toBeLessThan(0.03 * 1.15);
    const byDefault = rate({ payers: 6_000, days: 30, seed: 2 });
    expect(byDefault).toBeGreaterThan(0.005 * 0.8);
    expect(byDefault).toBeLessThan(0.005 * 1.2);
    const high = rate({ payers: 2_000, days: 10, seed: 3, fraudRate: 0.1 });
    expect(high).toBeGreaterThan(0.085);
    expect(high).toBeLessThan(0.115);
  });

  it('is zero when asked for none', () => {
    expect(rate({ payers: 500, days: 5, seed: 4, fraudRate: 0 })).toBe(0);
  });

  it('summarises a run by scam type and age band', () => {
    const s = new SimStats();
    // every payer with a birth year, so the age bands add up to the whole run
    for (const r of simulate({ payers: 800, days: 7, seed: 9, fraudRate: 0.05, optionalFields: 'all' })) s.add(r);
    const x = s.summary();
    expect(Object.keys(x.byType).sort()).toEqual([...SIM_TYPOLOGIES, 'mule'].sort());
    const byType = Object.values(x.byType).reduce((a, t) => a + t.transfers, 0);
    expect(byType).toBe(x.fraudTransfers);
    expect(x.byBand.minor.transfers + x.byBand.adult.transfers + x.byBand.elderly.transfers).toBe(x.transfers);
    expect(s.format()).toContain(`transfers ${x.transfers.toLocaleString('en-US')} (2026-06-01T`);
  });
});
