import { parseArgs } from 'node:util';
import type { OptionalFields } from './field-coverage.ts';
import { resolveSimOptions } from './options.ts';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from './types.ts';

export const SIM_USAGE = `usage: npm run sim -- [options]
  --payers N        payers in the population (default ${DEFAULT_SIM_OPTIONS.payers})
  --days N          days to simulate (default ${DEFAULT_SIM_OPTIONS.days})
  --seed N          PRNG seed; same seed and options, same output (default ${DEFAULT_SIM_OPTIONS.seed})
  --start DATE      first day, YYYY-MM-DD UTC (default ${DEFAULT_SIM_OPTIONS.start})
  --fraud-rate R    target share of fraudulent transfers, 0-0.5 (default ${DEFAULT_SIM_OPTIONS.fraudRate})
  --optional-fields partial|all
                    partial: optional fields left out in the proportions payment backends
                    send them (src/sim/field-coverage.ts); all: every one (default ${DEFAULT_SIM_OPTIONS.optionalFields})
  --out FILE        write JSONL here instead of stdout`;

const FLAG_OF: Readonly<Record<keyof SimOptions, string>> = {
  payers: '--payers',
  days: '--days',
  seed: '--seed',
  start: '--start',
  fraudRate: '--fraud-rate',
  optionalFields: '--optional-fields',
};

export type SimArgs =
  | { readonly ok: true; readonly options: SimOptions; readonly out: string | null; readonly help: boolean }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Parses `npm run sim` arguments; every problem is listed, each naming its flag. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        payers: { type: 'string' },
        days: { type: 'string' },
        seed: { type: 'string' },
        start: { type: 'string' },
        'fraud-rate': { type: 'string' },
        'optional-fields': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, errors: [(err as Error).message] };
  }
  const num = (s: string | boolean | undefined): number => (typeof s === 'string' && s.trim() !== '' ? Number(s) : Number.NaN);
  const given: { -readonly [K in keyof SimOptions]?: SimOptions[K] } = {};
  if (values.payers !== undefined) given.payers = num(values.payers);
  if (values.days !== undefined) given.days = num(values.days);
  if (values.seed !== undefined) given.seed = num(values.seed);
  if (typeof values.start === 'string') given.start = values.start;
  if (values['fraud-rate'] !== undefined) given.fraudRate = num(values['fraud-rate']);
  if (typeof values['optional-fields'] === 'string') given.optionalFields = values['optional-fields'] as OptionalFields;
  const r = resolveSimOptions(given);
  const errors = r.ok ? [] : r.problems.map((p) => `${FLAG_OF[p.option]}: ${p.message}`);
  if (values.out === '') errors.push('--out: must name a file');
  if (!r.ok || errors.length > 0) return { ok: false, errors };
  return { ok: true, options: r.options, out: typeof values.out === 'string' ? values.out : null, help: values.help === true };
}
