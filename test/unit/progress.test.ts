import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress.ts';

/** Issue 19: the long CLIs print a progress line on a terminal, throttled, and nothing otherwise. */

function fakeStream(isTTY: boolean): { isTTY: boolean; written: string[]; write(t: string): boolean } {
  const written: string[] = [];
  return { isTTY, written, write: (t: string) => (written.push(t), true) };
}

describe('progressLine', () => {
  it('draws on a terminal, at most once per interval, always at the total, and erases itself', () => {
    const stream = fakeStream(true);
    let now = 1_000;
    const p = progressLine('replaying', 'transfers', { stream, everyMs: 200, clock: () => now });
    p.update(0, 1_000);
    now += 100;
    p.update(100, 1_000); // within 200 ms: not drawn
    now += 150;
    p.update(250, 1_000);
    now += 10;
    p.update(1_000, 1_000); // the total: drawn at once
    p.end();
    expect(stream.written).toEqual([
      '\r\x1b[2Kreplaying: 0 of 1,000 (0.0%) transfers, 0s',
      '\r\x1b[2Kreplaying: 250 of 1,000 (25.0%) transfers, 1,000/s, 0s',
      '\r\x1b[2Kreplaying: 1,000 of 1,000 (100.0%) transfers, 3,846/s, 0s',
      '\r\x1b[2K',
    ]);
  });

  it('without a total shows the count alone', () => {
    const stream = fakeStream(true);
    let now = 0;
    const p = progressLine('scoring', 'transfers', { stream, clock: () => now });
    now = 61_000;
    p.update(61_000);
    expect(stream.written).toEqual(['\r\x1b[2Kscoring: 61,000 transfers, 1,000/s, 1m01s']);
  });

  it('is silent when the stream is not a terminal (a pipe, a file, CI)', () => {
    const stream = fakeStream(false);
    const p = progressLine('replaying', 'transfers', { stream, clock: () => 0 });
    p.update(5, 10);
    p.update(10, 10);
    p.end();
    expect(stream.written).toEqual([]);
  });
});
