import { Cluster, type Result } from 'ioredis';
import { SCRIPTS, type Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { replyCode, replyCount, replyInteger, replyString, ScriptReplyError } from '../store/script-reply.ts';
import { SplitTransitions } from './split-transitions.ts';
import { isTransferState, type TransferState } from './transfer-states.ts';

/**
 * The transfer lifecycle in Redis: one Lua script per transition (src/store/lua/, see
 * lifecycle-common.lua), plus the reads the API and the worker need; nothing here decides
 * policy. On one Redis a transition and its effects are one atomic script (one or two round
 * trips per method); on a Redis Cluster the transition runs in the transfer's slot and its
 * effects follow per slot (split-transitions.ts; a few more round trips).
 */

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpRegisterTransfer(...args: (string | number)[]): Result<unknown, Context>;
    cpConfirmTransfer(...args: (string | number)[]): Result<unknown, Context>;
    cpCancelTransfer(...args: (string | number)[]): Result<unknown, Context>;
    cpExpireHold(...args: (string | number)[]): Result<unknown, Context>;
    cpEscalateHold(...args: (string | number)[]): Result<unknown, Context>;
    cpReviewTransfer(...args: (string | number)[]): Result<unknown, Context>;
    cpAbandonTransfer(...args: (string | number)[]): Result<unknown, Context>;
    cpDeadLetter(...args: (string | number)[]): Result<unknown, Context>;
    cpDeadLetterRemove(...args: (string | number)[]): Result<unknown, Context>;
  }
}

/** The dead-letter audit list keeps this many records (newest). */
export const DEAD_LETTER_AUDIT_CAP = 10_000;

const COMMANDS = {
  cpRegisterTransfer: SCRIPTS.registerTransfer,
  cpConfirmTransfer: SCRIPTS.confirmTransfer,
  cpCancelTransfer: SCRIPTS.cancelTransfer,
  cpExpireHold: SCRIPTS.expireHold,
  cpEscalateHold: SCRIPTS.escalateHold,
  cpReviewTransfer: SCRIPTS.reviewTransfer,
  cpAbandonTransfer: SCRIPTS.abandonTransfer,
  cpDeadLetter: SCRIPTS.deadLetter,
  cpDeadLetterRemove: SCRIPTS.deadLetterRemove,
} as const;

/** Defines the lifecycle scripts as commands on a connection (once per connection). */
export function defineLifecycleCommands(redis: RedisClient): void {
  for (const [name, script] of Object.entries(COMMANDS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, script);
  }
}

/** The result of a transition script, as a value. */
export type TransitionOutcome =
  | { readonly kind: 'moved'; readonly state: TransferState; readonly eventId: string }
  /** the same action was applied before: nothing changed */
  | { readonly kind: 'repeat'; readonly state: TransferState }
  /** the transfer has no lifecycle (never warned, or expired) */
  | { readonly kind: 'missing' }
  /** the current state does not allow the action */
  | { readonly kind: 'refused'; readonly state: TransferState }
  /** a hold or warning asked to end before its time */
  | { readonly kind: 'early'; readonly untilMs: number };

/**
 * Decodes a transition script's reply (confirm, cancel, review, expire, escalate, abandon):
 * {1, new state, event id} | {0, current state} | {-1, ''} | {-2, current state} | {-3, state, until ms}.
 */
export function decodeTransitionReply(script: string, reply: unknown): TransitionOutcome {
  const stateAt = (i: number): TransferState => {
    const s = replyString(script, reply, i);
    if (!isTransferState(s)) throw new ScriptReplyError(script, reply, `unknown state "${s}" at ${i}`);
    return s;
  };
  switch (replyCode(script, reply, [1, 0, -1, -2, -3] as const, 0)) {
    case 1:
      return { kind: 'moved', state: stateAt(1), eventId: replyString(script, reply, 2) };
    case 0:
      return { kind: 'repeat', state: stateAt(1) };
    case -1:
      return { kind: 'missing' };
    case -2:
      return { kind: 'refused', state: stateAt(1) };
    case -3:
      return { kind: 'early', untilMs: replyInteger(script, reply, 2) };
  }
}

/** Decodes dead-letter.lua's reply: 1 recorded, 0 recorded before (true when recorded now). */
export function decodeDeadLetterReply(reply: unknown): boolean {
  return replyCode('dead-letter', reply, [1, 0] as const) === 1;
}

/** Decodes dead-letter-remove.lua's reply: how many of the `asked` entries it removed. */
export function decodeDeadLetterRemoveReply(reply: unknown, asked: number): number {
  return replyCount('dead-letter-remove', reply, asked);
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly from: TransferState | null;
  readonly to: TransferState;
  readonly reason: string;
  readonly eventId: string;
}

/** What was done to a dead letter, as dead-letter-remove.lua records it (cjson: a null is JSON null). */
export interface DeadLetterAuditEntry {
  readonly action: 'redrive' | 'clear';
  readonly actor: string;
  readonly at: string;
  readonly eventId: string | null;
  readonly target: string | null;
}

/** The raw lifecycle of a transfer: its hash, audit trail and (while it lasts) decision JSON. */
export interface StoredLifecycle {
  readonly fields: Readonly<Record<string, string>> | null;
  readonly audit: readonly AuditEntry[];
  readonly decisionJson: string | null;
}

/** What the end of a hold needs to re-check the payee. */
export interface HoldSnapshot {
  readonly state: TransferState;
  readonly payeeId: string;
  readonly holdUntilMs: number;
  readonly features: string;
  readonly modelScore: number | null;
  readonly segment: string;
  readonly reports: { readonly count: number; readonly reporters: number; readonly lastMs: number | null };
}

export interface TrustedContact {
  readonly name: string;
  readonly phone: string;
  readonly language: string | null;
  readonly updatedAt: string;
}

const num = (s: string | null | undefined): number | null => (s === null || s === undefined || s === '' ? null : Number(s));

export interface LifecycleStoreOptions {
  /**
   * Run the transitions in their cluster form (split-transitions.ts). Default: on an ioredis
   * `Cluster`. On one Redis only to test that form (the one-Redis form is one atomic script).
   */
  readonly split?: boolean;
}

export class LifecycleStore {
  readonly keys: Keys;
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  /** the cluster form, or null on one Redis */
  readonly split: SplitTransitions | null;

  /** @param retentionMs how long a transfer's lifecycle is kept after it ends */
  constructor(redis: RedisClient, keys: Keys, retentionMs: number, opts: LifecycleStoreOptions = {}) {
    this.redis = redis;
    this.keys = keys;
    this.retentionMs = retentionMs;
    defineLifecycleCommands(redis);
    this.split = (opts.split ?? redis instanceof Cluster) ? new SplitTransitions(redis, keys) : null;
  }

  /** The payee, payer and hold length of a warned transfer, or null without a lifecycle. */
  private async payeeOf(transferId: string): Promise<{ payee: string; payer: string; holdMs: number } | null> {
    const [payee, payer, holdMs] = await this.redis.hmget(this.keys.txState(transferId), 'payee', 'payer', 'holdMs');
    if (payee === null || payee === undefined || payer === null || payer === undefined) return null;
    return { payee, payer, holdMs: Number(holdMs ?? 0) };
  }

  /**
   * The payer of a warned transfer, or null without a lifecycle: the scripts that end a transfer
   * unpaid give back its guardian spend in the payer's guardian hash, a key they must be given.
   */
  private async payerOf(transferId: string): Promise<string | null> {
    return this.redis.hget(this.keys.txState(transferId), 'payer');
  }

  /** A payee's report count now (its own slot): what confirm and expire compare with the decision's on a cluster. */
  private async reportCount(payeeId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.accountReports(payeeId), 'count')) ?? 0);
  }

  /** The transfer-slot keys of a cluster transition (KEYS of the `*Split` scripts). */
  private splitKeys(transferId: string): [string, string, string] {
    const k = this.keys;
    return [k.txState(transferId), k.txAudit(transferId), k.txEffects(transferId)];
  }

  /**
   * Starts a warned transfer's lifecycle outside the score's pipeline (register-transfer.lua):
   * true when registered now, false when it had one. `args` as registrationFor() builds them.
   * On one Redis one script; on a cluster the transition and its effects (split-transitions.ts).
   */
  async register(transferId: string, args: readonly string[]): Promise<boolean> {
    const k = this.keys;
    if (this.split === null) {
      const reply = await this.redis.cpRegisterTransfer(k.txState(transferId), k.txAudit(transferId), k.lifecycleAwaiting(), k.lifecycleEvents(), ...args);
      return replyCode('register-transfer', reply, [1, 0] as const) === 1;
    }
    const head = await this.split.run(transferId, Number(args[1]), 'register-transfer', Promise.resolve(null), () =>
      this.redis.cpRegisterTransferSplit(...this.splitKeys(transferId), ...args),
    );
    return replyCode('register-transfer', head, [1, 0] as const, 0) === 1;
  }

  async confirm(transferId: string, nowMs: number, actor: string, note: string, holdRiskAt: number): Promise<TransitionOutcome> {
    const k = this.keys;
    const t = await this.payeeOf(transferId);
    if (t === null) return { kind: 'missing' };
    const holdUntil = nowMs + t.holdMs;
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), actor, note, holdRiskAt, holdUntil, new Date(holdUntil).toISOString(), this.retentionMs];
    if (this.split !== null) {
      // the payee's report count is read first, in its slot: a report landing between this read
      // and the transition is caught by the report listener (escalatePayee, once the hold is in
      // the payee's holds) or at the latest at the end of the hold (expire reads the count again)
      const head = await this.split.run(transferId, nowMs, 'confirm-transfer', this.reportCount(t.payee), (reports) =>
        this.redis.cpConfirmTransferSplit(...this.splitKeys(transferId), ...args, reports),
      );
      return decodeTransitionReply('confirm-transfer', head);
    }
    const reply = await this.redis.cpConfirmTransfer(
      k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.lifecycleAwaiting(), k.lifecycleDue(),
      k.accountHolds(t.payee), k.accountReports(t.payee),
      ...args,
    ); // prettier-ignore
    return decodeTransitionReply('confirm-transfer', reply);
  }

  async cancel(transferId: string, nowMs: number, actor: string, note: string): Promise<TransitionOutcome> {
    const k = this.keys;
    const t = await this.payeeOf(transferId);
    if (t === null) return { kind: 'missing' };
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), actor, note, this.retentionMs];
    if (this.split !== null) {
      const head = await this.split.run(transferId, nowMs, 'cancel-transfer', Promise.resolve(null), () =>
        this.redis.cpCancelTransferSplit(...this.splitKeys(transferId), ...args),
      );
      return decodeTransitionReply('cancel-transfer', head);
    }
    const reply = await this.redis.cpCancelTransfer(
      k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.lifecycleAwaiting(), k.lifecycleDue(),
      k.accountHolds(t.payee), k.accountGuardian(t.payer),
      ...args,
    ); // prettier-ignore
    return decodeTransitionReply('cancel-transfer', reply);
  }

  async review(transferId: string, to: 'RELEASED' | 'REJECTED', nowMs: number, actor: string, reason: string): Promise<TransitionOutcome> {
    const k = this.keys;
    const payer = await this.payerOf(transferId);
    if (payer === null) return { kind: 'missing' };
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), actor, reason, to, this.retentionMs];
    if (this.split !== null) {
      const head = await this.split.run(transferId, nowMs, 'review-transfer', Promise.resolve(null), () =>
        this.redis.cpReviewTransferSplit(...this.splitKeys(transferId), ...args),
      );
      return decodeTransitionReply('review-transfer', head);
    }
    const reply = await this.redis.cpReviewTransfer(k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.accountGuardian(payer), ...args);
    return decodeTransitionReply('review-transfer', reply);
  }

  /** The state and re-check inputs of a transfer, with its payee's report flags; null without a lifecycle. */
  async holdSnapshot(transferId: string): Promise<HoldSnapshot | null> {
    const f = await this.redis.hmget(this.keys.txState(transferId), 'state', 'payee', 'holdUntil', 'features', 'model', 'segment');
    const [state, payee] = f;
    if (state === null || state === undefined || payee === null || payee === undefined || !isTransferState(state)) return null;
    const [count, reporters, last] = await this.redis.hmget(this.keys.accountReports(payee), 'count', 'reporters', 'last');
    return {
      state,
      payeeId: payee,
      holdUntilMs: num(f[2]) ?? 0,
      features: f[3] ?? '[]',
      modelScore: num(f[4]),
      segment: f[5] ?? '',
      reports: { count: num(count) ?? 0, reporters: num(reporters) ?? 0, lastMs: num(last) },
    };
  }

  async expire(transferId: string, payeeId: string, nowMs: number, actor: string, holdReason: string): Promise<TransitionOutcome> {
    const k = this.keys;
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), actor, holdReason, this.retentionMs];
    if (this.split !== null) {
      // read again here (the snapshot's count is older by the re-check); a report landing after
      // this read and before the transition is released with the hold, as one landing just after it
      const head = await this.split.run(transferId, nowMs, 'expire-hold', this.reportCount(payeeId), (reports) =>
        this.redis.cpExpireHoldSplit(...this.splitKeys(transferId), ...args, reports),
      );
      return decodeTransitionReply('expire-hold', head);
    }
    const reply = await this.redis.cpExpireHold(
      k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.lifecycleDue(), k.accountHolds(payeeId), k.accountReports(payeeId),
      ...args,
    ); // prettier-ignore
    return decodeTransitionReply('expire-hold', reply);
  }

  async escalate(transferId: string, payeeId: string, nowMs: number, actor: string, reason: string): Promise<TransitionOutcome> {
    const k = this.keys;
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), actor, reason];
    if (this.split !== null) {
      const head = await this.split.run(transferId, nowMs, 'escalate-hold', Promise.resolve(null), () =>
        this.redis.cpEscalateHoldSplit(...this.splitKeys(transferId), ...args, payeeId),
      );
      return decodeTransitionReply('escalate-hold', head);
    }
    const reply = await this.redis.cpEscalateHold(k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.lifecycleDue(), k.accountHolds(payeeId), ...args);
    return decodeTransitionReply('escalate-hold', reply);
  }

  async abandon(transferId: string, nowMs: number): Promise<TransitionOutcome> {
    const k = this.keys;
    const payer = await this.payerOf(transferId);
    if (payer === null) {
      // no lifecycle (expired, or deleted by hand): what the script does then
      await this.redis.zrem(k.lifecycleAwaiting(), transferId);
      return { kind: 'missing' };
    }
    const args = [transferId, nowMs, new Date(nowMs).toISOString(), 'system:warning-expiry', this.retentionMs];
    if (this.split !== null) {
      const head = await this.split.run(transferId, nowMs, 'abandon-transfer', Promise.resolve(null), () =>
        this.redis.cpAbandonTransferSplit(...this.splitKeys(transferId), ...args),
      );
      return decodeTransitionReply('abandon-transfer', head);
    }
    const reply = await this.redis.cpAbandonTransfer(k.txState(transferId), k.txAudit(transferId), k.lifecycleEvents(), k.lifecycleAwaiting(), k.accountGuardian(payer), ...args);
    return decodeTransitionReply('abandon-transfer', reply);
  }

  /**
   * On a cluster: completes the transitions whose intent is older than `beforeMs` (their caller
   * died between the transition and its effects, split-transitions.ts); how many it completed.
   * On one Redis there are none (a transition is one script): 0.
   */
  async completeCrashed(beforeMs: number, limit: number): Promise<number> {
    const split = this.split;
    if (split === null) return 0;
    const crashed = await split.crashed(beforeMs, limit);
    await Promise.all(crashed.map((c) => split.complete(c.transferId, c.intent)));
    return crashed.length;
  }

  /** Transfers in cooling-off to this payee. */
  holdsOfPayee(payeeId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.accountHolds(payeeId));
  }

  /** Warned transfers whose deadline is at or before `nowMs`, oldest first. */
  expiredWarnings(nowMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.lifecycleAwaiting(), '-inf', nowMs, 'LIMIT', 0, limit);
  }

  /** Takes a transfer out of the due index (only for holds that ended or vanished). */
  async forgetDue(transferId: string): Promise<void> {
    await this.redis.zrem(this.keys.lifecycleDue(), transferId);
  }

  /** Holds that should have ended at or before `beforeMs`, oldest first. */
  overdueHolds(beforeMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.lifecycleDue(), '-inf', beforeMs, 'LIMIT', 0, limit);
  }

  async load(transferId: string): Promise<StoredLifecycle> {
    const k = this.keys;
    const results = await this.redis
      .pipeline()
      .hgetall(k.txState(transferId))
      .lrange(k.txAudit(transferId), 0, -1)
      .get(k.txDecision(transferId))
      .exec();
    if (results === null) throw new Error('pipeline aborted');
    for (const [err] of results) if (err) throw err;
    const fields = results[0]![1] as Record<string, string>;
    const audit = (results[1]![1] as string[]).map((s) => JSON.parse(s) as AuditEntry);
    return {
      fields: Object.keys(fields).length === 0 ? null : fields,
      audit,
      decisionJson: (results[2]![1] as string | null) ?? null,
    };
  }

  /** The decision JSON of a transfer while it is remembered (IDEMPOTENCY_TTL_SECONDS). */
  decisionJson(transferId: string): Promise<string | null> {
    return this.redis.get(this.keys.txDecision(transferId));
  }

  /** Fields of the lifecycle hash (for the relay: language and hold length of a warning). */
  async fields(transferId: string, names: readonly string[]): Promise<(string | null)[]> {
    return this.redis.hmget(this.keys.txState(transferId), ...names);
  }

  /** Records a delivery that failed its last attempt; false when it was recorded before. */
  async deadLetter(jobKey: string, entry: object): Promise<boolean> {
    const reply = await this.redis.cpDeadLetter(
      this.keys.deadLetters(),
      this.keys.deadLetterMarker(jobKey),
      JSON.stringify(entry),
      this.retentionMs * 30,
    );
    return decodeDeadLetterReply(reply);
  }

  async deadLetters(offset: number, limit: number): Promise<{ total: number; entries: unknown[] }> {
    const key = this.keys.deadLetters();
    const [total, raw] = await Promise.all([this.redis.llen(key), this.redis.lrange(key, offset, offset + limit - 1)]);
    return { total, entries: raw.map((s) => JSON.parse(s) as unknown) };
  }

  /** Every dead letter as stored (JSON text), oldest first. */
  async deadLetterTexts(): Promise<string[]> {
    return this.redis.lrange(this.keys.deadLetters(), 0, -1);
  }

  /** Lets the delivery job `jobKey` be dead-lettered again (it is being redriven). */
  async forgetDeadLetter(jobKey: string): Promise<void> {
    await this.redis.del(this.keys.deadLetterMarker(jobKey));
  }

  /** Removes these stored dead letters (as deadLetterTexts() read them), auditing each; the count removed. */
  async removeDeadLetters(texts: readonly string[], action: 'redrive' | 'clear', actor: string, at: string): Promise<number> {
    if (texts.length === 0) return 0;
    const reply = await this.redis.cpDeadLetterRemove(this.keys.deadLetters(), this.keys.deadLetterAudit(), DEAD_LETTER_AUDIT_CAP, action, actor, at, ...texts);
    return decodeDeadLetterRemoveReply(reply, texts.length);
  }

  /** What was done to dead letters, newest first. */
  async deadLetterAudit(offset: number, limit: number): Promise<{ total: number; entries: DeadLetterAuditEntry[] }> {
    const key = this.keys.deadLetterAudit();
    const [total, raw] = await Promise.all([this.redis.llen(key), this.redis.lrange(key, offset, offset + limit - 1)]);
    return { total, entries: raw.map((s) => JSON.parse(s) as DeadLetterAuditEntry) };
  }

  async setContact(accountId: string, contact: TrustedContact): Promise<void> {
    const key = this.keys.accountContact(accountId);
    await this.redis
      .multi()
      .del(key)
      .hset(key, 'name', contact.name, 'phone', contact.phone, 'language', contact.language ?? '', 'updatedAt', contact.updatedAt)
      .exec();
  }

  async contact(accountId: string): Promise<TrustedContact | null> {
    const h = await this.redis.hgetall(this.keys.accountContact(accountId));
    if (h.phone === undefined) return null;
    return { name: h.name ?? '', phone: h.phone, language: h.language || null, updatedAt: h.updatedAt ?? '' };
  }

  async removeContact(accountId: string): Promise<boolean> {
    return (await this.redis.del(this.keys.accountContact(accountId))) === 1;
  }

  /** Sizes of the lifecycle's queues: warnings awaiting an answer, holds pending, outbox backlog. */
  async counts(): Promise<{ awaiting: number; holds: number; outbox: number }> {
    const k = this.keys;
    const [awaiting, holds, outbox] = await Promise.all([
      this.redis.zcard(k.lifecycleAwaiting()),
      this.redis.zcard(k.lifecycleDue()),
      this.redis.xlen(k.lifecycleEvents()),
    ]);
    return { awaiting, holds, outbox };
  }
}
