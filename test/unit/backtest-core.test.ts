import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { recordToVector, type FeatureValue } from '../../src/features/catalogue.ts';
import { replayDecision, replayPolicy } from '../../src/backtest/replay-decision.ts';
import { runBacktest, type BacktestProgress, type BacktestSource, type StoredDecisionRow } from '../../src/backtest/run-backtest.ts';
import { requestWindow } from '../../src/backtest/window.ts';
import { BacktestJobs, BacktestsBusyError, type BacktestJobSpec } from '../../src/backtest/backtest-jobs.ts';
import type { SqlStore } from '../../src/store/sql/sql-store.ts';
import { compileRuleSetFromText, type RuleSet } from '../../src/rules/language/rule-set.ts';
import { compileRules } from '../helpers/rules.ts';

const policy = replayPolicy(loadConfig({ DEGRADED_FEATURES_POLICY: '2000:allow,*:cool_off' }).scoring);

const rules = (text: string): RuleSet => compileRules(text, 'r.yaml');

const ACTIVE = rules(`- id: big
  description: big
  when: amount >= 1000
  score: 40
  action: warn
- id: night
  description: night
  when: hour_of_day < 6
  score: 90
  action: block
  mode: shadow
`);
const CANDIDATE = rules(`- id: big
  description: big
  when: amount >= 1000
  score: 70
  action: warn
`);

const vector = (amount: number, hour = 12): FeatureValue[] => recordToVector({ amount, hour_of_day: hour, currency: 'CNY' });
const ctx = { modelScore: null, guardianBlocked: false, featuresDegraded: false };

describe('replayDecision', () => {
  it('decides with the engine policy: points, thresholds, rule actions; shadow hits never act', () => {
    expect(replayDecision(ACTIVE, vector(500, 3), { ...ctx, amount: 500 }, policy)).toMatchObject({ action: 'allow', errors: 0 });
    expect(replayDecision(ACTIVE, vector(500, 3), { ...ctx, amount: 500 }, policy).hits.map((h) => h.ruleId)).toEqual(['night']);
    expect(replayDecision(ACTIVE, vector(5000), { ...ctx, amount: 5000 }, policy).action).toBe('warn');
    expect(replayDecision(CANDIDATE, vector(5000), { ...ctx, amount: 5000 }, policy).action).toBe('cool_off');
  });

  it('keeps what the vector does not carry: model score, guardian block, degraded fail mode', () => {
    expect(replayDecision(ACTIVE, vector(10), { ...ctx, amount: 10, modelScore: 0.97 }, policy).action).toBe('block');
    expect(replayDecision(ACTIVE, vector(10), { ...ctx, amount: 10, guardianBlocked: true }, policy).action).toBe('block');
    expect(replayDecision(ACTIVE, vector(10), { ...ctx, amount: 10, featuresDegraded: true }, policy).action).toBe('allow');
    expect(replayDecision(ACTIVE, vector(3000), { ...ctx, amount: 3000, featuresDegraded: true }, policy).action).toBe('cool_off');
  });
});

function row(i: number, amount: number, features: string = JSON.stringify(vector(amount))): StoredDecisionRow {
  return {
    transferId: `t-${i}`,
    amount,
    currency: 'CNY',
    storedAction: 'allow',
    rulesVersion: 'v',
    reported: false,
    modelScore: null,
    guardianBlocked: false,
    featuresDegraded: false,
    featuresJson: features,
  };
}

/** A source over pages given up front (the SQL reader is tested in test/integration/backtest-api.test.ts). */
function pagesOf(pages: StoredDecisionRow[][], otherCatalogue = 0): BacktestSource {
  return {
    count: async () => ({ current: pages.reduce((s, p) => s + p.length, 0), otherCatalogue }),
    async *pages() {
      yield* pages;
    },
  };
}

describe('runBacktest', () => {
  it('reports progress after every page and skips malformed vectors, counting them', async () => {
    const progress: BacktestProgress[] = [];
    const source = pagesOf([[row(1, 5000), row(2, 10)], [row(3, 5000), row(4, 10, '[1,2]')], [row(5, 10, 'not json')]], 2);
    const out = await runBacktest({ source, active: ACTIVE, candidate: CANDIDATE, policy, onProgress: (p) => void progress.push(p) });
    expect(progress).toEqual([
      { rowsDone: 0, rowsTotal: 5 },
      { rowsDone: 2, rowsTotal: 5 },
      { rowsDone: 4, rowsTotal: 5 },
      { rowsDone: 5, rowsTotal: 5 },
    ]);
    expect(out.replayed).toBe(3);
    expect(out.skippedMalformed).toBe(2);
    expect(out.skippedOtherCatalogue).toBe(2);
    expect(out.changes.transitions).toEqual([
      { from: 'warn', to: 'cool_off', transfers: 2, amount: { CNY: 10000 }, reportedScams: 0, reportedAmount: {} },
    ]);
    expect(out.rules.map((r) => [r.ruleId, r.status])).toEqual([
      ['big', 'changed'],
      ['night', 'removed'],
    ]);
  });

  it('scores the candidate side with a candidate model, page by page, never degraded rows', async () => {
    const asked: number[] = [];
    const degraded = { ...row(3, 10), featuresDegraded: true };
    const out = await runBacktest({
      source: pagesOf([[row(1, 10), row(2, 10), degraded]]),
      active: ACTIVE,
      candidate: CANDIDATE,
      policy,
      candidateModel: async (vs) => {
        asked.push(vs.length);
        return vs.map((_, i) => (i === 0 ? 0.99 : 0.01));
      },
    });
    expect(asked).toEqual([2]);
    expect(out.totals.candidate.block.transfers).toBe(1);
    expect(out.totals.candidate.allow.transfers).toBe(2);
  });

  it('stops between pages when aborted', async () => {
    const abort = new AbortController();
    const run = runBacktest({
      source: pagesOf([[row(1, 10)], [row(2, 10)], [row(3, 10)]]),
      active: ACTIVE,
      candidate: CANDIDATE,
      policy,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.rowsDone === 1) abort.abort(new Error('stop'));
      },
    });
    await expect(run).rejects.toThrow('stop');
  });

  it('sums amounts per currency, exactly', async () => {
    const eur = { ...row(2, 0.1), currency: 'EUR', featuresJson: JSON.stringify(vector(0.1)) };
    const rows = [row(1, 1000.1), row(3, 1000.2), eur, { ...eur, transferId: 't-4', amount: 0.2, featuresJson: JSON.stringify(vector(0.2)) }];
    const out = await runBacktest({ source: pagesOf([rows]), active: ACTIVE, candidate: CANDIDATE, policy });
    expect(out.totals.active.warn.amount).toEqual({ CNY: 2000.3 });
    expect(out.totals.active.allow.amount).toEqual({ EUR: 0.3 });
  });
});

describe('requestWindow', () => {
  const now = Date.parse('2026-11-21T00:00:00Z');
  it('defaults to the last 7 days and rejects an empty window', () => {
    expect(requestWindow(undefined, undefined, now)).toEqual({ fromMs: now - 7 * 86_400_000, toMs: now });
    expect(requestWindow('2026-11-21T00:00:00Z', '2026-11-21T00:00:00Z', now)).toEqual([
      { field: 'from', message: 'must be before to (2026-11-21T00:00:00.000Z)' },
    ]);
  });

  it('refuses a window longer than its limit, naming from and the maximum', () => {
    const limit = { maxDays: 31, variable: 'SHADOW_STATS_MAX_WINDOW_DAYS' };
    expect(requestWindow('2026-10-21T00:00:00Z', '2026-11-21T00:00:00Z', now, limit)).toEqual({ fromMs: now - 31 * 86_400_000, toMs: now });
    expect(requestWindow('2026-10-20T23:59:59Z', '2026-11-21T00:00:00Z', now, limit)).toEqual([
      {
        field: 'from',
        message: 'must be at most 31 days before to (2026-11-21T00:00:00.000Z): the window is limited to 31 days (SHADOW_STATS_MAX_WINDOW_DAYS)',
      },
    ]);
    // years of history, with `to` left to default
    expect(requestWindow('2020-01-01T00:00:00Z', undefined, now, limit)).toMatchObject([{ field: 'from' }]);
    // without a limit (the CLI, which reads its own database): as long as asked
    expect(requestWindow('2020-01-01T00:00:00Z', undefined, now)).toEqual({ fromMs: Date.parse('2020-01-01T00:00:00Z'), toMs: now });
  });

  it('shortens the default window to a limit below 7 days', () => {
    expect(requestWindow(undefined, undefined, now, { maxDays: 2, variable: 'X' })).toEqual({ fromMs: now - 2 * 86_400_000, toMs: now });
  });
});

describe('BacktestJobs: at most maxJobs queued or running', () => {
  /** A store that notes every statement; a job's switch to running waits for `release`, then fails. */
  function heldStore() {
    const statements: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const sql = {
      query: async (text: string) => {
        statements.push(text.trim().split(/\s+/).slice(0, 3).join(' '));
        if (text.includes("SET state = 'running'")) {
          await released;
          throw new Error('the store went away');
        }
        return { rows: [] };
      },
    } as unknown as SqlStore;
    return { sql, statements, release };
  }

  const rules = compileRuleSetFromText([{ name: 'a.yaml', text: '- id: a\n  description: big\n  when: amount >= 1000\n  score: 40\n' }]);
  if (!rules.ok) throw new Error('rules');
  const spec: BacktestJobSpec = { active: rules.ruleSet, candidate: rules.ruleSet, window: { fromMs: 0, toMs: 1 }, requestedBy: null };
  const jobsOver = (sql: SqlStore, maxJobs: number) =>
    new BacktestJobs({ sql, policy: replayPolicy(loadConfig({}).scoring), clock: Date.now, log: { error: () => undefined }, maxJobs });

  it('refuses a job beyond the limit before writing anything, and takes one again when a job ends', async () => {
    const { sql, statements, release } = heldStore();
    const jobs = jobsOver(sql, 2);
    await jobs.start(spec);
    await jobs.start(spec);
    expect(jobs.full).toBe(true);
    const written = statements.length;
    const refused = await jobs.start(spec).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BacktestsBusyError);
    expect((refused as BacktestsBusyError).maxJobs).toBe(2);
    expect((refused as Error).message).toContain('BACKTEST_MAX_JOBS');
    expect(statements.length).toBe(written); // no DELETE, no INSERT for the refused job
    expect(statements.filter((s) => s.startsWith('INSERT'))).toHaveLength(2);
    release();
    await jobs.idle();
    expect(jobs.full).toBe(false);
    await expect(jobs.start(spec)).resolves.toMatchObject({ state: 'queued' });
    await jobs.idle();
  });

  it('takes the slot before its first write, so concurrent requests cannot all pass', async () => {
    const { sql, release } = heldStore();
    const jobs = jobsOver(sql, 1);
    const outcomes = await Promise.allSettled([jobs.start(spec), jobs.start(spec), jobs.start(spec)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    release();
    await jobs.idle();
  });

  it('frees the slot when recording the job fails', async () => {
    const sql = { query: async () => Promise.reject(new Error('the store went away')) } as unknown as SqlStore;
    const jobs = jobsOver(sql, 1);
    await expect(jobs.start(spec)).rejects.toThrow('the store went away');
    expect(jobs.full).toBe(false);
  });
});
