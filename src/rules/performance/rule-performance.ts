import type { AgeBand } from '../../features/catalogue.ts';
import type { Action } from '../../scoring/actions.ts';
import { decide, type DecideContext, type DecideHit, type EnginePolicy } from '../../scoring/decide.ts';
import type { RuleMode } from '../language/rule-file.ts';

/**
 * Rule performance for analysts (issue 16, pure): from decided transfers (the rules that fired,
 * shadow ones included, the decision's context, the final action, whether the transfer was
 * later reported as fraud, its amount), for each rule over the window:
 *
 * - hits: transfers the rule fired on; of them, fraud (reported) and legitimate (not reported).
 * - precision: fraud hits / hits.
 * - legitimate hit rate: legitimate hits / legitimate transfers; and the legitimate interventions
 *   it was part of: legitimate hits whose final action was warn, cool_off or block, each as a
 *   share of legitimate transfers (what the rule spends of the intervention budget).
 * - caught fraud: fraud transfers it hit whose final action was an intervention (not allow), as a
 *   share of all caught fraud of the window, by count and by value (per currency: amounts are
 *   never added across currencies).
 * - unique catches: caught fraud transfers whose intervention came only from this rule: the
 *   engine's decision (src/scoring/decide.ts) on the same transfer without this rule's hit is
 *   `allow`, so no other rule and not the model's score through the thresholds would have
 *   intervened. A shadow rule never changes a decision: it has no caught fraud of its own and
 *   no unique catch; its `missedFraudHits` (fraud it hit that the engine let through) is what it
 *   would add.
 * - flagged: an active rule that spends budget and catches little (`flagReason` says which
 *   budget): for some action A (warn, cool_off, block) its legitimate hits decided A exceed
 *   `budgetShare` of A's budget (a share of legitimate transfers), AND its unique catches are at
 *   most `littleShare` of all caught fraud by count and, in every currency, by value.
 *
 * The budget comes from the caller: the engine's tools and route pass the configured general
 * intervention budget (INTERVENTION_BUDGET_*_PCT, src/calibration/budget-config.ts) through
 * `flagPolicyOf`; DEFAULT_FLAG_POLICY holds issue 16's defaults (warn 2 %, hold 0.5 %, block
 * 0.1 % of legitimate transfers).
 */

/** An active hit as the decision reads it, with its rule. */
export interface PerformanceHit extends DecideHit {
  readonly ruleId: string;
}

export interface DecidedTransfer {
  /** the active hits (they decided the action) */
  readonly hits: readonly PerformanceHit[];
  /** the shadow rules that fired (they never change a decision) */
  readonly shadowRuleIds: readonly string[];
  /** the payer's age band whose thresholds decided */
  readonly segment: AgeBand | null;
  /** what the decision depended on besides the rules (model score, guardian block, degraded mode) */
  readonly context: DecideContext;
  /** the final action taken */
  readonly action: Action;
  /** later reported as fraud (the case library names it; in a replay, the label) */
  readonly fraud: boolean;
  readonly amount: number;
  readonly currency: string;
}

/** A rule of the rule set the report is about. */
export interface PerformanceRule {
  readonly id: string;
  readonly mode: RuleMode;
}

export type InterventionAction = Exclude<Action, 'allow'>;
const INTERVENTIONS: readonly InterventionAction[] = ['warn', 'cool_off', 'block'];

export interface FlagPolicy {
  /** the largest share of legitimate transfers each action may take (issue 16's intervention budget) */
  readonly budget: Readonly<Record<InterventionAction, number>>;
  /** where the budget comes from, said in the report */
  readonly budgetSource: string;
  /** a rule "spends budget" when its legitimate hits decided A exceed this share of A's budget */
  readonly budgetShare: number;
  /** a rule "catches little" when its unique catches are at most this share of all caught fraud */
  readonly littleShare: number;
}

export const DEFAULT_FLAG_POLICY: FlagPolicy = Object.freeze({
  budget: Object.freeze({ warn: 0.02, cool_off: 0.005, block: 0.001 }),
  budgetSource: "default (issue 16's intervention budget: warn 2 %, hold 0.5 %, block 0.1 % of legitimate transfers)",
  budgetShare: 0.25,
  littleShare: 0.05,
});

/** The flag policy over a configured budget (shares of legitimate transfers), with the default shares. */
export function flagPolicyOf(budget: { readonly warn: number; readonly coolOff: number; readonly block: number }, source: string): FlagPolicy {
  return Object.freeze({
    ...DEFAULT_FLAG_POLICY,
    budget: Object.freeze({ warn: budget.warn, cool_off: budget.coolOff, block: budget.block }),
    budgetSource: source,
  });
}

/** What the reports name as the source of the configured budget. */
export const CONFIGURED_BUDGET = 'INTERVENTION_BUDGET_WARN_PCT / _COOL_OFF_PCT / _BLOCK_PCT (the general budget)';

/** Per currency, in major units. */
export type Amounts = Readonly<Record<string, number>>;

export interface FraudTally {
  readonly transfers: number;
  readonly amount: Amounts;
}

export interface RulePerformance {
  readonly ruleId: string;
  readonly mode: RuleMode;
  /** false for a rule that is not in the rule set but fired in the window (an earlier version's) */
  readonly inRuleSet: boolean;
  readonly hits: number;
  readonly fraudHits: number;
  readonly legitimateHits: number;
  /** fraudHits / hits; null without hits */
  readonly precision: number | null;
  /** legitimateHits / legitimate transfers; null without legitimate transfers */
  readonly legitimateHitRate: number | null;
  /** legitimate hits by final action (the interventions the rule was part of) */
  readonly legitimateInterventions: Readonly<Record<InterventionAction, number>>;
  /** the sum of legitimateInterventions / legitimate transfers; null without legitimate transfers */
  readonly legitimateInterventionRate: number | null;
  /** fraud hits with an intervention */
  readonly caughtFraud: FraudTally;
  /** caughtFraud / all caught fraud of the window: by count (null without any), by value per currency */
  readonly caughtFraudShare: number | null;
  readonly caughtFraudValueShare: Amounts;
  /** fraud hits the engine allowed (for a shadow rule: what it would add) */
  readonly missedFraudHits: number;
  /** caught fraud that the decision without this rule would have allowed */
  readonly uniqueCatches: FraudTally;
  readonly uniqueCatchShare: number | null;
  readonly uniqueCatchValueShare: Amounts;
  /** spends budget and catches little (see the module's comment) */
  readonly flagged: boolean;
  /** why, in words; null when not flagged */
  readonly flagReason: string | null;
}

export interface RulePerformanceReport {
  readonly transfers: number;
  readonly legitimate: number;
  readonly fraud: FraudTally;
  /** fraud transfers with an intervention (any rule or the model) */
  readonly caughtFraud: FraudTally;
  /** legitimate transfers by final action, as shares of legitimate transfers (null without any) */
  readonly legitimateRates: Readonly<Record<InterventionAction, number | null>>;
  readonly flagPolicy: FlagPolicy;
  /** the rule set's rules in order, then rules of earlier versions that fired, by id */
  readonly rules: readonly RulePerformance[];
}

class Money {
  /** currency → thousandths, so sums are exact */
  readonly milli = new Map<string, number>();
  transfers = 0;

  add(currency: string, milli: number): void {
    this.transfers++;
    this.milli.set(currency, (this.milli.get(currency) ?? 0) + milli);
  }

  tally(): FraudTally {
    return { transfers: this.transfers, amount: majorUnits(this.milli) };
  }

  /** this value's share of `of`'s, per currency of `of` (0 where this has none) */
  valueShare(of: Money): Amounts {
    const out: Record<string, number> = {};
    for (const [c, total] of sortedEntries(of.milli)) out[c] = total === 0 ? 0 : (this.milli.get(c) ?? 0) / total;
    return out;
  }
}

const sortedEntries = (m: ReadonlyMap<string, number>): [string, number][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function majorUnits(m: ReadonlyMap<string, number>): Amounts {
  const out: Record<string, number> = {};
  for (const [c, milli] of sortedEntries(m)) out[c] = milli / 1000;
  return out;
}

class RuleCounters {
  hits = 0;
  fraudHits = 0;
  legitimateHits = 0;
  readonly legitimateInterventions: Record<InterventionAction, number> = { warn: 0, cool_off: 0, block: 0 };
  readonly caught = new Money();
  missed = 0;
  readonly unique = new Money();

  constructor(
    readonly ruleId: string,
    readonly mode: RuleMode,
    readonly inRuleSet: boolean,
  ) {}
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);
const pct = (x: number): string => `${Math.round(x * 10_000) / 100} %`;

/**
 * The counters: one `add` per decided transfer, then `result`. Hits of a rule id not in the
 * rule set (an earlier version's) are counted under that id, in the mode they were recorded in.
 */
export class RulePerformanceTally {
  private readonly byId = new Map<string, RuleCounters>();
  private readonly order: RuleCounters[] = [];
  private transfers = 0;
  private legitimate = 0;
  private readonly legitimateByAction: Record<InterventionAction, number> = { warn: 0, cool_off: 0, block: 0 };
  private readonly fraud = new Money();
  private readonly caught = new Money();
  private readonly extra: RuleCounters[] = [];

  constructor(
    rules: readonly PerformanceRule[],
    private readonly policy: EnginePolicy,
    private readonly flags: FlagPolicy = DEFAULT_FLAG_POLICY,
  ) {
    for (const r of rules) {
      if (this.byId.has(r.id)) continue;
      const k = new RuleCounters(r.id, r.mode, true);
      this.byId.set(r.id, k);
      this.order.push(k);
    }
  }

  private counters(ruleId: string, mode: RuleMode): RuleCounters {
    let k = this.byId.get(ruleId);
    if (k === undefined) {
      k = new RuleCounters(ruleId, mode, false);
      this.byId.set(ruleId, k);
      this.extra.push(k);
    }
    return k;
  }

  add(t: DecidedTransfer): void {
    const milli = Math.round(t.amount * 1000);
    const intervened = t.action !== 'allow';
    this.transfers++;
    if (t.fraud) {
      this.fraud.add(t.currency, milli);
      if (intervened) this.caught.add(t.currency, milli);
    } else {
      this.legitimate++;
      if (intervened) this.legitimateByAction[t.action]++;
    }
    for (let i = 0; i < t.hits.length; i++) {
      const k = this.counters(t.hits[i]!.ruleId, 'active');
      this.count(k, t, milli, intervened);
      if (t.fraud && intervened && this.onlyThisRule(t, i)) k.unique.add(t.currency, milli);
    }
    for (const id of t.shadowRuleIds) {
      const k = this.counters(id, 'shadow');
      // a shadow hit changes no decision: it neither catches nor spends
      k.hits++;
      if (t.fraud) {
        k.fraudHits++;
        if (!intervened) k.missed++;
      } else k.legitimateHits++;
    }
  }

  private count(k: RuleCounters, t: DecidedTransfer, milli: number, intervened: boolean): void {
    k.hits++;
    if (t.fraud) {
      k.fraudHits++;
      if (intervened) k.caught.add(t.currency, milli);
      else k.missed++;
    } else {
      k.legitimateHits++;
      if (t.action !== 'allow') k.legitimateInterventions[t.action]++;
    }
  }

  /** The decision on the same transfer without hit `i` allows it. */
  private onlyThisRule(t: DecidedTransfer, i: number): boolean {
    const others = t.hits.filter((_, j) => j !== i);
    return decide({ hits: others, segment: t.segment, errors: 0 }, t.context, this.policy).action === 'allow';
  }

  result(): RulePerformanceReport {
    const legit = this.legitimate;
    const rules = [...this.order, ...this.extra.sort((a, b) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0))].map((k) => this.ruleReport(k));
    return {
      transfers: this.transfers,
      legitimate: legit,
      fraud: this.fraud.tally(),
      caughtFraud: this.caught.tally(),
      legitimateRates: {
        warn: ratio(this.legitimateByAction.warn, legit),
        cool_off: ratio(this.legitimateByAction.cool_off, legit),
        block: ratio(this.legitimateByAction.block, legit),
      },
      flagPolicy: this.flags,
      rules,
    };
  }

  private ruleReport(k: RuleCounters): RulePerformance {
    const legit = this.legitimate;
    const spent = INTERVENTIONS.reduce((s, a) => s + k.legitimateInterventions[a], 0);
    return {
      ruleId: k.ruleId,
      mode: k.mode,
      inRuleSet: k.inRuleSet,
      hits: k.hits,
      fraudHits: k.fraudHits,
      legitimateHits: k.legitimateHits,
      precision: ratio(k.fraudHits, k.hits),
      legitimateHitRate: ratio(k.legitimateHits, legit),
      legitimateInterventions: { ...k.legitimateInterventions },
      legitimateInterventionRate: ratio(spent, legit),
      caughtFraud: k.caught.tally(),
      caughtFraudShare: ratio(k.caught.transfers, this.caught.transfers),
      caughtFraudValueShare: k.caught.valueShare(this.caught),
      missedFraudHits: k.missed,
      uniqueCatches: k.unique.tally(),
      uniqueCatchShare: ratio(k.unique.transfers, this.caught.transfers),
      uniqueCatchValueShare: k.unique.valueShare(this.caught),
      ...this.flag(k),
    };
  }

  private flag(k: RuleCounters): { flagged: boolean; flagReason: string | null } {
    const none = { flagged: false, flagReason: null };
    if (k.mode !== 'active' || this.legitimate === 0) return none;
    const { budget, budgetShare, littleShare } = this.flags;
    const over = INTERVENTIONS.filter((a) => k.legitimateInterventions[a] / this.legitimate > budgetShare * budget[a]);
    if (over.length === 0) return none;
    const little =
      k.unique.transfers <= littleShare * this.caught.transfers &&
      [...this.caught.milli.entries()].every(([c, total]) => (k.unique.milli.get(c) ?? 0) <= littleShare * total);
    if (!little) return none;
    const spends = over
      .map((a) => `${pct(k.legitimateInterventions[a] / this.legitimate)} of legitimate transfers ${a} (over ${pct(budgetShare)} of the ${pct(budget[a])} budget)`)
      .join(', ');
    return {
      flagged: true,
      flagReason: `spends ${spends} and catches little: ${k.unique.transfers} unique catch(es) of ${this.caught.transfers} caught fraud (at most ${pct(littleShare)} by count and value)`,
    };
  }
}

/** The report of a whole list of decided transfers. */
export function rulePerformance(
  transfers: Iterable<DecidedTransfer>,
  rules: readonly PerformanceRule[],
  policy: EnginePolicy,
  flags: FlagPolicy = DEFAULT_FLAG_POLICY,
): RulePerformanceReport {
  const tally = new RulePerformanceTally(rules, policy, flags);
  for (const t of transfers) tally.add(t);
  return tally.result();
}

const f3 = (x: number | null): string => (x === null ? '-' : x.toFixed(3));
const p2 = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);

/** The value share in one currency, or in the only one there is. */
function valueShare(a: Amounts): number | null {
  const v = Object.values(a);
  return v.length === 1 ? v[0]! : null;
}

/**
 * The report as a Markdown table: one line per rule that fired (value shares shown where the
 * window has one currency), flagged rules marked; below it the rules without a hit, and the
 * flagged rules' reasons.
 */
export function rulePerformanceTable(r: RulePerformanceReport): string {
  const head =
    '| rule | mode | hits | precision | legit hit rate | legit interventions | caught fraud share (value) | unique catches (share, value) | missed fraud hits | flag |';
  const line = `|${'---|'.repeat(10)}`;
  const rows = r.rules.filter((k) => k.hits > 0).map(
    (k) =>
      `| ${k.ruleId}${k.inRuleSet ? '' : ' (not in set)'} | ${k.mode} | ${k.hits} | ${f3(k.precision)} | ${p2(k.legitimateHitRate)} | ${p2(k.legitimateInterventionRate)} | ` +
      `${p2(k.caughtFraudShare)} (${p2(valueShare(k.caughtFraudValueShare))}) | ${k.uniqueCatches.transfers} (${p2(k.uniqueCatchShare)}, ${p2(valueShare(k.uniqueCatchValueShare))}) | ` +
      `${k.missedFraudHits} | ${k.flagged ? 'FLAGGED' : ''} |`,
  );
  const reasons = r.rules.filter((k) => k.flagged).map((k) => `- ${k.ruleId}: ${k.flagReason}`);
  const totals =
    `${r.transfers} transfers, ${r.legitimate} legitimate (warned ${p2(r.legitimateRates.warn)}, held ${p2(r.legitimateRates.cool_off)}, blocked ${p2(r.legitimateRates.block)}), ` +
    `${r.fraud.transfers} fraud, ${r.caughtFraud.transfers} caught; budget: ${r.flagPolicy.budgetSource}`;
  const silent = r.rules.filter((k) => k.hits === 0).map((k) => k.ruleId);
  return [
    totals,
    '',
    head,
    line,
    ...rows,
    ...(silent.length === 0 ? [] : ['', `No hits: ${silent.join(', ')}`]),
    ...(reasons.length === 0 ? [] : ['', 'Flagged (spends budget, catches little):', ...reasons]),
  ].join('\n');
}
