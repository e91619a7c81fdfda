import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { MicroBatcher, type BatchTarget } from '../../src/model/micro-batcher.ts';

const F = 3;

/**
 * A fake model target: each batch waits until the test settles it (or `auto` settles it on
 * the next turn), so the test decides when and in what order batches finish. The score of a
 * row is 10 × its first value + the model's offset.
 */
class FakeTarget implements BatchTarget<string> {
  model: string | null = 'm1';
  readonly batches: { model: string; rows: Float32Array; n: number; resolve(s: ArrayLike<number>): void; reject(e: Error): void }[] = [];
  released = 0;
  acquired = 0;
  auto = false;
  throwSync: Error | null = null;

  acquire(): string | null {
    if (this.model !== null) this.acquired++;
    return this.model;
  }

  run(model: string, rows: Float32Array, n: number): Promise<ArrayLike<number>> {
    if (this.throwSync) throw this.throwSync;
    return new Promise((resolve, reject) => {
      const batch = { model, rows: rows.slice(), n, resolve, reject };
      this.batches.push(batch);
      if (this.auto) setImmediate(() => resolve(this.expected(batch)));
    });
  }

  release(): void {
    this.released++;
  }

  expected(b: { model: string; rows: Float32Array; n: number }): Float32Array {
    const offset = b.model === 'm2' ? 0.5 : 0;
    return Float32Array.from({ length: b.n }, (_, i) => 10 * b.rows[i * F]! + offset);
  }
}

const row = (i: number): Float32Array => Float32Array.from([i, -i, 0]);

async function until(pred: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(1);
  }
}

describe('MicroBatcher', () => {
  test('under concurrency every caller gets its own row’s score, whatever order batches finish in', async () => {
    const target = new FakeTarget();
    const b = new MicroBatcher(target, { rowLength: F, maxBatch: 16, maxInFlight: 4, deadlineMs: 5_000 });
    const calls = Array.from({ length: 100 }, (_, i) => b.score(row(i)));
    await until(() => target.batches.length === 4);
    // finish the running batches last-first, then let the rest run as they come
    for (const batch of [...target.batches].reverse()) batch.resolve(target.expected(batch));
    target.auto = true;
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => ({ ok: true, score: 10 * i, model: 'm1' })));
    expect(target.batches.every((x) => x.n <= 16)).toBe(true);
    expect(target.batches.reduce((s, x) => s + x.n, 0)).toBe(100);
    expect(target.batches.length).toBe(7);
    expect(target.released).toBe(target.acquired);
    expect(b.counters()).toMatchObject({ batches: 7, rows: 100, deadlines: 0, errors: 0, largestBatch: 16 });
  });

  test('rows arriving in one event-loop turn go in one batch; a batch runs on the model current when it starts', async () => {
    const target = new FakeTarget();
    target.auto = true;
    const b = new MicroBatcher(target, { rowLength: F, maxBatch: 256, deadlineMs: 5_000 });
    const first = await Promise.all([1, 2, 3].map((i) => b.score(row(i))));
    expect(target.batches.map((x) => x.n)).toEqual([3]);
    target.model = 'm2';
    const second = await Promise.all([4, 5].map((i) => b.score(row(i))));
    expect(first.map((r) => r.ok && [r.score, r.model])).toEqual([[10, 'm1'], [20, 'm1'], [30, 'm1']]);
    expect(second.map((r) => r.ok && [r.score, r.model])).toEqual([[40.5, 'm2'], [50.5, 'm2']]);
  });

  test('a row is copied when its batch is built: the caller may reuse its buffer', async () => {
    const target = new FakeTarget();
    target.auto = true;
    const b = new MicroBatcher(target, { rowLength: F, deadlineMs: 5_000 });
    const shared = row(7);
    const p = b.score(shared);
    await until(() => target.batches.length === 1);
    shared[0] = 99;
    expect(await p).toEqual({ ok: true, score: 70, model: 'm1' });
  });

  test('past the deadline a caller gets an explicit failure, and the late score is dropped', async () => {
    const target = new FakeTarget();
    const b = new MicroBatcher(target, { rowLength: F, deadlineMs: 15, maxBatch: 4 });
    const results = await Promise.all([1, 2, 3].map((i) => b.score(row(i))));
    expect(results).toEqual(Array(3).fill({ ok: false, reason: 'deadline', message: 'the model did not answer within 15 ms' }));
    for (const batch of target.batches) batch.resolve(target.expected(batch));
    await sleep(5);
    expect(b.counters()).toMatchObject({ deadlines: 3, batches: 1, rows: 3 });
    expect(target.released).toBe(1);
  });

  test('rows waiting behind a stuck batch expire too, and take no place in the next batch', async () => {
    const target = new FakeTarget();
    const b = new MicroBatcher(target, { rowLength: F, deadlineMs: 20, maxBatch: 2, maxInFlight: 1 });
    const stuck = [b.score(row(1)), b.score(row(2))];
    await until(() => target.batches.length === 1);
    const waiting = [b.score(row(3)), b.score(row(4))];
    expect((await Promise.all(waiting)).map((r) => !r.ok && r.reason)).toEqual(['deadline', 'deadline']);
    target.auto = true;
    const fresh = b.score(row(5));
    target.batches[0]!.resolve(target.expected(target.batches[0]!));
    expect((await Promise.all(stuck)).map((r) => !r.ok && r.reason)).toEqual(['deadline', 'deadline']);
    expect(await fresh).toEqual({ ok: true, score: 50, model: 'm1' });
    expect(target.batches.map((x) => x.n)).toEqual([2, 1]);
  });

  test('a failed run fails its rows with the reason; a bad score fails only its row', async () => {
    const target = new FakeTarget();
    const b = new MicroBatcher(target, { rowLength: F, deadlineMs: 5_000 });
    const failing = [b.score(row(1)), b.score(row(2))];
    await until(() => target.batches.length === 1);
    target.batches[0]!.reject(new Error('session exploded'));
    expect(await Promise.all(failing)).toEqual(Array(2).fill({ ok: false, reason: 'error', message: 'the model failed: session exploded' }));

    const mixed = [b.score(row(3)), b.score(row(4))];
    await until(() => target.batches.length === 2);
    target.batches[1]!.resolve(Float32Array.from([30, Number.NaN]));
    expect(await Promise.all(mixed)).toEqual([
      { ok: true, score: 30, model: 'm1' },
      { ok: false, reason: 'error', message: 'the model returned NaN' },
    ]);

    const short = b.score(row(5));
    await until(() => target.batches.length === 3);
    target.batches[2]!.resolve([]);
    expect(await short).toEqual({ ok: false, reason: 'error', message: 'the model returned 0 scores for 1 rows' });

    target.throwSync = new Error('bad input');
    expect(await b.score(row(6))).toEqual({ ok: false, reason: 'error', message: 'the model failed: bad input' });
    expect(target.released).toBe(target.acquired);
  });

  test('no model, a malformed row, a full queue and a closed batcher are failures, not scores', async () => {
    const target = new FakeTarget();
    target.model = null;
    const b = new MicroBatcher(target, { rowLength: F, deadlineMs: 5_000, maxQueue: 3, maxBatch: 2, maxInFlight: 1 });
    expect(await b.score(row(1))).toEqual({ ok: false, reason: 'no_model', message: 'no model is loaded' });
    expect(await b.score(new Float32Array(2))).toEqual({ ok: false, reason: 'error', message: 'the row has 2 values, the model takes 3' });

    target.model = 'm1';
    const running = [b.score(row(1)), b.score(row(2))];
    await until(() => target.batches.length === 1);
    const queued = [b.score(row(3)), b.score(row(4)), b.score(row(5))];
    expect(await b.score(row(6))).toEqual({ ok: false, reason: 'overloaded', message: '3 rows already wait for the model' });
    b.close();
    expect((await Promise.all([...running, ...queued])).map((r) => !r.ok && r.reason)).toEqual(Array(5).fill('no_model'));
    expect(await b.score(row(7))).toEqual({ ok: false, reason: 'no_model', message: 'the model scorer is closed' });
  });

  test('rejects options that cannot work', () => {
    const t = new FakeTarget();
    expect(() => new MicroBatcher(t, { rowLength: 0 })).toThrow('rowLength must be a positive integer, got 0');
    expect(() => new MicroBatcher(t, { rowLength: F, deadlineMs: 0 })).toThrow('deadlineMs must be > 0, got 0');
    expect(() => new MicroBatcher(t, { rowLength: F, maxBatch: 1.5 })).toThrow('maxBatch must be a positive integer, got 1.5');
  });
});

