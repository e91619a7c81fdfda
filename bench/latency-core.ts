/**
 * The pure parts of `npm run bench:latency` (bench/open-loop.ts): latency percentiles, the
 * fixed-rate arrival schedule of the open-loop sender, the stage rates, and the tally of
 * actions by label. No IO, no clocks: test/unit/bench-latency-core.test.ts covers them.
 */
import { ACTIONS, type Action } from '../src/scoring/actions.ts';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Nearest-rank percentile (p in (0, 100]) of ascending `sorted`: the smallest value with at
 * least p % of the values at or below it. NaN for no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  // the epsilon keeps 99.9 % of 1000 at rank 999, not 1000, despite 99.9 / 100 * 1000 = 999.0000000000001
  return sorted[Math.max(0, Math.ceil((p / 100) * n - 1e-9) - 1)]!;
}

/** p50, p99, p99.9, max and mean of latencies (any order; not modified). */
export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
    mean: n === 0 ? Number.NaN : sum / n,
  };
}

/**
 * A fixed arrival rate: request i (from 0) is due `i * 1000 / rate` ms after the start, and a
 * stage of `seconds` holds `floor(rate * seconds)` requests. The sender measures each latency
 * from this due time, not from when it got round to sending, so a stall of the server (or of
 * the sender) is counted against every request it delayed (no coordinated omission).
 */
export class ArrivalSchedule {
  readonly total: number;

  constructor(
    readonly rate: number,
    readonly seconds: number,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number of requests a second, got ${rate}`);
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new RangeError(`seconds must be positive, got ${seconds}`);
    this.total = Math.floor(rate * seconds);
  }

  /** ms after the start at which request i is due */
  dueAt(i: number): number {
    return (i * 1000) / this.rate;
  }

  /** how many requests are due (indices 0..n-1) `elapsedMs` after the start, at most `total` */
  dueBy(elapsedMs: number): number {
    if (elapsedMs < 0) return 0;
    return Math.min(this.total, Math.floor((elapsedMs * this.rate) / 1000) + 1);
  }
}

/** The open-loop stage rates: each share of the measured maximum, rounded to a whole request a second, at least 1. */
export function stageRates(maxRate: number, shares: readonly number[]): number[] {
  if (!(maxRate > 0)) throw new RangeError(`the maximum rate must be positive, got ${maxRate}`);
  return shares.map((s) => Math.max(1, Math.round(maxRate * s)));
}

/** BENCH_LOADS: comma-separated shares of the maximum rate, each in (0, 1.5]; default 25 %, 50 %, 75 %. */
export function parseLoadShares(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [0.25, 0.5, 0.75];
  const shares = raw.split(',').map((s) => Number(s.trim()));
  const bad = shares.filter((s) => !(s > 0 && s <= 1.5));
  if (bad.length > 0 || shares.length === 0) throw new Error(`BENCH_LOADS must be shares of the maximum rate in (0, 1.5], comma-separated (e.g. 0.25,0.5,0.75); got ${JSON.stringify(raw)}`);
  return shares;
}

/** The label of a scored event as the bench knows it: `unlabelled` for generated traffic without ground truth. */
export type TrafficLabel = 'legit' | 'scam' | 'unlabelled';

export type ActionShares = Record<Action, number>;

/** Counts the engine's actions per label; `shares` turns them into fractions of each label's total. */
export class ActionTally {
  private readonly counts = new Map<TrafficLabel, Record<Action, number>>();

  add(action: string, label: TrafficLabel, n = 1): void {
    if (!(ACTIONS as readonly string[]).includes(action)) throw new Error(`unknown action ${JSON.stringify(action)}`);
    let row = this.counts.get(label);
    if (row === undefined) {
      row = { allow: 0, warn: 0, cool_off: 0, block: 0 };
      this.counts.set(label, row);
    }
    row[action as Action] += n;
  }

  merge(other: ActionTally): void {
    for (const [label, row] of other.counts) for (const a of ACTIONS) if (row[a] > 0) this.add(a, label, row[a]);
  }

  /** events counted for a label, or for all labels when none is given */
  total(label?: TrafficLabel): number {
    let n = 0;
    for (const [l, row] of this.counts) if (label === undefined || l === label) for (const a of ACTIONS) n += row[a];
    return n;
  }

  /** each action's share of the label's events (of all events when no label is given); all 0 when there are none */
  shares(label?: TrafficLabel): ActionShares {
    const out: ActionShares = { allow: 0, warn: 0, cool_off: 0, block: 0 };
    const n = this.total(label);
    if (n === 0) return out;
    for (const [l, row] of this.counts) if (label === undefined || l === label) for (const a of ACTIONS) out[a] += row[a] / n;
    return out;
  }

  labels(): TrafficLabel[] {
    return [...this.counts.keys()].sort();
  }

  toJSON(): Record<string, { events: number; shares: ActionShares }> {
    const out: Record<string, { events: number; shares: ActionShares }> = { all: { events: this.total(), shares: this.shares() } };
    for (const l of this.labels()) out[l] = { events: this.total(l), shares: this.shares(l) };
    return out;
  }
}

/** `allow 91.2 %, warn 7.0 %, cool_off 1.5 %, block 0.3 %` */
export function formatShares(s: ActionShares): string {
  return ACTIONS.map((a) => `${a} ${(100 * s[a]).toFixed(1)} %`).join(', ');
}
