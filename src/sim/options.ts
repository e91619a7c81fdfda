import { OPTIONAL_FIELDS } from './field-coverage.ts';
import { parseStartDate } from './time.ts';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from './types.ts';

export const SIM_LIMITS = {
  maxPayers: 10_000_000,
  maxDays: 3_660,
  maxFraudRate: 0.5,
} as const;

export interface SimOptionProblem {
  readonly option: keyof SimOptions;
  readonly message: string;
}

export type SimOptionsResult =
  | { readonly ok: true; readonly options: SimOptions }
  | { readonly ok: false; readonly problems: readonly SimOptionProblem[] };

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

/** Fills defaults (for absent or undefined options) and checks every option; all problems are reported, not just the first. */
export function resolveSimOptions(given: Partial<SimOptions> = {}): SimOptionsResult {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<SimOptions>;
  const o: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...defined };
  const problems: SimOptionProblem[] = [];
  if (!isInt(o.payers) || o.payers < 1 || o.payers > SIM_LIMITS.maxPayers) {
    problems.push({ option: 'payers', message: `must be an integer from 1 to ${SIM_LIMITS.maxPayers}` });
  }
  if (!isInt(o.days) || o.days < 1 || o.days > SIM_LIMITS.maxDays) {
    problems.push({ option: 'days', message: `must be an integer from 1 to ${SIM_LIMITS.maxDays}` });
  }
  if (!isInt(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    problems.push({ option: 'seed', message: 'must be an integer from 0 to 4294967295' });
  }
  if (typeof o.start !== 'string' || parseStartDate(o.start) === null) {
    problems.push({ option: 'start', message: 'must be a date YYYY-MM-DD' });
  }
  if (typeof o.fraudRate !== 'number' || !(o.fraudRate >= 0 && o.fraudRate <= SIM_LIMITS.maxFraudRate)) {
    problems.push({ option: 'fraudRate', message: `must be a number from 0 to ${SIM_LIMITS.maxFraudRate}` });
  }
  if (!(OPTIONAL_FIELDS as readonly unknown[]).includes(o.optionalFields)) {
    problems.push({ option: 'optionalFields', message: `must be one of ${OPTIONAL_FIELDS.join(', ')}` });
  }
  return problems.length === 0 ? { ok: true, options: Object.freeze(o) } : { ok: false, problems };
}
