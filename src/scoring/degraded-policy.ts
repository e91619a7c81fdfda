import { ConfigError } from '../config-env.ts';
import { ACTIONS, isAction, type Action } from './actions.ts';

/**
 * What the engine answers when it cannot read the velocity state (Redis down, or slower than
 * the per-score deadline): a fail mode chosen in configuration per amount band, never an
 * accident (issue 9). Written `2000:allow,*:warn` — below 2,000 (major units, any currency)
 * allow, anything larger warn. Rules that need only the event still run and can raise it.
 */

export interface AmountBand {
  /** exclusive upper bound in major units; Infinity for the last band (`*`) */
  readonly below: number;
  readonly action: Action;
}

export function parseDegradedPolicy(text: string, variable = 'DEGRADED_FEATURES_POLICY'): readonly AmountBand[] {
  const bands: AmountBand[] = [];
  const parts = text.split(',').map((p) => p.trim());
  for (const [i, part] of parts.entries()) {
    const m = /^([0-9]+(?:\.[0-9]+)?|\*):([a-z_]+)$/.exec(part);
    if (m === null) throw new ConfigError(`${variable}: "${part}" is not <amount>:<action> or *:<action>`);
    const [, bound, action] = m as unknown as [string, string, string];
    if (!isAction(action)) throw new ConfigError(`${variable}: "${action}" is not one of ${ACTIONS.join(', ')}`);
    const below = bound === '*' ? Infinity : Number(bound);
    if (bound === '*' && i !== parts.length - 1) throw new ConfigError(`${variable}: *:<action> must come last`);
    const prev = bands[bands.length - 1];
    if (prev !== undefined && below <= prev.below) throw new ConfigError(`${variable}: amounts must increase (${part})`);
    bands.push({ below, action });
  }
  if (bands[bands.length - 1]?.below !== Infinity) throw new ConfigError(`${variable}: must end with *:<action> for the largest amounts`);
  return Object.freeze(bands);
}

export function degradedAction(amount: number, bands: readonly AmountBand[]): Action {
  for (const b of bands) if (amount < b.below) return b.action;
  throw new Error('degraded policy without a final * band');
}
