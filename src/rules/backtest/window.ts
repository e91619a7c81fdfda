import type { FieldProblem } from '../../errors.ts';

/** When from/to are absent: the last DEFAULT_WINDOW_DAYS up to now (backtest and shadow statistics). */
export const DEFAULT_WINDOW_DAYS = 7;

/**
 * The window [from, to) of a request in ms, or the problems with it. `from` and `to` are ISO 8601
 * times already checked by the caller; absent `to` is now, absent `from` DEFAULT_WINDOW_DAYS before `to`.
 */
export function requestWindow(from: string | undefined, to: string | undefined, nowMs: number): { fromMs: number; toMs: number } | FieldProblem[] {
  const toMs = to === undefined ? nowMs : Date.parse(to);
  const fromMs = from === undefined ? toMs - DEFAULT_WINDOW_DAYS * 86_400_000 : Date.parse(from);
  if (fromMs >= toMs) return [{ field: 'from', message: `must be before to (${new Date(toMs).toISOString()})` }];
  return { fromMs, toMs };
}
