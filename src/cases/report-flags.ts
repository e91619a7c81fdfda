import type { Redis, Result } from 'ioredis';
import { createHash } from 'node:crypto';
import { SCRIPTS, type Keys } from '../store/keys.ts';
import { replyCode, replyInteger } from '../store/script-reply.ts';
import { REPORT_TIMES_CAP } from '../features/report-age.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpReportFlags(...args: (string | number)[]): Result<unknown, Context>;
  }
}

const SCRIPT = 'report-flags';

/** Decodes the report-flags script's reply: {1 recorded now | 0 already recorded, count, reporters, last ms or -1}. */
export function decodeReportFlagsReply(reply: unknown): { readonly recorded: boolean; readonly flags: PayeeReportFlags } {
  const recorded = replyCode(SCRIPT, reply, [0, 1] as const, 0) === 1;
  const last = replyInteger(SCRIPT, reply, 3);
  return { recorded, flags: { count: replyInteger(SCRIPT, reply, 1), reporters: replyInteger(SCRIPT, reply, 2), lastMs: last < 0 ? null : last } };
}

/** A payee's report flags as the next score reads them (features payee.report_count, ...). */
export interface PayeeReportFlags {
  readonly count: number;
  readonly reporters: number;
  /** ms of the latest report, null when none is remembered */
  readonly lastMs: number | null;
}

export interface ReportToApply {
  readonly caseId: string;
  readonly payeeId: string;
  /** '<reporter type>:<reporter id>' */
  readonly reporterKey: string;
  readonly reportedAtMs: number;
}

/**
 * Reporter ids can be personal (a relative's name or phone): Redis holds only a digest of them,
 * which is all that counting distinct reporters needs. The case library in SQL keeps the id.
 */
export function reporterDigest(reporterKey: string): string {
  return createHash('sha256').update(reporterKey).digest('base64url').slice(0, 22);
}

/**
 * Writes scam reports into the payee flags the score script reads (one atomic script per report,
 * src/store/lua/report-flags.lua). Idempotent per case id.
 */
export class ReportFlags {
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly ttlMs: number;
  private readonly timesCap: number;

  /** `timesCap`: the most report times kept per payee (the aged report features read them) */
  constructor(redis: Redis, keys: Keys, ttlDays: number, timesCap: number = REPORT_TIMES_CAP) {
    this.redis = redis;
    this.keys = keys;
    this.ttlMs = ttlDays * 86_400_000;
    this.timesCap = timesCap;
    if (typeof (redis as Partial<Redis>).cpReportFlags !== 'function') {
      redis.defineCommand('cpReportFlags', SCRIPTS.reportFlags);
    }
  }

  /** Records the report; `recorded` is false when this case was already counted. */
  async apply(r: ReportToApply): Promise<{ readonly recorded: boolean; readonly flags: PayeeReportFlags }> {
    const k = this.keys;
    const reply = await this.redis.cpReportFlags(
      k.accountReports(r.payeeId),
      k.accountReportCases(r.payeeId),
      k.accountReporters(r.payeeId),
      k.accountReportTimes(r.payeeId),
      r.caseId,
      reporterDigest(r.reporterKey),
      r.reportedAtMs,
      this.ttlMs,
      this.timesCap,
    );
    return decodeReportFlagsReply(reply);
  }

  async read(payeeId: string): Promise<PayeeReportFlags> {
    const [count, reporters, last] = await this.redis.hmget(this.keys.accountReports(payeeId), 'count', 'reporters', 'last');
    return { count: Number(count ?? 0), reporters: Number(reporters ?? 0), lastMs: last === null ? null : Number(last) };
  }
}
