import type { Redis } from 'ioredis';
import { localDate } from '../features/time-zones.ts';
import { fromStoredAmount, toStoredAmount } from '../features/velocity-state.ts';
import type { Keys } from '../store/keys.ts';
import type { GuardianLimits, GuardianLimitsView } from './guardian-limits.ts';

/**
 * Guardian limits in Redis, in the hash the score script reads (`keys.accountGuardian`): the
 * limits are fields `tz`, `currency`, `perTx`, `daily` (thousandths), the script keeps the
 * spend per local day in `d:<date>` beside them. Setting limits keeps the day's spend, so a
 * guardian lowering a limit at noon counts the morning's payments.
 */
export class GuardianStore {
  private readonly redis: Redis;
  private readonly keys: Keys;

  constructor(redis: Redis, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
  }

  async set(accountId: string, limits: GuardianLimits, by: string | null, nowMs: number): Promise<void> {
    const key = this.keys.accountGuardian(accountId);
    const fields: (string | number)[] = ['tz', limits.timeZone, 'currency', limits.currency, 'updatedAt', nowMs, 'updatedBy', by ?? ''];
    if (limits.perTransfer !== undefined) fields.push('perTx', toStoredAmount(limits.perTransfer));
    if (limits.daily !== undefined) fields.push('daily', toStoredAmount(limits.daily));
    await this.redis.multi().hdel(key, 'perTx', 'daily').hset(key, ...fields).exec();
  }

  async get(accountId: string, nowMs: number): Promise<GuardianLimitsView | null> {
    const h = await this.redis.hgetall(this.keys.accountGuardian(accountId));
    const tz = h.tz;
    const currency = h.currency;
    if (tz === undefined || currency === undefined) return null;
    const today = localDate(nowMs, tz);
    const amount = (field: string | undefined): number | undefined => (field === undefined ? undefined : fromStoredAmount(Number(field)));
    return {
      accountId,
      currency,
      timeZone: tz,
      ...(h.perTx !== undefined ? { perTransfer: amount(h.perTx) } : {}),
      ...(h.daily !== undefined ? { daily: amount(h.daily) } : {}),
      today,
      spentToday: amount(h[`d:${today}`]) ?? 0,
      updatedAt: new Date(Number(h.updatedAt ?? 0)).toISOString(),
      updatedBy: h.updatedBy === undefined || h.updatedBy === '' ? null : h.updatedBy,
    };
  }

  /** @returns whether limits existed */
  async remove(accountId: string): Promise<boolean> {
    return (await this.redis.del(this.keys.accountGuardian(accountId))) === 1;
  }
}
