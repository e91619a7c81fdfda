/**
 * Configuration of rule versions (issue 7): four-eyes, how often nodes check the active
 * version, and the safety cap. Parsed by src/config.ts's loadConfig into `config.ruleVersions`;
 * src/config.ts lists the variables in CONFIG_VARIABLES. Must not import src/config.ts.
 */
import { bool, ConfigError, int, type Env } from '../../config-env.ts';

export interface SafetyCapConfig {
  readonly enabled: boolean;
  /** a rule trips when its hit share in the window is at least this many times its share over the hour before */
  readonly multiple: number;
  /** … and at least this share of all decisions in the window (0..1) */
  readonly minShare: number;
  /** … and the window holds at least this many decisions (all nodes together) */
  readonly minSample: number;
  /** the recent window, in minutes (the baseline is the 60 minutes before it) */
  readonly windowMinutes: number;
  /** how often each node adds its counts to Redis (and checks), ms */
  readonly flushMs: number;
}

export interface RuleVersionsConfig {
  /** a published version waits for a second person's approval */
  readonly fourEyes: boolean;
  /** how often a node compares the Redis pointer with the version it serves */
  readonly pollMs: number;
  readonly safetyCap: SafetyCapConfig;
}

export const RULE_VERSION_VARIABLES = [
  'RULES_FOUR_EYES',
  'RULES_POLL_MS',
  'RULES_SAFETY_CAP',
  'RULES_SAFETY_CAP_MULTIPLE',
  'RULES_SAFETY_CAP_MIN_SHARE_PCT',
  'RULES_SAFETY_CAP_MIN_SAMPLE',
  'RULES_SAFETY_CAP_WINDOW_MINUTES',
  'RULES_SAFETY_CAP_FLUSH_MS',
] as const;

export function loadRuleVersionsConfig(env: Env): RuleVersionsConfig {
  const windowMinutes = int(env, 'RULES_SAFETY_CAP_WINDOW_MINUTES', 5, 1, 60);
  const multiple = int(env, 'RULES_SAFETY_CAP_MULTIPLE', 10, 1, 1_000);
  const pct = int(env, 'RULES_SAFETY_CAP_MIN_SHARE_PCT', 5, 1, 100);
  if (multiple < 2 && pct < 50) {
    throw new ConfigError('RULES_SAFETY_CAP_MULTIPLE must be at least 2 (or RULES_SAFETY_CAP_MIN_SHARE_PCT at least 50): a rule at its usual rate must not trip');
  }
  return Object.freeze({
    fourEyes: bool(env, 'RULES_FOUR_EYES', false),
    pollMs: int(env, 'RULES_POLL_MS', 5_000, 50, 600_000),
    safetyCap: Object.freeze({
      enabled: bool(env, 'RULES_SAFETY_CAP', true),
      multiple,
      minShare: pct / 100,
      minSample: int(env, 'RULES_SAFETY_CAP_MIN_SAMPLE', 500, 1, 100_000_000),
      windowMinutes,
      flushMs: int(env, 'RULES_SAFETY_CAP_FLUSH_MS', 1_000, 10, 60_000),
    }),
  });
}
