/**
 * The intervention budget (issue 16), per age band of the payer: the largest share of
 * legitimate transfers the engine may warn, hold (cool_off) and block. `npm run calibrate`
 * (src/calibration/calibrate.ts) chooses thresholds and rule actions within it. A slice of
 * src/config.ts's composition; must not import src/config.ts.
 *
 * Values are percentages of a band's legitimate transfers, each action counted on its own (a
 * transfer held is not also counted as warned): defaults warn 2 %, hold 0.5 %, block 0.1 %.
 * The elderly and minors get a warn budget of 2.5 %: they are the payers scams single out, so
 * they may be warned a little more often, but no more than 1.25 × the adults' budget, the top
 * of issue 6's fairness band (elderly / others false-positive ratio within 0.8-1.25), so a
 * calibration that spends both budgets in full stays fair. Their hold and block budgets
 * follow the general ones.
 */
import { ConfigError, type Env } from '../config-env.ts';
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';

/** Shares of a band's legitimate transfers (0-1), per intervention. */
export interface InterventionBudget {
  readonly warn: number;
  readonly coolOff: number;
  readonly block: number;
}

export interface BudgetConfig {
  /** the budget of adults and of payers of unknown age */
  readonly general: InterventionBudget;
  /** per age band (adult: the general one) */
  readonly bands: Readonly<Record<AgeBand, InterventionBudget>>;
}

export const BUDGET_VARIABLES = [
  'INTERVENTION_BUDGET_WARN_PCT',
  'INTERVENTION_BUDGET_COOL_OFF_PCT',
  'INTERVENTION_BUDGET_BLOCK_PCT',
  'INTERVENTION_BUDGET_WARN_PCT_MINOR',
  'INTERVENTION_BUDGET_COOL_OFF_PCT_MINOR',
  'INTERVENTION_BUDGET_BLOCK_PCT_MINOR',
  'INTERVENTION_BUDGET_WARN_PCT_ELDERLY',
  'INTERVENTION_BUDGET_COOL_OFF_PCT_ELDERLY',
  'INTERVENTION_BUDGET_BLOCK_PCT_ELDERLY',
] as const;

/** The larger warn budget of the elderly and of minors, in percent (see the module's comment). */
export const PROTECTED_WARN_PCT_DEFAULT = 2.5;

/** A percentage 0-100 with at most three decimals, returned as a share (0-1). */
function percent(env: Env, name: string, defPct: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return defPct / 100;
  const n = Number(raw);
  if (!/^\s*\d+(\.\d{1,3})?\s*$/.test(raw) || n > 100) {
    throw new ConfigError(`${name} must be a percentage between 0 and 100 with at most three decimals, got "${raw}"`);
  }
  return n / 100;
}

const pctOf = (share: number): number => Math.round(share * 100_000) / 1000;

function budgetFrom(env: Env, suffix: string, def: { warn: number; coolOff: number; block: number }): InterventionBudget {
  return Object.freeze({
    warn: percent(env, `INTERVENTION_BUDGET_WARN_PCT${suffix}`, def.warn),
    coolOff: percent(env, `INTERVENTION_BUDGET_COOL_OFF_PCT${suffix}`, def.coolOff),
    block: percent(env, `INTERVENTION_BUDGET_BLOCK_PCT${suffix}`, def.block),
  });
}

export function loadBudgetConfig(env: Env): BudgetConfig {
  const general = budgetFrom(env, '', { warn: 2, coolOff: 0.5, block: 0.1 });
  const band = (b: AgeBand): InterventionBudget => {
    if (b === 'adult') return general;
    return budgetFrom(env, `_${b.toUpperCase()}`, {
      // never below the general warn budget, unless set explicitly
      warn: Math.max(PROTECTED_WARN_PCT_DEFAULT, pctOf(general.warn)),
      coolOff: pctOf(general.coolOff),
      block: pctOf(general.block),
    });
  };
  return Object.freeze({ general, bands: Object.freeze(Object.fromEntries(AGE_BANDS.map((b) => [b, band(b)])) as Record<AgeBand, InterventionBudget>) });
}

/** The budget of a payer of this age band (unknown age: the general one). */
export function budgetOf(config: BudgetConfig, band: AgeBand | null): InterventionBudget {
  return band === null ? config.general : config.bands[band];
}
