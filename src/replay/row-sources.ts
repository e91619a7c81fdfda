import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { TransferEventSchema } from '../features/transfer-event.ts';
import type { SimLabel } from '../sim/types.ts';
import { checkFdhHeader, fdhReplayRow, parseFdhRow } from './fdh-row.ts';
import { checkPaySimHeader, countPaySimRow, parsePaySimRow, paysimReplayRow, paysimStepMs, type PaySimStats } from './paysim-row.ts';
import type { ReplayRow } from './replay-row.ts';

/**
 * Readers of the replay's input formats. Each yields rows in time order from `fromMs`
 * (inclusive) to `toMs` (exclusive) and stops reading at the first row past `toMs`; a row
 * earlier than the one before it is an error (the feature replay needs time order).
 */

export interface SourceWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly labelDelayDays: number;
}

export interface SourceStats {
  /** lines read, header excluded */
  linesRead: number;
  /** rows the engine would refuse (amount 0: the API requires amount > 0) */
  skippedZeroAmount: number;
}

const DAY_MS = 86_400_000;

async function* lines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file);
  const stream = file.endsWith('.gz') ? input.pipe(createGunzip()) : input;
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
  }
}

function checkOrder(file: string, lineNo: number, ms: number, prevMs: number): void {
  if (ms < prevMs) throw new Error(`${file}:${lineNo}: rows must be in time order; this one is earlier than the one before`);
}

/** The Fraud Detection Handbook CSV (gzipped or not). */
export async function* fdhRows(file: string, w: SourceWindow, stats: SourceStats): AsyncGenerator<ReplayRow> {
  let lineNo = 0;
  let prevMs = Number.NEGATIVE_INFINITY;
  for await (const line of lines(file)) {
    lineNo += 1;
    if (lineNo === 1) {
      checkFdhHeader(line);
      continue;
    }
    if (line.trim() === '') continue;
    stats.linesRead += 1;
    let row;
    try {
      row = parseFdhRow(line, lineNo);
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    checkOrder(file, lineNo, row.occurredAtMs, prevMs);
    prevMs = row.occurredAtMs;
    if (row.occurredAtMs < w.fromMs) continue;
    if (row.occurredAtMs >= w.toMs) return;
    if (row.amount <= 0) {
      stats.skippedZeroAmount += 1;
      continue;
    }
    yield fdhReplayRow(row, w.labelDelayDays);
  }
}

/**
 * A PaySim CSV (gzipped or not; src/replay/paysim-row.ts for the mapping). `startMs` is the UTC
 * day of step 1; `paysim` counts the rows replayed by type and PaySim's own flag per day.
 */
export async function* paysimRows(
  file: string,
  w: SourceWindow & { readonly startMs: number; readonly currency: string },
  stats: SourceStats,
  paysim: PaySimStats,
): AsyncGenerator<ReplayRow> {
  let lineNo = 0;
  let prevMs = Number.NEGATIVE_INFINITY;
  for await (const line of lines(file)) {
    lineNo += 1;
    if (lineNo === 1) {
      try {
        checkPaySimHeader(line);
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
      }
      continue;
    }
    if (line.trim() === '') continue;
    stats.linesRead += 1;
    let row;
    try {
      row = parsePaySimRow(line, lineNo);
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    const ms = paysimStepMs(row.step, w.startMs);
    checkOrder(file, lineNo, ms, prevMs);
    prevMs = ms;
    if (ms < w.fromMs) continue;
    if (ms >= w.toMs) return;
    if (row.amount <= 0) {
      stats.skippedZeroAmount += 1;
      continue;
    }
    countPaySimRow(paysim, row, ms);
    yield paysimReplayRow(row, { startMs: w.startMs, currency: w.currency, labelDelayDays: w.labelDelayDays });
  }
}

/**
 * The simulator's JSONL (`{"event", "label"}` per line, src/sim/types.ts). A victim's fraud
 * transfer is reported `labelDelayDays` after it, like an FDH row; mule onward transfers are
 * fraud for training but nobody's report (their payees are the next layer), as in `npm run train`.
 */
export async function* simEventRows(file: string, w: SourceWindow, stats: SourceStats): AsyncGenerator<ReplayRow> {
  let lineNo = 0;
  let prevMs = Number.NEGATIVE_INFINITY;
  for await (const line of lines(file)) {
    lineNo += 1;
    if (line.trim() === '') continue;
    stats.linesRead += 1;
    let raw: { event?: unknown; label?: SimLabel };
    try {
      raw = JSON.parse(line) as { event?: unknown; label?: SimLabel };
    } catch (err) {
      throw new Error(`${file}:${lineNo}: ${(err as Error).message}`);
    }
    const parsed = TransferEventSchema.safeParse(raw.event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `event.${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`${file}:${lineNo}: not a valid transfer event: ${issues}`);
    }
    const l = raw.label;
    if (l === undefined || typeof l.fraud !== 'boolean') throw new Error(`${file}:${lineNo}: label.fraud must be true or false`);
    const e = parsed.data;
    const ms = Date.parse(e.occurredAt);
    checkOrder(file, lineNo, ms, prevMs);
    prevMs = ms;
    if (ms < w.fromMs) continue;
    if (ms >= w.toMs) return;
    const caseId = l.caseId ?? e.transferId;
    const report = l.fraud && l.role === 'victim'
      ? { caseId, reporter: `${l.reporter ?? 'victim'}:${caseId}`, atMs: ms + w.labelDelayDays * DAY_MS }
      : null;
    yield { event: e, fraud: l.fraud, report, scenario: l.fraud ? (l.scamType ?? l.role ?? 'unknown') : '0' };
  }
}
