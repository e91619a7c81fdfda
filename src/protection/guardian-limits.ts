import { z } from 'zod';
import { isTimeZone } from '../features/time-zones.ts';
import { CURRENCY } from '../features/transfer-event.ts';
import { noNul } from '../http/no-nul.ts';

/**
 * Guardian-set limits of a minor's account (issue 6): per transfer and per local day, in one
 * currency, with the day boundary in the guardian's chosen time zone. Enforced by the score
 * script in the same atomic step as the velocity windows (src/store/lua/score-features.lua).
 */

const Limit = z
  .number()
  .positive('must be greater than 0')
  .max(1e12, 'must be at most 1e12')
  .refine((n) => Math.abs(Math.round(n * 1000) - n * 1000) < 1e-6, 'must have at most three decimals');

export const GuardianLimitsSchema = z
  .strictObject({
    currency: CURRENCY,
    timeZone: noNul(z.string().max(64)).refine(isTimeZone, { message: 'must be an IANA time zone such as Asia/Shanghai' }),
    perTransfer: Limit.optional(),
    daily: Limit.optional(),
  })
  .refine((l) => l.perTransfer !== undefined || l.daily !== undefined, {
    path: ['daily'],
    message: 'at least one of perTransfer and daily is required',
  })
  .refine((l) => l.perTransfer === undefined || l.daily === undefined || l.perTransfer <= l.daily, {
    path: ['perTransfer'],
    message: 'must not exceed daily',
  });

export type GuardianLimits = z.infer<typeof GuardianLimitsSchema>;

export interface GuardianLimitsView extends GuardianLimits {
  readonly accountId: string;
  /** spent on the current local day in the limits' time zone (transfers within the limits) */
  readonly spentToday: number;
  readonly today: string;
  readonly updatedAt: string;
  readonly updatedBy: string | null;
}
