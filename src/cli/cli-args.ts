import { parseArgs } from 'node:util';

/**
 * The shared front of the CLIs whose options are all strings: parse strictly, print the usage
 * for --help (exit 0) or for a bad option (exit 2, naming it).
 */

export type CliValues = Readonly<Record<string, string | boolean | undefined>>;

export function parseStringOptions(argv: string[], names: readonly string[], usage: string): { values: CliValues } | { exitCode: number } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const n of names) options[n] = { type: 'string' };
  let values: CliValues;
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
  return { values };
}
