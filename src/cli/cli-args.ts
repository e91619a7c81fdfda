import { parseArgs } from 'node:util';

/**
 * The shared front of the CLIs: parse strictly, print the usage for --help (exit 0) or for an
 * unknown option (exit 2, naming it), and read integer options into a list of problems so a
 * CLI can name every bad option at once.
 */

export interface CliOptions {
  /** string options as given; absent ones are undefined */
  readonly strings: Readonly<Record<string, string | undefined>>;
  /** boolean options that were given */
  readonly flags: ReadonlySet<string>;
}

export function parseCliOptions(
  argv: string[],
  spec: { readonly strings: readonly string[]; readonly flags?: readonly string[] },
  usage: string,
): CliOptions | { exitCode: number } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const n of spec.strings) options[n] = { type: 'string' };
  for (const n of spec.flags ?? []) options[n] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options }));
  } catch (err) {
    console.error((err as Error).message);
    console.error(usage);
    return { exitCode: 2 };
  }
  if (values.help === true) {
    console.log(usage);
    return { exitCode: 0 };
  }
  const strings: Record<string, string | undefined> = {};
  const flags = new Set<string>();
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'string') strings[k] = v;
    else if (v === true) flags.add(k);
  }
  return { strings, flags };
}

/** An integer option of at least `min` (default `def` when absent); a bad value is added to `errors`. */
export function intOption(strings: CliOptions['strings'], name: string, def: number, min: number, errors: string[]): number {
  const raw = strings[name];
  if (raw === undefined) return def;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) {
    errors.push(`--${name} must be ${min === 0 ? 'a non-negative integer' : `an integer >= ${min}`}, got "${raw}"`);
  }
  return n;
}

/** A positive integer option (default `def` when absent); a bad value throws, naming the option. */
export function positiveIntOption(strings: CliOptions['strings'], name: string, def: number): number {
  const raw = strings[name];
  const n = raw === undefined ? def : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${String(raw)}"`);
  return n;
}
