import { ACTIONS, type Action } from '../scoring/actions.ts';
import { decide, enginePolicy, replayedContext, ruleVerdict, type RuleVerdict } from '../scoring/decide.ts';
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';
import type { ScoringPolicyConfig } from '../scoring/scoring-config.ts';

/**
 * The engine's own decisions on replayed transfers (issue 8): the active rule set evaluated on
 * each transfer's feature vector, then the decision policy with the payer's age band's
 * thresholds — through src/scoring/decide.ts, the decision of the scoring route
 * (src/scoring/score-service.ts), the rule backtest and eval:segments, without the stores. Shadow hits never change a decision and are left out, as on the scoring
 * route. Guardian limits (per-payer spending limits set through the API) do not exist in
 * replayed data, so none blocks here, and the velocity state is rebuilt for every transfer,
 * so none is degraded (`replayedContext`).
 */

/** What the rules said about one transfer; the policy needs it again for every model. */
export { ruleVerdict, type RuleVerdict };

/** The action the engine takes: rule hits and model score through the policy of the payer's band. */
export function replayAction(verdict: RuleVerdict, modelScore: number | null, policy: ScoringPolicyConfig): Action {
  return decide(verdict, replayedContext(modelScore), enginePolicy(policy)).action;
}

export interface ActionRates {
  readonly transfers: number;
  /** transfers per action */
  readonly counts: Readonly<Record<Action, number>>;
  /** share of transfers warned (warn only), held (cool_off), blocked */
  readonly warnRate: number;
  readonly holdRate: number;
  readonly blockRate: number;
  /** share with any intervention: warn, cool_off or block */
  readonly interventionRate: number;
}

export function actionRates(actions: readonly Action[]): ActionRates {
  const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
  for (const a of actions) counts[a] += 1;
  const n = actions.length;
  const share = (k: number): number => (n === 0 ? Number.NaN : k / n);
  return {
    transfers: n,
    counts,
    warnRate: share(counts.warn),
    holdRate: share(counts.cool_off),
    blockRate: share(counts.block),
    interventionRate: share(n - counts.allow),
  };
}

export interface DecisionSplit {
  readonly legitimate: ActionRates;
  readonly fraud: ActionRates;
  /** share of the fraud's value (sum of amounts) with any intervention; NaN without amounts or fraud */
  readonly fraudValueInterventionRate: number;
}

export interface DecisionReport extends DecisionSplit {
  /** per fraud scenario: that scenario's frauds (legitimate traffic is `legitimate` above) */
  readonly fraudByScenario: Readonly<Record<string, ActionRates>>;
  /** per payer age band (`unknown`: no age given), or why there is none */
  readonly byAgeBand: Readonly<Partial<Record<AgeBand | 'unknown', DecisionSplit>>> | { readonly unavailable: string };
  /** transfers on which a rule failed to evaluate */
  readonly ruleErrors: number;
}

export interface DecidedRows {
  readonly actions: readonly Action[];
  /** 1 = fraud */
  readonly labels: ArrayLike<number>;
  /** '0' for legitimate rows */
  readonly scenarios: readonly string[];
  readonly verdicts: readonly RuleVerdict[];
  /** the transfers' amounts (for the fraud value with an intervention) */
  readonly amounts?: readonly number[];
}

function split(d: DecidedRows, keep: (i: number) => boolean): DecisionSplit {
  const legit: Action[] = [];
  const fraud: Action[] = [];
  let value = 0;
  let valueIntervened = 0;
  for (let i = 0; i < d.actions.length; i++) {
    if (!keep(i)) continue;
    const a = d.actions[i]!;
    if (d.labels[i] === 1) {
      fraud.push(a);
      const amount = d.amounts?.[i] ?? Number.NaN;
      value += amount;
      if (a !== 'allow') valueIntervened += amount;
    } else {
      legit.push(a);
    }
  }
  return { legitimate: actionRates(legit), fraud: actionRates(fraud), fraudValueInterventionRate: value > 0 ? valueIntervened / value : Number.NaN };
}

export function decisionReport(d: DecidedRows): DecisionReport {
  const fraudByScenario: Record<string, ActionRates> = {};
  const scenarios = [...new Set(d.scenarios.filter((_, i) => d.labels[i] === 1))].sort();
  for (const s of scenarios) {
    fraudByScenario[s] = actionRates(d.actions.filter((_, i) => d.labels[i] === 1 && d.scenarios[i] === s));
  }
  const bands = AGE_BANDS.filter((b) => d.verdicts.some((v) => v.segment === b));
  let byAgeBand: DecisionReport['byAgeBand'];
  if (bands.length === 0) {
    byAgeBand = { unavailable: 'the data carries no payer ages (every transfer is decided with the general thresholds)' };
  } else {
    const out: Partial<Record<AgeBand | 'unknown', DecisionSplit>> = {};
    for (const b of bands) out[b] = split(d, (i) => d.verdicts[i]!.segment === b);
    if (d.verdicts.some((v) => v.segment === null)) out.unknown = split(d, (i) => d.verdicts[i]!.segment === null);
    byAgeBand = out;
  }
  let ruleErrors = 0;
  for (const v of d.verdicts) if (v.errors > 0) ruleErrors += 1;
  return { ...split(d, () => true), fraudByScenario, byAgeBand, ruleErrors };
}
