/**
 * Configuration of the case library (src/cases): how long a payee's report flags live in Redis,
 * and when a decision's label is settled for training. A slice of src/config.ts's composition;
 * must not import src/config.ts.
 */
import { int, type Env } from '../config-env.ts';

export interface CasesConfig {
  /** a payee's report flags in Redis expire this long after its latest report */
  readonly reportTtlDays: number;
  /** a decision younger than this has no settled label yet (cases:export leaves it out) */
  readonly labelMaturityDays: number;
}

export const CASES_VARIABLES = ['REPORT_TTL_DAYS', 'LABEL_MATURITY_DAYS'] as const;

export function loadCasesConfig(env: Env): CasesConfig {
  return Object.freeze({
    reportTtlDays: int(env, 'REPORT_TTL_DAYS', 400, 1, 3_650),
    labelMaturityDays: int(env, 'LABEL_MATURITY_DAYS', 30, 0, 365),
  });
}
