import { performance } from 'node:perf_hooks';
import { CATALOGUE_VERSION } from '../features/catalogue.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import type { CandidateModel } from './candidate-model.ts';
import { runBacktest, type BacktestOutcome, type BacktestProgress, type BacktestSource } from './run-backtest.ts';
import type { ReplayPolicy } from './replay-decision.ts';
import type { FlagPolicy } from '../rules/performance/rule-performance.ts';

/**
 * A whole backtest as the API job and the CLI run it: the loop over a source, wrapped with what
 * the report must say about itself (window, both versions, where model scores came from, speed).
 */

export interface BacktestReport extends BacktestOutcome {
  readonly window: { readonly from: string; readonly to: string };
  /** the feature catalogue replayed; decisions of other catalogues are skipped and counted */
  readonly catalogue: string;
  readonly active: { readonly version: string; readonly rules: number };
  readonly candidate: {
    readonly version: string;
    readonly rules: number;
    /** the candidate model, or null: the candidate side used each decision's stored model score */
    readonly model: { readonly name: string; readonly version: string } | null;
  };
  /** the active side always uses each decision's stored model score (the model live at the time) */
  readonly elapsedMs: number;
  /** decisions read per minute (replayed + skipped malformed) */
  readonly rowsPerMinute: number;
}

export interface BacktestInput {
  readonly source: BacktestSource;
  readonly window: { readonly fromMs: number; readonly toMs: number };
  readonly active: RuleSet;
  readonly candidate: RuleSet;
  readonly policy: ReplayPolicy;
  readonly model?: CandidateModel;
  readonly onProgress?: (p: BacktestProgress) => void | Promise<void>;
  readonly signal?: AbortSignal;
  /** the intervention budget the rule performance flags against */
  readonly flags?: FlagPolicy;
}

export async function backtest(input: BacktestInput): Promise<BacktestReport> {
  const t0 = performance.now();
  const outcome = await runBacktest({
    source: input.source,
    active: input.active,
    candidate: input.candidate,
    policy: input.policy,
    ...(input.model === undefined ? {} : { candidateModel: input.model.score }),
    ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }),
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    ...(input.flags === undefined ? {} : { flags: input.flags }),
  });
  const elapsedMs = Math.round(performance.now() - t0);
  const read = outcome.replayed + outcome.skippedMalformed;
  return {
    window: { from: new Date(input.window.fromMs).toISOString(), to: new Date(input.window.toMs).toISOString() },
    catalogue: CATALOGUE_VERSION,
    active: { version: input.active.version, rules: input.active.rules.length },
    candidate: {
      version: input.candidate.version,
      rules: input.candidate.rules.length,
      model: input.model === undefined ? null : { name: input.model.name, version: input.model.version },
    },
    elapsedMs,
    rowsPerMinute: elapsedMs === 0 ? read * 60_000 : Math.round((read * 60_000) / elapsedMs),
    ...outcome,
  };
}
