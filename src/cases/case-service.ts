import { randomUUID } from 'node:crypto';
import { CalmpayError, validationError, type FieldProblem } from '../errors.ts';
import { runAnalysis, type AnalysisQuery, type AnalysisReport } from './case-analysis.ts';
import { CaseRepository, decodeCursor, encodeCursor, reporterKey } from './case-repository.ts';
import type { Case, CaseListQuery, CaseReport } from './case-schema.ts';
import type { ReportFlags } from './report-flags.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';
import { sqlFailure } from '../store/store-failures.ts';

/**
 * Reporting a scam (issue 5). The case library in SQL is the record; the payee's report flags in
 * Redis are its hot copy that the next score reads.
 *
 * Order and recovery: the case is committed first with `flags_applied = false`, then the flags
 * script runs (idempotent per case id), then the row is marked applied. If Redis fails in
 * between, the report still succeeds (`flagsApplied: false` in the answer) and the case is
 * re-applied (issue 19): as soon as the Redis connection is ready again (the app calls
 * reapplyPendingInBackground() on ioredis 'ready'), on a retry timer with backoff while any
 * case is pending (a 'ready' can come while the script still fails, e.g. a loading replica),
 * at the next start, and after the next report that reaches Redis. Re-applying a case that did
 * reach Redis counts nothing twice; a re-applied case is announced to the listeners again, so
 * the payee's cooling-off holds are escalated then (escalation is idempotent). Until it is
 * applied, the end of a hold to its payee asks unappliedReports() and holds for review instead
 * of releasing (src/cooling/recheck.ts). A duplicate report changes nothing anywhere (it only
 * retries the flags of the case it duplicates when those are still pending).
 *
 * What a report must prove (issue 19): every reported transfer is in the decision history as
 * paid by this payer to this payee. A contradiction is a 422 (CALMPAY_ERR_CASE_TRANSFER_MISMATCH)
 * and nothing is written. A transfer that is not in the history is refused as well (422
 * CALMPAY_ERR_CASE_TRANSFER_UNKNOWN: a typo, a transfer this engine never scored, or one scored
 * moments ago that the decision sink has not copied yet, which a retry fixes), unless the scam
 * is older than the history keeps decisions (scamAt before now - DECISION_RETENTION_DAYS): the
 * history can then neither prove nor disprove it, and such a transfer cannot become a training
 * label (the export labels decisions in the history, and only from cases of the same payer and
 * payee), so the report is kept for its payee flags.
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
  /** DECISION_RETENTION_DAYS: how far back the decision history can prove a reported transfer */
  readonly historyRetentionDays: number;
  /** the retry of pending flags: first delay, doubled after each failed round up to maxMs */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

export interface ReportResult {
  readonly duplicate: boolean;
  readonly case: Case;
}

export interface CaseList {
  readonly items: readonly Case[];
  readonly nextCursor: string | null;
}

const REAPPLY_BATCH = 200;
const DAY_MS = 86_400_000;
/** the default retry of pending flags: 250 ms, doubled after each failed round up to 15 s */
const DEFAULT_RETRY = { firstMs: 250, maxMs: 15_000 };

function unprovenError(mismatch: readonly FieldProblem[], unknown: readonly FieldProblem[]): CalmpayError {
  const index = (p: FieldProblem): number => Number(p.field.slice(p.field.indexOf('.') + 1));
  const problems = [...mismatch, ...unknown].sort((a, b) => index(a) - index(b));
  if (mismatch.length > 0) {
    return new CalmpayError(
      'CALMPAY_ERR_CASE_TRANSFER_MISMATCH',
      `The reported transfers do not match the decision history: ${mismatch.map((p) => p.message).join('; ')}`,
      problems,
    );
  }
  return new CalmpayError(
    'CALMPAY_ERR_CASE_TRANSFER_UNKNOWN',
    `The reported transfers are not in the decision history: ${unknown.map((p) => p.field).join(', ')}`,
    problems,
  );
}

export class CaseService {
  private readonly deps: CaseServiceDeps;
  private readonly repo: CaseRepository;
  private reapplying: Promise<void> | null = null;
  /** a re-apply was asked for while one ran: run another when it ends */
  private again = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs: number;
  private closed = false;

  constructor(deps: CaseServiceDeps) {
    this.deps = deps;
    this.repo = new CaseRepository(deps.sql);
    this.retryDelayMs = (deps.retry ?? DEFAULT_RETRY).firstMs;
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
        acceptUnknownTransfers: scamAtMs < now - this.deps.historyRetentionDays * DAY_MS,
      })
      .catch(sqlFailure);

    if (outcome.kind === 'conflict') throw new CalmpayError('CALMPAY_ERR_CASE_CONFLICT', undefined, outcome.problems);
    if (outcome.kind === 'unproven') throw unprovenError(outcome.mismatch, outcome.unknown);
    if (outcome.kind === 'duplicate') {
      const c = outcome.case.flagsApplied ? outcome.case : await this.applyFlags(outcome.case);
      if (!c.flagsApplied) this.scheduleRetry();
      return { duplicate: true, case: c };
    }
    const c = await this.applyFlags(outcome.case);
    if (c.flagsApplied) this.reapplyPendingInBackground();
    else this.scheduleRetry();
    await this.notify(c);
    return { duplicate: false, case: c };
  }

  async list(q: CaseListQuery): Promise<CaseList> {
    const { cursor, ...filters } = q;
    const after = cursor === undefined ? null : decodeCursor(cursor);
    if (cursor !== undefined && after === null) {
      throw validationError([{ field: 'cursor', message: 'is not a cursor returned by this API (use nextCursor as it is)' }]);
    }
    const page = await this.repo.list(filters, after).catch(sqlFailure);
    return { items: page.items, nextCursor: page.next === null ? null : encodeCursor(page.next) };
  }

  /** The feature analysis of a window of decisions (src/cases/feature-analysis.ts). */
  async analyse(q: AnalysisQuery): Promise<AnalysisReport> {
    if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) >= Date.parse(q.to)) {
      throw validationError([{ field: 'from', message: 'must be before to' }]);
    }
    return runAnalysis(this.deps.sql, q, this.deps.clock()).catch(sqlFailure);
  }

  async get(caseId: string): Promise<Case | null> {
    return this.repo.get(caseId).catch(sqlFailure);
  }

  /**
   * Ids of the cases naming this payee whose flags are not yet in Redis: reports the payee's
   * flags, and so a hold's re-check by them, do not show yet. A SQL failure is a CalmpayError
   * (503), never an empty list.
   */
  async unappliedReports(payeeId: string): Promise<string[]> {
    return this.repo.unappliedOf(payeeId).catch(sqlFailure);
  }

  /**
   * Applies the flags of every case not yet known to be in Redis, and announces each one applied
   * to the listeners (its payee's holds are escalated now rather than at their end). Stops at
   * the first Redis failure: the rest stays pending.
   */
  async reapplyPendingFlags(): Promise<{ readonly applied: number; readonly pending: number }> {
    let applied = 0;
    for (;;) {
      const batch = await this.repo.pendingFlags(REAPPLY_BATCH);
      for (const c of batch) {
        const after = await this.applyFlags(c);
        if (!after.flagsApplied) return { applied, pending: batch.length - batch.indexOf(c) };
        applied++;
        await this.notify(after);
      }
      if (batch.length < REAPPLY_BATCH) return { applied, pending: 0 };
    }
  }

  /** Resolves once a background re-apply has finished. */
  async drain(): Promise<void> {
    while (this.reapplying !== null) await this.reapplying;
  }

  /** Stops the retry timer and waits for a re-apply in progress; nothing is retried after. */
  async close(): Promise<void> {
    this.closed = true;
    this.resetRetry();
    await this.drain();
  }

  /**
   * Starts re-applying pending flags; when one is already running, another runs after it (a
   * Redis 'ready' during a round that is failing must not be lost). A round that leaves cases
   * pending, or fails, schedules the next one with backoff; one that applies everything resets
   * the backoff.
   */
  reapplyPendingInBackground(): void {
    if (this.closed) return;
    if (this.reapplying !== null) {
      this.again = true;
      return;
    }
    this.again = false;
    this.reapplying = this.reapplyPendingFlags()
      .then(({ applied, pending }) => {
        if (applied > 0) this.deps.log.info({ applied }, 'case library: re-applied pending report flags');
        return pending === 0;
      })
      .catch((err: unknown) => {
        this.deps.log.error({ err }, 'case library: re-applying report flags failed');
        return false;
      })
      .then((done) => {
        this.reapplying = null;
        if (this.again) this.reapplyPendingInBackground();
        else if (done) this.resetRetry();
        else this.scheduleRetry();
      });
  }

  /** Nothing is pending: no retry scheduled, and the next failure starts from the first delay. */
  private resetRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryDelayMs = (this.deps.retry ?? DEFAULT_RETRY).firstMs;
  }

  /** Runs reapplyPendingInBackground() after the current backoff delay (once; none after close()). */
  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, (this.deps.retry ?? DEFAULT_RETRY).maxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reapplyPendingInBackground();
    }, delay);
    // a CLI that reports and exits is not kept alive by a retry
    this.retryTimer.unref();
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
