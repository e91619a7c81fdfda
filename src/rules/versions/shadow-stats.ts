import type { SqlStore } from '../../store/sql/sql-store.ts';
import type { RuleSet } from '../language/rule-set.ts';

/**
 * What the shadow rules of the active set would have done (issue 7): from the decision history,
 * how often each fired (`shadow_rules` of every stored decision) and how many of those transfers
 * the case library names as reported scams, over a window. A shadow hit is recorded by whichever
 * version scored the transfer; a rule whose `when` changed between versions is counted under its
 * id across them (`rulesVersions` says which versions the hits came from).
 */

export interface ShadowRuleStats {
  readonly ruleId: string;
  readonly description: string;
  /** what the rule would do if it were active */
  readonly action: string;
  readonly score: number;
  readonly hits: number;
  /** hits / decisions of the window (0 without decisions) */
  readonly hitRate: number;
  readonly reportedScams: number;
  /** reportedScams / hits (null without hits) */
  readonly precision: number | null;
  /** reportedScams / reported scams of the window (null without any) */
  readonly recall: number | null;
  /** of the hits: how many the active rules already acted on (stored action other than allow) */
  readonly alreadyActedOn: number;
  readonly firstHitAt: string | null;
  readonly lastHitAt: string | null;
  /** hits per stored rules version */
  readonly rulesVersions: Readonly<Record<string, number>>;
}

export interface ShadowStatsReport {
  readonly window: { readonly from: string; readonly to: string };
  readonly rulesVersion: string;
  /** decisions stored for the window */
  readonly decisions: number;
  /** of those, transfers the case library names */
  readonly reportedScams: number;
  readonly rules: readonly ShadowRuleStats[];
}

interface HitRow {
  rule_id: string;
  rules_version: string;
  hits: number;
  reported: number;
  acted: number;
  first_at: Date;
  last_at: Date;
}

export async function shadowStats(
  sql: SqlStore,
  active: RuleSet,
  window: { readonly fromMs: number; readonly toMs: number },
  ruleId?: string,
): Promise<ShadowStatsReport> {
  const shadow = active.rules.filter((r) => r.mode === 'shadow' && (ruleId === undefined || r.id === ruleId));
  const from = new Date(window.fromMs);
  const to = new Date(window.toMs);
  const totals = await sql.query<{ decisions: number; reported: number }>(
    `SELECT count(*)::int AS decisions, count(ct.transfer_id)::int AS reported
       FROM decisions d LEFT JOIN case_transfers ct ON ct.transfer_id = d.transfer_id
      WHERE d.occurred_at >= $1 AND d.occurred_at < $2`,
    [from, to],
  );
  const ids = shadow.map((r) => r.id);
  const hits =
    ids.length === 0
      ? []
      : (
          await sql.query<HitRow>(
            `SELECT s.rule_id, d.rules_version, count(*)::int AS hits, count(ct.transfer_id)::int AS reported,
                    count(*) FILTER (WHERE d.action <> 'allow')::int AS acted,
                    min(d.occurred_at) AS first_at, max(d.occurred_at) AS last_at
               FROM decisions d
               CROSS JOIN LATERAL unnest(d.shadow_rules) AS s(rule_id)
               LEFT JOIN case_transfers ct ON ct.transfer_id = d.transfer_id
              WHERE d.occurred_at >= $1 AND d.occurred_at < $2 AND d.shadow_rules && $3::text[] AND s.rule_id = ANY($3::text[])
              GROUP BY s.rule_id, d.rules_version`,
            [from, to, ids],
          )
        ).rows;
  const decisions = totals.rows[0]?.decisions ?? 0;
  const reported = totals.rows[0]?.reported ?? 0;
  const rules = shadow.map((rule): ShadowRuleStats => {
    const mine = hits.filter((h) => h.rule_id === rule.id);
    const n = mine.reduce((s, h) => s + h.hits, 0);
    const rep = mine.reduce((s, h) => s + h.reported, 0);
    const first = mine.reduce<Date | null>((m, h) => (m === null || h.first_at < m ? h.first_at : m), null);
    const last = mine.reduce<Date | null>((m, h) => (m === null || h.last_at > m ? h.last_at : m), null);
    return {
      ruleId: rule.id,
      description: rule.description,
      action: rule.action,
      score: rule.score,
      hits: n,
      hitRate: decisions === 0 ? 0 : n / decisions,
      reportedScams: rep,
      precision: n === 0 ? null : rep / n,
      recall: reported === 0 ? null : rep / reported,
      alreadyActedOn: mine.reduce((s, h) => s + h.acted, 0),
      firstHitAt: first?.toISOString() ?? null,
      lastHitAt: last?.toISOString() ?? null,
      rulesVersions: Object.fromEntries(mine.sort((a, b) => b.hits - a.hits).map((h) => [h.rules_version, h.hits])),
    };
  });
  return { window: { from: from.toISOString(), to: to.toISOString() }, rulesVersion: active.version, decisions, reportedScams: reported, rules };
}
