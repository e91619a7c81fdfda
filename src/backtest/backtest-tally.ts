import { ACTIONS, type Action } from '../scoring/actions.ts';
import type { Rule, RuleHit, RuleSet } from '../rules/language/rule-set.ts';
import type { RuleMode } from '../rules/language/rule-file.ts';
import type { ReplayOutcome } from './replay-decision.ts';

/**
 * The backtest's counters (pure): one call of `add` per replayed decision, then `result`.
 *
 * Both sides are decided on the same stored vectors: `active` is the rule set serving now,
 * `candidate` the proposed one, so a difference is the candidate's doing and never a left-over of
 * an older version. The stored action (whatever version decided it then) is counted beside them.
 * Amounts are summed per currency (never across currencies), in thousandths, so sums are exact.
 */

/** Per currency, in major units. */
export type Amounts = Record<string, number>;

export interface ActionTally {
  readonly transfers: number;
  readonly amount: Amounts;
  /** of those transfers, how many are in the case library (reported scams) */
  readonly reportedScams: number;
  readonly reportedAmount: Amounts;
}

export interface Transition extends ActionTally {
  readonly from: Action;
  readonly to: Action;
}

export interface RuleSideStats {
  readonly hits: number;
  readonly reportedScams: number;
  /** the final action (of this side) of the transfers the rule hit */
  readonly actions: Readonly<Record<Action, number>>;
}

export interface CandidateRuleStats extends RuleSideStats {
  /** hits where the active set's rule of the same id did not fire (all hits of an added rule) */
  readonly newHits: number;
  readonly newHitsReported: number;
  /** hits on transfers whose action differs between active and candidate: the rule was part of the change */
  readonly changedAction: number;
  readonly changedActionReported: number;
}

export interface ActiveRuleStats extends RuleSideStats {
  /** hits where the candidate's rule of the same id does not fire (all hits of a removed rule) */
  readonly lostHits: number;
  readonly lostHitsReported: number;
}

export type RuleStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface RuleReport {
  readonly ruleId: string;
  /** candidate against active: `when`, score, action, scam type or mode differ → changed */
  readonly status: RuleStatus;
  /** the candidate's mode, or the active one's for a removed rule */
  readonly mode: RuleMode;
  readonly active: ActiveRuleStats | null;
  readonly candidate: CandidateRuleStats | null;
}

export interface BacktestCounts {
  /** decisions replayed (stored vector of the current feature catalogue) */
  readonly replayed: number;
  readonly reported: ActionTally;
  readonly totals: {
    /** by the action stored with each decision (decided by the version of its time) */
    readonly stored: Readonly<Record<string, number>>;
    readonly active: Readonly<Record<Action, ActionTally>>;
    readonly candidate: Readonly<Record<Action, ActionTally>>;
  };
  /** decisions whose stored action the active set reproduces (differences: older rule versions, models) */
  readonly activeReproducesStored: number;
  /** decisions per stored rulesVersion */
  readonly storedRulesVersions: Readonly<Record<string, number>>;
  readonly changes: {
    /** transfers whose candidate action is X and whose active action is not */
    readonly newly: Readonly<Record<Exclude<Action, 'allow'>, ActionTally>>;
    /** transfers whose active action is X and whose candidate action is not */
    readonly noLonger: Readonly<Record<Exclude<Action, 'allow'>, ActionTally>>;
    /** every active → candidate action pair that changed, most transfers first */
    readonly transitions: readonly Transition[];
  };
  /** decisions on which at least one rule failed to evaluate */
  readonly ruleErrors: { readonly active: number; readonly candidate: number };
  readonly rules: readonly RuleReport[];
}

/** The stored facts of one decision that the counters need beside the two outcomes. */
export interface TallyRow {
  readonly amount: number;
  readonly currency: string;
  readonly storedAction: string;
  readonly rulesVersion: string;
  readonly reported: boolean;
}

class MutableTally {
  transfers = 0;
  reportedScams = 0;
  /** currency → thousandths */
  readonly amount = new Map<string, number>();
  readonly reportedAmount = new Map<string, number>();

  add(row: TallyRow, milli: number): void {
    this.transfers++;
    this.amount.set(row.currency, (this.amount.get(row.currency) ?? 0) + milli);
    if (row.reported) {
      this.reportedScams++;
      this.reportedAmount.set(row.currency, (this.reportedAmount.get(row.currency) ?? 0) + milli);
    }
  }

  freeze(): ActionTally {
    return { transfers: this.transfers, amount: majorUnits(this.amount), reportedScams: this.reportedScams, reportedAmount: majorUnits(this.reportedAmount) };
  }
}

function majorUnits(m: ReadonlyMap<string, number>): Amounts {
  const out: Amounts = {};
  for (const [currency, milli] of [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[currency] = milli / 1000;
  return out;
}

const NON_ALLOW = ['warn', 'cool_off', 'block'] as const;
const ACTION_INDEX: Readonly<Record<Action, number>> = { allow: 0, warn: 1, cool_off: 2, block: 3 };

function perAction<T>(make: (a: Action) => T): Record<Action, T> {
  return Object.fromEntries(ACTIONS.map((a) => [a, make(a)])) as Record<Action, T>;
}

class RuleCounters {
  hits = 0;
  reported = 0;
  readonly actions = [0, 0, 0, 0];
  /** candidate: newHits; active: lostHits */
  apart = 0;
  apartReported = 0;
  changed = 0;
  changedReported = 0;

  side(): RuleSideStats {
    return { hits: this.hits, reportedScams: this.reported, actions: perAction((a) => this.actions[ACTION_INDEX[a]]!) };
  }
}

function sameRule(a: Rule, b: Rule): boolean {
  return a.when === b.when && a.score === b.score && a.action === b.action && a.scamType === b.scamType && a.mode === b.mode;
}

function firedIn(hits: readonly RuleHit[], ruleId: string): boolean {
  for (const h of hits) if (h.ruleId === ruleId) return true;
  return false;
}

export class BacktestTally {
  private replayed = 0;
  private readonly reported = new MutableTally();
  private readonly stored = new Map<string, number>();
  private readonly versions = new Map<string, number>();
  private reproduces = 0;
  private readonly active = ACTIONS.map(() => new MutableTally());
  private readonly candidate = ACTIONS.map(() => new MutableTally());
  /** [from * 4 + to] */
  private readonly transitions = Array.from({ length: 16 }, () => new MutableTally());
  private activeErrors = 0;
  private candidateErrors = 0;
  private readonly activeIndex: ReadonlyMap<string, number>;
  private readonly candidateIndex: ReadonlyMap<string, number>;
  private readonly activeRules: readonly RuleCounters[];
  private readonly candidateRules: readonly RuleCounters[];

  constructor(
    private readonly activeSet: RuleSet,
    private readonly candidateSet: RuleSet,
  ) {
    this.activeIndex = new Map(activeSet.rules.map((r, i) => [r.id, i]));
    this.candidateIndex = new Map(candidateSet.rules.map((r, i) => [r.id, i]));
    this.activeRules = activeSet.rules.map(() => new RuleCounters());
    this.candidateRules = candidateSet.rules.map(() => new RuleCounters());
  }

  add(row: TallyRow, active: ReplayOutcome, candidate: ReplayOutcome): void {
    const milli = Math.round(row.amount * 1000);
    this.replayed++;
    if (row.reported) this.reported.add(row, milli);
    this.stored.set(row.storedAction, (this.stored.get(row.storedAction) ?? 0) + 1);
    this.versions.set(row.rulesVersion, (this.versions.get(row.rulesVersion) ?? 0) + 1);
    if (active.action === row.storedAction) this.reproduces++;
    const a = ACTION_INDEX[active.action];
    const c = ACTION_INDEX[candidate.action];
    this.active[a]!.add(row, milli);
    this.candidate[c]!.add(row, milli);
    const changed = a !== c;
    if (changed) this.transitions[a * 4 + c]!.add(row, milli);
    if (active.errors > 0) this.activeErrors++;
    if (candidate.errors > 0) this.candidateErrors++;

    for (const h of candidate.hits) {
      const k = this.candidateRules[this.candidateIndex.get(h.ruleId)!]!;
      k.hits++;
      k.actions[c]!++;
      if (row.reported) k.reported++;
      if (!firedIn(active.hits, h.ruleId)) {
        k.apart++;
        if (row.reported) k.apartReported++;
      }
      if (changed) {
        k.changed++;
        if (row.reported) k.changedReported++;
      }
    }
    for (const h of active.hits) {
      const k = this.activeRules[this.activeIndex.get(h.ruleId)!]!;
      k.hits++;
      k.actions[a]!++;
      if (row.reported) k.reported++;
      if (!firedIn(candidate.hits, h.ruleId)) {
        k.apart++;
        if (row.reported) k.apartReported++;
      }
    }
  }

  result(): BacktestCounts {
    const newly = {} as Record<Exclude<Action, 'allow'>, ActionTally>;
    const noLonger = {} as Record<Exclude<Action, 'allow'>, ActionTally>;
    for (const x of NON_ALLOW) {
      const into = new MutableTally();
      const out = new MutableTally();
      const xi = ACTION_INDEX[x];
      for (let from = 0; from < 4; from++) {
        for (let to = 0; to < 4; to++) {
          if (from === to) continue;
          const t = this.transitions[from * 4 + to]!;
          if (to === xi) merge(into, t);
          if (from === xi) merge(out, t);
        }
      }
      newly[x] = into.freeze();
      noLonger[x] = out.freeze();
    }
    const transitions: Transition[] = [];
    for (let from = 0; from < 4; from++) {
      for (let to = 0; to < 4; to++) {
        const t = this.transitions[from * 4 + to]!;
        if (from !== to && t.transfers > 0) transitions.push({ from: ACTIONS[from]!, to: ACTIONS[to]!, ...t.freeze() });
      }
    }
    transitions.sort((x, y) => y.transfers - x.transfers);
    return {
      replayed: this.replayed,
      reported: this.reported.freeze(),
      totals: {
        stored: Object.fromEntries([...this.stored.entries()].sort(([x], [y]) => (x < y ? -1 : 1))),
        active: perAction((x) => this.active[ACTION_INDEX[x]]!.freeze()),
        candidate: perAction((x) => this.candidate[ACTION_INDEX[x]]!.freeze()),
      },
      activeReproducesStored: this.reproduces,
      storedRulesVersions: Object.fromEntries([...this.versions.entries()].sort(([, x], [, y]) => y - x)),
      changes: { newly, noLonger, transitions },
      ruleErrors: { active: this.activeErrors, candidate: this.candidateErrors },
      rules: this.ruleReports(),
    };
  }

  /** Candidate rules in their order, then the active rules the candidate removes. */
  private ruleReports(): RuleReport[] {
    const out: RuleReport[] = [];
    this.candidateSet.rules.forEach((rule, i) => {
      const k = this.candidateRules[i]!;
      const ai = this.activeIndex.get(rule.id);
      const activeRule = ai === undefined ? undefined : this.activeSet.rules[ai]!;
      out.push({
        ruleId: rule.id,
        status: activeRule === undefined ? 'added' : sameRule(rule, activeRule) ? 'unchanged' : 'changed',
        mode: rule.mode,
        active: ai === undefined ? null : this.activeStats(ai),
        candidate: {
          ...k.side(),
          newHits: k.apart,
          newHitsReported: k.apartReported,
          changedAction: k.changed,
          changedActionReported: k.changedReported,
        },
      });
    });
    this.activeSet.rules.forEach((rule, i) => {
      if (this.candidateIndex.has(rule.id)) return;
      out.push({ ruleId: rule.id, status: 'removed', mode: rule.mode, active: this.activeStats(i), candidate: null });
    });
    return out;
  }

  private activeStats(i: number): ActiveRuleStats {
    const k = this.activeRules[i]!;
    return { ...k.side(), lostHits: k.apart, lostHitsReported: k.apartReported };
  }
}

function merge(into: MutableTally, t: MutableTally): void {
  into.transfers += t.transfers;
  into.reportedScams += t.reportedScams;
  for (const [c, v] of t.amount) into.amount.set(c, (into.amount.get(c) ?? 0) + v);
  for (const [c, v] of t.reportedAmount) into.reportedAmount.set(c, (into.reportedAmount.get(c) ?? 0) + v);
}
