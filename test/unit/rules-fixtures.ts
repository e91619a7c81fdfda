/**
 * Shared helpers for the rule tests: feature vectors by name, and a seeded generator of
 * vectors that covers missing values everywhere the catalogue allows them.
 */
import { FEATURES, recordToVector, type FeatureSpec, type FeatureValue } from '../../src/features/catalogue.ts';
import type { CheckedExpr } from '../../src/rules/language/ast.ts';
import { checkExpression } from '../../src/rules/language/checker.ts';
import { parseExpression } from '../../src/rules/language/parser.ts';
import { mulberry32 } from '../../src/sim/random.ts';

/**
 * A feature vector by name: features not given are missing when the catalogue allows it,
 * otherwise 0, false or 'CNY'.
 */
export function vector(overrides: Readonly<Record<string, FeatureValue>> = {}): FeatureValue[] {
  const base: Record<string, FeatureValue> = {};
  for (const f of FEATURES) {
    base[f.name] = f.nullable ? null : f.type === 'number' ? 0 : f.type === 'boolean' ? false : 'CNY';
  }
  for (const name of Object.keys(overrides)) {
    if (!(name in base)) throw new Error(`test bug: no feature ${name}`);
  }
  return recordToVector({ ...base, ...overrides });
}

/** mulberry32: a small deterministic PRNG, so failures reproduce. */
export const prng = mulberry32;

const NUMBERS = [0, 0, 1, -1, 2, 3, 5, 7, 24, 40, 60, 120, 4_950, 5_000, 10_000, 49_500, 0.5, -0.25, 1e6];

function randomValue(f: FeatureSpec, rnd: () => number): FeatureValue {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  if (f.type === 'boolean') return rnd() < 0.5;
  if (f.type === 'string') return pick(f.values ?? (f.name === 'currency' ? ['CNY', 'USD'] : ['app', 'web', 'x']));
  return rnd() < 0.8 ? pick(NUMBERS) : Math.round((rnd() - 0.2) * 100_000) / 100;
}

/**
 * `count` random vectors (nullable features missing a quarter of the time), plus one with
 * every nullable feature missing and one with none missing.
 */
export function generatedVectors(count: number, seed = 42): FeatureValue[][] {
  const rnd = prng(seed);
  const out: FeatureValue[][] = [];
  for (let k = 0; k < count; k++) {
    out.push(FEATURES.map((f) => (f.nullable && rnd() < 0.25 ? null : randomValue(f, rnd))));
  }
  out.push(FEATURES.map((f) => (f.nullable ? null : randomValue(f, rnd))));
  out.push(FEATURES.map((f) => randomValue(f, rnd)));
  return out;
}

export function checked(src: string): CheckedExpr {
  const p = parseExpression(src);
  if (!p.ok) throw new Error(`${src}: ${JSON.stringify(p.errors)}`);
  const c = checkExpression(p.expr);
  if (!c.ok) throw new Error(`${src}: ${JSON.stringify(c.errors)}`);
  return c.expr;
}
