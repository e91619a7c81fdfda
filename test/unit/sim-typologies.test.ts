/**
 * Statistical checks that each typology leaves its own signals, in the history the engine
 * reads (new payee, fan-in of first-time payers, pass-through, payee account age, hour in the
 * payer's zone, shared devices), and that legitimate traffic carries the same signals often
 * enough that no single one separates fraud.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimTypology } from '../../src/sim/index.ts';
import { collect, groupBy, localHour, median, share, type Row } from './sim-fixtures.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

let rows: Row[] = [];
let legit: Row[] = [];
/** band and age of each payer with legitimate transfers (the population) */
let payers: Row[] = [];

beforeAll(() => {
  rows = collect({ payers: 6_000, days: 30, seed: 11, fraudRate: 0.03 });
  legit = rows.filter((r) => !r.label.fraud);
  payers = [...new Map(legit.map((r) => [r.payer, r])).values()];
});

function transfers(type: SimTypology): Row[] {
  return rows.filter((r) => r.label.scamType === type);
}

/** each case's transfers in time order */
function cases(type: SimTypology): Row[][] {
  return [...groupBy(transfers(type), (r) => r.label.caseId).values()];
}

function gapsMinutes(cs: readonly Row[][]): number[] {
  return cs.flatMap((t) => t.slice(1).map((r, i) => (r.ms - t[i]!.ms) / MINUTE_MS));
}

/** ids of transfers whose payer paid the same payee within the 20 minutes before */
function repeatsWithin(rs: readonly Row[], ms: number): Set<string> {
  const last = new Map<string, number>();
  const out = new Set<string>();
  for (const r of rs) {
    const k = `${r.payer}>${r.payee}`;
    const t = last.get(k);
    if (t !== undefined && r.ms - t <= ms) out.add(r.id);
    last.set(k, r.ms);
  }
  return out;
}

const onCall = (r: Row): boolean => r.onCall === true;
const remote = (r: Row): boolean => r.remote === true;

describe('impersonation of police or bank staff', () => {
  it('targets the elderly, on a call, paying a new payee large sums within minutes', () => {
    const cs = cases('impersonation');
    const tx = transfers('impersonation');
    expect(cs.length).toBeGreaterThan(60);
    expect(share(cs, (t) => t[0]!.band === 'elderly')).toBeGreaterThan(2 * share(payers, (r) => r.band === 'elderly'));
    expect(share(tx, onCall)).toBeGreaterThan(0.6);
    expect(share(tx, onCall)).toBeGreaterThan(10 * share(legit, onCall));
    expect(share(tx, onCall)).toBeLessThan(0.97); // not every victim is still on the phone
    expect(share(cs, (t) => t[0]!.firstSeen)).toBeGreaterThan(0.95);
    expect(median(tx.map((r) => r.amount))).toBeGreaterThan(50 * median(legit.map((r) => r.amount)));
    expect(median(gapsMinutes(cs))).toBeLessThan(60);
    expect(share(tx, (r) => localHour(r.ms, r.timeZone!) < 6)).toBeLessThan(0.02);
  });
});

describe('investment scams', () => {
  it('pay escalating amounts to the same new payee over days', () => {
    const cs = cases('investment');
    expect(cs.length).toBeGreaterThan(30);
    const runs = cs.flatMap((t) => [...groupBy(t, (r) => r.payee).values()].filter((g) => g.length >= 3));
    expect(runs.length).toBeGreaterThan(20);
    expect(share(runs, (g) => g.at(-1)!.amount > g[0]!.amount)).toBeGreaterThan(0.8);
    expect(share(runs, (g) => g[0]!.firstSeen && g.slice(1).every((r) => !r.firstSeen))).toBe(1);
    expect(median(cs.map((t) => (t.at(-1)!.ms - t[0]!.ms) / DAY_MS))).toBeGreaterThan(3);
    expect(share(transfers('investment'), onCall)).toBeLessThan(0.25);
  });
});

describe('part-time job / order-brushing scams', () => {
  it('start small and grow, minutes apart, to several new payees; victims skew young', () => {
    const cs = cases('part_time_job');
    expect(cs.length).toBeGreaterThan(60);
    expect(share(cs, (t) => t[0]!.age < 30)).toBeGreaterThan(1.5 * share(payers, (r) => r.age < 30));
    expect(median(cs.map((t) => t[0]!.amount))).toBeLessThan(200);
    expect(share(cs, (t) => t.at(-1)!.amount > t[0]!.amount)).toBeGreaterThan(0.8);
    expect(median(cs.map((t) => new Set(t.map((r) => r.payee)).size))).toBeGreaterThanOrEqual(3);
    expect(median(gapsMinutes(cs))).toBeLessThan(30);
  });
});

describe('romance scams', () => {
  it('pay a few times, days apart, mostly late in the evening', () => {
    const cs = cases('romance');
    expect(cs.length).toBeGreaterThan(25);
    const evening = (r: Row): boolean => {
      const h = localHour(r.ms, r.timeZone!);
      return h >= 20 || h < 2;
    };
    expect(share(transfers('romance'), evening)).toBeGreaterThan(0.4);
    expect(share(transfers('romance'), evening)).toBeGreaterThan(1.5 * share(legit, evening));
    expect(median(cs.filter((t) => t.length >= 2).map((t) => (t.at(-1)!.ms - t[0]!.ms) / DAY_MS))).toBeGreaterThan(3);
    expect(share(cs, (t) => t[0]!.age >= 45)).toBeGreaterThan(share(payers, (r) => r.age >= 45));
  });
});

describe('fake customer-service refunds', () => {
  it('run with remote access during a call to a new payee', () => {
    const tx = transfers('fake_refund');
    const cs = cases('fake_refund');
    expect(cs.length).toBeGreaterThan(50);
    expect(share(tx, remote)).toBeGreaterThan(0.5);
    expect(share(tx, remote)).toBeGreaterThan(100 * share(legit, remote));
    expect(share(tx, onCall)).toBeGreaterThan(0.6);
    expect(share(cs, (t) => t[0]!.firstSeen)).toBeGreaterThan(0.95);
  });
});

describe('purchase scams', () => {
  it('hit minors and the young with one or two modest payments, no call', () => {
    const cs = cases('purchase');
    const tx = transfers('purchase');
    expect(cs.length).toBeGreaterThan(60);
    expect(share(cs, (t) => t[0]!.band === 'minor')).toBeGreaterThan(1.5 * share(payers, (r) => r.band === 'minor'));
    expect(share(tx, onCall)).toBeLessThan(0.1);
    expect(median(tx.map((r) => r.amount))).toBeLessThan(2_000);
    expect(median(cs.map((t) => t.length))).toBeLessThanOrEqual(2);
  });
});

describe('mule accounts', () => {
  let muleRows: Row[] = [];
  let mules = new Set<string>();
  beforeAll(() => {
    muleRows = rows.filter((r) => r.label.role === 'mule');
    mules = new Set(muleRows.map((r) => r.payer));
  });

  it('are young accounts of young owners', () => {
    expect(mules.size).toBeGreaterThan(50);
    const intoMules = rows.filter((r) => r.label.role === 'victim' && mules.has(r.payee));
    expect(median(intoMules.map((r) => r.payeeAgeDays!))).toBeLessThan(45);
    expect(median(legit.filter((r) => r.payeeAgeDays !== null).map((r) => r.payeeAgeDays!))).toBeGreaterThan(365);
    const owners = [...groupBy(muleRows, (r) => r.payer).values()].map((t) => t[0]!);
    expect(share(owners, (r) => r.age < 30)).toBeGreaterThan(0.6);
    expect(median(owners.map((r) => r.payerAgeDays!))).toBeLessThan(60);
  });

  it('receive from many first-time payers within a day', () => {
    const peak = (xs: readonly Row[]): number[] => {
      const m = new Map<string, number>();
      for (const r of xs) m.set(r.payee, Math.max(m.get(r.payee) ?? 0, r.payeeNewPayers24h + (r.firstSeen ? 1 : 0)));
      return [...m.values()];
    };
    // the quick scams share their mules; a long con (investment, romance) keeps an account to itself
    const quick = new Set(['impersonation', 'fake_refund', 'part_time_job', 'purchase']);
    const quickMules = new Set(rows.filter((r) => quick.has(r.label.scamType ?? '') && mules.has(r.payee)).map((r) => r.payee));
    const mulePeaks = peak(rows.filter((r) => r.label.role === 'victim' && quickMules.has(r.payee)));
    // legitimate person-to-person payees: other payers of the population
    const people = new Set(legit.map((r) => r.payer));
    const personPeaks = peak(legit.filter((r) => people.has(r.payee)));
    expect(share(mulePeaks, (n) => n >= 5)).toBeGreaterThan(0.5);
    expect(share(personPeaks, (n) => n >= 5)).toBeLessThan(0.05);
    expect(share(personPeaks, (n) => n >= 5)).toBeGreaterThan(0); // group-buy organisers
  });

  it('pass the money on within minutes to hours, mostly all of it', () => {
    const lastIn = new Map<string, number>();
    const inSum = new Map<string, number>();
    const outSum = new Map<string, number>();
    const delays: number[] = [];
    for (const r of rows) {
      if (r.label.role === 'mule') {
        const t = lastIn.get(r.payer);
        expect(t).toBeDefined(); // a mule never sends before it receives
        delays.push((r.ms - t!) / MINUTE_MS);
        outSum.set(r.payer, (outSum.get(r.payer) ?? 0) + r.amount);
      }
      if (mules.has(r.payee)) {
        lastIn.set(r.payee, r.ms);
        inSum.set(r.payee, (inSum.get(r.payee) ?? 0) + r.amount);
      }
    }
    expect(median(delays)).toBeLessThan(60);
    expect(share(delays, (d) => d < 180)).toBeGreaterThan(0.85);
    const ratios = [...mules].map((m) => (outSum.get(m) ?? 0) / inSum.get(m)!);
    expect(median(ratios)).toBeGreaterThan(0.6);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1);
  });

  it('stop receiving from victims once reported (frozen), and are reported after their last transfer', () => {
    const reported = new Map(muleRows.filter((r) => r.label.reportedAt !== null).map((r) => [r.payer, Date.parse(r.label.reportedAt!)]));
    expect(reported.size).toBeGreaterThan(0.5 * mules.size);
    const late = rows.filter((r) => r.label.role === 'victim' && reported.has(r.payee) && r.ms >= reported.get(r.payee)!);
    expect(late.map((r) => r.id)).toEqual([]);
  });

  it('are often run from a device shared by several mule accounts', () => {
    const devicePayers = groupBy(rows, (r) => r.device);
    const shared = (r: Row): boolean => new Set(devicePayers.get(r.device)!.map((x) => x.payer)).size >= 3;
    expect(share(muleRows, shared)).toBeGreaterThan(0.4);
    expect(share(legit, shared)).toBeLessThan(0.01);
  });
});

describe('legitimate traffic overlaps every signal', () => {
  it('no single signal flags fraud alone: each flags legitimate transfers too, and misses some fraud', () => {
    const fraud = rows.filter((r) => r.label.fraud);
    const repeats = repeatsWithin(rows, 20 * MINUTE_MS);
    const signals: Record<string, (r: Row) => boolean> = {
      // issue 19: paying the same payee again minutes later is what ordinary payers do too
      repeatWithin20Minutes: (r) => repeats.has(r.id),
      onCall,
      remote,
      pasted: (r) => r.pasted === true,
      newDevice: (r) => r.newDevice === true,
      newPayee: (r) => r.firstSeen,
      payeeUnder7Days: (r) => r.payeeAgeDays !== null && r.payeeAgeDays < 7,
      amount10k: (r) => r.amount >= 10_000,
    };
    const report = Object.entries(signals).map(([name, f]) => {
      const l = legit.filter(f).length;
      const x = fraud.filter(f).length;
      return { name, legitShareOfFlagged: l / (l + x) > 0.2, fraudRecall: x / fraud.length < 0.9 };
    });
    expect(report).toEqual(Object.keys(signals).map((name) => ({ name, legitShareOfFlagged: true, fraudRecall: true })));
  });

  it('has legitimate calls, screen sharing, large first payments and young payee accounts, elderly payers included', () => {
    expect(legit.filter((r) => r.band === 'elderly' && r.onCall && r.remote).length).toBeGreaterThan(10);
    expect(legit.filter((r) => r.amount >= 10_000 && r.firstSeen).length).toBeGreaterThan(100);
    expect(legit.filter((r) => r.band === 'elderly' && r.amount >= 5_000 && r.firstSeen).length).toBeGreaterThan(10);
    expect(legit.filter((r) => r.payeeAgeDays !== null && r.payeeAgeDays < 7).length).toBeGreaterThan(200);
    expect(share(legit, (r) => localHour(r.ms, r.timeZone!) < 6)).toBeGreaterThan(0.02);
  });

  it('has legitimate payments repeated to the same payee minutes later, by minors and adults alike (issue 19)', () => {
    const repeats = repeatsWithin(rows, 20 * MINUTE_MS);
    const byBand = Object.fromEntries(
      (['minor', 'adult', 'elderly'] as const).map((b) => [b, share(legit.filter((r) => r.band === b), (r) => repeats.has(r.id)) > 0.02]),
    );
    expect(byBand).toEqual({ minor: true, adult: true, elderly: true });
  });
});
