import { performance } from 'node:perf_hooks';

/**
 * Micro-batching of single-row model calls across concurrent callers (DESIGN §4 step 4): rows
 * queue up and run as one batch when `maxBatch` rows wait, or when the wait timer fires
 * (`maxWaitUs` 0: at the end of the current event-loop turn, via setImmediate, which gathers
 * every request whose features arrived in the same I/O phase; > 0: a timer, whose resolution
 * in Node is about a millisecond). While `maxInFlight` batches run, further rows wait and go
 * in the next batch, so batches grow with load.
 *
 * Every call resolves — never rejects — with its own row's result or an explicit failure:
 * - `deadline`: no result within `deadlineMs` of the call (the batch may still finish; its
 *   late result is dropped);
 * - `overloaded`: `maxQueue` rows already wait;
 * - `no_model`: nothing to run on;
 * - `error`: the run failed or the row is malformed.
 * A failure is never turned into a score.
 */

export type ModelFailureReason = 'no_model' | 'deadline' | 'overloaded' | 'error';

export type BatchResult<M> =
  | { readonly ok: true; readonly score: number; readonly model: M }
  | { readonly ok: false; readonly reason: ModelFailureReason; readonly message: string };

/** What the batcher runs rows on; M is one loaded model (kept for the caller, e.g. to explain). */
export interface BatchTarget<M> {
  /** the model for the next batch; null when none is loaded */
  acquire(): M | null;
  /** scores `n` rows of `rowLength` values each (row-major in `rows`); one score per row */
  run(model: M, rows: Float32Array, n: number): Promise<ArrayLike<number>>;
  /** the batch acquired with acquire() is done */
  release(model: M): void;
}

export interface MicroBatcherOptions {
  readonly rowLength: number;
  readonly maxBatch: number;
  /** 0: flush at the end of the event-loop turn; > 0: after this many µs (ms resolution) */
  readonly maxWaitUs: number;
  readonly deadlineMs: number;
  readonly maxQueue: number;
  readonly maxInFlight: number;
}

export const DEFAULT_BATCHER_OPTIONS: Omit<MicroBatcherOptions, 'rowLength'> = Object.freeze({
  maxBatch: 256,
  maxWaitUs: 0,
  deadlineMs: 20,
  maxQueue: 10_000,
  maxInFlight: 1,
});

interface Item<M> {
  readonly row: Float32Array;
  readonly deadlineAt: number;
  settled: boolean;
  resolve(r: BatchResult<M>): void;
}

export interface BatcherStats {
  readonly batches: number;
  readonly rows: number;
  readonly deadlines: number;
  readonly overloads: number;
  readonly errors: number;
  readonly largestBatch: number;
}

export class MicroBatcher<M> {
  private readonly o: MicroBatcherOptions;
  private readonly target: BatchTarget<M>;
  /** rows not yet in a batch, oldest first */
  private queue: Item<M>[] = [];
  /** every unsettled call in arrival order (= deadline order); `head` is the oldest live index */
  private live: Item<M>[] = [];
  private head = 0;
  private inFlight = 0;
  private flushScheduled = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private stats = { batches: 0, rows: 0, deadlines: 0, overloads: 0, errors: 0, largestBatch: 0 };

  constructor(target: BatchTarget<M>, options: Partial<MicroBatcherOptions> & { readonly rowLength: number }) {
    this.o = { ...DEFAULT_BATCHER_OPTIONS, ...options };
    const o = this.o;
    if (!Number.isInteger(o.rowLength) || o.rowLength < 1) throw new Error(`rowLength must be a positive integer, got ${o.rowLength}`);
    if (!Number.isInteger(o.maxBatch) || o.maxBatch < 1) throw new Error(`maxBatch must be a positive integer, got ${o.maxBatch}`);
    if (!(o.maxWaitUs >= 0)) throw new Error(`maxWaitUs must be ≥ 0, got ${o.maxWaitUs}`);
    if (!(o.deadlineMs > 0)) throw new Error(`deadlineMs must be > 0, got ${o.deadlineMs}`);
    if (!Number.isInteger(o.maxQueue) || o.maxQueue < 1) throw new Error(`maxQueue must be a positive integer, got ${o.maxQueue}`);
    if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) throw new Error(`maxInFlight must be a positive integer, got ${o.maxInFlight}`);
    this.target = target;
  }

  get options(): MicroBatcherOptions {
    return this.o;
  }

  counters(): BatcherStats {
    return { ...this.stats };
  }

  /** Scores one row (copied when its batch is built; the caller may reuse it afterwards). */
  score(row: Float32Array): Promise<BatchResult<M>> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'no_model', message: 'the model scorer is closed' });
    if (row.length !== this.o.rowLength) {
      this.stats.errors++;
      return Promise.resolve({ ok: false, reason: 'error', message: `the row has ${row.length} values, the model takes ${this.o.rowLength}` });
    }
    if (this.queue.length >= this.o.maxQueue) {
      this.stats.overloads++;
      return Promise.resolve({ ok: false, reason: 'overloaded', message: `${this.queue.length} rows already wait for the model` });
    }
    return new Promise((resolve) => {
      const item: Item<M> = { row, deadlineAt: performance.now() + this.o.deadlineMs, settled: false, resolve };
      this.queue.push(item);
      this.live.push(item);
      if (this.deadlineTimer === null) this.armDeadline();
      if (this.queue.length >= this.o.maxBatch && this.inFlight < this.o.maxInFlight) this.flush();
      else this.scheduleFlush();
    });
  }

  /** Settles every waiting call as failed and stops; batches already running finish unobserved. */
  close(): void {
    this.closed = true;
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    for (let i = this.head; i < this.live.length; i++) this.settle(this.live[i]!, { ok: false, reason: 'no_model', message: 'the model scorer was closed' });
    this.queue = [];
    this.live = [];
    this.head = 0;
  }

  private settle(item: Item<M>, r: BatchResult<M>): void {
    if (item.settled) return;
    item.settled = true;
    item.resolve(r);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    const run = (): void => {
      this.flushScheduled = false;
      if (this.inFlight < this.o.maxInFlight) this.flush();
    };
    if (this.o.maxWaitUs <= 0) setImmediate(run);
    else setTimeout(run, this.o.maxWaitUs / 1000);
  }

  private armDeadline(): void {
    while (this.head < this.live.length && this.live[this.head]!.settled) this.head++;
    if (this.head > 1024 && this.head * 2 > this.live.length) {
      this.live = this.live.slice(this.head);
      this.head = 0;
    }
    const oldest = this.live[this.head];
    if (oldest === undefined) {
      this.deadlineTimer = null;
      return;
    }
    const delay = Math.max(0, oldest.deadlineAt - performance.now());
    this.deadlineTimer = setTimeout(() => this.expire(), delay);
  }

  private expire(): void {
    const now = performance.now();
    for (; this.head < this.live.length; this.head++) {
      const item = this.live[this.head]!;
      if (item.settled) continue;
      if (item.deadlineAt > now) break;
      this.stats.deadlines++;
      this.settle(item, { ok: false, reason: 'deadline', message: `the model did not answer within ${this.o.deadlineMs} ms` });
    }
    this.armDeadline();
  }

  private flush(): void {
    // expired calls were settled by the deadline timer; they take no place in the batch
    let start = 0;
    while (start < this.queue.length && this.queue[start]!.settled) start++;
    const n = Math.min(this.o.maxBatch, this.queue.length - start);
    if (n <= 0) {
      this.queue = [];
      return;
    }
    const batch = this.queue.slice(start, start + n);
    this.queue = this.queue.slice(start + n);
    const model = this.target.acquire();
    if (model === null) {
      for (const item of batch) this.settle(item, { ok: false, reason: 'no_model', message: 'no model is loaded' });
    } else {
      this.run(model, batch);
    }
    if (this.queue.length > 0) {
      if (this.queue.length >= this.o.maxBatch && this.inFlight < this.o.maxInFlight) this.flush();
      else this.scheduleFlush();
    }
  }

  private run(model: M, batch: Item<M>[]): void {
    const F = this.o.rowLength;
    const rows = new Float32Array(batch.length * F);
    for (let i = 0; i < batch.length; i++) rows.set(batch[i]!.row, i * F);
    this.inFlight++;
    this.stats.batches++;
    this.stats.rows += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    const done = (): void => {
      this.inFlight--;
      this.target.release(model);
      if (this.queue.length > 0 && !this.closed) {
        if (this.queue.length >= this.o.maxBatch) this.flush();
        else this.scheduleFlush();
      }
    };
    let running: Promise<ArrayLike<number>>;
    try {
      running = this.target.run(model, rows, batch.length);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (scores) => {
        if (scores.length !== batch.length) {
          this.failBatch(batch, `the model returned ${scores.length} scores for ${batch.length} rows`);
        } else {
          for (let i = 0; i < batch.length; i++) {
            const s = scores[i]!;
            if (Number.isFinite(s)) this.settle(batch[i]!, { ok: true, score: s, model });
            else {
              this.stats.errors++;
              this.settle(batch[i]!, { ok: false, reason: 'error', message: `the model returned ${s}` });
            }
          }
        }
        done();
      },
      (err: unknown) => {
        this.failBatch(batch, `the model failed: ${err instanceof Error ? err.message : String(err)}`);
        done();
      },
    );
  }

  private failBatch(batch: readonly Item<M>[], message: string): void {
    this.stats.errors += batch.length;
    for (const item of batch) this.settle(item, { ok: false, reason: 'error', message });
  }
}
