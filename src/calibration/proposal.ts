/**
 * The calibration's proposal as a file (issue 16): what `npm run calibrate` writes for review.
 * It changes nothing by itself: the thresholds become configuration (`env`, the RISK_*_AT*
 * variables) and the rule actions a rule version (`ruleVersion`, the body of PUT /v1/rules:
 * review, four-eyes approval, publish and rollback as any rule version, docs/rules.md).
 */
import type { RuleFileText } from '../rules/language/rule-set.ts';
import type { Action } from '../scoring/actions.ts';
import { ruleFilesWithActions } from './rule-files.ts';
import type { PolicyThresholds } from '../scoring/scoring-config.ts';
import { POLICY_GROUPS, type CalibrationResult, type GroupRates, type PolicyGroup } from './calibrate.ts';

export const PROPOSAL_KIND = 'calmpay.intervention-policy-proposal';

export interface PolicyProposal {
  readonly kind: typeof PROPOSAL_KIND;
  readonly formatVersion: 1;
  readonly createdAt: string;
  /** where the transfers came from (simulator options or the replayed file), and that it was tuned on them */
  readonly source: Readonly<Record<string, unknown>>;
  /** the rule set and model the transfers were decided with */
  readonly rulesVersion: string;
  readonly model: string | null;
  /** the budget per group, as shares of legitimate transfers */
  readonly budget: Readonly<Record<PolicyGroup, { readonly warn: number; readonly coolOff: number; readonly block: number }>>;
  readonly withinBudget: boolean;
  readonly thresholds: Readonly<Record<PolicyGroup, PolicyThresholds>>;
  /** the same thresholds as the environment variables that configure them */
  readonly env: Readonly<Record<string, string>>;
  readonly ruleActions: readonly { readonly ruleId: string; readonly from: Action; readonly to: Action }[];
  /**
   * The body of `PUT /v1/rules` that publishes the rule actions as a rule version (review,
   * four-eyes approval, rollback): the rule set's files with the lowered actions; absent
   * without rule changes or without the files.
   */
  readonly ruleVersion?: { readonly files: readonly RuleFileText[]; readonly comment: string };
  readonly before: Readonly<Record<PolicyGroup, GroupRates>>;
  readonly after: Readonly<Record<PolicyGroup, GroupRates>>;
  /** the same policies on transfers the proposal was not tuned on (absent: not evaluated) */
  readonly evaluation?: PolicyEvaluation;
}

export interface PolicyEvaluation {
  readonly source: Readonly<Record<string, unknown>>;
  readonly withinBudget: boolean;
  readonly before: Readonly<Record<PolicyGroup, GroupRates>>;
  readonly after: Readonly<Record<PolicyGroup, GroupRates>>;
}

const SUFFIX: Readonly<Record<PolicyGroup, string>> = { general: '', minor: '_MINOR', elderly: '_ELDERLY' };

/** The thresholds as RISK_WARN_AT, RISK_COOL_OFF_AT, RISK_BLOCK_AT (and their _MINOR, _ELDERLY). */
export function thresholdEnv(thresholds: Readonly<Record<PolicyGroup, PolicyThresholds>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const g of POLICY_GROUPS) {
    const t = thresholds[g];
    env[`RISK_WARN_AT${SUFFIX[g]}`] = String(t.warn);
    env[`RISK_COOL_OFF_AT${SUFFIX[g]}`] = String(t.coolOff);
    env[`RISK_BLOCK_AT${SUFFIX[g]}`] = String(t.block);
  }
  return env;
}

export function proposal(
  result: CalibrationResult,
  meta: { readonly createdAt: string; readonly source: Readonly<Record<string, unknown>>; readonly rulesVersion: string; readonly model: string | null },
  evaluation?: PolicyEvaluation,
  ruleFiles?: readonly RuleFileText[],
): PolicyProposal {
  const ruleVersion =
    ruleFiles === undefined || result.ruleChanges.length === 0
      ? {}
      : {
          ruleVersion: {
            files: ruleFilesWithActions(ruleFiles, result.ruleChanges),
            comment: `calibration to the intervention budget (${meta.createdAt}): ${result.ruleChanges.map((c) => `${c.ruleId} ${c.from} -> ${c.to}`).join(', ')}`,
          },
        };
  const budget = Object.fromEntries(POLICY_GROUPS.map((g) => [g, result.after[g].budget])) as PolicyProposal['budget'];
  return {
    kind: PROPOSAL_KIND,
    formatVersion: 1,
    ...meta,
    budget,
    withinBudget: result.withinBudget,
    thresholds: result.policy.thresholds,
    env: thresholdEnv(result.policy.thresholds),
    ruleActions: result.ruleChanges,
    ...ruleVersion,
    before: result.before,
    after: result.after,
    ...(evaluation === undefined ? {} : { evaluation }),
  };
}

/**
 * Issue 6's fairness figure: the share of the elderly's legitimate transfers with any
 * intervention over that of everyone else's (NaN without either); issue 6 holds it to 0.8-1.25.
 */
export function fprRatioElderly(r: Readonly<Record<PolicyGroup, GroupRates>>): number {
  const flagged = (g: GroupRates): number => g.legitimateWarned + g.legitimateHeld + g.legitimateBlocked;
  const others = [r.general, r.minor];
  const othersRate = others.reduce((s, g) => s + flagged(g), 0) / others.reduce((s, g) => s + g.legitimate, 0);
  return flagged(r.elderly) / r.elderly.legitimate / othersRate;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const money = (x: number): string => Math.round(x).toLocaleString('en-US');

function line(name: string, r: GroupRates): string {
  return (
    `| ${name} | ${r.legitimate} | ${pct(r.warnRate)} | ${pct(r.holdRate)} | ${pct(r.blockRate)} | ${r.withinBudget ? 'yes' : 'no'} | ` +
    `${r.fraudCaught} / ${r.fraud} | ${money(r.fraudCaughtValue)} / ${money(r.fraudValue)} (${r.fraudValue === 0 ? '-' : pct(r.fraudCaughtValue / r.fraudValue)}) |`
  );
}

const HEAD = '| group | policy | legit transfers | legit warned | legit held | legit blocked | within budget | fraud caught | fraud value caught |';

function ratesTable(p: Pick<PolicyProposal, 'budget' | 'before' | 'after'>): string[] {
  const rows: string[] = [HEAD, `|${'---|'.repeat(9)}`];
  for (const g of POLICY_GROUPS) {
    const b = p.budget[g];
    rows.push(line(`${g} (budget ${pct(b.warn)} / ${pct(b.coolOff)} / ${pct(b.block)}) | before`, p.before[g]));
    rows.push(line(`${g} | after`, p.after[g]));
  }
  const ratio = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(2));
  rows.push('', `Elderly / others false-positive ratio (any intervention; issue 6: 0.8-1.25): ${ratio(fprRatioElderly(p.before))} before, ${ratio(fprRatioElderly(p.after))} after`);
  return rows;
}

/** The rates before and after per group (on the tuning transfers, and on the evaluation's when there is one), the thresholds and the rule changes, as Markdown. */
export function proposalTable(p: PolicyProposal): string {
  const thresholds = POLICY_GROUPS.map((g) => `- ${g}: warn ${p.thresholds[g].warn}, cool_off ${p.thresholds[g].coolOff}, block ${p.thresholds[g].block}`);
  const rules = p.ruleActions.length === 0 ? ['- none'] : p.ruleActions.map((r) => `- ${r.ruleId}: ${r.from} → ${r.to === 'allow' ? 'allow (points only)' : r.to}`);
  const evaluation =
    p.evaluation === undefined
      ? []
      : [
          '',
          `Evaluated on transfers it was not tuned on (${JSON.stringify(p.evaluation.source)}):`,
          '',
          ...ratesTable({ budget: p.budget, before: p.evaluation.before, after: p.evaluation.after }),
          '',
          `Within budget on the evaluation's transfers: ${p.evaluation.withinBudget ? 'yes' : 'NO'}`,
        ];
  return [
    `Tuned on ${JSON.stringify(p.source)}:`,
    '',
    ...ratesTable(p),
    '',
    `Within budget on the tuning transfers: ${p.withinBudget ? 'yes' : 'NO'}`,
    ...evaluation,
    '',
    'Proposed thresholds:',
    ...thresholds,
    '',
    'Proposed rule actions:',
    ...rules,
  ].join('\n');
}
