import { mulberry32 } from '../../src/sim/random.ts';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import type { ReportToApply } from '../../src/cases/report-flags.ts';
import type { ModelTransfer } from '../../src/features/velocity-model.ts';
import { WINDOW_GEOMETRY } from '../../src/features/velocity-windows.ts';

/**
 * Seeded random streams of transfers and scam reports for checking the velocity model: a few
 * accounts that both pay and are paid (so the payee-out sums have history), bursts seconds
 * apart, gaps of hours and of weeks, several transfers at one timestamp, times on and next to
 * bucket boundaries, late events (minutes to more than 30 days older than the newest), transfers
 * without a device, and reports (some repeating a case id) between transfers.
 */

export type StreamItem = { readonly kind: 'transfer'; readonly x: ModelTransfer } | { readonly kind: 'report'; readonly r: ReportToApply };

export interface StreamOptions {
  readonly seed: number;
  readonly length: number;
  readonly startMs: number;
  /** accounts a0..a(n-1); payer and payee always differ */
  readonly accounts: number;
  readonly devices: number;
  /** share of transfers that are late (older than the newest so far) */
  readonly lateShare: number;
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export function velocityStream(o: StreamOptions): StreamItem[] {
  const rand = mulberry32(o.seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const items: StreamItem[] = [];
  let newest = o.startMs;
  let cases = 0;
  while (items.length < o.length) {
    const r = rand();
    if (r < 0.04) {
      const reused = cases > 0 && rand() < 0.3;
      const caseId = `c${reused ? pick(cases) : cases++}`;
      items.push({ kind: 'report', r: { caseId, payeeId: `a${pick(o.accounts)}`, reporterKey: `victim:r${pick(6)}`, reportedAtMs: newest - pick(3 * DAY) } });
      continue;
    }
    let t: number;
    if (rand() < o.lateShare) {
      const back = rand();
      t = newest - (back < 0.5 ? pick(2 * HOUR) : back < 0.85 ? pick(3 * DAY) : back < 0.95 ? pick(40 * DAY) : 30 * DAY + pick(10 * DAY));
    } else {
      const step = rand();
      newest += step < 0.15 ? 0 : step < 0.6 ? pick(2 * MIN) : step < 0.9 ? pick(6 * HOUR) : step < 0.98 ? pick(3 * DAY) : pick(35 * DAY);
      if (rand() < 0.15) {
        // onto a bucket boundary of some window, or 1 ms either side of it
        const w = WINDOW_GEOMETRY[pick(WINDOW_GEOMETRY.length)]!;
        newest = Math.max(newest, Math.ceil(newest / w.bucketMs) * w.bucketMs + (pick(3) - 1));
      }
      t = newest;
    }
    const payer = pick(o.accounts);
    const payee = (payer + 1 + pick(o.accounts - 1)) % o.accounts;
    const big = rand() < 0.02;
    items.push({
      kind: 'transfer',
      x: {
        tMs: t,
        amount: big ? 1e9 + pick(1e6) / 1000 : Math.round(rand() * 1_000_000) / 100,
        payerId: `a${payer}`,
        payeeId: `a${payee}`,
        deviceId: rand() < 0.7 ? `d${pick(o.devices)}` : null,
      },
    });
  }
  return items;
}

export function transferEvent(x: ModelTransfer, transferId: string): TransferEvent {
  return {
    transferId,
    occurredAt: new Date(x.tMs).toISOString(),
    amount: x.amount,
    currency: 'CNY',
    payer: { accountId: x.payerId, ...(x.deviceId === null ? {} : { deviceId: x.deviceId }) },
    payee: { accountId: x.payeeId },
  };
}
