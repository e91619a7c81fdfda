import { ConfigError, type Env } from './config-env.ts';
import { BUDGET_VARIABLES, loadBudgetConfig, type BudgetConfig } from './calibration/budget-config.ts';
import { BACKTEST_VARIABLES, loadBacktestConfig, type BacktestConfig } from './backtest/backtest-config.ts';
import { CASES_VARIABLES, loadCasesConfig, type CasesConfig } from './cases/cases-config.ts';
import { LIFECYCLE_VARIABLES, loadLifecycleConfig, type LifecycleConfig } from './cooling/lifecycle-config.ts';
import { DECISIONS_VARIABLES, loadDecisionsConfig, type DecisionsConfig } from './decisions/decisions-config.ts';
import { FEATURES_VARIABLES, loadFeaturesConfig, type FeaturesConfig } from './features/features-config.ts';
import { HTTP_VARIABLES, loadHttpConfig, type HttpConfig } from './http/http-config.ts';
import { I18N_VARIABLES, loadI18nConfig, type I18nConfig } from './i18n/i18n-config.ts';
import { loadModelConfig, MODEL_VARIABLES, type ModelConfig } from './model/model-config.ts';
import { loadProcessConfig, PROCESS_VARIABLES, type ProcessConfig } from './process-config.ts';
import { loadRuleFilesConfig, RULE_FILE_VARIABLES, type RuleFilesConfig } from './rules/language/rule-files-config.ts';
import { loadRuleVersionsConfig, RULE_VERSION_VARIABLES, type RuleVersionsConfig } from './rules/versions/rule-versions-config.ts';
import { generalThresholds, loadScoringConfig, SCORING_VARIABLES, type ScoringConfig } from './scoring/scoring-config.ts';
import { loadStoreConfig, STORE_VARIABLES, type StoreConfig } from './store/store-config.ts';

/**
 * Everything tunable, parsed once from the environment: the composition of the capabilities'
 * slices (issue 18). Each capability owns its slice, `<capability>-config.ts` beside its code
 * (its interface, its variables, its loader over src/config-env.ts's parsers), and is handed
 * that slice alone. Only the wiring (src/app.ts, src/main.ts, src/cli) imports this module;
 * test/unit/config-slices.test.ts checks that no capability does.
 *
 * Every variable is listed in docs/configuration.md (`CONFIG_VARIABLES`, the union of the
 * slices' lists, is what its table is checked against). A malformed value stops start-up with
 * a message naming the variable.
 */

export interface Config {
  /** DATA_DIR, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS (src/process-config.ts) */
  readonly process: ProcessConfig;
  /** listening, body limit, API keys, request timeout (src/http/http-config.ts) */
  readonly http: HttpConfig;
  /** Redis and SQL: where, key space, deadline (src/store/store-config.ts) */
  readonly store: StoreConfig;
  /** age bands and the velocity state's bounds (src/features/features-config.ts) */
  readonly features: FeaturesConfig;
  /** policy per age band, degraded mode, event time bounds, deadlines, claim lease, idempotency (src/scoring/scoring-config.ts) */
  readonly scoring: ScoringConfig;
  /** the model's directory, deadline and batching (src/model/model-config.ts) */
  readonly model: ModelConfig;
  /** the decision stream, sink and history (src/decisions/decisions-config.ts) */
  readonly decisions: DecisionsConfig;
  /** report flags and label maturity (src/cases/cases-config.ts) */
  readonly cases: CasesConfig;
  /** bounds on backtests and shadow statistics (src/backtest/backtest-config.ts) */
  readonly backtest: BacktestConfig;
  /** the default language of the copy (src/i18n/i18n-config.ts) */
  readonly i18n: I18nConfig;
  /** the rule files and their watcher (src/rules/language/rule-files-config.ts) */
  readonly ruleFiles: RuleFilesConfig;
  /** rule versions: four-eyes, the version poll, the safety cap (src/rules/versions/rule-versions-config.ts) */
  readonly ruleVersions: RuleVersionsConfig;
  /** the transfer lifecycle: holds, warning expiry, webhooks, notifications, worker (src/cooling/lifecycle-config.ts) */
  readonly lifecycle: LifecycleConfig;
  /** the intervention budget per age band, which `npm run calibrate` holds to (src/calibration/budget-config.ts) */
  readonly budget: BudgetConfig;
}

export const CONFIG_VARIABLES = [
  ...PROCESS_VARIABLES,
  ...HTTP_VARIABLES,
  ...STORE_VARIABLES,
  ...FEATURES_VARIABLES,
  ...SCORING_VARIABLES,
  ...MODEL_VARIABLES,
  ...DECISIONS_VARIABLES,
  ...CASES_VARIABLES,
  ...BACKTEST_VARIABLES,
  ...I18N_VARIABLES,
  ...RULE_FILE_VARIABLES,
  ...RULE_VERSION_VARIABLES,
  ...LIFECYCLE_VARIABLES,
  ...BUDGET_VARIABLES,
] as const;

export { ConfigError };

/**
 * Loads every slice. The few values one slice's defaults follow from another's are passed
 * explicitly: DATA_DIR (the PGlite directory), RISK_WARN_AT (MODEL_EXPLAIN_FROM's default),
 * MODEL_DEADLINE_MS (CLAIM_LEASE_MS's default and bound), DECISION_RETENTION_DAYS (the backtest windows').
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const proc = loadProcessConfig(env, cwd);
  const i18n = loadI18nConfig(env);
  const model = loadModelConfig(env, cwd, generalThresholds(env).warn);
  const scoring = loadScoringConfig(env, model.deadlineMs);
  const decisions = loadDecisionsConfig(env);
  return Object.freeze({
    process: proc,
    http: loadHttpConfig(env),
    store: loadStoreConfig(env, proc.dataDir),
    features: loadFeaturesConfig(env),
    scoring,
    model,
    decisions,
    cases: loadCasesConfig(env),
    backtest: loadBacktestConfig(env, decisions.decisionRetentionDays),
    i18n,
    ruleFiles: loadRuleFilesConfig(env, cwd),
    ruleVersions: loadRuleVersionsConfig(env),
    lifecycle: loadLifecycleConfig(env),
    budget: loadBudgetConfig(env),
  });
}
