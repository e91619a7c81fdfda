/**
 * Counts rule hits (acting and shadow) for the safety cap (issue 7) and acts on trips of acting rules.
 *
 * On the scoring path a decision costs a few Map increments (`note`), nothing awaited. Every
 * RULES_SAFETY_CAP_FLUSH_MS the node adds its counts to the current minute's hash in Redis in
 * one pipeline (HINCRBY per rule, shared by all nodes), then reads the window and the hour
 * before it and, for each rule that trips (safety-cap.ts), asks RuleVersions to move it to
 * shadow. The first node to do so writes the version; the others find it done. Each trip is
 * logged as an alert event (`event: "rule_auto_shadowed"`).
 */
import type { Redis } from 'ioredis';
import type { StoredDecision } from '../../scoring/decision.ts';
import type { Keys } from '../../store/keys.ts';
import type { SafetyCapConfig } from './rule-versions-config.ts';
import type { RuleVersions, RuleVersionsLog } from './rule-versions.ts';
import { findTrips, RULE_FIELD, sumMinutes, TOTAL_FIELD, type SafetyCapTrip } from './safety-cap.ts';

export interface RuleHitCounterDeps {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly versions: RuleVersions;
  readonly config: SafetyCapConfig;
  /** ms since the epoch (minute buckets follow it) */
  readonly clock: () => number;
  readonly log: RuleVersionsLog;
  /** told of every rule the cap moved to shadow on this node */
  readonly onTrip?: (trip: SafetyCapTrip, versionId: number) => void;
}

const BASELINE_MINUTES = 60;

export class RuleHitCounter {
  private readonly deps: RuleHitCounterDeps;
  private total = 0;
  private hits = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** the tick running now, which close() waits for */
  private running: Promise<void> | null = null;
  private closed = false;
  /** rules this node already acted on recently: rule id → until (ms) */
  private readonly acted = new Map<string, number>();

  constructor(deps: RuleHitCounterDeps) {
    this.deps = deps;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.config.flushMs);
    this.timer.unref();
  }

  /**
   * The scoring path's part: count one decision's hits, shadow hits included, so a rule that
   * ran in shadow has its real share as the baseline when it is made to act (only acting rules
   * can trip: see check()).
   */
  note(d: StoredDecision): void {
    this.total++;
    for (const h of d.hits) this.hits.set(h.ruleId, (this.hits.get(h.ruleId) ?? 0) + 1);
    for (const h of d.shadowHits) this.hits.set(h.ruleId, (this.hits.get(h.ruleId) ?? 0) + 1);
  }

  /**
   * One flush and check (the timer calls it; tests may too). Does nothing while another tick
   * runs, or once close() was called.
   */
  async tick(): Promise<void> {
    if (this.running !== null || this.closed) return;
    const run = this.flushAndCheck();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = null;
    }
  }

  private async flushAndCheck(): Promise<void> {
    try {
      await this.flush();
      await this.check();
    } catch (err) {
      this.deps.log.warn({ err }, 'the safety cap could not count or check rule hits this time');
    }
  }

  /**
   * Stops the timer and waits for a tick already running, so no flush or check reaches Redis
   * or the SQL store after this resolves (shutdown closes them next). Counts not flushed yet
   * are dropped: the other nodes' counts carry the cap.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  private minute(): number {
    return Math.floor(this.deps.clock() / 60_000);
  }

  private async flush(): Promise<void> {
    if (this.total === 0) return;
    const total = this.total;
    const hits = this.hits;
    this.total = 0;
    this.hits = new Map();
    const key = this.deps.keys.ruleHits(this.minute());
    const p = this.deps.redis.pipeline().hincrby(key, TOTAL_FIELD, total);
    for (const [id, n] of hits) p.hincrby(key, `${RULE_FIELD}${id}`, n);
    p.expire(key, (this.deps.config.windowMinutes + BASELINE_MINUTES + 5) * 60);
    const results = await p.exec();
    const failed = results?.find(([err]) => err !== null);
    if (failed) throw failed[0];
  }

  private async check(): Promise<void> {
    const cfg = this.deps.config;
    const now = this.minute();
    const p = this.deps.redis.pipeline();
    const span = cfg.windowMinutes + BASELINE_MINUTES;
    for (let i = 0; i < span; i++) p.hgetall(this.deps.keys.ruleHits(now - i));
    const results = (await p.exec()) ?? [];
    const minutes = results.map(([err, value]) => {
      if (err !== null) throw err;
      return value as Record<string, string>;
    });
    const window = sumMinutes(minutes.slice(0, cfg.windowMinutes));
    const baseline = sumMinutes(minutes.slice(cfg.windowMinutes));
    const acting = new Set(this.deps.versions.active.ruleSet.rules.filter((r) => r.mode === 'active').map((r) => r.id));
    const nowMs = this.deps.clock();
    for (const trip of findTrips(window, baseline, cfg)) {
      if (!acting.has(trip.ruleId) || (this.acted.get(trip.ruleId) ?? 0) > nowMs) continue;
      // a rule moved to shadow stops counting; this keeps a node from retrying while its window drains
      this.acted.set(trip.ruleId, nowMs + cfg.windowMinutes * 60_000);
      const version = await this.deps.versions.autoShadow(trip.ruleId, trip.reason);
      if (version === null) continue;
      this.deps.log.error(
        { event: 'rule_auto_shadowed', ruleId: trip.ruleId, versionId: version.id, share: trip.share, baselineShare: trip.baselineShare, decisions: trip.windowTotal },
        `ALERT rule ${trip.ruleId} moved to shadow by the safety cap (version ${version.id}): ${trip.reason}`,
      );
      this.deps.onTrip?.(trip, version.id);
    }
  }
}
