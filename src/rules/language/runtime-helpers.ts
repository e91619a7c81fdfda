/**
 * The only functions compiled rule code can call. They are handed to the generated code as
 * parameters (never looked up on a global), and implement the missing-value semantics of
 * interpreter.ts for operands that may be missing. Operands known not to be missing use
 * plain JS operators instead (see compiler.ts).
 */

type N = number | null;
type B = boolean | null;
type V = number | boolean | string | null;

export const RUNTIME_HELPERS = Object.freeze({
  and3: (a: B, b: B): B => (a === false || b === false ? false : a === null || b === null ? null : true),
  or3: (a: B, b: B): B => (a === true || b === true ? true : a === null || b === null ? null : false),
  not3: (a: B): B => (a === null ? null : !a),
  neg: (a: N): N => (a === null ? null : -a),
  add: (a: N, b: N): N => (a === null || b === null ? null : a + b),
  sub: (a: N, b: N): N => (a === null || b === null ? null : a - b),
  mul: (a: N, b: N): N => (a === null || b === null ? null : a * b),
  div: (a: N, b: N): N => (a === null || b === null || b === 0 ? null : a / b),
  mod: (a: N, b: N): N => (a === null || b === null || b === 0 ? null : a % b),
  eq: (a: V, b: V): B => (a === null || b === null ? null : a === b),
  ne: (a: V, b: V): B => (a === null || b === null ? null : a !== b),
  lt: (a: N, b: N): B => (a === null || b === null ? null : a < b),
  le: (a: N, b: N): B => (a === null || b === null ? null : a <= b),
  gt: (a: N, b: N): B => (a === null || b === null ? null : a > b),
  ge: (a: N, b: N): B => (a === null || b === null ? null : a >= b),
  btw: (x: N, lo: N, hi: N): B => (x === null || lo === null || hi === null ? null : lo <= x && x <= hi),
  inSet: (x: V, s: ReadonlySet<V>): B => (x === null ? null : s.has(x)),
  notInSet: (x: V, s: ReadonlySet<V>): B => (x === null ? null : !s.has(x)),
  min2: (a: N, b: N): N => (a === null || b === null ? null : Math.min(a, b)),
  max2: (a: N, b: N): N => (a === null || b === null ? null : Math.max(a, b)),
  abs1: (a: N): N => (a === null ? null : Math.abs(a)),
  coal: (a: V, b: V): V => (a === null ? b : a),
  // for operands that cannot be missing
  mmin: Math.min,
  mmax: Math.max,
  mabs: Math.abs,
});

export type HelperName = keyof typeof RUNTIME_HELPERS;

export const HELPER_NAMES = Object.freeze(Object.keys(RUNTIME_HELPERS) as HelperName[]);
