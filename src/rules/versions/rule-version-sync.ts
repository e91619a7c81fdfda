/**
 * Every node serves the active rule version without a restart (issue 7, DESIGN §5).
 *
 * The SQL store holds the truth (rule_active); Redis carries a copy of the pointer
 * (`<generation>:<version id>`, raised only, never lowered: rules-pointer.lua) and a pub/sub
 * message when it moves. A node reloads from SQL when a message arrives, when its poll
 * (RULES_POLL_MS) finds a newer generation in the pointer, and when its subscriber connection
 * comes back. So a node that missed a message converges within one poll; while Redis is away
 * the poll asks SQL directly.
 *
 * The pointer is written together with the active version's files
 * (`<prefix>{rules}:active:files`), so processes without SQL follow the same version from Redis
 * alone (rule-version-follower.ts: the standalone worker).
 */
import type { Redis } from 'ioredis';
import { SCRIPTS, type Keys } from '../../store/keys.ts';
import { encodeActiveRuleFiles } from './active-rule-files.ts';
import type { RuleFileText } from '../language/rule-set.ts';
import type { RuleVersions, RuleVersionsLog } from './rule-versions.ts';
import type { ActivePointer } from './rule-version-store.ts';

export interface RuleVersionSyncDeps {
  /** for the pointer (GET, the script); the scoring connection is fine: these calls are rare */
  readonly redis: Redis;
  /** a connection of its own: a subscribed connection can do nothing else */
  readonly subscriber: Redis;
  readonly keys: Keys;
  readonly versions: RuleVersions;
  readonly pollMs: number;
  readonly log: RuleVersionsLog;
}

/** `<generation>:<version id>` → generation, or null when unreadable. */
export function pointerGeneration(value: string | null): number | null {
  const m = value === null ? null : /^(\d+):\d+$/.exec(value);
  return m === null ? null : Number(m[1]);
}

export class RuleVersionSync {
  private readonly deps: RuleVersionSyncDeps;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private checking = false;
  /** polls, reloads and announcements under way, which close() waits for */
  private readonly inFlight = new Set<Promise<void>>();

  /** Announces switches from the start; follows the other nodes from start() on. */
  constructor(deps: RuleVersionSyncDeps) {
    this.deps = deps;
  }

  /** Subscribes, announces the served version and polls every pollMs, until close(). */
  async start(): Promise<void> {
    const deps = this.deps;
    const channel = deps.keys.rulesChannel();
    deps.subscriber.on('message', (ch: string) => {
      if (ch === channel) this.refresh('announcement');
    });
    // after a reconnect (ioredis subscribes again by itself): messages may have been missed
    deps.subscriber.on('ready', () => void this.check());
    await deps.subscriber.subscribe(channel);
    await this.announce(deps.versions.active.pointer, deps.versions.active.ruleSet.files);
    if (this.closed) return;
    this.timer = setInterval(() => void this.check(), deps.pollMs);
    this.timer.unref();
  }

  /**
   * Raises the Redis pointer to `pointer`, stores `files` (that version's) beside it and
   * publishes it, unless it is already there or newer (then the node that raised it has
   * published). Called after every switch on this node.
   */
  async announce(pointer: ActivePointer, files: readonly RuleFileText[], force = false): Promise<void> {
    // after close() a switch is not announced: the other nodes find it in the SQL store at their next poll
    if (this.closed) return;
    await this.track(this.raisePointer(pointer, files, force));
  }

  private async raisePointer(pointer: ActivePointer, files: readonly RuleFileText[], force: boolean): Promise<void> {
    const k = this.deps.keys;
    try {
      await this.deps.redis.eval(
        SCRIPTS.rulesPointer.lua,
        SCRIPTS.rulesPointer.numberOfKeys,
        k.rulesPointer(),
        k.rulesActiveFiles(),
        pointer.generation,
        pointer.versionId,
        k.rulesChannel(),
        force ? '1' : '0',
        encodeActiveRuleFiles({ generation: pointer.generation, versionId: pointer.versionId, files }),
      );
    } catch (err) {
      // the other nodes still converge through their poll of SQL while Redis is away
      this.deps.log.warn({ err, versionId: pointer.versionId }, 'announcing the rule version in Redis failed');
    }
  }

  /** One poll: compare the Redis pointer with the served generation, repair it, and ask SQL for a newer version. */
  async check(): Promise<void> {
    if (this.closed || this.checking) return;
    this.checking = true;
    await this.track(this.poll());
  }

  private async poll(): Promise<void> {
    try {
      const active = this.deps.versions.active;
      const served = active.pointer;
      let value: string | null;
      try {
        value = await this.deps.redis.get(this.deps.keys.rulesPointer());
      } catch {
        await this.deps.versions.refresh(); // Redis is away: the SQL store decides
        return;
      }
      const generation = pointerGeneration(value);
      if (generation === null || generation < served.generation) {
        await this.raisePointer(served, active.ruleSet.files, false); // missing or behind: repair it
      } else if (generation > served.generation) {
        await this.deps.versions.refresh();
        const sql = await this.deps.versions.activePointer();
        // a pointer ahead of the SQL store is left from another database: the store wins
        if (sql !== null && sql.generation < generation) await this.raisePointer(sql, await this.filesOf(sql), true);
        return;
      }
      // SQL may be ahead of both: the node that committed a change failed to load it or died
      // before announcing it. One read of rule_active per poll; a switch announces (onSwitch).
      await this.deps.versions.refresh();
    } catch (err) {
      this.deps.log.error({ err }, 'checking the active rule version failed; retrying at the next poll');
    } finally {
      this.checking = false;
    }
  }

  /** The files of the version `pointer` names: the served one's, or read from SQL. */
  private async filesOf(pointer: ActivePointer): Promise<readonly RuleFileText[]> {
    const active = this.deps.versions.active;
    if (active.version.id === pointer.versionId) return active.ruleSet.files;
    return (await this.deps.versions.version(pointer.versionId)).files;
  }

  /**
   * Stops the poll and waits for the polls, reloads and announcements under way, so none
   * reaches Redis or the SQL store after this resolves (shutdown closes them next); none
   * starts after it was called.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    // work that finishes may have started more (a reload announces its switch); after
    // `closed` nothing new starts, so this ends
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private refresh(why: string): void {
    if (this.closed) return;
    void this.track(
      this.deps.versions.refresh().catch((err: unknown) => {
        this.deps.log.error({ err, why }, 'loading the active rule version failed; retrying at the next poll');
      }),
    );
  }

  private async track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
  }
}
