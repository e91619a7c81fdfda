/** The four answers the engine gives, in increasing severity (DESIGN §1). */
export const ACTIONS = ['allow', 'warn', 'cool_off', 'block'] as const;
export type Action = (typeof ACTIONS)[number];

const SEVERITY: Readonly<Record<Action, number>> = { allow: 0, warn: 1, cool_off: 2, block: 3 };

export function severity(a: Action): number {
  return SEVERITY[a];
}

/** The more severe of two actions. */
export function maxAction(a: Action, b: Action): Action {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

export function isAction(s: unknown): s is Action {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SEVERITY, s);
}
