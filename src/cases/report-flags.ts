import type { Redis, Result } from 'ioredis';
import { createHash } from 'node:crypto';
import { SCRIPTS, type Keys } from '../store/keys.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpReportFlags(...args: (string | number)[]): Result<number[], Context>;
  }
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

  constructor(redis: Redis, keys: Keys, ttlDays: number) {
    this.redis = redis;
    this.keys = keys;
    this.ttlMs = ttlDays * 86_400_000;
    if (typeof (redis as Partial<Redis>).cpReportFlags !== 'function') {
      redis.defineCommand('cpReportFlags', SCRIPTS.reportFlags);
    }
  }

  /** Records the report; `recorded` is false when this case was already counted. */
  async apply(r: ReportToApply): Promise<{ readonly recorded: boolean; readonly flags: PayeeReportFlags }> {
    const k = this.keys;
    const [recorded, count, reporters, last] = await this.redis.cpReportFlags(
      k.accountReports(r.payeeId),
      k.accountReportCases(r.payeeId),
      k.accountReporters(r.payeeId),
      r.caseId,
      reporterDigest(r.reporterKey),
      r.reportedAtMs,
      this.ttlMs,
    );
    return { recorded: recorded === 1, flags: { count: count ?? 0, reporters: reporters ?? 0, lastMs: last === undefined || last < 0 ? null : last } };
  }

  async read(payeeId: string): Promise<PayeeReportFlags> {
    const [count, reporters, last] = await this.redis.hmget(this.keys.accountReports(payeeId), 'count', 'reporters', 'last');
    return { count: Number(count ?? 0), reporters: Number(reporters ?? 0), lastMs: last === null ? null : Number(last) };
  }
}
