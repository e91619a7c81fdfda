/**
 * The rule lifecycle (issue 7): publish, four-eyes approval, reject, rollback, the safety cap's
 * automatic shadowing, and which version this node serves.
 *
 * The SQL store is the truth: versions are immutable rows, the active version is a pointer row
 * with a generation that grows on every change, and every action is audited in the same
 * transaction. After a change commits, the node that made it loads the new version and
 * announces the pointer (Redis pointer + pub/sub, rule-version-sync.ts); every other node
 * loads it from SQL when told, or when its poll sees a newer generation. Loading compiles the
 * version and swaps `serving.current` with one assignment, so a request (which reads
 * `serving.current` once) is always scored by one whole version.
 */
import { CalmpayError, validationError } from '../../errors.ts';
import { sqlFailure } from '../../store/store-failures.ts';
import type { SqlExecutor, SqlStore } from '../../store/sql/sql-store.ts';
import { diffRules, NO_DIFF, summariseDiff, type RuleDiff } from './rule-diff.ts';
import type { RuleError } from '../language/rule-error.ts';
import { compileRuleSetFromText, type Rule, type RuleFileText, type RuleSet, type RuleSetResult } from '../language/rule-set.ts';
import {
  activate,
  appendAudit,
  decideVersion,
  findPending,
  hasContent,
  insertVersion,
  listAudit,
  listVersions,
  lockRuleWrites,
  readActive,
  readVersion,
  type ActivePointer,
  type AuditEntry,
  type StoredVersion,
  type VersionSummary,
} from './rule-version-store.ts';
import { checkRuleFiles, type RuleCheck } from '../language/rule-check.ts';
import { shadowRuleInFiles } from '../language/shadow-rule.ts';

/** The rule set a node scores with; `current` is swapped whole, never edited. */
export interface ServingRules {
  current: RuleSet;
  /** errors of the latest rejected edit or load, null when the latest succeeded */
  lastErrors: readonly RuleError[] | null;
}

export interface LoadedVersion {
  readonly pointer: ActivePointer;
  readonly version: VersionSummary;
  readonly ruleSet: RuleSet;
}

export interface RuleVersionsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RuleVersionsDeps {
  readonly sql: SqlStore;
  /** ms since the epoch */
  readonly clock: () => number;
  /** RULES_FOUR_EYES: a published version waits for a second person's approval */
  readonly fourEyes: boolean;
  /** told after every switch of `serving.current` (reasons lookup, logs) */
  readonly onSwitch: (loaded: LoadedVersion) => void;
  readonly log: RuleVersionsLog;
  /**
   * Checks files submitted through the API (validate, publish) before this node compiles them:
   * a RuleChecker runs it on a thread of its own (issue 19); unset, in this thread.
   */
  readonly checkFiles?: (files: readonly RuleFileText[]) => Promise<RuleCheck>;
}

/** Who the files author is when the rule directory seeds or (watched) publishes a version. */
export const FILES_AUTHOR = 'files';
/** Who the safety cap acts as. */
export const SAFETY_CAP_AUTHOR = 'safety-cap';

export interface PublishResult {
  readonly version: VersionSummary;
  /** true when the version is now the active one (false: it waits for approval) */
  readonly active: boolean;
  /** true when the files equal the active version's: nothing was stored */
  readonly unchanged: boolean;
  /** against the active version at the time of publishing */
  readonly diff: RuleDiff;
}

export interface ValidateResult {
  readonly valid: boolean;
  readonly errors: readonly RuleError[];
  /** the content version the files would have, when valid */
  readonly contentVersion: string | null;
  readonly ruleCount: number;
  /** against this node's active version, when valid */
  readonly diff: RuleDiff | null;
}

const COMPILED_CACHE = 8;

function conflict(message: string, state: string): CalmpayError {
  return new CalmpayError('CALMPAY_ERR_RULE_VERSION_CONFLICT', message, [{ field: 'status', message: state }]);
}

function notFound(id: number): CalmpayError {
  return new CalmpayError('CALMPAY_ERR_RULE_VERSION_NOT_FOUND', `No rule version ${id}`, [{ field: 'id', message: `no version ${id}` }]);
}

/** RuleErrors as `details`: each with the index of its file in the request (`files.<i>`). */
/** A rule error as the API reports it: the file's place in the request (`files.<i>`) and where in it. */
export interface RuleErrorDetail {
  readonly field: string;
  readonly file: string | null;
  readonly ruleId: string | null;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export function ruleErrorDetails(errors: readonly RuleError[], files: readonly RuleFileText[]): RuleErrorDetail[] {
  return errors.map((e) => {
    const i = e.file === null ? -1 : files.findIndex((f) => f.name === e.file);
    return { field: i < 0 ? 'files' : `files.${i}`, file: e.file, ruleId: e.ruleId, line: e.line, column: e.column, message: e.message };
  });
}

export class RuleVersions {
  readonly serving: ServingRules;
  private loaded: LoadedVersion;
  private readonly deps: RuleVersionsDeps;
  private readonly compiled = new Map<number, RuleSet>();
  /** refreshes run one at a time; a request during one runs once more afterwards */
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  /** a generation whose version failed to compile here (not retried until a newer one) */
  private failedGeneration = 0;

  private constructor(deps: RuleVersionsDeps, loaded: LoadedVersion) {
    this.deps = deps;
    this.loaded = loaded;
    this.serving = { current: loaded.ruleSet, lastErrors: null };
    this.compiled.set(loaded.version.id, loaded.ruleSet);
  }

  /**
   * The version to start with: the active one in SQL when there is one (it wins over the
   * files), otherwise the files of RULES_DIR become version 1 (audited as `seed`). Throws a
   * message for the start-up error when neither gives a valid rule set.
   */
  static async open(deps: RuleVersionsDeps, files: RuleSetResult, filesDir: string): Promise<{ versions: RuleVersions; seeded: boolean }> {
    const now = new Date(deps.clock());
    const { loaded, seeded } = await deps.sql.transaction(async (tx) => {
      await lockRuleWrites(tx);
      const active = await readActive(tx);
      if (active !== null) {
        const version = await readVersion(tx, active.versionId);
        if (version === null) throw new Error(`the active rule version ${active.versionId} is missing from rule_versions`);
        const result = compileRuleSetFromText(version.files);
        if (!result.ok) {
          throw new Error(
            `the active rule version ${version.id} (${version.contentVersion}) does not compile with this build:\n` +
              result.errors.map((e) => `${e.file ?? '(rules)'}:${e.line}:${e.column} ${e.message}`).join('\n'),
          );
        }
        return { loaded: { pointer: active, version: withoutFiles(version), ruleSet: result.ruleSet }, seeded: false };
      }
      if (!files.ok) {
        throw new Error(
          `the SQL store has no rule version yet and the rule set in ${filesDir} is invalid:\n` +
            files.errors.map((e) => `${e.file ?? '(rules)'}:${e.line}:${e.column}${e.ruleId ? ` [${e.ruleId}]` : ''} ${e.message}`).join('\n'),
        );
      }
      const ruleSet = files.ruleSet;
      const id = await insertVersion(tx, {
        contentVersion: ruleSet.version,
        files: ruleSet.files,
        ruleCount: ruleSet.rules.length,
        author: FILES_AUTHOR,
        comment: `seeded from the rule files in ${filesDir}`,
        createdAt: now,
        baseId: null,
        status: 'approved',
      });
      const generation = await activate(tx, id, FILES_AUTHOR, now);
      await appendAudit(tx, {
        at: now,
        actor: FILES_AUTHOR,
        action: 'seed',
        versionId: id,
        activeBefore: null,
        activeAfter: id,
        diff: diffRules([], ruleSet.rules),
        reason: `no rule version was stored; seeded from ${filesDir}`,
      });
      const version = await readVersion(tx, id);
      const pointer: ActivePointer = { versionId: id, generation, activatedAt: now.toISOString(), activatedBy: FILES_AUTHOR };
      return { loaded: { pointer, version: withoutFiles(version!), ruleSet }, seeded: true };
    });
    return { versions: new RuleVersions(deps, loaded), seeded };
  }

  /** The version this node serves. */
  get active(): LoadedVersion {
    return this.loaded;
  }

  get fourEyes(): boolean {
    return this.deps.fourEyes;
  }

  /**
   * Checks files without storing anything, off this thread when `checkFiles` says so. A set
   * beyond a size limit (src/rules/language/limits.ts) is a 400 naming `files`, not a list of errors.
   */
  async validate(files: readonly RuleFileText[]): Promise<ValidateResult> {
    const check = await this.check(files);
    if (!check.ok) {
      if (check.tooLarge !== undefined) throw validationError([{ field: 'files', message: check.tooLarge }]);
      return { valid: false, errors: check.errors, contentVersion: null, ruleCount: 0, diff: null };
    }
    return {
      valid: true,
      errors: [],
      contentVersion: check.version,
      ruleCount: check.rules.length,
      diff: diffRules(this.loaded.ruleSet.rules, check.rules),
    };
  }

  private check(files: readonly RuleFileText[]): Promise<RuleCheck> {
    return this.deps.checkFiles === undefined ? Promise.resolve(checkRuleFiles(files)) : this.deps.checkFiles(files);
  }

  /**
   * Stores files as a new version. Four-eyes off: it becomes active at once. On: it waits as
   * `pending_approval`. Files equal to the active version's, or to a version already waiting
   * on the same base, are not stored again (`unchanged`), so a retried PUT or the file watcher
   * of every node publishes once.
   */
  async publish(files: readonly RuleFileText[], author: string, comment: string): Promise<PublishResult> {
    // invalid files cost this thread nothing; valid ones are compiled here, within the size limits
    const check = await this.check(files);
    const result: RuleSetResult = check.ok ? compileRuleSetFromText(files) : check;
    if (!result.ok) {
      throw new CalmpayError(
        'CALMPAY_ERR_RULES_INVALID',
        `The rule files have ${result.errors.length} error(s); version ${this.loaded.version.id} stays active`,
        ruleErrorDetails(result.errors, files),
      );
    }
    const ruleSet = result.ruleSet;
    const now = new Date(this.deps.clock());
    const outcome = await this.deps.sql
      .transaction(async (tx) => {
        await lockRuleWrites(tx);
        const active = await readActive(tx);
        const base = active === null ? null : await this.versionRuleSet(tx, active.versionId);
        const diff = diffRules(rulesOf(base), ruleSet.rules);
        if (base !== null && base.version.contentVersion === ruleSet.version) {
          return { version: base.version, active: true, unchanged: true, diff: NO_DIFF };
        }
        const waiting = this.deps.fourEyes ? await findPending(tx, ruleSet.version, active?.versionId ?? null) : null;
        if (waiting !== null) return { version: waiting, active: false, unchanged: true, diff };
        const status = this.deps.fourEyes ? 'pending_approval' : 'approved';
        const id = await insertVersion(tx, {
          contentVersion: ruleSet.version,
          files: ruleSet.files,
          ruleCount: ruleSet.rules.length,
          author,
          comment,
          createdAt: now,
          baseId: active?.versionId ?? null,
          status,
        });
        if (!this.deps.fourEyes) await activate(tx, id, author, now);
        await appendAudit(tx, {
          at: now,
          actor: author,
          action: 'publish',
          versionId: id,
          activeBefore: active?.versionId ?? null,
          activeAfter: this.deps.fourEyes ? (active?.versionId ?? null) : id,
          diff,
          reason: comment,
        });
        const version = await readVersion(tx, id);
        this.compiled.set(id, ruleSet);
        return { version: withoutFiles(version!), active: !this.deps.fourEyes, unchanged: false, diff };
      })
      .catch(sqlFailure);
    if (outcome.active && !outcome.unchanged) await this.refreshAfterChange();
    this.deps.log.info(
      { versionId: outcome.version.id, author, active: outcome.active, unchanged: outcome.unchanged },
      `rule version ${outcome.version.id} published by ${author}: ${summariseDiff(outcome.diff)}`,
    );
    return outcome;
  }

  /** Four-eyes: a second person makes a pending version active. */
  async approve(id: number, approver: string, comment: string | null): Promise<VersionSummary> {
    if (!this.deps.fourEyes) {
      throw conflict('Four-eyes approval is off (RULES_FOUR_EYES=false): a published version is active at once', 'four-eyes off');
    }
    const now = new Date(this.deps.clock());
    const version = await this.deps.sql
      .transaction(async (tx) => {
        await lockRuleWrites(tx);
        const v = await this.pendingVersion(tx, id);
        if (v.author === approver) {
          throw new CalmpayError('CALMPAY_ERR_SAME_AUTHOR', `${approver} wrote version ${id} and cannot also approve it; another analyst must`, [
            { field: 'approver', message: `is the author of version ${id}` },
          ]);
        }
        const active = await readActive(tx);
        if ((active?.versionId ?? null) !== v.baseId) {
          throw conflict(
            `Version ${id} was written against version ${v.baseId ?? '(none)'}, but version ${active?.versionId ?? '(none)'} is active now; ` +
              'publish the change again on top of the active version (or reject this one)',
            'stale',
          );
        }
        const base = active === null ? null : await this.versionRuleSet(tx, active.versionId);
        const next = await this.versionRuleSet(tx, id);
        if (next?.ruleSet == null) throw conflict(`Version ${id} does not compile with this build of calmpay`, 'does not compile');
        await decideVersion(tx, id, { status: 'approved', by: approver, at: now, comment });
        await activate(tx, id, approver, now);
        await appendAudit(tx, {
          at: now,
          actor: approver,
          action: 'approve',
          versionId: id,
          activeBefore: active?.versionId ?? null,
          activeAfter: id,
          diff: diffRules(rulesOf(base), next.ruleSet.rules),
          reason: comment,
        });
        return withoutFiles((await readVersion(tx, id))!);
      })
      .catch(sqlFailure);
    await this.refreshAfterChange();
    this.deps.log.info({ versionId: id, approver }, `rule version ${id} approved by ${approver} and active`);
    return version;
  }

  /** A pending version is turned down (by anyone with the approve scope, its author included). */
  async reject(id: number, by: string, reason: string): Promise<VersionSummary> {
    const now = new Date(this.deps.clock());
    const version = await this.deps.sql
      .transaction(async (tx) => {
        await lockRuleWrites(tx);
        await this.pendingVersion(tx, id);
        const active = await readActive(tx);
        await decideVersion(tx, id, { status: 'rejected', by, at: now, comment: reason });
        await appendAudit(tx, {
          at: now,
          actor: by,
          action: 'reject',
          versionId: id,
          activeBefore: active?.versionId ?? null,
          activeAfter: active?.versionId ?? null,
          diff: NO_DIFF,
          reason,
        });
        return withoutFiles((await readVersion(tx, id))!);
      })
      .catch(sqlFailure);
    this.deps.log.info({ versionId: id, by }, `rule version ${id} rejected by ${by}`);
    return version;
  }

  /**
   * Makes an earlier approved version active again. It was approved before, so four-eyes does
   * not apply: a rollback must be possible at once, by one person, when a change goes wrong.
   */
  async rollback(id: number, actor: string, reason: string): Promise<{ version: VersionSummary; diff: RuleDiff }> {
    const now = new Date(this.deps.clock());
    const outcome = await this.deps.sql
      .transaction(async (tx) => {
        await lockRuleWrites(tx);
        const target = await this.versionRuleSet(tx, id);
        if (target === null) throw notFound(id);
        if (target.version.status !== 'approved') {
          throw conflict(`Version ${id} is ${target.version.status}; only a version that was approved can be rolled back to`, target.version.status);
        }
        if (target.ruleSet === null) throw conflict(`Version ${id} does not compile with this build of calmpay`, 'does not compile');
        const active = await readActive(tx);
        if (active?.versionId === id) throw conflict(`Version ${id} is already the active version`, 'active');
        const current = active === null ? null : await this.versionRuleSet(tx, active.versionId);
        const diff = diffRules(rulesOf(current), target.ruleSet.rules);
        await activate(tx, id, actor, now);
        await appendAudit(tx, {
          at: now,
          actor,
          action: 'rollback',
          versionId: id,
          activeBefore: active?.versionId ?? null,
          activeAfter: id,
          diff,
          reason,
        });
        return { version: target.version, diff };
      })
      .catch(sqlFailure);
    await this.refreshAfterChange();
    this.deps.log.warn({ versionId: id, actor }, `rules rolled back to version ${id} by ${actor}: ${reason}`);
    return outcome;
  }

  /**
   * The safety cap: a new active version with `ruleId` in shadow mode, written by `safety-cap`
   * without four-eyes (it can only make the rule set act less). Returns null when the active
   * version no longer has the rule acting (another node or an analyst got there first).
   */
  async autoShadow(ruleId: string, reason: string): Promise<VersionSummary | null> {
    const now = new Date(this.deps.clock());
    const outcome = await this.deps.sql
      .transaction(async (tx) => {
        await lockRuleWrites(tx);
        const active = await readActive(tx);
        if (active === null) return null;
        const current = (await this.versionRuleSet(tx, active.versionId))?.ruleSet ?? null;
        const rule = current?.rules.find((r) => r.id === ruleId);
        if (current === null || rule === undefined || rule.mode === 'shadow') return null;
        const files = shadowRuleInFiles(current.files, ruleId);
        const result = files === null ? null : compileRuleSetFromText(files);
        if (result === null || !result.ok) throw new Error(`the safety cap could not rewrite rule ${ruleId} into shadow mode`);
        const id = await insertVersion(tx, {
          contentVersion: result.ruleSet.version,
          files: result.ruleSet.files,
          ruleCount: result.ruleSet.rules.length,
          author: SAFETY_CAP_AUTHOR,
          comment: `rule ${ruleId} moved to shadow: ${reason}`,
          createdAt: now,
          baseId: active.versionId,
          status: 'approved',
        });
        await activate(tx, id, SAFETY_CAP_AUTHOR, now);
        await appendAudit(tx, {
          at: now,
          actor: SAFETY_CAP_AUTHOR,
          action: 'auto_shadow',
          versionId: id,
          activeBefore: active.versionId,
          activeAfter: id,
          diff: diffRules(current.rules, result.ruleSet.rules),
          reason,
        });
        this.compiled.set(id, result.ruleSet);
        return withoutFiles((await readVersion(tx, id))!);
      })
      .catch(sqlFailure);
    if (outcome !== null) await this.refreshAfterChange();
    return outcome;
  }

  async version(id: number): Promise<StoredVersion> {
    const v = await readVersion(this.deps.sql, id).catch(sqlFailure);
    if (v === null) throw notFound(id);
    return v;
  }

  /** A version with its files and its diff against the version it was written on. */
  async detail(id: number): Promise<StoredVersion & { active: boolean; diff: RuleDiff | null }> {
    const { stored, diff, activeId } = await this.deps.sql
      .transaction(async (tx) => {
        const target = await this.versionRuleSet(tx, id);
        if (target === null) throw notFound(id);
        const base = target.version.baseId === null ? null : await this.versionRuleSet(tx, target.version.baseId);
        const diff = target.ruleSet === null ? null : diffRules(rulesOf(base), target.ruleSet.rules);
        return { stored: (await readVersion(tx, id))!, diff, activeId: (await readActive(tx))?.versionId ?? null };
      })
      .catch(sqlFailure);
    return { ...stored, active: stored.id === activeId, diff };
  }

  async versions(limit: number, beforeId: number | null): Promise<{ pointer: ActivePointer | null; items: VersionSummary[] }> {
    const [pointer, items] = await Promise.all([readActive(this.deps.sql), listVersions(this.deps.sql, { limit, beforeId })]).catch(sqlFailure);
    return { pointer, items };
  }

  async audit(limit: number, beforeId: number | null, versionId: number | null): Promise<AuditEntry[]> {
    return listAudit(this.deps.sql, { limit, beforeId, versionId }).catch(sqlFailure);
  }

  /** The active pointer in SQL (for the sync's checks). */
  /**
   * At start, with WATCH_RULES on: rule files that differ from the active version and were
   * never stored (edited while the engine was stopped) are published by `files`, as the watcher
   * would have done had it been running. Files equal to any stored version (e.g. after an API
   * rollback away from them) publish nothing: the stored history decides. Returns the result,
   * or null when nothing was published.
   */
  async publishNewFiles(files: RuleSetResult, filesDir: string): Promise<PublishResult | null> {
    if (!files.ok || files.ruleSet.version === this.loaded.ruleSet.version) return null;
    if (await hasContent(this.deps.sql, files.ruleSet.version)) return null;
    return this.publish(files.ruleSet.files, FILES_AUTHOR, `rule files in ${filesDir} edited while the engine was stopped`);
  }

  async activePointer(): Promise<ActivePointer | null> {
    return readActive(this.deps.sql);
  }

  /**
   * Loads the active version from SQL when it is newer than the one served. Safe to call at any
   * time and from several places (pub/sub, poll, after a local change): runs one at a time.
   */
  refresh(): Promise<void> {
    if (this.refreshing !== null) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        this.refreshAgain = false;
        await this.loadActive();
      } while (this.refreshAgain);
    };
    this.refreshing = run().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** After a committed change: a failed load must not fail the request (the poll retries). */
  private async refreshAfterChange(): Promise<void> {
    await this.refresh().catch((err: unknown) => {
      this.deps.log.error({ err }, 'loading the new rule version failed; retrying at the next poll');
    });
  }

  private async loadActive(): Promise<void> {
    const pointer = await readActive(this.deps.sql);
    if (pointer === null || pointer.generation <= this.loaded.pointer.generation) return;
    if (pointer.generation === this.failedGeneration) return;
    const v = await this.versionRuleSet(this.deps.sql, pointer.versionId);
    if (v?.ruleSet == null) {
      this.failedGeneration = pointer.generation;
      const errors = v?.errors ?? [{ file: null, ruleId: null, line: 0, column: 0, message: `rule version ${pointer.versionId} is missing` }];
      this.serving.lastErrors = errors;
      this.deps.log.error(
        { versionId: pointer.versionId, errors },
        `rule version ${pointer.versionId} cannot be loaded on this node; keeping version ${this.loaded.version.id}`,
      );
      return;
    }
    this.loaded = { pointer, version: v.version, ruleSet: v.ruleSet };
    this.serving.current = v.ruleSet; // the switch: one reference assignment
    this.serving.lastErrors = null;
    this.deps.onSwitch(this.loaded);
  }

  /** A version with its compiled rule set (cached), or null when there is no such version. */
  private async versionRuleSet(ex: SqlExecutor, id: number): Promise<CompiledVersion | null> {
    const stored = await readVersion(ex, id);
    if (stored === null) return null;
    const version = withoutFiles(stored);
    const cached = this.compiled.get(id);
    if (cached !== undefined) return { version, ruleSet: cached, errors: null };
    const result = compileRuleSetFromText(stored.files);
    if (!result.ok) return { version, ruleSet: null, errors: result.errors };
    this.compiled.set(id, result.ruleSet);
    for (const key of this.compiled.keys()) {
      if (this.compiled.size <= COMPILED_CACHE) break;
      if (key !== this.loaded.version.id) this.compiled.delete(key);
    }
    return { version, ruleSet: result.ruleSet, errors: null };
  }

  private async pendingVersion(tx: SqlExecutor, id: number): Promise<VersionSummary> {
    const v = await readVersion(tx, id);
    if (v === null) throw notFound(id);
    if (v.status !== 'pending_approval') throw conflict(`Version ${id} is ${v.status}, not pending approval`, v.status);
    return withoutFiles(v);
  }
}

/** A stored version compiled with this build: `ruleSet` null (and `errors` set) when it no longer compiles. */
interface CompiledVersion {
  readonly version: VersionSummary;
  readonly ruleSet: RuleSet | null;
  readonly errors: readonly RuleError[] | null;
}

const rulesOf = (v: CompiledVersion | null): readonly Rule[] => v?.ruleSet?.rules ?? [];

function withoutFiles(v: StoredVersion): VersionSummary {
  const { files: _files, ...summary } = v;
  return summary;
}
