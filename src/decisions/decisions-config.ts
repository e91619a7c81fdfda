/**
 * Configuration of the decisions (src/decisions): the stream in Redis, its copy into SQL by the
 * sink, and how long the history is kept. A slice of src/config.ts's composition; must not
 * import src/config.ts.
 */
import { bool, int, type Env } from '../config-env.ts';

export interface DecisionsConfig {
  /** approximate bound on the decision stream length (XADD MAXLEN ~) */
  readonly decisionStreamMaxLen: number;
  /** copy the decision stream into SQL inside this process */
  readonly decisionSink: boolean;
  /** stream entries per read and rows per insert */
  readonly sinkBatchSize: number;
  /** decisions older than this (by occurredAt) are deleted from SQL */
  readonly decisionRetentionDays: number;
}

export const DECISIONS_VARIABLES = ['DECISION_STREAM_MAXLEN', 'DECISION_SINK', 'SINK_BATCH_SIZE', 'DECISION_RETENTION_DAYS'] as const;

export function loadDecisionsConfig(env: Env): DecisionsConfig {
  return Object.freeze({
    decisionStreamMaxLen: int(env, 'DECISION_STREAM_MAXLEN', 200_000, 1_000, 100_000_000),
    decisionSink: bool(env, 'DECISION_SINK', true),
    sinkBatchSize: int(env, 'SINK_BATCH_SIZE', 500, 1, 10_000),
    decisionRetentionDays: int(env, 'DECISION_RETENTION_DAYS', 400, 1, 3_650),
  });
}
