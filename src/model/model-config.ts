/**
 * Configuration of the model (src/model): where it is loaded from, and how long a score waits
 * for it. A slice of src/config.ts's composition; must not import src/config.ts.
 */
import path from 'node:path';
import { bool, int, type Env } from '../config-env.ts';

export interface ModelConfig {
  /** the newest loadable `<name>-<version>.onnx` + `.json` in this directory is served */
  readonly dir: string;
  readonly watch: boolean;
  /** a score the model has not answered within this is decided by the rules alone */
  readonly deadlineMs: number;
  /** rows per onnxruntime run at most */
  readonly maxBatch: number;
  /** explain (top factors) scores at or above this probability */
  readonly explainFrom: number;
}

export const MODEL_VARIABLES = ['MODELS_DIR', 'WATCH_MODELS', 'MODEL_DEADLINE_MS', 'MODEL_MAX_BATCH', 'MODEL_EXPLAIN_FROM'] as const;

/** @param warnAt RISK_WARN_AT (src/scoring/scoring-config.ts), MODEL_EXPLAIN_FROM's default */
export function loadModelConfig(env: Env, cwd: string, warnAt: number): ModelConfig {
  return Object.freeze({
    dir: path.resolve(cwd, env.MODELS_DIR || 'models'),
    watch: bool(env, 'WATCH_MODELS', true),
    deadlineMs: int(env, 'MODEL_DEADLINE_MS', 20, 1, 10_000),
    maxBatch: int(env, 'MODEL_MAX_BATCH', 256, 1, 65_536),
    explainFrom: int(env, 'MODEL_EXPLAIN_FROM', warnAt, 0, 100) / 100,
  });
}
