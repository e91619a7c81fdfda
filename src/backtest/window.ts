import type { FieldProblem } from '../errors.ts';

/** When from/to are absent: the last DEFAULT_WINDOW_DAYS up to now (backtest and shadow statistics). */
export const DEFAULT_WINDOW_DAYS = 7;

const DAY_MS = 86_400_000;

/** The longest window a request may ask for, and the setting that says so (named in the 400). */
export interface WindowLimit {
  readonly maxDays: number;
  readonly variable: string;
}

/**
 * The window [from, to) of a request in ms, or the problems with it. `from` and `to` are ISO 8601
 * times already checked by the caller; absent `to` is now, absent `from` DEFAULT_WINDOW_DAYS before `to`
 * (or `limit.maxDays`, when that is shorter, so the default never breaks the limit). With a
 * limit, a window longer than `limit.maxDays` is refused: every decision of the window is read,
 * so an unbounded window is unbounded work for one request.
 */
export function requestWindow(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
  limit?: WindowLimit,
): { fromMs: number; toMs: number } | FieldProblem[] {
  const toMs = to === undefined ? nowMs : Date.parse(to);
  const defaultDays = Math.min(DEFAULT_WINDOW_DAYS, limit?.maxDays ?? Infinity);
  const fromMs = from === undefined ? toMs - defaultDays * DAY_MS : Date.parse(from);
  if (fromMs >= toMs) return [{ field: 'from', message: `must be before to (${new Date(toMs).toISOString()})` }];
  if (limit !== undefined && toMs - fromMs > limit.maxDays * DAY_MS) {
    return [
      {
        field: 'from',
        message: `must be at most ${limit.maxDays} days before to (${new Date(toMs).toISOString()}): the window is limited to ${limit.maxDays} days (${limit.variable})`,
      },
    ];
  }
  return { fromMs, toMs };
}
