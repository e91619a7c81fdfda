import { beforeAll, describe, expect, it } from 'vitest';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import { FIELD_COVERAGE, simulate, type SimLabel } from '../../src/sim/index.ts';

/**
 * Issue 19: the simulator leaves optional fields out as payment backends do
 * (src/sim/field-coverage.ts), keyed by account and independent of the label, so a model
 * trained on it learns what a missing field means from ordinary traffic too.
 */

const OPTIONS = { payers: 3_000, days: 14, seed: 23, fraudRate: 0.03 } as const;
let partial: { event: TransferEvent; label: SimLabel }[] = [];
let all: { event: TransferEvent; label: SimLabel }[] = [];

beforeAll(() => {
  partial = [...simulate(OPTIONS)];
  all = [...simulate({ ...OPTIONS, optionalFields: 'all' })];
});

type Field = 'birthYear' | 'payerCreated' | 'deviceId' | 'timeZone' | 'context' | 'payeeCreated';
const MISSING: Record<Field, (e: TransferEvent) => boolean> = {
  birthYear: (e) => e.payer.birthYear === undefined,
  payerCreated: (e) => e.payer.accountCreatedAt === undefined,
  deviceId: (e) => e.payer.deviceId === undefined,
  timeZone: (e) => e.payer.timeZone === undefined,
  context: (e) => e.context === undefined,
  payeeCreated: (e) => e.payee.accountCreatedAt === undefined,
};

/** Share of accounts (payer, or payee for payeeCreated) whose first transfer of `rows` misses the field. */
function accountShare(rows: readonly { event: TransferEvent }[], field: Field): number {
  const seen = new Map<string, boolean>();
  for (const { event: e } of rows) {
    const id = field === 'payeeCreated' ? e.payee.accountId : e.payer.accountId;
    if (!seen.has(id)) seen.set(id, MISSING[field](e));
  }
  return [...seen.values()].filter(Boolean).length / seen.size;
}

describe('simulated events leave optional fields out as payment backends do', () => {
  it('by default, in the documented shares of accounts', () => {
    const c = FIELD_COVERAGE;
    const minimal = c.payerBackend.minimal;
    const rest = 1 - minimal;
    const appOnly = partial.filter((r) => r.event.channel !== 'web');
    const expected: Record<Field, number> = {
      birthYear: minimal + rest * c.payerBirthYearAbsent,
      payerCreated: minimal + rest * c.payerAccountCreatedAbsent,
      deviceId: minimal + rest * c.payerDeviceAbsent,
      timeZone: minimal + rest * c.payerTimeZoneAbsent,
      context: minimal + c.payerBackend.noSessionSignals,
      payeeCreated: c.payeeAccountCreatedAbsent,
    };
    const measured = Object.fromEntries(
      (Object.keys(expected) as Field[]).map((f) => [f, Math.round(accountShare(f === 'deviceId' ? appOnly : partial, f) * 100) / 100]),
    );
    const rounded = Object.fromEntries(Object.entries(expected).map(([f, x]) => [f, expect.closeTo(x, 1)]));
    expect(measured).toEqual(rounded);
  });

  it('as a backend would: the same fields missing on every transfer of a payer (web devices apart)', () => {
    const shapes = new Map<string, string>();
    const changed: string[] = [];
    for (const { event: e } of partial) {
      const shape = (['birthYear', 'payerCreated', 'timeZone', 'context'] as const).map((f) => (MISSING[f](e) ? 1 : 0)).join('');
      const before = shapes.get(e.payer.accountId);
      if (before !== undefined && before !== shape) changed.push(e.transferId);
      shapes.set(e.payer.accountId, shape);
    }
    expect(changed).toEqual([]);
  });

  it('independently of the label: fraud and legitimate transfers miss each field about as often', () => {
    const fraud = partial.filter((r) => r.label.fraud);
    const legit = partial.filter((r) => !r.label.fraud);
    expect(fraud.length).toBeGreaterThan(500);
    const gaps = Object.fromEntries(
      (Object.keys(MISSING) as Field[]).map((f) => [f, Math.abs(accountShare(fraud, f) - accountShare(legit, f)) < 0.08]),
    );
    expect(gaps).toEqual(Object.fromEntries(Object.keys(MISSING).map((f) => [f, true])));
  });

  it('only removes fields: every other value is that of the run with every field', () => {
    expect(partial.length).toBe(all.length);
    const bad: string[] = [];
    for (let i = 0; i < all.length; i++) {
      const full = all[i]!.event;
      const p = partial[i]!.event;
      const subset =
        p.transferId === full.transferId &&
        JSON.stringify({ ...p, payer: undefined, payee: undefined, context: undefined }) ===
          JSON.stringify({ ...full, payer: undefined, payee: undefined, context: undefined }) &&
        Object.entries(p.payer).every(([k, v]) => (full.payer as Record<string, unknown>)[k] === v) &&
        Object.entries(p.payee).every(([k, v]) => (full.payee as Record<string, unknown>)[k] === v) &&
        (p.context === undefined || JSON.stringify(p.context) === JSON.stringify(full.context)) &&
        JSON.stringify(partial[i]!.label) === JSON.stringify(all[i]!.label);
      if (!subset) bad.push(p.transferId);
    }
    expect(bad).toEqual([]);
  });

  it('include bare events (only the required fields) repeated to the same payee, as the issue sent them', () => {
    const pairs = new Map<string, number>();
    for (const { event: e, label } of partial) {
      const bare = e.payer.birthYear === undefined && e.payer.accountCreatedAt === undefined && e.payer.deviceId === undefined &&
        e.payer.timeZone === undefined && e.context === undefined && e.payee.accountCreatedAt === undefined;
      if (!bare || label.fraud) continue;
      const k = `${e.payer.accountId}>${e.payee.accountId}`;
      pairs.set(k, (pairs.get(k) ?? 0) + 1);
    }
    expect([...pairs.values()].filter((n) => n >= 3).length).toBeGreaterThan(100);
  });

  it('with every field on request (optionalFields: all)', () => {
    const bad = all.filter(({ event: e }) => e.payer.birthYear === undefined || e.payer.accountCreatedAt === undefined ||
      e.payer.deviceId === undefined || e.payer.timeZone === undefined || e.context === undefined || e.payee.accountCreatedAt === undefined);
    expect(bad.map((r) => r.event.transferId)).toEqual([]);
  });
});
