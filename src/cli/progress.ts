/**
 * The progress line of the long CLIs (replay, train, eval:segments, rules backtest; issue 19):
 * one line on stderr, rewritten in place at most every `everyMs`, and only when stderr is a
 * terminal. Piped or redirected output gets nothing from it, so logs and CI output stay clean
 * and stdout (the report) is never touched.
 */

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

export interface ProgressOptions {
  /** default process.stderr */
  readonly stream?: ProgressStream;
  /** least time between two redraws (default 200 ms) */
  readonly everyMs?: number;
  /** ms; default Date.now */
  readonly clock?: () => number;
}

export interface Progress {
  /** `done` units of `total` (when known); redrawn when `everyMs` has passed since the last draw, or on reaching the total */
  update(done: number, total?: number): void;
  /** erases the line (call before printing anything else to stderr, and when finished) */
  end(): void;
}

const CLEAR_LINE = '\r\x1b[2K';

const SILENT: Progress = { update: () => undefined, end: () => undefined };

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** `label: 12,345 of 50,000 (24.7%), 3,456/s, 0m12s` (without a total: no share), drawn in place. */
export function progressLine(label: string, unit: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY !== true) return SILENT;
  const clock = options.clock ?? Date.now;
  const everyMs = options.everyMs ?? 200;
  const started = clock();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(done, total) {
      const now = clock();
      const finished = total !== undefined && done >= total;
      if (now - lastDraw < everyMs && !finished) return;
      lastDraw = now;
      drawn = true;
      const elapsed = now - started;
      const share = total === undefined || total === 0 ? '' : ` of ${total.toLocaleString('en')} (${((100 * done) / total).toFixed(1)}%)`;
      const rate = elapsed > 0 ? `, ${Math.round((done * 1000) / elapsed).toLocaleString('en')}/s` : '';
      stream.write(`${CLEAR_LINE}${label}: ${done.toLocaleString('en')}${share} ${unit}${rate}, ${duration(elapsed)}`);
    },
    end() {
      if (drawn) stream.write(CLEAR_LINE);
      drawn = false;
    },
  };
}
