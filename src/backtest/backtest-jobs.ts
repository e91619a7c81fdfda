import { randomUUID } from 'node:crypto';
import type { SqlStore } from '../store/sql/sql-store.ts';
import type { RuleSet } from '../rules/language/rule-set.ts';
import { backtest, type BacktestReport } from './backtest-report.ts';
import type { CandidateModel } from './candidate-model.ts';
import { decisionPages } from './decision-pages.ts';
import type { ReplayPolicy } from './replay-decision.ts';
import type { FlagPolicy } from '../rules/performance/rule-performance.ts';

/**
 * Backtests as background jobs (IO). A job runs on the node that accepted it, one job at a time
 * per node (later ones wait, state `queued`), so a node never spends more than one core's share
 * on backtests beside scoring. State, progress and the report live in the `backtest_jobs` table
 * (migration 004), so any node answers GET /v1/rules/backtest/:id and a finished report survives
 * restarts. A node heartbeats its jobs with their progress; a queued or running job not heard
 * of for `staleAfterMs` is reported as failed (its node stopped). Closing the node stops its
 * jobs between pages and marks them failed.
 *
 * A node takes at most `maxJobs` jobs queued or running at once (BACKTEST_MAX_JOBS): each one
 * holds its rule sets (and a candidate model's session) in memory until it has run, so an
 * unbounded queue is unbounded memory and work. A job beyond it is refused before anything is
 * written (BacktestsBusyError, a 429). A queued or running job cannot be cancelled: it ends
 * when it has run, or fails when its node closes.
 */

export type BacktestJobState = 'queued' | 'running' | 'done' | 'failed';

export interface BacktestJobRequest {
  readonly from: string;
  readonly to: string;
  readonly activeVersion: string;
  readonly candidateVersion: string;
  readonly candidateRules: number;
  readonly model: string | null;
}

export interface BacktestJobView {
  readonly id: string;
  readonly state: BacktestJobState;
  readonly request: BacktestJobRequest;
  readonly requestedBy: string | null;
  readonly progress: { readonly rowsDone: number; readonly rowsTotal: number };
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly result: BacktestReport | null;
  readonly error: string | null;
}

export interface BacktestJobSpec {
  readonly active: RuleSet;
  readonly candidate: RuleSet;
  /** loaded and checked by the caller; closed by the job when it ends */
  readonly model?: CandidateModel;
  readonly window: { readonly fromMs: number; readonly toMs: number };
  readonly requestedBy: string | null;
}

export interface BacktestJobsDeps {
  readonly sql: SqlStore;
  readonly policy: ReplayPolicy;
  /** the intervention budget the reports' rule performance flags against (default: issue 16's defaults) */
  readonly flags?: FlagPolicy;
  readonly clock: () => number;
  readonly log: { error(obj: object, msg: string): void };
  /** progress is written at most this often (default 1000 ms) */
  readonly progressEveryMs?: number;
  /** a queued or running job silent for this long is reported failed (default 60 s) */
  readonly staleAfterMs?: number;
  /** decisions per page (default BACKTEST_PAGE_SIZE) */
  readonly pageSize?: number;
  /** jobs queued or running on this node at once (default DEFAULT_MAX_JOBS); start() beyond it throws BacktestsBusyError */
  readonly maxJobs?: number;
}

/** BACKTEST_MAX_JOBS's default (src/backtest/backtest-config.ts). */
export const DEFAULT_MAX_JOBS = 4;

/** start() found this node's queue full: nothing was recorded. */
export class BacktestsBusyError extends Error {
  override name = 'BacktestsBusyError';
  constructor(readonly maxJobs: number) {
    super(`${maxJobs} backtest job(s) are already queued or running on this node, the most it takes at once (BACKTEST_MAX_JOBS); retry when one has finished`);
  }
}

interface JobRow {
  job_id: string;
  state: BacktestJobState;
  requested_by: string | null;
  request: BacktestJobRequest;
  rows_done: number;
  rows_total: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  result: BacktestReport | null;
  error: string | null;
}

/** A job id as GET takes it (anything else is not a job of ours: 404 without a query). */
export const JOB_ID = /^bt-[0-9a-f-]{36}$/;

const KEEP_DAYS = 30;

export class BacktestJobs {
  private tail: Promise<void> = Promise.resolve();
  /** ids of this node's jobs not finished yet (heartbeated with the running one's progress) */
  private readonly pending = new Set<string>();
  private readonly abort = new AbortController();
  private readonly progressEveryMs: number;
  private readonly staleAfterMs: number;
  readonly maxJobs: number;

  constructor(private readonly deps: BacktestJobsDeps) {
    this.progressEveryMs = deps.progressEveryMs ?? 1_000;
    this.staleAfterMs = deps.staleAfterMs ?? 60_000;
    this.maxJobs = deps.maxJobs ?? DEFAULT_MAX_JOBS;
  }

  /** True when start() would refuse a job now (the route asks before it opens a candidate model). */
  get full(): boolean {
    return this.pending.size >= this.maxJobs;
  }

  /**
   * Records the job as queued and schedules it; resolves once it is recorded. Throws
   * BacktestsBusyError, writing nothing, when `maxJobs` jobs are queued or running here.
   */
  async start(spec: BacktestJobSpec): Promise<BacktestJobView> {
    // the slot is taken before the first await, so concurrent requests cannot all pass the check
    if (this.full) throw new BacktestsBusyError(this.maxJobs);
    const id = `bt-${randomUUID()}`;
    this.pending.add(id);
    try {
      return await this.record(id, spec);
    } catch (err) {
      this.pending.delete(id);
      throw err;
    }
  }

  private async record(id: string, spec: BacktestJobSpec): Promise<BacktestJobView> {
    const now = new Date(this.deps.clock());
    const request: BacktestJobRequest = {
      from: new Date(spec.window.fromMs).toISOString(),
      to: new Date(spec.window.toMs).toISOString(),
      activeVersion: spec.active.version,
      candidateVersion: spec.candidate.version,
      candidateRules: spec.candidate.rules.length,
      model: spec.model === undefined ? null : `${spec.model.name} ${spec.model.version}`,
    };
    await this.deps.sql.query(`DELETE FROM backtest_jobs WHERE created_at < $1`, [new Date(now.getTime() - KEEP_DAYS * 86_400_000)]);
    await this.deps.sql.query(
      `INSERT INTO backtest_jobs (job_id, state, requested_by, request, created_at, updated_at) VALUES ($1, 'queued', $2, $3::jsonb, $4, $4)`,
      [id, spec.requestedBy, JSON.stringify(request), now],
    );
    this.tail = this.tail.then(() => this.run(id, spec));
    return {
      id,
      state: 'queued',
      request,
      requestedBy: spec.requestedBy,
      progress: { rowsDone: 0, rowsTotal: 0 },
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      finishedAt: null,
      result: null,
      error: null,
    };
  }

  async get(id: string): Promise<BacktestJobView | null> {
    if (!JOB_ID.test(id)) return null;
    const { rows } = await this.deps.sql.query<JobRow>(
      `SELECT job_id, state, requested_by, request, rows_done, rows_total, created_at, updated_at, finished_at, result, error
         FROM backtest_jobs WHERE job_id = $1`,
      [id],
    );
    const r = rows[0];
    if (r === undefined) return null;
    const silentMs = this.deps.clock() - r.updated_at.getTime();
    const stale = (r.state === 'queued' || r.state === 'running') && !this.pending.has(id) && silentMs > this.staleAfterMs;
    return {
      id: r.job_id,
      state: stale ? 'failed' : r.state,
      request: r.request,
      requestedBy: r.requested_by,
      progress: { rowsDone: r.rows_done, rowsTotal: r.rows_total },
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      result: r.result,
      error: stale ? `no progress for ${Math.round(silentMs / 1000)} s: the node running the job stopped; start it again` : r.error,
    };
  }

  /** Waits for this node's queue (tests, shutdown). */
  async idle(): Promise<void> {
    await this.tail;
  }

  /** Stops this node's jobs between pages; they end as failed. */
  async close(): Promise<void> {
    this.abort.abort(new Error('the node stopped while the job ran; start it again'));
    await this.tail;
  }

  private async run(id: string, spec: BacktestJobSpec): Promise<void> {
    const { sql, clock } = this.deps;
    try {
      this.abort.signal.throwIfAborted();
      await sql.query(`UPDATE backtest_jobs SET state = 'running', updated_at = $2 WHERE job_id = $1`, [id, new Date(clock())]);
      let lastWrite = -Infinity;
      const report = await backtest({
        source: decisionPages(sql, spec.window, this.deps.pageSize),
        window: spec.window,
        active: spec.active,
        candidate: spec.candidate,
        policy: this.deps.policy,
        ...(this.deps.flags === undefined ? {} : { flags: this.deps.flags }),
        ...(spec.model === undefined ? {} : { model: spec.model }),
        signal: this.abort.signal,
        onProgress: async (p) => {
          const now = clock();
          if (now - lastWrite < this.progressEveryMs && p.rowsDone < p.rowsTotal) return;
          lastWrite = now;
          await sql.query(`UPDATE backtest_jobs SET rows_done = $2, rows_total = $3, updated_at = $4 WHERE job_id = $1`, [
            id,
            p.rowsDone,
            p.rowsTotal,
            new Date(now),
          ]);
          const waiting = [...this.pending].filter((x) => x !== id);
          if (waiting.length > 0) await sql.query(`UPDATE backtest_jobs SET updated_at = $2 WHERE job_id = ANY($1::text[])`, [waiting, new Date(now)]);
        },
      });
      const now = new Date(clock());
      const done = report.replayed + report.skippedMalformed;
      await sql.query(
        `UPDATE backtest_jobs SET state = 'done', rows_done = $2, rows_total = $2, result = $3::jsonb, updated_at = $4, finished_at = $4 WHERE job_id = $1`,
        [id, done, JSON.stringify(report), now],
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const now = new Date(clock());
      await sql
        .query(`UPDATE backtest_jobs SET state = 'failed', error = $2, updated_at = $3, finished_at = $3 WHERE job_id = $1`, [id, message, now])
        .catch((e: Error) => this.deps.log.error({ err: e, jobId: id }, 'recording a failed backtest job failed'));
      if (!this.abort.signal.aborted) this.deps.log.error({ err, jobId: id }, 'backtest job failed');
    } finally {
      this.pending.delete(id);
      await spec.model?.close().catch(() => undefined);
    }
  }
}
