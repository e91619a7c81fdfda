/**
 * The active rule version for a process without SQL (the standalone worker, src/cli/worker.ts:
 * with the default embedded PGlite it cannot open the API's database, which is single-process).
 *
 * API nodes store the active version's files in Redis with the pointer, in one script
 * (rules-pointer.lua: `<prefix>{rules}:active` and `<prefix>{rules}:active:files`). A follower
 * serves those files: it reads them at start, and again when a message arrives on
 * `<prefix>{rules}:changed`, when its poll (RULES_POLL_MS) finds the pointer naming another
 * version than the one it serves, and when its subscriber connection comes back. The new files
 * are compiled and `rules.current` is swapped with one assignment, so a re-check uses one whole
 * version. Files that do not compile (or a payload that is not valid) keep the served version,
 * and the log says why.
 *
 * It follows whatever the pointer names, also a lower generation: only the SQL-backed nodes
 * move the pointer, forward only unless the SQL store says otherwise (rule-version-sync.ts).
 *
 * While no API node has announced a version (a new Redis), it serves the rule files of
 * RULES_DIR, and says so in the log; the first announced version replaces them.
 */
import type { RedisClient } from '../../store/redis-connections.ts';
import type { Keys } from '../../store/keys.ts';
import { parseActiveRuleFiles, pointerOf } from './active-rule-files.ts';
import { formatRuleError, type RuleError } from '../language/rule-error.ts';
import { compileRuleSetFromText, type RuleSet, type RuleSetResult } from '../language/rule-set.ts';
import type { RuleVersionsLog } from './rule-versions.ts';

export interface RuleVersionFollowerDeps {
  /** for GETs of the pointer and the files */
  readonly redis: RedisClient;
  /** a connection of its own: a subscribed connection can do nothing else (on a cluster, PUBLISH reaches every node) */
  readonly subscriber: RedisClient;
  readonly keys: Keys;
  readonly pollMs: number;
  readonly log: RuleVersionsLog;
  /** the rule files to serve while Redis holds no version (loadRuleDir of RULES_DIR) */
  readonly fallback: () => Promise<RuleSetResult>;
  /** where the fallback files are, for the log (RULES_DIR) */
  readonly fallbackDir: string;
  /** told after every switch of `rules.current` */
  readonly onSwitch?: (ruleSet: RuleSet, version: FollowedVersion) => void;
}

/** The stored version served; null while the fallback files are served. */
export interface FollowedVersion {
  readonly generation: number;
  readonly versionId: number;
}

const formatErrors = (errors: readonly RuleError[]): string => errors.map(formatRuleError).join('\n');

export class RuleVersionFollower {
  /** the rule set to use; `current` is swapped whole, never edited */
  readonly rules: { current: RuleSet };
  private served: FollowedVersion | null;
  private readonly deps: RuleVersionFollowerDeps;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private checking: Promise<void> | null = null;
  private checkAgain = false;
  /** `<generation>:<version id>` whose files did not compile here (not compiled again) */
  private failed: string | null = null;
  /** the latest condition logged by a check, so a poll does not repeat it every time */
  private lastNote: string | null = null;
  /** the latest subscriber error logged (cleared when it is ready again) */
  private lastSubscriberError: string | null = null;

  private constructor(deps: RuleVersionFollowerDeps, ruleSet: RuleSet, served: FollowedVersion | null) {
    this.deps = deps;
    this.rules = { current: ruleSet };
    this.served = served;
  }

  /**
   * Subscribes, then reads the stored version (subscribing first: a version announced in between
   * is not missed). Throws when neither the stored version nor the fallback files give a valid
   * rule set, or when Redis cannot be read.
   */
  static async start(deps: RuleVersionFollowerDeps): Promise<RuleVersionFollower> {
    const channel = deps.keys.rulesChannel();
    let follower: RuleVersionFollower | null = null;
    deps.subscriber.on('message', (ch: string) => {
      if (ch === channel) void follower?.check();
    });
    // after a reconnect (ioredis subscribes again by itself): messages may have been missed
    deps.subscriber.on('ready', () => {
      if (follower !== null) follower.lastSubscriberError = null;
      void follower?.check();
    });
    deps.subscriber.on('error', (err: Error) => follower?.subscriberError(err));
    await deps.subscriber.subscribe(channel);

    const stored = await readStored(await deps.redis.get(deps.keys.rulesActiveFiles()), deps.keys);
    if (stored.ok) {
      follower = new RuleVersionFollower(deps, stored.ruleSet, stored.version);
      deps.log.info(
        { ...stored.version, version: stored.ruleSet.version, rules: stored.ruleSet.rules.length },
        `serving rule version ${stored.version.versionId} from Redis`,
      );
    } else {
      const files = await deps.fallback();
      if (!files.ok) {
        throw new Error(`${stored.why}${stored.errors}\nand the rule set in ${deps.fallbackDir} is invalid:\n${formatErrors(files.errors)}`);
      }
      follower = new RuleVersionFollower(deps, files.ruleSet, null);
      follower.failed = stored.failed;
      const fields = { version: files.ruleSet.version, rules: files.ruleSet.rules.length, dir: deps.fallbackDir };
      const msg = `${stored.why}; serving the rule files in ${deps.fallbackDir} until a version is announced${stored.errors}`;
      if (stored.absent) deps.log.warn(fields, msg);
      else deps.log.error(fields, msg);
    }
    follower.timer = setInterval(() => void follower?.check(), deps.pollMs);
    follower.timer.unref();
    // a version announced between the subscription and the read above
    void follower.check();
    return follower;
  }

  /** The stored version served, or null while the fallback files are served. */
  get version(): FollowedVersion | null {
    return this.served;
  }

  /**
   * One check: when the pointer names another version than the served one, read the stored
   * files and switch to them. Runs one at a time; a request during one runs once more after it.
   */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.checking !== null) {
      this.checkAgain = true;
      return this.checking;
    }
    const run = async (): Promise<void> => {
      do {
        this.checkAgain = false;
        await this.checkOnce().catch((err: unknown) => {
          this.deps.log.error({ err }, 'checking the active rule version failed; retrying at the next poll');
        });
      } while (this.checkAgain && !this.closed);
    };
    this.checking = run().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /**
   * Stops the poll and waits for a check already under way, so nothing reads Redis after the
   * caller goes on to close its connections; a check asked for after this does nothing.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.checking;
  }

  private async checkOnce(): Promise<void> {
    const k = this.deps.keys;
    let pointer: string | null;
    let stored: string | null = null;
    try {
      pointer = await this.deps.redis.get(k.rulesPointer());
      const served = this.served === null ? null : pointerOf(this.served);
      if (pointer === null || pointer === served) return this.noted(null);
      stored = await this.deps.redis.get(k.rulesActiveFiles());
    } catch (err) {
      return this.noted(`redis:${(err as Error).message}`, () =>
        this.deps.log.warn({ err }, 'reading the active rule version from Redis failed; retrying at the next poll'),
      );
    }
    const keeping = this.keeping();
    if (stored === null) {
      return this.noted(`absent:${pointer}`, () =>
        this.deps.log.warn(
          { pointer },
          `the rule pointer names version ${pointer} but Redis holds no files for it (API nodes of an older build?); ${keeping}`,
        ),
      );
    }
    const parsed = parseActiveRuleFiles(stored);
    if (!parsed.ok) {
      return this.noted(`invalid:${pointer}:${parsed.reason}`, () =>
        this.deps.log.error({ pointer, reason: parsed.reason }, `the stored rule version in ${k.rulesActiveFiles()} is unreadable (${parsed.reason}); ${keeping}`),
      );
    }
    const v = parsed.value;
    const id = pointerOf(v);
    if (this.served !== null && id === pointerOf(this.served)) {
      // the pointer was raised without files (an older build): an API node stores them when it switches
      return this.noted(`behind:${pointer}`, () =>
        this.deps.log.info({ pointer, stored: id }, `the rule pointer names version ${pointer} but Redis holds the files of ${id}; ${keeping}`),
      );
    }
    if (id === this.failed) return this.noted(null);
    const result = compileRuleSetFromText(v.files);
    if (!result.ok) {
      this.failed = id;
      this.deps.log.error(
        { versionId: v.versionId, generation: v.generation, errors: result.errors.length },
        `rule version ${v.versionId} does not compile with this build; ${keeping}:\n${formatErrors(result.errors)}`,
      );
      return this.noted(null);
    }
    this.served = { generation: v.generation, versionId: v.versionId };
    this.rules.current = result.ruleSet; // the switch: one reference assignment
    this.failed = null;
    this.noted(null);
    this.deps.log.info(
      { versionId: v.versionId, generation: v.generation, version: result.ruleSet.version, rules: result.ruleSet.rules.length },
      `rule version ${v.versionId} active in this process`,
    );
    this.deps.onSwitch?.(result.ruleSet, this.served);
  }

  private keeping(): string {
    const what = this.served === null ? `the rule files of ${this.deps.fallbackDir}` : `rule version ${this.served.versionId}`;
    return `keeping ${what} (${this.rules.current.version})`;
  }

  /** Logs a condition once while it lasts; null: no condition (the next one is logged again). */
  private noted(note: string | null, log?: () => void): void {
    if (note !== null && note !== this.lastNote) log?.();
    this.lastNote = note;
  }

  private subscriberError(err: Error): void {
    if (this.closed || err.message === this.lastSubscriberError) return;
    this.lastSubscriberError = err.message;
    this.deps.log.warn({ err }, 'the rule version subscriber connection failed; the poll still checks the pointer');
  }
}

type StoredAtStart =
  | { readonly ok: true; readonly ruleSet: RuleSet; readonly version: FollowedVersion }
  | {
      readonly ok: false;
      readonly why: string;
      /** the rule errors of a stored version that does not compile ('' or lines after a newline) */
      readonly errors: string;
      readonly absent: boolean;
      readonly failed: string | null;
    };

/** The stored version at start, compiled; or why it cannot be served. */
function readStored(text: string | null, keys: Keys): StoredAtStart {
  if (text === null) return { ok: false, why: 'no API node has announced a rule version in Redis yet', errors: '', absent: true, failed: null };
  const parsed = parseActiveRuleFiles(text);
  if (!parsed.ok) {
    const why = `the stored rule version in ${keys.rulesActiveFiles()} is unreadable (${parsed.reason})`;
    return { ok: false, why, errors: '', absent: false, failed: null };
  }
  const v = parsed.value;
  const result = compileRuleSetFromText(v.files);
  if (!result.ok) {
    return {
      ok: false,
      why: `the stored rule version ${v.versionId} does not compile with this build`,
      errors: `\n${formatErrors(result.errors)}`,
      absent: false,
      failed: pointerOf(v),
    };
  }
  return { ok: true, ruleSet: result.ruleSet, version: { generation: v.generation, versionId: v.versionId } };
}
