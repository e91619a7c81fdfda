import { randomUUID } from 'node:crypto';
import { CalmpayError, validationError, type FieldProblem } from '../errors.ts';
import { runAnalysis, type AnalysisQuery, type AnalysisReport } from './case-analysis.ts';
import { CaseRepository, decodeCursor, encodeCursor, reporterKey } from './case-repository.ts';
import type { Case, CaseListQuery, CaseReport } from './case-schema.ts';
import type { ReportFlags } from './report-flags.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';

/**
 * Reporting a scam (issue 5). The case library in SQL is the record; the payee's report flags in
 * Redis are its hot copy that the next score reads.
 *
 * Order and recovery: the case is committed first with `flags_applied = false`, then the flags
 * script runs (idempotent per case id), then the row is marked applied. If Redis fails in
 * between, the report still succeeds (`flagsApplied: false` in the answer) and the case is
 * re-applied at the next start and after the next report that reaches Redis; re-applying a case
 * that did reach Redis counts nothing twice. A duplicate report changes nothing anywhere (it
 * only retries the flags of the case it duplicates when those are still pending).
 */

type LogFn = (obj: object, msg: string) => void;
export interface CaseLog {
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/** Called once per new case after it is committed (e.g. to escalate cooling-off transfers). */
export type ReportListener = (payeeId: string, caseId: string) => Promise<void> | void;

export interface CaseServiceDeps {
  readonly sql: SqlStore;
  readonly flags: ReportFlags;
  /** ms since the epoch */
  readonly clock: () => number;
  /** a reportedAt further ahead of the clock than this is rejected */
  readonly maxFutureSkewSeconds: number;
  readonly log: CaseLog;
  readonly onReported?: ReportListener;
}

export interface ReportResult {
  readonly duplicate: boolean;
  readonly case: Case;
}

export interface CaseList {
  readonly items: readonly Case[];
  readonly nextCursor: string | null;
}

/** Connection-level failures are "unavailable" (503); anything else is a bug (500). */
export function isSqlUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^(08|57P)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code))) {
    return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|PGlite is closed/i.test(message);
}

function unavailable(err: unknown): never {
  if (isSqlUnavailable(err)) {
    throw new CalmpayError('CALMPAY_ERR_SQL_UNAVAILABLE', `The SQL store failed: ${(err as Error).message}`);
  }
  throw err;
}

const REAPPLY_BATCH = 200;

export class CaseService {
  private readonly deps: CaseServiceDeps;
  private readonly repo: CaseRepository;
  private reapplying: Promise<void> | null = null;

  constructor(deps: CaseServiceDeps) {
    this.deps = deps;
    this.repo = new CaseRepository(deps.sql);
  }

  async report(r: CaseReport): Promise<ReportResult> {
    const now = this.deps.clock();
    const reportedAtMs = r.reportedAt === undefined ? now : Date.parse(r.reportedAt);
    const scamAtMs = Date.parse(r.scamAt);
    const skewMs = this.deps.maxFutureSkewSeconds * 1000;
    const problems: FieldProblem[] = [];
    if (scamAtMs > now + skewMs) problems.push({ field: 'scamAt', message: `is in the future (server time ${new Date(now).toISOString()})` });
    if (reportedAtMs > now + skewMs) problems.push({ field: 'reportedAt', message: `is in the future (server time ${new Date(now).toISOString()})` });
    if (r.reportedAt === undefined && scamAtMs > now) problems.push({ field: 'scamAt', message: 'must not be after reportedAt (the time of this request)' });
    if (problems.length > 0) throw validationError(problems);

    const outcome = await this.repo
      .insert({
        caseId: `case-${randomUUID()}`,
        reporterType: r.reporter.type,
        reporterId: r.reporter.id ?? r.payer.accountId,
        payerId: r.payer.accountId,
        payeeId: r.payee.accountId,
        payeeName: r.payee.name ?? null,
        transferIds: r.transferIds,
        amountLost: r.amountLost,
        currency: r.currency,
        scamType: r.scamType,
        channel: r.channel ?? null,
        narrative: r.narrative ?? null,
        scamAtMs,
        reportedAtMs,
        receivedAtMs: now,
      })
      .catch(unavailable);

    if (outcome.kind === 'conflict') throw new CalmpayError('CALMPAY_ERR_CASE_CONFLICT', undefined, outcome.problems);
    if (outcome.kind === 'duplicate') {
      const c = outcome.case.flagsApplied ? outcome.case : await this.applyFlags(outcome.case);
      return { duplicate: true, case: c };
    }
    const c = await this.applyFlags(outcome.case);
    if (c.flagsApplied) this.reapplyPendingInBackground();
    await this.notify(c);
    return { duplicate: false, case: c };
  }

  async list(q: CaseListQuery): Promise<CaseList> {
    const { cursor, ...filters } = q;
    const after = cursor === undefined ? null : decodeCursor(cursor);
    if (cursor !== undefined && after === null) {
      throw validationError([{ field: 'cursor', message: 'is not a cursor returned by this API (use nextCursor as it is)' }]);
    }
    const page = await this.repo.list(filters, after).catch(unavailable);
    return { items: page.items, nextCursor: page.next === null ? null : encodeCursor(page.next) };
  }

  /** The feature analysis of a window of decisions (src/cases/feature-analysis.ts). */
  async analyse(q: AnalysisQuery): Promise<AnalysisReport> {
    if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) >= Date.parse(q.to)) {
      throw validationError([{ field: 'from', message: 'must be before to' }]);
    }
    return runAnalysis(this.deps.sql, q, this.deps.clock()).catch(unavailable);
  }

  async get(caseId: string): Promise<Case | null> {
    return this.repo.get(caseId).catch(unavailable);
  }

  /**
   * Applies the flags of every case not yet known to be in Redis (at start, and after a report
   * that reached Redis). Stops at the first Redis failure: the rest stays pending.
   */
  async reapplyPendingFlags(): Promise<{ readonly applied: number; readonly pending: number }> {
    let applied = 0;
    for (;;) {
      const batch = await this.repo.pendingFlags(REAPPLY_BATCH);
      for (const c of batch) {
        const after = await this.applyFlags(c);
        if (!after.flagsApplied) return { applied, pending: batch.length - batch.indexOf(c) };
        applied++;
      }
      if (batch.length < REAPPLY_BATCH) return { applied, pending: 0 };
    }
  }

  /** Resolves once a background re-apply has finished. */
  async drain(): Promise<void> {
    while (this.reapplying !== null) await this.reapplying;
  }

  /** Starts re-applying pending flags unless that is already running (see drain()). */
  reapplyPendingInBackground(): void {
    if (this.reapplying !== null) return;
    this.reapplying = this.reapplyPendingFlags()
      .then(({ applied }) => {
        if (applied > 0) this.deps.log.info({ applied }, 'case library: re-applied pending report flags');
      })
      .catch((err: unknown) => this.deps.log.error({ err }, 'case library: re-applying report flags failed'))
      .finally(() => {
        this.reapplying = null;
      });
  }

  /** The case with flagsApplied as it now is; a Redis failure is logged and leaves it pending. */
  private async applyFlags(c: Case): Promise<Case> {
    try {
      await this.deps.flags.apply({
        caseId: c.caseId,
        payeeId: c.payee.accountId,
        reporterKey: reporterKey(c.reporter.type, c.reporter.id),
        reportedAtMs: Date.parse(c.reportedAt),
      });
    } catch (err) {
      this.deps.log.error({ err, caseId: c.caseId }, 'case library: writing the payee report flags to Redis failed; the case stays pending');
      return c;
    }
    try {
      await this.repo.markFlagsApplied(c.caseId);
    } catch (err) {
      // the flags are in Redis; the case is re-applied later, which counts nothing twice
      this.deps.log.error({ err, caseId: c.caseId }, 'case library: marking the report flags applied failed');
      return c;
    }
    return { ...c, flagsApplied: true };
  }

  private async notify(c: Case): Promise<void> {
    if (this.deps.onReported === undefined) return;
    try {
      await this.deps.onReported(c.payee.accountId, c.caseId);
    } catch (err) {
      this.deps.log.error({ err, caseId: c.caseId }, 'case library: a report listener failed');
    }
  }
}
