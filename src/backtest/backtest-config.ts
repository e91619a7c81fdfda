/**
 * Bounds on the work a rules:write client can ask of a node (src/backtest: backtests, shadow
 * statistics). A slice of src/config.ts's composition; must not import src/config.ts.
 */
import { int, type Env } from '../config-env.ts';

export interface BacktestConfig {
  /** backtest jobs queued or running on one node at once; POST /v1/rules/backtest beyond it is a 429 */
  readonly maxJobs: number;
  /** the longest window a backtest may replay, days */
  readonly maxWindowDays: number;
  /** the longest window GET /v1/rules/shadow may aggregate, days */
  readonly shadowMaxWindowDays: number;
}

export const BACKTEST_VARIABLES = ['BACKTEST_MAX_JOBS', 'BACKTEST_MAX_WINDOW_DAYS', 'SHADOW_STATS_MAX_WINDOW_DAYS'] as const;

/**
 * A backtest reads every decision of its window, and the shadow statistics aggregate them in one
 * query of the request, so both windows are bounded. The defaults never exceed what is kept
 * (DECISION_RETENTION_DAYS, src/decisions/decisions-config.ts): a longer window would read nothing more.
 */
export function loadBacktestConfig(env: Env, retentionDays: number): BacktestConfig {
  return Object.freeze({
    maxJobs: int(env, 'BACKTEST_MAX_JOBS', 4, 1, 1_000),
    maxWindowDays: int(env, 'BACKTEST_MAX_WINDOW_DAYS', Math.min(90, retentionDays), 1, 3_650),
    shadowMaxWindowDays: int(env, 'SHADOW_STATS_MAX_WINDOW_DAYS', Math.min(31, retentionDays), 1, 3_650),
  });
}
