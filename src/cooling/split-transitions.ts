import type { Result } from 'ioredis';
import { SCRIPTS, type Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { replyArray, replyInteger, ScriptReplyError } from '../store/script-reply.ts';

/**
 * The transfer lifecycle on a Redis Cluster (issue 15, docs/cluster-keys.md "The lifecycle
 * scripts"). A transition touches its transfer, the global `{lifecycle}` indexes and outbox,
 * the payee's holds and the payer's guardian hash: four slots, which no one script may span
 * on a cluster. So, per transition:
 *
 * 1. `begin`: the intent `{lifecycle}:pending` (transfer id -> ms) is written;
 * 2. the transition (the `*Split` form of its script, the transfer's slot only) changes state
 *    and audit atomically, idempotent on the current state as on one Redis, and records the
 *    effects it implies in `{t:<id>}:fx`; it answers every recorded effect not applied yet;
 * 3. `apply`: the effects, per slot and concurrently (lifecycle-effects.lua in `{lifecycle}`,
 *    SADD / SREM in the payee's slot, guardian-refund.lua in the payer's), each idempotent;
 *    then their records are deleted (HDEL, the transfer's slot);
 * 4. `end`: the intent is removed (only if no later transition of the transfer wrote it again).
 *
 * A caller that dies after 1 leaves an intent; the worker's sweep (`completeCrashed`) finds it
 * once older than INTENT_GRACE_MS, applies what `{t:<id>}:fx` still records, and removes it.
 * Nothing is applied twice: the index changes are the transition's own ZADD / ZREM / SADD /
 * SREM (a repeat writes the same), the outbox entry is appended once per event id (a marker
 * in `{lifecycle}`), the guardian refund once per transfer (its record in the payer's hash).
 *
 * Between 2 and 3 the indexes lag the state by a round trip: a reader of an index may find a
 * member whose state has moved on (it already drops those: abandon, expire and escalate change
 * nothing for a transfer in another state) or miss one for a moment (the sweeps run again).
 */

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpLifecycleEffects(...args: (string | number)[]): Result<unknown, Context>;
    cpLifecycleIntent(...args: (string | number)[]): Result<unknown, Context>;
    cpGuardianRefundOnce(...args: (string | number)[]): Result<unknown, Context>;
    cpRegisterTransferSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpConfirmTransferSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpCancelTransferSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpExpireHoldSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpEscalateHoldSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpReviewTransferSplit(...args: (string | number)[]): Result<unknown, Context>;
    cpAbandonTransferSplit(...args: (string | number)[]): Result<unknown, Context>;
  }
}

const COMMANDS = {
  cpLifecycleEffects: SCRIPTS.lifecycleEffects,
  cpLifecycleIntent: SCRIPTS.lifecycleIntent,
  cpGuardianRefundOnce: SCRIPTS.guardianRefund,
  cpRegisterTransferSplit: SCRIPTS.registerTransferSplit,
  cpConfirmTransferSplit: SCRIPTS.confirmTransferSplit,
  cpCancelTransferSplit: SCRIPTS.cancelTransferSplit,
  cpExpireHoldSplit: SCRIPTS.expireHoldSplit,
  cpEscalateHoldSplit: SCRIPTS.escalateHoldSplit,
  cpReviewTransferSplit: SCRIPTS.reviewTransferSplit,
  cpAbandonTransferSplit: SCRIPTS.abandonTransferSplit,
} as const;

/** A transition's intent older than this is a crashed one: the worker's sweep completes it. */
export const INTENT_GRACE_MS = 1_000;
/**
 * How long a transition's outbox entry is remembered as appended (lifecycle-effects.lua). A
 * repeat of the effects later than this (their caller died after appending it and before
 * deleting their record, and no worker swept for a day) appends it again: a duplicate
 * delivery with the same event id, which receivers already drop (at-least-once webhooks).
 */
export const EVENT_MARKER_TTL_MS = 86_400_000;

type Op = 'add' | 'rem';

/** The effects of one transition (lifecycle-common.lua), as recorded in `{t:<id>}:fx`. */
export interface TransitionEffects {
  /** the transition's seq; absent for an index clean-up of a transition that did not happen (not recorded) */
  readonly seq: number | null;
  readonly transferId: string;
  readonly payer: string;
  readonly payee: string;
  readonly awaiting: { readonly op: Op; readonly atMs: string } | null;
  readonly due: { readonly op: Op; readonly atMs: string } | null;
  readonly holds: Op | null;
  readonly refund: boolean;
  /** field, value pairs of the outbox entry */
  readonly event: readonly string[] | null;
}

const isOp = (v: unknown): v is Op => v === 'add' || v === 'rem';

/** Decodes one effects entry; a malformed one is an error naming what is wrong. */
export function decodeEffects(script: string, json: string): TransitionEffects {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ScriptReplyError(script, json, 'an effects entry is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ScriptReplyError(script, json, 'an effects entry is not an object');
  const o = raw as Record<string, unknown>;
  const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
  if (typeof o.t !== 'string' || o.t === '') throw new ScriptReplyError(script, json, 'an effects entry names no transfer');
  const opAt = (op: unknown, at: unknown): { op: Op; atMs: string } | null => {
    if (op === undefined) return null;
    if (!isOp(op)) throw new ScriptReplyError(script, json, `unknown index operation ${String(op)}`);
    return { op, atMs: str(at) };
  };
  let event: string[] | null = null;
  if (o.event !== undefined) {
    // cjson encodes an empty Lua table as {}: an event always has fields, so only arrays are events
    if (!Array.isArray(o.event) || o.event.length % 2 !== 0) throw new ScriptReplyError(script, json, 'an effects entry has a malformed event');
    event = o.event.map(str);
  }
  if (o.holds !== undefined && !isOp(o.holds)) throw new ScriptReplyError(script, json, `unknown holds operation ${String(o.holds)}`);
  return {
    seq: typeof o.seq === 'number' ? o.seq : null,
    transferId: o.t,
    payer: str(o.payer),
    payee: str(o.payee),
    awaiting: opAt(o.aw, o.awAt),
    due: opAt(o.due, o.dueAt),
    holds: o.holds === undefined ? null : (o.holds as Op),
    refund: o.refund !== undefined,
    event,
  };
}

/** A cluster transition's reply: the one-Redis reply's three head elements, and the effects to apply. */
export interface SplitReply {
  readonly head: readonly unknown[];
  readonly effects: readonly TransitionEffects[];
}

/** Decodes `{code, state or '', event id / until ms or '', {effects JSON...}}`. */
export function decodeSplitReply(script: string, reply: unknown): SplitReply {
  const r = replyArray(script, reply, 4);
  const list = r[3];
  if (!Array.isArray(list)) throw new ScriptReplyError(script, reply, 'expected the effects list at 3');
  return {
    head: r.slice(0, 3),
    effects: list.map((e) => {
      if (typeof e !== 'string') throw new ScriptReplyError(script, reply, 'an effects entry is not a string');
      return decodeEffects(script, e);
    }),
  };
}

/** Defines the cluster's lifecycle scripts as commands on a connection (once per connection). */
export function defineSplitCommands(redis: RedisClient): void {
  for (const [name, script] of Object.entries(COMMANDS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, script);
  }
}

export class SplitTransitions {
  private readonly redis: RedisClient;
  private readonly keys: Keys;

  constructor(redis: RedisClient, keys: Keys) {
    this.redis = redis;
    this.keys = keys;
    defineSplitCommands(redis);
  }

  /**
   * One transition: its intent, then `prepare` (reads its script needs from other slots,
   * concurrently with the intent), the script (`call`), its effects, the end of the intent.
   * Returns the reply's head, read as the one-Redis reply. A failure after the intent leaves it
   * for the worker's sweep.
   */
  async run<P>(transferId: string, nowMs: number, script: string, prepare: Promise<P>, call: (prepared: P) => Promise<unknown>): Promise<readonly unknown[]> {
    const [intent, prepared] = await Promise.all([this.begin(transferId, nowMs), prepare]);
    const reply = await this.transition(script, () => call(prepared));
    await this.apply(transferId, reply.effects);
    await this.end(transferId, intent);
    return reply.head;
  }

  /** Step 1: writes the intent; answers its score (the ms `end` needs). */
  async begin(transferId: string, nowMs: number): Promise<number> {
    return replyInteger('lifecycle-intent', await this.redis.cpLifecycleIntent(this.keys.lifecyclePending(), 'begin', transferId, nowMs));
  }

  /** Step 2: the transition script alone (its effects not applied). */
  async transition(script: string, call: () => Promise<unknown>): Promise<SplitReply> {
    return decodeSplitReply(script, await call());
  }

  /** Step 3: applies `effects` in order (each entry's slots concurrently), then deletes their records. */
  async apply(transferId: string, effects: readonly TransitionEffects[]): Promise<void> {
    for (const fx of effects) await this.applyEntry(fx);
    const seqs = effects.flatMap((fx) => (fx.seq === null ? [] : [String(fx.seq)]));
    if (seqs.length > 0) await this.redis.hdel(this.keys.txEffects(transferId), ...seqs);
  }

  /** Step 4: removes the intent if it still holds `intent` (a later transition's keeps it). */
  async end(transferId: string, intent: number): Promise<void> {
    await this.redis.cpLifecycleIntent(this.keys.lifecyclePending(), 'end', transferId, intent);
  }

  /** One effects entry, its slots concurrently (its record stays: `apply` deletes it). */
  async applyEntry(fx: TransitionEffects): Promise<void> {
    const k = this.keys;
    const eventId = eventIdOf(fx);
    const work: Promise<unknown>[] = [];
    if (fx.awaiting !== null || fx.due !== null || fx.event !== null) {
      work.push(
        this.redis.cpLifecycleEffects(
          k.lifecycleAwaiting(), k.lifecycleDue(), k.lifecycleEvents(), k.lifecycleEventMarker(eventId ?? fx.transferId),
          fx.transferId, fx.awaiting?.op ?? '', fx.awaiting?.atMs ?? '', fx.due?.op ?? '', fx.due?.atMs ?? '', EVENT_MARKER_TTL_MS,
          ...(fx.event ?? []),
        ), // prettier-ignore
      );
    }
    if (fx.holds !== null && fx.payee !== '') {
      const holds = k.accountHolds(fx.payee);
      work.push(fx.holds === 'add' ? this.redis.sadd(holds, fx.transferId) : this.redis.srem(holds, fx.transferId));
    }
    if (fx.refund && fx.payer !== '') work.push(this.redis.cpGuardianRefundOnce(k.accountGuardian(fx.payer), fx.transferId));
    await Promise.all(work);
  }

  /** Intents older than `beforeMs` (crashed transitions, or very slow ones), oldest first. */
  async crashed(beforeMs: number, limit: number): Promise<{ transferId: string; intent: number }[]> {
    const flat = await this.redis.zrangebyscore(this.keys.lifecyclePending(), '-inf', beforeMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const out: { transferId: string; intent: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ transferId: flat[i]!, intent: Number(flat[i + 1]) });
    return out;
  }

  /**
   * Completes a crashed transition: applies what its transfer's effects hash still records (in
   * seq order) and removes the intent. Returns how many effects entries it applied.
   */
  async complete(transferId: string, intent: number): Promise<number> {
    const recorded = await this.redis.hgetall(this.keys.txEffects(transferId));
    const effects = Object.entries(recorded)
      .map(([seq, json]) => ({ seq: Number(seq), fx: decodeEffects('lifecycle effects', json) }))
      .sort((a, b) => a.seq - b.seq)
      .map((e) => e.fx);
    await this.apply(transferId, effects);
    await this.end(transferId, intent);
    return effects.length;
  }
}

/** The event id of an effects entry's outbox entry (its `id` field), or null without one. */
function eventIdOf(fx: TransitionEffects): string | null {
  if (fx.event === null) return null;
  for (let i = 0; i + 1 < fx.event.length; i += 2) if (fx.event[i] === 'id') return fx.event[i + 1]!;
  return null;
}
