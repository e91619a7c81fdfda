import { WINDOWS } from './catalogue.ts';

/**
 * Pure: the bucketed velocity windows and the 24h distinct sets exactly as the score script
 * (src/store/lua/score-features.lua) keeps them in Redis, step for step, so that what the
 * script answers can be computed, and checked, without Redis (docs/velocity-windows.md,
 * issue 18). test/integration/velocity-windows-lua.test.ts holds the script to this model on
 * random streams; src/features/velocity-model.ts puts the pieces together as the script does.
 *
 * Amounts are integers in thousandths (as the script stores them), times are ms. Arithmetic is
 * in doubles as in the script's Lua, so running sums agree bit for bit below 2^53 thousandths.
 */

/** Per window, in catalogue order: how many buckets it has and how wide one is. */
export interface WindowGeometry {
  readonly buckets: number;
  readonly bucketMs: number;
}

export const WINDOW_GEOMETRY: readonly WindowGeometry[] = WINDOWS.map((w) => ({
  buckets: w.seconds / w.bucketSeconds,
  bucketMs: w.bucketSeconds * 1000,
}));

const DAY_WINDOW = 1;
const MONTH_WINDOW = 3;

/** A sum in a reply says at most 2^53 - 1 thousandths (the script's reply_sum). */
export const REPLY_SUM_MAX = Number.MAX_SAFE_INTEGER;

export function replySum(s: number): number {
  return s > REPLY_SUM_MAX ? REPLY_SUM_MAX : s;
}

/** The bucket of time `tMs` in window `k`: floor(t / width), as the caller hands the script. */
export function bucketIndex(tMs: number, k: number): number {
  return Math.floor(tMs / WINDOW_GEOMETRY[k]!.bucketMs);
}

interface Bucket {
  count: number;
  sum: number;
}

/** One window of a hash: running totals, newest bucket, oldest live bucket, the live buckets. */
interface Window {
  count: number;
  sum: number;
  head: number;
  tail: number;
  readonly buckets: Map<number, Bucket>;
}

/** Count and sum before a transfer, per window in catalogue order (sums capped by replySum). */
export interface WindowReading {
  readonly counts: readonly number[];
  readonly sums: readonly number[];
}

export interface WindowAdd extends WindowReading {
  /** whether the 24h window entered a new bucket (the script then maintains the 24h sets) */
  readonly movedDay: boolean;
  /** whether the 30d window entered a new bucket (the script then refreshes the hash's TTL) */
  readonly movedMonth: boolean;
}

/** Beyond this many buckets the script scans the hash's fields instead (RANGE_BY_NAME). */
const RANGE_BY_NAME = 24;

/**
 * The window hash of one account and direction (`cp:{a:<id>}:out` or `:in`): the script's
 * window_add, window_read_sums and the `last` field of the `out` hash.
 */
export class WindowHash {
  /** null until the first transfer (the script's hash without an `m` field) */
  private windows: Window[] | null = null;
  /** ms of the newest transfer recorded through `recordLast` (the `last` field), null before */
  private lastMs: number | null = null;

  get last(): number | null {
    return this.lastMs;
  }

  /** The `last` field moves forward only (a late event leaves it). */
  recordLast(tMs: number): void {
    if (this.lastMs === null || tMs > this.lastMs) this.lastMs = tMs;
  }

  /**
   * window_add: the totals before a transfer of `amount` at `tMs`, then records it. A transfer
   * in a newer bucket evicts the buckets that fell out of each window first; a late one is
   * read against the newest state, added to its bucket when that bucket is still in the window
   * (moving the oldest live bucket back if need be) and ignored by windows it is too old for.
   */
  add(tMs: number, amount: number): WindowAdd {
    const windows = this.windows ?? [];
    const counts: number[] = [];
    const sums: number[] = [];
    let movedDay = false;
    let movedMonth = false;
    for (let k = 0; k < WINDOW_GEOMETRY.length; k++) {
      const n = WINDOW_GEOMETRY[k]!.buckets;
      const i = bucketIndex(tMs, k);
      let w = windows[k];
      let record = true;
      let moved = false;
      if (w === undefined) {
        w = { count: 0, sum: 0, head: i, tail: i, buckets: new Map() };
        windows[k] = w;
        moved = true;
      } else if (i > w.head) {
        moved = true;
        const newTail = i - n + 1;
        if (newTail > w.tail) {
          const last = Math.min(w.head, newTail - 1);
          if (last >= w.tail) {
            const evicted = takeRange(w.buckets, w.tail, last);
            w.count -= evicted.count;
            w.sum -= evicted.sum;
          }
          w.tail = newTail;
        }
        w.head = i;
      } else if (i <= w.head - n) {
        record = false;
      } else if (i < w.tail) {
        w.tail = i;
      }
      if (k === DAY_WINDOW) movedDay = moved;
      if (k === MONTH_WINDOW) movedMonth = moved;
      counts.push(w.count);
      sums.push(replySum(w.sum));
      if (record) {
        w.count += 1;
        w.sum += amount;
        const b = w.buckets.get(i);
        if (b === undefined) w.buckets.set(i, { count: 1, sum: amount });
        else {
          b.count += 1;
          b.sum += amount;
        }
      }
    }
    this.windows = windows;
    return { counts, sums, movedDay, movedMonth };
  }

  /**
   * window_read_sums: the 1h and 24h sums as of `tMs`, changing nothing (the payee's outgoing
   * sums, read while scoring a transfer to it). Buckets older than t's window are left out; a
   * hash whose newest bucket is later than t reads its newest state.
   */
  readSums(tMs: number): [number, number] {
    const out: [number, number] = [0, 0];
    for (let k = 0; k < 2; k++) {
      const w = this.windows?.[k];
      const newTail = bucketIndex(tMs, k) - WINDOW_GEOMETRY[k]!.buckets + 1;
      let s = 0;
      if (w !== undefined && w.head >= newTail) {
        s = w.sum;
        if (w.tail < newTail) s -= sumRange(w.buckets, w.tail, newTail - 1).sum;
      }
      out[k] = replySum(s);
    }
    return out;
  }

  /**
   * The hash as the script stores it: `m` (16 integers), one `w<k>:<bucket>` = '<count>,<sum>'
   * per live bucket, and `last`. For checking the model against Redis field by field.
   */
  fields(): Record<string, string> {
    const f: Record<string, string> = {};
    if (this.windows !== null) {
      const m: number[] = [];
      this.windows.forEach((w, k) => {
        m.push(w.count, w.sum, w.head, w.tail);
        for (const [j, b] of w.buckets) f[`w${k + 1}:${j}`] = `${integerText(b.count)},${integerText(b.sum)}`;
      });
      f.m = m.map(integerText).join(',');
    }
    if (this.lastMs !== null) f.last = String(this.lastMs);
    return f;
  }
}

/** Lua's string.format('%.0f', x) of an integral double: every digit, never an exponent. */
function integerText(x: number): string {
  return BigInt(x).toString();
}

/**
 * Count and sum of the buckets from..to. Summed in ascending bucket order as the script's HMGET
 * path does; its path for long ranges sums in hash order, which gives the same result while
 * the sums stay below 2^53.
 */
function sumRange(buckets: Map<number, Bucket>, from: number, to: number): Bucket {
  const total = { count: 0, sum: 0 };
  const add = (b: Bucket | undefined): void => {
    if (b === undefined) return;
    total.count += b.count;
    total.sum += b.sum;
  };
  if (to - from >= RANGE_BY_NAME && buckets.size < to - from) {
    for (const j of [...buckets.keys()].filter((x) => x >= from && x <= to).sort((a, b) => a - b)) add(buckets.get(j));
  } else {
    for (let j = from; j <= to; j++) add(buckets.get(j));
  }
  return total;
}

/** sumRange, and the buckets summed are deleted (eviction). */
function takeRange(buckets: Map<number, Bucket>, from: number, to: number): Bucket {
  const total = sumRange(buckets, from, to);
  if (to - from >= buckets.size) {
    for (const j of buckets.keys()) if (j >= from && j <= to) buckets.delete(j);
  } else {
    for (let j = from; j <= to; j++) buckets.delete(j);
  }
  return total;
}

/**
 * A 24h distinct set (the script's sorted sets of account -> ms of its last transfer, and
 * distinct_24h): counts the members seen since a bound, and is trimmed only when maintained.
 */
export class RecentMembers {
  private readonly at = new Map<string, number>();

  /**
   * distinct_24h: the members whose time is at least `sinceMs` (capped at `cap`), then records
   * `member` at `tMs` (a member's time only moves forward: ZADD GT). With `maintain`, drops the
   * members older than `sinceMs` and keeps only the newest `cap` (ties by member, bytewise).
   */
  countThenAdd(member: string | null, tMs: number, sinceMs: number, cap: number, maintain: boolean): number {
    let n = 0;
    for (const t of this.at.values()) if (t >= sinceMs) n += 1;
    if (member !== null) {
      const prev = this.at.get(member);
      if (prev === undefined || tMs > prev) this.at.set(member, tMs);
    }
    if (maintain) {
      for (const [m, t] of this.at) if (t < sinceMs) this.at.delete(m);
      if (n + 1 > cap) this.keepNewest(cap);
    }
    return n > cap ? cap : n;
  }

  /** ZREMRANGEBYRANK 0 -cap-1: the lowest (time, member) go until `cap` are left. */
  private keepNewest(cap: number): void {
    const excess = this.at.size - cap;
    if (excess <= 0) return;
    const order = [...this.at].sort(([ma, ta], [mb, tb]) => ta - tb || compareBytewise(ma, mb));
    for (let r = 0; r < excess; r++) this.at.delete(order[r]![0]);
  }

  get size(): number {
    return this.at.size;
  }

  /** Members with their times, ordered as Redis orders the sorted set (for checks against it). */
  entries(): [string, number][] {
    return [...this.at].sort(([ma, ta], [mb, tb]) => ta - tb || compareBytewise(ma, mb));
  }
}

/**
 * Redis orders members of equal score by their bytes (memcmp of UTF-8), which is code point
 * order; JavaScript's `<` compares UTF-16 code units, which differs above U+FFFF.
 */
export function compareBytewise(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i += 1;
  }
  return a.length - b.length;
}
