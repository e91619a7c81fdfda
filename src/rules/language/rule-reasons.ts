import type { RuleSet } from './rule-set.ts';

export interface RuleReason {
  readonly reason: string;
  readonly reasonZh: string | null;
}

/**
 * The human reasons of the rule sets this node has served, by version: stored decisions keep
 * only rule ids (compact, no free text in Redis), and are rendered with the reasons of the
 * version that made them. Keeps the most recent `capacity` versions; an id no longer known
 * falls back to the newest version that has it, else to the id itself.
 */
export class RuleReasons {
  private readonly byVersion = new Map<string, ReadonlyMap<string, RuleReason>>();
  private readonly capacity: number;

  constructor(capacity = 16) {
    this.capacity = capacity;
  }

  remember(ruleSet: RuleSet): void {
    this.byVersion.delete(ruleSet.version);
    this.byVersion.set(
      ruleSet.version,
      new Map(ruleSet.rules.map((r) => [r.id, { reason: r.description, reasonZh: r.descriptionZh }])),
    );
    while (this.byVersion.size > this.capacity) {
      const oldest = this.byVersion.keys().next().value;
      if (oldest === undefined) break;
      this.byVersion.delete(oldest);
    }
  }

  lookup(version: string, ruleId: string): RuleReason {
    const exact = this.byVersion.get(version)?.get(ruleId);
    if (exact) return exact;
    const versions = [...this.byVersion.values()];
    for (let i = versions.length - 1; i >= 0; i--) {
      const r = versions[i]!.get(ruleId);
      if (r) return r;
    }
    return { reason: ruleId, reasonZh: null };
  }
}
