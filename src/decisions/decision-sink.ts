import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { DecisionHistory, parseStreamEntry, type DecisionRow } from './decision-history.ts';
import { sqlState, type SqlStore } from '../store/sql/sql-store.ts';

/**
 * The decision sink (DESIGN §4 step 6): copies the Redis decision stream into the `decisions`
 * table in batches, off the scoring path.
 *
 * Delivery: a consumer group (XREADGROUP). An entry is acknowledged (XACK) only after its batch
 * is committed, and entries a crashed or stopped sink left unacknowledged are claimed again
 * (XAUTOCLAIM) once idle for `claimIdleMs`; the insert ignores transferIds already stored, so a
 * re-delivery changes nothing. Several sinks (one per API node) share the work. An entry that
 * cannot be parsed, or whose row the SQL store refuses for its data, is logged and
 * acknowledged, so it cannot block the stream.
 *
 * Limits: the stream is length-bounded (DECISION_STREAM_MAXLEN): a sink that stays down long
 * enough for the stream to be trimmed past its position loses those entries (XAUTOCLAIM reports
 * them and they are counted in `lost`).
 *
 * The sink needs its own Redis connection: XREADGROUP BLOCK holds it while waiting.
 */

type LogFn = (obj: object, msg: string) => void;
export interface SinkLog {
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

export interface DecisionSinkOptions {
  readonly batchSize: number;
  readonly retentionDays: number;
  /** how long one XREADGROUP waits for new entries */
  readonly blockMs?: number;
  /** after a batch smaller than batchSize, how long the loop waits before reading again */
  readonly lingerMs?: number;
  /** pending entries idle this long are taken over from their consumer */
  readonly claimIdleMs?: number;
  /** how often old decisions are deleted */
  readonly retentionEveryMs?: number;
  readonly group?: string;
  readonly consumer?: string;
}

export interface SinkStats {
  /** rows inserted (re-deliveries of stored transfers are not counted) */
  readonly copied: number;
  /** entries acknowledged (copied, already stored, or rejected) */
  readonly acked: number;
  /** entries acknowledged without a row: malformed, or refused by the SQL store for their data */
  readonly rejected: number;
  /** pending entries the stream no longer had when claimed */
  readonly lost: number;
  /** rows deleted by the retention */
  readonly expired: number;
  /** the error of the latest failed round, null once a round succeeds */
  readonly lastError: string | null;
  readonly running: boolean;
}

export const SINK_GROUP = 'sql-sink';

/**
 * A blocked XREADGROUP returns as soon as one entry arrives, so under a steady load the loop
 * copied a handful of rows per round: a read, an INSERT and an XACK for every few decisions,
 * and a batch of 20 costs about a third more CPU per row than one of 500 (PGlite parses, plans
 * and commits once per statement). Waiting this long after a short batch lets the next one fill
 * up; a decision reaches the table at most this much later (it is copied off the scoring path
 * anyway), and a full batch is followed by the next read at once, so a backlog is not slowed.
 */
export const DEFAULT_LINGER_MS = 200;

type StreamReply = [string, [string, string[]][]][] | null;

export class DecisionSink {
  private readonly redis: RedisClient;
  private readonly stream: string;
  private readonly history: DecisionHistory;
  private readonly clock: () => number;
  private readonly log: SinkLog;
  private readonly batchSize: number;
  private readonly retentionMs: number;
  private readonly blockMs: number;
  private readonly lingerMs: number;
  private readonly claimIdleMs: number;
  private readonly retentionEveryMs: number;
  readonly group: string;
  readonly consumer: string;
  private stats = { copied: 0, acked: 0, rejected: 0, lost: 0, expired: 0, lastError: null as string | null };
  private loop: Promise<void> | null = null;
  /** set when a write failed: this consumer has unacknowledged entries to copy first */
  private ownPending = false;
  private stopping = false;
  private blocked = false;
  private groupReady = false;
  private wake = new AbortController();

  /** @param redis a connection of its own (XREADGROUP BLOCK holds it): one Redis, or a cluster (the stream is one key, so one slot) */
  constructor(redis: RedisClient, keys: Keys, sql: SqlStore, opts: DecisionSinkOptions, clock: () => number, log: SinkLog) {
    this.redis = redis;
    this.stream = keys.decisionStream();
    this.history = new DecisionHistory(sql);
    this.clock = clock;
    this.log = log;
    this.batchSize = opts.batchSize;
    this.retentionMs = opts.retentionDays * 86_400_000;
    this.blockMs = opts.blockMs ?? 1_000;
    this.lingerMs = opts.lingerMs ?? DEFAULT_LINGER_MS;
    this.claimIdleMs = opts.claimIdleMs ?? 60_000;
    this.retentionEveryMs = opts.retentionEveryMs ?? 3_600_000;
    this.group = opts.group ?? SINK_GROUP;
    this.consumer = opts.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  getStats(): SinkStats {
    return { ...this.stats, running: this.loop !== null && !this.stopping };
  }

  /**
   * Creates the consumer group (reading from the start of the stream) unless it exists. Until the
   * first decision creates the stream there is nothing to read: false, and no key is written.
   */
  async ensureGroup(): Promise<boolean> {
    if (this.groupReady) return true;
    if ((await this.redis.exists(this.stream)) === 0) return false;
    try {
      await this.redis.xgroup('CREATE', this.stream, this.group, '0');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groupReady = true;
    return true;
  }

  /** Runs the copy loop until stop(). Errors are logged and retried with a back-off. */
  start(): void {
    if (this.loop !== null) return;
    this.stopping = false;
    this.wake = new AbortController();
    this.loop = this.run();
  }

  /** Stops the loop; what it read but did not commit stays pending and is claimed again later. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    // a blocked read would hold the loop for up to blockMs; closing the connection ends it now
    if (this.blocked) this.redis.disconnect();
    await this.loop;
    this.loop = null;
  }

  /** Waits `ms`, or less when stop() is called. */
  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let nextClaim = 0;
    let nextRetention = 0;
    let backoffMs = 100;
    while (!this.stopping) {
      try {
        // scheduling follows the real clock; the injected clock only dates the retention cut-off
        const now = Date.now();
        if (now >= nextRetention) {
          await this.applyRetention();
          nextRetention = now + this.retentionEveryMs;
        }
        if (!(await this.ensureGroup())) {
          await this.pause(this.blockMs);
          continue;
        }
        if (now >= nextClaim) {
          await this.claimStale();
          nextClaim = now + Math.max(1_000, this.claimIdleMs / 2);
        }
        // after a failed write, this consumer's own unacknowledged entries come first, at once,
        // rather than waiting claimIdleMs to be taken over like a dead consumer's
        while (this.ownPending && !this.stopping) {
          if ((await this.readOwnPending()) === 0) this.ownPending = false;
        }
        const n = await this.readBatch(this.blockMs);
        backoffMs = 100;
        this.stats.lastError = null;
        if (n > 0 && n < this.batchSize && this.lingerMs > 0) await this.pause(this.lingerMs);
      } catch (err) {
        if (this.stopping) break;
        this.stats.lastError = (err as Error).message;
        this.ownPending = true;
        this.log.error({ err }, 'decision sink: copying decisions to SQL failed; retrying');
        if (/NOGROUP/.test((err as Error).message)) this.groupReady = false;
        await this.pause(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  /**
   * Reads one batch of new entries (waiting up to `blockMs` when there are none; 0: no wait),
   * writes and acknowledges it. Returns the number of entries handled.
   */
  async readBatch(blockMs = 0): Promise<number> {
    if (!(await this.ensureGroup())) return 0;
    const args: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', this.batchSize];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.stream, '>');
    this.blocked = blockMs > 0;
    let reply: StreamReply;
    try {
      reply = (await this.redis.call('XREADGROUP', ...args)) as StreamReply;
    } finally {
      this.blocked = false;
    }
    const entries = reply?.[0]?.[1] ?? [];
    await this.handle(entries);
    return entries.length;
  }

  /** Copies one batch of the entries this consumer read but did not acknowledge (a failed write). */
  async readOwnPending(): Promise<number> {
    const reply = (await this.redis.call(
      'XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', this.batchSize, 'STREAMS', this.stream, '0',
    )) as StreamReply;
    const entries = (reply?.[0]?.[1] ?? []).filter((e): e is [string, string[]] => e[1] !== null);
    await this.handle(entries);
    return entries.length;
  }

  /** Takes over entries other consumers left pending for longer than claimIdleMs, and copies them. */
  async claimStale(): Promise<number> {
    if (!(await this.ensureGroup())) return 0;
    let cursor = '0-0';
    let handled = 0;
    do {
      const [next, entries, deleted] = (await this.redis.call(
        'XAUTOCLAIM', this.stream, this.group, this.consumer, this.claimIdleMs, cursor, 'COUNT', this.batchSize,
      )) as [string, [string, string[] | null][], string[] | undefined];
      const live = entries.filter((e): e is [string, string[]] => e[1] !== null);
      if (deleted !== undefined && deleted.length > 0) {
        this.stats.lost += deleted.length;
        this.log.warn({ lost: deleted.length }, 'decision sink: pending entries were trimmed from the stream before they were copied');
      }
      await this.handle(live);
      handled += live.length;
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping);
    return handled;
  }

  /** Reads and copies until nothing new is left (tests, shutdown). */
  async catchUp(): Promise<number> {
    let total = await this.claimStale();
    for (;;) {
      const n = await this.readBatch(0);
      total += n;
      if (n === 0) return total;
    }
  }

  async applyRetention(): Promise<number> {
    const deleted = await this.history.deleteOlderThan(this.clock() - this.retentionMs);
    this.stats.expired += deleted;
    if (deleted > 0) this.log.info({ deleted }, 'decision sink: deleted decisions past the retention');
    return deleted;
  }

  /**
   * Inserts a batch. When the database refuses it for its data (SQLSTATE classes 22, data
   * exception, and 23, integrity constraint: a value one row carries that SQL cannot store),
   * the rows are inserted one by one and the refused ones rejected, logged and left out, so one
   * bad row cannot hold the whole stream; any other failure (the database away) is thrown and
   * the batch retried, as before. Rows already stored are skipped by the insert itself.
   */
  private async insert(rows: readonly DecisionRow[]): Promise<number> {
    try {
      return await this.history.insert(rows);
    } catch (err) {
      if (!isDataError(err)) throw err;
      let copied = 0;
      for (const row of rows) {
        try {
          copied += await this.history.insert([row]);
        } catch (rowErr) {
          if (!isDataError(rowErr)) throw rowErr;
          this.stats.rejected++;
          this.log.error(
            { streamId: row.streamId, transferId: row.transferId, err: rowErr },
            'decision sink: the SQL store refused this decision; acknowledged without copying',
          );
        }
      }
      return copied;
    }
  }

  private async handle(entries: readonly [string, string[]][]): Promise<void> {
    if (entries.length === 0) return;
    const rows: DecisionRow[] = [];
    for (const [id, fields] of entries) {
      const row = parseStreamEntry(id, fields);
      if ('error' in row) {
        this.stats.rejected++;
        this.log.error({ streamId: id }, `decision sink: ${row.error}; acknowledged without copying`);
      } else {
        rows.push(row);
      }
    }
    this.stats.copied += await this.insert(rows);
    const ids = entries.map(([id]) => id);
    this.stats.acked += Number(await this.redis.xack(this.stream, this.group, ...ids));
  }
}

/** SQLSTATE class 22 (data exception) or 23 (integrity constraint violation), from pg or PGlite. */
function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}
