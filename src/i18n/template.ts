/**
 * The placeholders of translated copy: `{name}`, name a word, filled with plain strings. A
 * value is inserted as it is, never scanned for placeholders itself (a contact named "{x}"
 * stays "{x}"). Templates are compiled once and kept: they come from the copy tables, a fixed
 * set, never from input.
 */

const PLACEHOLDER = /\{(\w+)\}/g;

/** The placeholder names of a template, in order of appearance. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** literal, name, literal, name, ..., literal */
type Compiled = readonly string[];

const compiled = new Map<string, Compiled>();

function compile(template: string): Compiled {
  let parts = compiled.get(template);
  if (parts === undefined) {
    parts = template.split(PLACEHOLDER);
    compiled.set(template, parts);
  }
  return parts;
}

/** The template with every placeholder replaced; a placeholder without a value is a bug and throws. */
export function fill(template: string, vars: Readonly<Record<string, string>>): string {
  const parts = compile(template);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const value = vars[parts[i]!];
    if (value === undefined) throw new Error(`unknown placeholder {${parts[i]!}} in "${template}"`);
    out += value + parts[i + 1]!;
  }
  return out;
}
