import { AGE_BANDS } from '../features/catalogue.ts';
import type { BudgetConfig, InterventionBudget } from '../calibration/budget-config.ts';
import type { Histogram } from '../http/metrics.ts';
import type { SqlStore } from '../store/sql/sql-store.ts';

/**
 * The figures of the console's Overview (issue 17, GET /v1/overview): decisions per minute by
 * action and degraded decisions per minute by stage over a window of the decision history (SQL,
 * so every node's decisions once the decision sink has copied them), the legitimate
 * intervention rates per age band against the configured budget (a transfer is legitimate
 * unless a scam report names it), and this node's score latency since it started. Read only
 * when asked: nothing here runs on the score path.
 */

export const OVERVIEW_ACTIONS = ['allow', 'warn', 'cool_off', 'block'] as const;
type Action = (typeof OVERVIEW_ACTIONS)[number];
export const OVERVIEW_BANDS = ['all', ...AGE_BANDS, 'unknown'] as const;
type Band = (typeof OVERVIEW_BANDS)[number];

export interface MinuteCounts {
  readonly minute: string;
  readonly allow: number;
  readonly warn: number;
  readonly cool_off: number;
  readonly block: number;
}

export interface Rates {
  readonly warn: number | null;
  readonly cool_off: number | null;
  readonly block: number | null;
}

export interface BandInterventions {
  readonly band: Band;
  readonly legitimate: number;
  /** shares of the band's legitimate transfers, each action on its own */
  readonly rates: Rates;
  readonly budget: { readonly warn: number; readonly cool_off: number; readonly block: number };
}

export interface OverviewFigures {
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number };
  readonly decisionsPerMinute: readonly MinuteCounts[];
  readonly degradedPerMinute: readonly { readonly minute: string; readonly stage: string; readonly count: number }[];
  readonly interventions: readonly BandInterventions[];
  readonly latency: { readonly scores: number; readonly p50Ms: number | null; readonly p99Ms: number | null };
}

export interface OverviewDeps {
  readonly sql: SqlStore;
  readonly budget: BudgetConfig;
  readonly scoreSeconds: Histogram;
}

const MINUTE_MS = 60_000;

function budgetOf(b: InterventionBudget): BandInterventions['budget'] {
  return { warn: b.warn, cool_off: b.coolOff, block: b.block };
}

const isAction = (a: string): a is Action => (OVERVIEW_ACTIONS as readonly string[]).includes(a);

/** Every minute of the window, zeros where nothing was decided, so a chart's x axis is even. */
export function fillMinutes(fromMs: number, toMs: number, rows: readonly { minute_ms: number; action: string; n: number }[]): MinuteCounts[] {
  const start = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS;
  const byMinute = new Map<number, Record<Action, number>>();
  for (let t = start; t < toMs; t += MINUTE_MS) byMinute.set(t, { allow: 0, warn: 0, cool_off: 0, block: 0 });
  for (const r of rows) {
    const m = byMinute.get(r.minute_ms);
    if (m !== undefined && isAction(r.action)) m[r.action] += r.n;
  }
  return [...byMinute].map(([t, c]) => ({ minute: new Date(t).toISOString(), ...c }));
}

/** Per band (and all bands together), legitimate counts by action turned into rates against the band's budget. */
export function interventionRates(rows: readonly { segment: string | null; action: string; n: number }[], budget: BudgetConfig): BandInterventions[] {
  const tally = new Map<Band, Record<Action, number>>(OVERVIEW_BANDS.map((b) => [b, { allow: 0, warn: 0, cool_off: 0, block: 0 }]));
  for (const r of rows) {
    if (!isAction(r.action)) continue;
    const band: Band = r.segment !== null && (AGE_BANDS as readonly string[]).includes(r.segment) ? (r.segment as Band) : 'unknown';
    tally.get(band)![r.action] += r.n;
    tally.get('all')![r.action] += r.n;
  }
  return OVERVIEW_BANDS.map((band) => {
    const t = tally.get(band)!;
    const legitimate = t.allow + t.warn + t.cool_off + t.block;
    const rate = (n: number): number | null => (legitimate === 0 ? null : n / legitimate);
    const b = band === 'all' || band === 'unknown' ? budget.general : budget.bands[band];
    return { band, legitimate, rates: { warn: rate(t.warn), cool_off: rate(t.cool_off), block: rate(t.block) }, budget: budgetOf(b) };
  });
}

export async function overviewFigures(deps: OverviewDeps, nowMs: number, minutes: number): Promise<OverviewFigures> {
  const toMs = nowMs;
  const fromMs = Math.floor((nowMs - minutes * MINUTE_MS) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const [perMinute, degraded, legitimate] = await Promise.all([
    deps.sql.query<{ minute_ms: number; action: string; n: number }>(
      `SELECT (extract(epoch FROM date_trunc('minute', decided_at)) * 1000)::float8 AS minute_ms, action, count(*)::int AS n
         FROM decisions WHERE decided_at >= $1 AND decided_at <= $2 GROUP BY 1, 2`,
      [from, to],
    ),
    deps.sql.query<{ minute_ms: number; stage: string; n: number }>(
      `SELECT (extract(epoch FROM date_trunc('minute', d.decided_at)) * 1000)::float8 AS minute_ms, s.stage, count(*)::int AS n
         FROM decisions d, jsonb_array_elements_text(coalesce(d.decision -> 'degraded', '[]'::jsonb)) AS s(stage)
        WHERE d.decided_at >= $1 AND d.decided_at <= $2 AND jsonb_typeof(d.decision -> 'degraded') = 'array'
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [from, to],
    ),
    deps.sql.query<{ segment: string | null; action: string; n: number }>(
      `SELECT d.segment, d.action, count(*)::int AS n
         FROM decisions d
        WHERE d.decided_at >= $1 AND d.decided_at <= $2
          AND NOT EXISTS (SELECT 1 FROM case_transfers ct WHERE ct.transfer_id = d.transfer_id)
        GROUP BY 1, 2`,
      [from, to],
    ),
  ]);
  const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 1e6) / 1e3);
  return {
    window: { from: from.toISOString(), to: to.toISOString(), minutes },
    decisionsPerMinute: fillMinutes(fromMs, toMs, perMinute.rows),
    degradedPerMinute: degraded.rows.map((r) => ({ minute: new Date(r.minute_ms).toISOString(), stage: r.stage, count: r.n })),
    interventions: interventionRates(legitimate.rows, deps.budget),
    latency: { scores: deps.scoreSeconds.total, p50Ms: ms(deps.scoreSeconds.quantile(0.5)), p99Ms: ms(deps.scoreSeconds.quantile(0.99)) },
  };
}
