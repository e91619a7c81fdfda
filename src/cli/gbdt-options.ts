import type { CliOptions } from './cli-args.ts';
import { intOption } from './cli-args.ts';
import { DEFAULT_GBDT_PARAMS, type GbdtParams } from '../train/gbdt.ts';

/**
 * The GBDT trainer's options, one spelling for `npm run train` and `npm run replay` (and one
 * set of bounds: the trainer's own, src/train/gbdt.ts checkParams, so a value the CLI takes is
 * one the trainer takes). `--min-child-weight` (hessian sum on each side of a split) and
 * `--min-child-samples` (rows on each side) are two different parameters; both CLIs take both.
 * Older spellings stay accepted as aliases so earlier commands keep working: `--early-stopping`
 * (train's) for `--early-stopping-rounds`.
 */

interface GbdtOption {
  readonly name: string;
  readonly key: keyof GbdtParams;
  readonly aliases?: readonly string[];
  /** integers: at least min (and at most max); numbers: min < or <= value <= max */
  readonly kind: 'int' | 'number';
  readonly min: number;
  readonly max?: number;
  /** numbers only: the value must be greater than min (not equal) */
  readonly exclusiveMin?: boolean;
  readonly meta: string;
}

/** In the order of the usage line; errors are reported in this order too. */
const SPEC: readonly GbdtOption[] = [
  { name: 'max-rounds', key: 'maxRounds', kind: 'int', min: 1, meta: 'N' },
  { name: 'max-depth', key: 'maxDepth', kind: 'int', min: 1, max: 30, meta: 'N' },
  { name: 'max-leaves', key: 'maxLeaves', kind: 'int', min: 2, meta: 'N' },
  { name: 'min-child-samples', key: 'minChildSamples', kind: 'int', min: 1, meta: 'N' },
  { name: 'early-stopping-rounds', key: 'earlyStoppingRounds', aliases: ['early-stopping'], kind: 'int', min: 0, meta: 'N' },
  { name: 'seed', key: 'seed', kind: 'int', min: 0, meta: 'N' },
  { name: 'learning-rate', key: 'learningRate', kind: 'number', min: 0, exclusiveMin: true, max: 1, meta: 'R' },
  { name: 'lambda', key: 'lambda', kind: 'number', min: 0, meta: 'R' },
  { name: 'min-child-weight', key: 'minChildWeight', kind: 'number', min: 0, meta: 'R' },
  { name: 'subsample', key: 'subsample', kind: 'number', min: 0, exclusiveMin: true, max: 1, meta: 'R' },
];

/** Every option name parseCliOptions must accept for the GBDT options, aliases included. */
export const GBDT_OPTION_NAMES: readonly string[] = SPEC.flatMap((o) => [o.name, ...(o.aliases ?? [])]);

/** The usage lines of the GBDT options, with each default, for a CLI's --help. */
export const GBDT_USAGE =
  SPEC.map((o) => `[--${o.name} ${o.meta} (${String(DEFAULT_GBDT_PARAMS[o.key])})]`)
    .reduce<string[]>((lines, item) => {
      const last = lines[lines.length - 1];
      if (last !== undefined && last.length + item.length < 90) lines[lines.length - 1] = `${last} ${item}`;
      else lines.push(item);
      return lines;
    }, [])
    .join('\n') +
  '\n' +
  SPEC.filter((o) => o.aliases !== undefined)
    .map((o) => `(${o.aliases!.map((a) => `--${a}`).join(', ')}: the same as --${o.name}, the older spelling)`)
    .join('\n') +
  '\n(--min-child-weight: hessian sum on each side of a split; --min-child-samples: rows on each side; two different limits)';

/**
 * The GBDT options given in `values` (absent ones are left out, so the trainer's defaults
 * apply); each bad one is added to `errors`, named as the user spelled it.
 */
export function gbdtOptions(values: CliOptions['strings'], errors: string[]): Partial<GbdtParams> {
  const params: Partial<Record<keyof GbdtParams, number>> = {};
  for (const o of SPEC) {
    const given = [o.name, ...(o.aliases ?? [])].filter((n) => values[n] !== undefined);
    if (given.length > 1) {
      errors.push(`give one of ${given.map((n) => `--${n}`).join(' and ')} (the same option)`);
      continue;
    }
    const name = given[0];
    if (name === undefined) continue;
    const raw = values[name]!;
    const n = Number(raw);
    if (o.kind === 'int') {
      const before = errors.length;
      intOption(values, name, DEFAULT_GBDT_PARAMS[o.key] as number, o.min, errors);
      if (errors.length > before) continue;
      if (o.max !== undefined && n > o.max) {
        errors.push(`--${name} must be at most ${o.max}, got "${raw}"`);
        continue;
      }
    } else {
      const ok = raw.trim() !== '' && Number.isFinite(n) && (o.exclusiveMin ? n > o.min : n >= o.min) && (o.max === undefined || n <= o.max);
      if (!ok) {
        const range = o.exclusiveMin ? `greater than ${o.min}` : `a number >= ${o.min}`;
        errors.push(`--${name} must be ${range}${o.max === undefined ? '' : ` and at most ${o.max}`}, got "${raw}"`);
        continue;
      }
    }
    params[o.key] = n;
  }
  return params as Partial<GbdtParams>;
}
