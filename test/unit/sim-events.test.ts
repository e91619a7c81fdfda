import { beforeAll, describe, expect, it } from 'vitest';
import { TransferEventSchema, type TransferEvent } from '../../src/features/transfer-event.ts';
import { simulate, type SimLabel } from '../../src/sim/index.ts';

const START = Date.parse('2026-06-01T00:00:00Z');
const DAYS = 14;
let records: { event: TransferEvent; label: SimLabel }[] = [];

beforeAll(() => {
  // every field the simulator knows (field coverage: sim-field-coverage.test.ts)
  records = [...simulate({ payers: 3_000, days: DAYS, seed: 21, fraudRate: 0.02, optionalFields: 'all' })];
});

describe('simulated transfer events', () => {
  it('validate against TransferEventSchema (every 5th event and every fraudulent one)', () => {
    const sample = records.filter((r, i) => i % 5 === 0 || r.label.fraud);
    expect(sample.length).toBeGreaterThan(5_000);
    const failures = sample.flatMap((r) => {
      const p = TransferEventSchema.safeParse(r.event);
      return p.success ? [] : [{ id: r.event.transferId, issues: p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }];
    });
    expect(failures).toEqual([]);
  });

  it('come in occurredAt order, within the period, as whole-second UTC instants', () => {
    let previous = -Infinity;
    const bad: string[] = [];
    for (const { event: e } of records) {
      const ms = Date.parse(e.occurredAt);
      if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(e.occurredAt) || ms < previous || ms < START || ms >= START + DAYS * 86_400_000) {
        bad.push(`${e.transferId} ${e.occurredAt}`);
      }
      previous = ms;
    }
    expect(bad).toEqual([]);
    expect(records[0]!.event.occurredAt.slice(0, 10)).toBe('2026-06-01');
    expect(records.at(-1)!.event.occurredAt.slice(0, 10)).toBe('2026-06-14');
  });

  it('have unique transfer ids', () => {
    expect(new Set(records.map((r) => r.event.transferId)).size).toBe(records.length);
  });

  it('carry CNY amounts in major units with at most 2 decimals, and a payee other than the payer', () => {
    const bad = records.filter(
      ({ event: e }) => e.currency !== 'CNY' || !(e.amount > 0) || Math.round(e.amount * 100) / 100 !== e.amount || e.payer.accountId === e.payee.accountId,
    );
    expect(bad.map((r) => r.event)).toEqual([]);
  });

  it('keep account creation before the transfer, for payers and payees', () => {
    const bad = records.filter(({ event: e }) => {
      const t = Date.parse(e.occurredAt);
      return Date.parse(e.payer.accountCreatedAt!) > t || (e.payee.accountCreatedAt !== undefined && Date.parse(e.payee.accountCreatedAt) > t);
    });
    expect(bad.map((r) => r.event.transferId)).toEqual([]);
  });

  it('cover minors and elderly payers, several time zones and channels', () => {
    const ages = records.map(({ event: e }) => 2026 - e.payer.birthYear!);
    expect(ages.filter((a) => a < 18).length / ages.length).toBeGreaterThan(0.01);
    expect(ages.filter((a) => a >= 60).length / ages.length).toBeGreaterThan(0.05);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(12);
    const zones = new Set(records.map((r) => r.event.payer.timeZone));
    expect(zones.size).toBeGreaterThanOrEqual(6);
    expect(zones.has('Asia/Shanghai')).toBe(true);
    expect(new Set(records.map((r) => r.event.channel))).toEqual(new Set(['app', 'qr', 'web']));
  });

  it('leave call and remote-access signals missing on the web channel, present elsewhere', () => {
    const web = records.filter((r) => r.event.channel === 'web');
    expect(web.length).toBeGreaterThan(100);
    expect(web.filter((r) => r.event.context?.onCall !== undefined || r.event.context?.remoteAccess !== undefined)).toEqual([]);
    const app = records.filter((r) => r.event.channel !== 'web');
    expect(app.filter((r) => typeof r.event.context?.onCall !== 'boolean' || typeof r.event.context.remoteAccess !== 'boolean')).toEqual([]);
  });

  it('give payers several transfers, from a stable device that changes rarely', () => {
    const byPayer = new Map<string, Set<string>>();
    for (const { event: e, label } of records) {
      if (label.fraud) continue;
      const s = byPayer.get(e.payer.accountId) ?? new Set<string>();
      s.add(e.payer.deviceId!);
      byPayer.set(e.payer.accountId, s);
    }
    const counts = [...byPayer.values()].map((s) => s.size);
    expect(byPayer.size).toBeGreaterThan(2_000);
    expect(counts.filter((n) => n === 1).length / counts.length).toBeGreaterThan(0.75);
    expect(Math.max(...counts)).toBeLessThanOrEqual(4);
  });
});
