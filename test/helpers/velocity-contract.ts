import { WINDOWS } from '../../src/features/catalogue.ts';
import type { VelocityState } from '../../src/features/velocity-state.ts';

/**
 * The contract of the velocity windows on a stream in time order, by definition from the whole
 * history (docs/velocity-windows.md, "Accuracy"): for a transfer at t, window k counts the
 * earlier transfers whose bucket floor(t'/b) lies within the last n buckets ending at
 * floor(t/b) (so between W - b and W of history). The score script is held to it
 * (test/integration/feature-store.test.ts), and so is the velocity model of src/features
 * (test/unit/velocity-windows.test.ts), which also covers late events.
 */

export interface Tx {
  readonly t: number;
  readonly payer: string;
  readonly payee: string;
  readonly amount: number;
  readonly device?: string;
}

/** A scam report against a payee, as report-flags.lua records it (its own time: when it became known). */
export interface Report {
  readonly caseId: string;
  readonly payee: string;
  readonly atMs: number;
}

/**
 * The aged reports by definition (issue 16): of the payee's reports at or before t, those of the
 * last 1, 7 and 28 days (at in (t - W, t]) and sum 2^(-(t - at) / half-life) in thousandths.
 * Summed in the sorted set's order (time, then case id) so that the rounding agrees bit for bit.
 */
export function agedReference(reports: readonly Report[], payee: string, t: number, halfLifeHours = 168) {
  const day = 86_400_000;
  const known = reports.filter((r) => r.payee === payee && r.atMs <= t).sort((a, b) => a.atMs - b.atMs || (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0));
  const within = (days: number) => known.filter((r) => t - r.atMs < days * day).length;
  const decayed = known.reduce((w, r) => w + Math.pow(2, -(t - r.atMs) / (halfLifeHours * 3_600_000)), 0);
  return { last1d: within(1), last7d: within(7), last28d: within(28), decayed: Math.floor(decayed * 1000 + 0.5) / 1000 };
}

export function reference(history: readonly Tx[], x: Tx) {
  const win = (pred: (h: Tx) => boolean) =>
    WINDOWS.map((w) => {
      const b = w.bucketSeconds * 1000;
      const n = w.seconds / w.bucketSeconds;
      const from = Math.floor(x.t / b) - n + 1;
      const hs = history.filter((h) => pred(h) && Math.floor(h.t / b) >= from);
      return { count: hs.length, sum: Math.round(hs.reduce((s, h) => s + h.amount * 1000, 0)) / 1000 };
    });
  const day = (h: Tx) => h.t >= x.t - 86_400_000;
  const payerOut = win((h) => h.payer === x.payer);
  const payeeIn = win((h) => h.payee === x.payee);
  const payeeOut = win((h) => h.payer === x.payee);
  const pair = history.filter((h) => h.payer === x.payer && h.payee === x.payee);
  const lastPayer = history.filter((h) => h.payer === x.payer).at(-1);
  const firstOfPairs = new Map<string, number>();
  for (const h of history) if (h.payee === x.payee && !firstOfPairs.has(h.payer)) firstOfPairs.set(h.payer, h.t);
  return {
    payerOut: { counts: payerOut.map((w) => w.count), sums: payerOut.map((w) => w.sum) },
    payerLastMs: lastPayer?.t ?? null,
    payerDistinctPayees24h: new Set(history.filter((h) => h.payer === x.payer && day(h)).map((h) => h.payee)).size,
    pairCount: pair.length,
    pairFirstMs: pair[0]?.t ?? null,
    deviceNewForPayer: x.device === undefined ? null : !history.some((h) => h.payer === x.payer && h.device === x.device),
    deviceDistinctPayers24h:
      x.device === undefined ? null : new Set(history.filter((h) => h.device === x.device && day(h)).map((h) => h.payer)).size,
    payeeIn: { counts: payeeIn.map((w) => w.count), sums: payeeIn.map((w) => w.sum) },
    payeeOutSum1h: payeeOut[0]!.sum,
    payeeOutSum24h: payeeOut[1]!.sum,
    payeeDistinctPayers24h: new Set(history.filter((h) => h.payee === x.payee && day(h)).map((h) => h.payer)).size,
    payeeNewPayers24h: [...firstOfPairs.values()].filter((t) => t >= x.t - 86_400_000).length,
    payeeReportCount: 0,
    payeeDistinctReporters: 0,
    payeeLastReportMs: null,
    payeeReportsAged: agedReference([], x.payee, x.t),
    guardian: null,
  } satisfies VelocityState;
}
