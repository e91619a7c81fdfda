/**
 * Calibration to the intervention budget (issue 16, pure). From decided transfers (the active
 * rules that fired with their points and minimum action, the model's score, the payer's age
 * band, the amount and the label), it proposes
 *
 * - per policy group the risk thresholds (warn, cool_off, block): `general` (adults and payers
 *   of unknown age, who share RISK_*_AT), `minor` and `elderly`;
 * - per rule a capped minimum action (never above the rule's own: a rule may be lowered to a
 *   milder action or to `allow`, points only),
 *
 * such that on these transfers the warned, held and blocked shares of every group's legitimate
 * transfers are within the group's budget (each action counted on its own), and the value of
 * the fraud with any intervention is as high as possible.
 *
 * Every candidate is evaluated by the engine's one decision, `decide()` (src/scoring/decide.ts),
 * on every transfer of the group: a candidate changes only the policy's thresholds and the
 * minimum action of the hits handed to it.
 *
 * The algorithm:
 * 1. Thresholds of one group, rule actions fixed. A transfer's riskScore does not depend on the
 *    thresholds nor on the rules' actions, and the shares move monotonically: legitimate blocks
 *    fall as `block` rises; holds fall as `cool_off` rises and rise with `block`; warnings fall as
 *    `warn` rises and rise with `cool_off`; and the caught fraud (any intervention) depends on
 *    `warn` alone and rises as it falls. So the lowest `block` within the block budget, then the
 *    lowest `cool_off` (≤ block) within the hold budget, then the lowest `warn` (≤ cool_off)
 *    within the warn budget is the group's optimum over the candidate thresholds (each found by
 *    bisection over the group's distinct riskScores, 1 and 100/101). When a budget cannot be met
 *    (the rules' minimum actions alone exceed it), the threshold is set where it does least harm
 *    and the overrun is measured.
 *    The elderly are fitted after the others and held, through their warn threshold, to issue
 *    6's fairness bound: their legitimate transfers with any intervention at most 1.25 × the
 *    share of everyone else's (`elderlyRatioMax`).
 * 2. Rule actions (greedy, then hill climbing): while some group is over budget, lower by one
 *    step (block → cool_off → warn → allow) the action of the rule whose lowering cuts the
 *    total overrun most (ties: the most caught fraud value). Then, while it improves the
 *    objective (caught fraud value, then caught fraud count, then the value held or blocked, then
 *    fewer legitimate interventions) and keeps every group within budget, raise a lowered rule
 *    back by one step or lower another by one step; the best such move each round.
 *
 * Amounts are summed as they are: the transfers are assumed to be in one currency.
 */
import { AGE_BANDS, type AgeBand } from '../features/catalogue.ts';
import { ACTIONS, severity, type Action } from '../scoring/actions.ts';
import { decide, enginePolicy, replayedContext, type DecideContext, type DecideHit, type EnginePolicy, type RuleVerdict } from '../scoring/decide.ts';
import type { PolicyThresholds, ScoringPolicyConfig } from '../scoring/scoring-config.ts';
import type { ScamType } from '../scoring/scam-types.ts';
import { budgetOf, type BudgetConfig, type InterventionBudget } from './budget-config.ts';

/** A rule hit as recorded with the decision. */
export interface CalibrationHit {
  readonly ruleId: string;
  readonly score: number;
  /** the rule's own minimum action */
  readonly action: Action;
  readonly scamType: ScamType;
}

/** One decided transfer with its outcome. */
export interface CalibrationTransfer {
  /** the active hits (shadow hits never change a decision and are left out) */
  readonly hits: readonly CalibrationHit[];
  /** the model's P(fraud), null without a model */
  readonly modelScore: number | null;
  readonly band: AgeBand | null;
  readonly amount: number;
  readonly fraud: boolean;
}

/** The groups of payers that have thresholds of their own: adults and payers of unknown age share the general ones. */
export const POLICY_GROUPS = ['general', 'minor', 'elderly'] as const;
export type PolicyGroup = (typeof POLICY_GROUPS)[number];

export function groupOf(band: AgeBand | null): PolicyGroup {
  return band === 'minor' || band === 'elderly' ? band : 'general';
}

/** A policy the calibration proposes or starts from. */
export interface CalibrationPolicy {
  readonly thresholds: Readonly<Record<PolicyGroup, PolicyThresholds>>;
  /** the minimum action each rule is held to (absent: its own) */
  readonly ruleActions: Readonly<Record<string, Action>>;
}

/** The outcome of a policy on one group's transfers. */
export interface GroupOutcome {
  readonly transfers: number;
  readonly legitimate: number;
  /** legitimate transfers decided warn, cool_off, block */
  readonly legitimateWarned: number;
  readonly legitimateHeld: number;
  readonly legitimateBlocked: number;
  readonly fraud: number;
  readonly fraudValue: number;
  /** fraud with any intervention */
  readonly fraudCaught: number;
  readonly fraudCaughtValue: number;
  /** fraud held or blocked */
  readonly fraudHeldOrBlockedValue: number;
}

export interface GroupRates extends GroupOutcome {
  /** shares of legitimate transfers (0 without any) */
  readonly warnRate: number;
  readonly holdRate: number;
  readonly blockRate: number;
  readonly budget: InterventionBudget;
  readonly withinBudget: boolean;
}

export interface CalibrationResult {
  readonly before: Readonly<Record<PolicyGroup, GroupRates>>;
  readonly after: Readonly<Record<PolicyGroup, GroupRates>>;
  readonly policy: CalibrationPolicy;
  /** the rules whose action the proposal lowers */
  readonly ruleChanges: readonly { readonly ruleId: string; readonly from: Action; readonly to: Action }[];
  /** every group within its budget on these transfers */
  readonly withinBudget: boolean;
  /** policies decided on every transfer during the search (the work done) */
  readonly evaluations: number;
}

/** The rule set's rules as the calibration needs them: id and own minimum action, in order. */
export interface CalibrationRule {
  readonly id: string;
  readonly action: Action;
}

const WARN_MAX = 100;
const BLOCK_MAX = 101;

const budgetGroup = (g: PolicyGroup): AgeBand | null => (g === 'general' ? 'adult' : g);

/** An engine policy with these thresholds per group (hold lengths and degraded mode as configured). */
export function policyWith(base: ScoringPolicyConfig, thresholds: Readonly<Record<PolicyGroup, PolicyThresholds>>): EnginePolicy {
  const segments = Object.fromEntries(
    AGE_BANDS.map((b) => [b, { thresholds: thresholds[groupOf(b)], coolingOffSeconds: base.segments[b].coolingOffSeconds }]),
  ) as ScoringPolicyConfig['segments'];
  return enginePolicy({ ...base, thresholds: thresholds.general, segments });
}

/** The configured thresholds, as groups. */
export function configuredThresholds(base: ScoringPolicyConfig): Record<PolicyGroup, PolicyThresholds> {
  return { general: base.thresholds, minor: base.segments.minor.thresholds, elderly: base.segments.elderly.thresholds };
}

const capped = (own: Action, cap: Action | undefined): Action => (cap !== undefined && severity(cap) < severity(own) ? cap : own);

/** One group's transfers, prepared once: the context of each and its riskScore (which no candidate changes). */
class GroupData {
  readonly contexts: DecideContext[];
  readonly transfers: readonly CalibrationTransfer[];
  readonly legitimate: number;
  /** ascending distinct candidate thresholds */
  readonly candidates: number[];
  /** the rules that fired on this group's transfers */
  readonly ruleIds: ReadonlySet<string>;

  constructor(transfers: readonly CalibrationTransfer[], probe: EnginePolicy) {
    this.transfers = transfers;
    this.contexts = transfers.map((t) => replayedContext(t.modelScore));
    this.legitimate = transfers.filter((t) => !t.fraud).length;
    const scores = new Set<number>([1, WARN_MAX, BLOCK_MAX]);
    const ids = new Set<string>();
    transfers.forEach((t, i) => {
      for (const h of t.hits) ids.add(h.ruleId);
      const risk = decide(verdictOf(t, {}), this.contexts[i]!, probe).riskScore;
      if (risk >= 1 && risk <= WARN_MAX) scores.add(risk);
    });
    this.candidates = [...scores].sort((a, b) => a - b);
    this.ruleIds = ids;
  }

  /** The verdicts with these rule actions. */
  verdicts(ruleActions: Readonly<Record<string, Action>>): RuleVerdict[] {
    return this.transfers.map((t) => verdictOf(t, ruleActions));
  }
}

function verdictOf(t: CalibrationTransfer, ruleActions: Readonly<Record<string, Action>>): RuleVerdict {
  const hits: DecideHit[] = t.hits.map((h) => ({ score: h.score, action: capped(h.action, ruleActions[h.ruleId]), scamType: h.scamType }));
  return { hits, segment: t.band, errors: 0 };
}

/** Decides every transfer of a group with `decide()` and counts the outcome. */
function outcomeOf(data: GroupData, verdicts: readonly RuleVerdict[], engine: EnginePolicy): GroupOutcome {
  let warned = 0;
  let held = 0;
  let blocked = 0;
  let fraud = 0;
  let fraudValue = 0;
  let caught = 0;
  let caughtValue = 0;
  let severeValue = 0;
  for (let i = 0; i < verdicts.length; i++) {
    const t = data.transfers[i]!;
    const action = decide(verdicts[i]!, data.contexts[i]!, engine).action;
    if (t.fraud) {
      fraud++;
      fraudValue += t.amount;
      if (action !== 'allow') {
        caught++;
        caughtValue += t.amount;
        if (action !== 'warn') severeValue += t.amount;
      }
    } else if (action === 'warn') warned++;
    else if (action === 'cool_off') held++;
    else if (action === 'block') blocked++;
  }
  return {
    transfers: verdicts.length,
    legitimate: data.legitimate,
    legitimateWarned: warned,
    legitimateHeld: held,
    legitimateBlocked: blocked,
    fraud,
    fraudValue,
    fraudCaught: caught,
    fraudCaughtValue: caughtValue,
    fraudHeldOrBlockedValue: severeValue,
  };
}

/** Legitimate transfers with any intervention. */
const flagged = (o: GroupOutcome): number => o.legitimateWarned + o.legitimateHeld + o.legitimateBlocked;

/** Within budget: count ≤ budget share × legitimate transfers (a small epsilon for float shares). */
const fits = (count: number, share: number, legitimate: number): boolean => count <= share * legitimate + 1e-9;

/** How far over its budget an action is, in budgets (0 within). */
const overrun = (count: number, share: number, legitimate: number): number =>
  legitimate === 0 || fits(count, share, legitimate) ? 0 : (count / legitimate - share) / Math.max(share, 1 / legitimate);

export function rates(o: GroupOutcome, budget: InterventionBudget): GroupRates {
  const share = (n: number): number => (o.legitimate === 0 ? 0 : n / o.legitimate);
  return {
    ...o,
    warnRate: share(o.legitimateWarned),
    holdRate: share(o.legitimateHeld),
    blockRate: share(o.legitimateBlocked),
    budget,
    withinBudget:
      fits(o.legitimateWarned, budget.warn, o.legitimate) && fits(o.legitimateHeld, budget.coolOff, o.legitimate) && fits(o.legitimateBlocked, budget.block, o.legitimate),
  };
}

interface GroupFit {
  readonly thresholds: PolicyThresholds;
  readonly outcome: GroupOutcome;
  /** the sum of the actions' overruns (0: within budget) */
  readonly overrun: number;
}

/** The smallest candidate (from index `lo`, up to the largest ≤ `max`) for which `ok`; null when none. */
function lowest(candidates: readonly number[], max: number, ok: (t: number) => boolean): number | null {
  let hi = candidates.length - 1;
  while (hi >= 0 && candidates[hi]! > max) hi--;
  if (hi < 0 || !ok(candidates[hi]!)) return null;
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ok(candidates[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return candidates[lo]!;
}

class Search {
  evaluations = 0;
  private readonly cache = new Map<string, GroupFit>();

  constructor(
    private readonly base: ScoringPolicyConfig,
    private readonly groups: Readonly<Record<PolicyGroup, GroupData>>,
    private readonly budget: BudgetConfig,
    private readonly current: Readonly<Record<PolicyGroup, PolicyThresholds>>,
    private readonly elderlyRatioMax: number | null,
  ) {}

  private outcome(g: PolicyGroup, verdicts: readonly RuleVerdict[], t: PolicyThresholds): GroupOutcome {
    this.evaluations++;
    return outcomeOf(this.groups[g], verdicts, policyWith(this.base, { ...this.current, [g]: t }));
  }

  /**
   * Step 1 of the module's algorithm for one group; `maxFlagged`: the most legitimate transfers
   * of the group any intervention may reach (the elderly's fairness bound), met by the warn
   * threshold (the flagged count falls as it rises).
   */
  fitGroup(g: PolicyGroup, ruleActions: Readonly<Record<string, Action>>, maxFlagged = Infinity): GroupFit {
    const data = this.groups[g];
    const key = `${g}|${maxFlagged}|${[...data.ruleIds]
      .filter((id) => ruleActions[id] !== undefined)
      .sort()
      .map((id) => `${id}=${ruleActions[id]}`)
      .join(',')}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const verdicts = data.verdicts(ruleActions);
    const budget = budgetOf(this.budget, budgetGroup(g));
    const n = data.legitimate;
    let fit: GroupFit;
    if (n === 0) {
      // nothing to spend the budget on: the thresholds stay as configured
      fit = { thresholds: this.current[g], outcome: this.outcome(g, verdicts, this.current[g]), overrun: 0 };
    } else {
      const c = data.candidates;
      const block = lowest(c, BLOCK_MAX, (b) => fits(this.outcome(g, verdicts, { warn: Math.min(b, WARN_MAX), coolOff: Math.min(b, WARN_MAX), block: b }).legitimateBlocked, budget.block, n)) ?? BLOCK_MAX;
      const coolMax = Math.min(block, WARN_MAX);
      const coolOff = lowest(c, coolMax, (x) => fits(this.outcome(g, verdicts, { warn: x, coolOff: x, block }).legitimateHeld, budget.coolOff, n)) ?? coolMax;
      const warn =
        lowest(c, coolOff, (w) => {
          const o = this.outcome(g, verdicts, { warn: w, coolOff, block });
          return fits(o.legitimateWarned, budget.warn, n) && flagged(o) <= maxFlagged;
        }) ?? coolOff;
      const thresholds = { warn, coolOff, block };
      const outcome = this.outcome(g, verdicts, thresholds);
      fit = {
        thresholds,
        outcome,
        overrun:
          overrun(outcome.legitimateWarned, budget.warn, n) +
          overrun(outcome.legitimateHeld, budget.coolOff, n) +
          overrun(outcome.legitimateBlocked, budget.block, n) +
          (flagged(outcome) > maxFlagged ? (flagged(outcome) - maxFlagged) / Math.max(maxFlagged, 1) : 0),
      };
    }
    this.cache.set(key, fit);
    return fit;
  }

  /** Every group; the elderly's after the others', to whose false-positive rate `elderlyRatioMax` holds them. */
  fitAll(ruleActions: Readonly<Record<string, Action>>): Candidate {
    const general = this.fitGroup('general', ruleActions);
    const minor = this.fitGroup('minor', ruleActions);
    let maxFlagged = Infinity;
    const others = general.outcome.legitimate + minor.outcome.legitimate;
    if (this.elderlyRatioMax !== null && others > 0) {
      const othersRate = (flagged(general.outcome) + flagged(minor.outcome)) / others;
      maxFlagged = Math.floor(this.elderlyRatioMax * othersRate * this.groups.elderly.legitimate + 1e-9);
    }
    return { ruleActions, fits: { general, minor, elderly: this.fitGroup('elderly', ruleActions, maxFlagged) } };
  }
}

interface Candidate {
  readonly ruleActions: Readonly<Record<string, Action>>;
  readonly fits: Readonly<Record<PolicyGroup, GroupFit>>;
}

const totalOverrun = (c: Candidate): number => POLICY_GROUPS.reduce((s, g) => s + c.fits[g].overrun, 0);
const total = (c: Candidate, f: (o: GroupOutcome) => number): number => POLICY_GROUPS.reduce((s, g) => s + f(c.fits[g].outcome), 0);

/** Objective, compared lexicographically: caught value, caught count, value held or blocked, fewer legitimate interventions, fewer rule changes. */
function score(c: Candidate): number[] {
  return [
    total(c, (o) => o.fraudCaughtValue),
    total(c, (o) => o.fraudCaught),
    total(c, (o) => o.fraudHeldOrBlockedValue),
    -total(c, (o) => o.legitimateWarned + o.legitimateHeld + o.legitimateBlocked),
    -Object.keys(c.ruleActions).length,
  ];
}

function better(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > 1e-9) return a[i]! > b[i]!;
  }
  return false;
}

const step = (a: Action, by: -1 | 1): Action | null => ACTIONS[severity(a) + by] ?? null;

/** The rule actions one step away from `actions`: each rule lowered by one step, or a lowered one raised back by one. */
function neighbours(actions: Readonly<Record<string, Action>>, rules: readonly CalibrationRule[], raise: boolean): Record<string, Action>[] {
  const out: Record<string, Action>[] = [];
  for (const r of rules) {
    const now = actions[r.id] ?? r.action;
    const down = step(now, -1);
    if (down !== null) out.push({ ...actions, [r.id]: down });
    if (raise && severity(now) < severity(r.action)) {
      const up = step(now, 1)!;
      const next: Record<string, Action> = { ...actions };
      if (up === r.action) delete next[r.id];
      else next[r.id] = up;
      out.push(next);
    }
  }
  return out;
}

export interface CalibrateOptions {
  /**
   * The share of each budget the search aims at (0-1, default 1): below 1 it leaves room for
   * the sampling noise of other transfers (a band of 4,000 legitimate transfers has a block
   * budget of 4); the result is still judged against the whole budget.
   */
  readonly headroom?: number;
  /** bound on the rounds of each phase of the rule search */
  readonly maxRounds?: number;
  /**
   * Issue 6's fairness bound (default 1.25; null: none): the share of the elderly's legitimate
   * transfers with any intervention is at most this many times everyone else's. The search
   * holds the elderly to it through their warn threshold; it does not raise the elderly's rate
   * towards the band's lower end (0.8): that would spend budget to be equal, not to catch.
   */
  readonly elderlyRatioMax?: number | null;
}

const scaled = (b: InterventionBudget, k: number): InterventionBudget => ({ warn: b.warn * k, coolOff: b.coolOff * k, block: b.block * k });

/**
 * Proposes thresholds and rule actions within `budget` on `transfers` (the module's algorithm).
 * `rules`: the rule set's active rules (a hit of a rule not listed keeps its action).
 */
export function calibrate(
  transfers: readonly CalibrationTransfer[],
  rules: readonly CalibrationRule[],
  base: ScoringPolicyConfig,
  budget: BudgetConfig,
  options: CalibrateOptions = {},
): CalibrationResult {
  const maxRounds = options.maxRounds ?? 200;
  const headroom = options.headroom ?? 1;
  if (!(headroom > 0 && headroom <= 1)) throw new RangeError(`headroom must be in (0, 1], got ${headroom}`);
  const target: BudgetConfig = {
    general: scaled(budget.general, headroom),
    bands: Object.fromEntries(AGE_BANDS.map((b) => [b, scaled(budget.bands[b], headroom)])) as Record<AgeBand, InterventionBudget>,
  };
  const current = configuredThresholds(base);
  const probe = policyWith(base, current);
  const byGroup: Record<PolicyGroup, CalibrationTransfer[]> = { general: [], minor: [], elderly: [] };
  for (const t of transfers) byGroup[groupOf(t.band)].push(t);
  const groups = Object.fromEntries(POLICY_GROUPS.map((g) => [g, new GroupData(byGroup[g], probe)])) as Record<PolicyGroup, GroupData>;
  const search = new Search(base, groups, target, current, options.elderlyRatioMax === undefined ? 1.25 : options.elderlyRatioMax);
  // only rules that fired can change anything
  const fired = new Set(POLICY_GROUPS.flatMap((g) => [...groups[g].ruleIds]));
  const movable = rules.filter((r) => fired.has(r.id) && r.action !== 'allow');

  let best = search.fitAll({});
  // greedy repair: cut the overrun
  for (let round = 0; round < maxRounds && totalOverrun(best) > 0; round++) {
    let next: Candidate | null = null;
    for (const actions of neighbours(best.ruleActions, movable, false)) {
      const c = search.fitAll(actions);
      if (next === null || totalOverrun(c) < totalOverrun(next) - 1e-12 || (Math.abs(totalOverrun(c) - totalOverrun(next)) <= 1e-12 && better(score(c), score(next)))) next = c;
    }
    if (next === null || totalOverrun(next) >= totalOverrun(best) - 1e-12) break;
    best = next;
  }
  // hill climbing within budget
  if (totalOverrun(best) === 0) {
    for (let round = 0; round < maxRounds; round++) {
      let next: Candidate | null = null;
      for (const actions of neighbours(best.ruleActions, movable, true)) {
        const c = search.fitAll(actions);
        if (totalOverrun(c) > 0) continue;
        if (better(score(c), score(next ?? best))) next = c;
      }
      if (next === null) break;
      best = next;
    }
  }

  const thresholds = Object.fromEntries(POLICY_GROUPS.map((g) => [g, best.fits[g].thresholds])) as Record<PolicyGroup, PolicyThresholds>;
  const policy: CalibrationPolicy = { thresholds, ruleActions: best.ruleActions };
  const before = evaluatePolicy(transfers, base, budget, { thresholds: current, ruleActions: {} });
  const after = evaluatePolicy(transfers, base, budget, policy);
  const ruleChanges = rules.filter((r) => best.ruleActions[r.id] !== undefined).map((r) => ({ ruleId: r.id, from: r.action, to: best.ruleActions[r.id]! }));
  return { before, after, policy, ruleChanges, withinBudget: POLICY_GROUPS.every((g) => after[g].withinBudget), evaluations: search.evaluations };
}

/** A policy's rates per group on these transfers, every transfer decided by `decide()`. */
export function evaluatePolicy(
  transfers: readonly CalibrationTransfer[],
  base: ScoringPolicyConfig,
  budget: BudgetConfig,
  policy: CalibrationPolicy,
): Record<PolicyGroup, GroupRates> {
  const engine = policyWith(base, policy.thresholds);
  const out = {} as Record<PolicyGroup, GroupRates>;
  for (const g of POLICY_GROUPS) {
    const of = transfers.filter((t) => groupOf(t.band) === g);
    const data = new GroupData(of, engine);
    out[g] = rates(outcomeOf(data, data.verdicts(policy.ruleActions), engine), budgetOf(budget, budgetGroup(g)));
  }
  return out;
}
