import { Cluster, type ChainableCommander, type Redis, type Result } from 'ioredis';
import { WINDOWS } from './catalogue.ts';
import type { TransferEvent } from './transfer-event.ts';
import { decodeScoreReply } from './score-reply.ts';
import { DEFAULT_REPORT_HALF_LIFE_HOURS, halfLifeMs } from './report-age.ts';
import { toStoredAmount, type VelocityState } from './velocity-state.ts';
import { completedClaim, decodeStoredClaim, StepConflictError } from './score-step-replies.ts';
import { ScoreSteps } from './score-steps.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { isTimeZone, localDate } from './time-zones.ts';
import type { TransferRegistration } from '../cooling/registration.ts';
import { LifecycleStore } from '../cooling/lifecycle-store.ts';
import { SCRIPTS, type Keys } from '../store/keys.ts';
import { BoundedCache } from '../bounded-cache.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpScoreFeatures(...args: (string | number)[]): Result<(number | string)[], Context>;
    cpGuardianRefund(...args: (string | number)[]): Result<unknown, Context>;
  }
}

export interface FeatureStoreOptions {
  readonly idempotencyTtlSeconds: number;
  readonly pairTtlDays: number;
  readonly distinctCap: number;
  readonly decisionStreamMaxLen: number;
  /** the half-life of a scam report's weight (REPORT_HALF_LIFE_HOURS; default DEFAULT_REPORT_HALF_LIFE_HOURS) */
  readonly reportHalfLifeHours?: number;
  /**
   * CLAIM_LEASE_MS, for the split score (issue 15): a pending claim of the same event older than
   * this is completed by its entity steps' markers; default DEFAULT_CLAIM_LEASE_MS
   */
  readonly claimLeaseMs?: number;
}

/** The report half-life the scripts take, in ms. */
export function reportHalfLifeArg(opts: FeatureStoreOptions): number {
  return halfLifeMs(opts.reportHalfLifeHours ?? DEFAULT_REPORT_HALF_LIFE_HOURS);
}

/** CLAIM_LEASE_MS's default (src/scoring/scoring-config.ts), for stores built without it (tools, tests). */
export const DEFAULT_CLAIM_LEASE_MS = 5_000;

/**
 * How FeatureStore scores. `steps`: by the split score's per-entity steps, claim first
 * (src/features/score-steps.ts; docs/cluster-keys.md); otherwise by score-features.lua, one
 * call. Default: the steps on a Redis Cluster (score-features.lua is CROSSSLOT there), the single
 * script on one Redis (it costs Redis 1.55-1.67x less CPU per score; docs/benchmarks.md). Tests
 * choose the steps on one Redis to compare both paths.
 */
export interface ScoreMode {
  readonly steps?: boolean;
}

export type ClaimResult =
  | { readonly kind: 'new'; readonly state: VelocityState }
  | {
      readonly kind: 'duplicate';
      readonly eventHash: string;
      readonly decision: string | null;
      /** when the claim was made (the claimant's clock), null for a claim of an earlier version */
      readonly claimedAtMs: number | null;
      /**
       * the velocity state the claimant was answered; null for a claim of an earlier version and
       * for a `pending` claim of the split score (issue 15; claimedAtMs set): neither can be completed here
       */
      readonly state: VelocityState | null;
    };

/** What recording a decision found: it was written, or another decision already was (returned). */
export type RecordOutcome = { readonly kind: 'recorded' } | { readonly kind: 'existing'; readonly decision: string };

interface PendingRecord {
  readonly transferId: string;
  readonly decisionJson: string;
  readonly entry: DecisionStreamExtras;
  readonly registration: TransferRegistration | null;
  /** the payer whose guardian spend a `block` gives back (guardian-refund.lua), else null */
  readonly guardianRefundOf: string | null;
  readonly resolve: (outcome: RecordOutcome) => void;
  readonly reject: (err: Error) => void;
  /** the claim in its completed form, written over the split score's pending claim; null on the single script's path */
  readonly completion: string | null;
}

export const DAY_MS = 86_400_000;
/** payers with guardian limits whose time zone is remembered; a miss costs one extra call */
const GUARDIAN_ZONE_CACHE = 100_000;
/**
 * transfers scored by steps whose decision is not recorded yet -> their completed claim (the
 * record writes it); bounded: a score that never records (it failed) leaves its claim pending,
 * and a retry after the lease completes it from the markers
 */
const COMPLETIONS_CACHE = 50_000;

/** Per window: bucket count, current bucket index and that bucket's field name (see the script header). */
export function windowArgs(tMs: number): string[] {
  const args: string[] = [];
  WINDOWS.forEach((w, k) => {
    const bucket = String(Math.floor(tMs / (w.bucketSeconds * 1000)));
    args.push(String(w.seconds / w.bucketSeconds), bucket, `w${k + 1}:${bucket}`);
  });
  return args;
}
const LONGEST = WINDOWS[WINDOWS.length - 1]!;
/** the window hashes' TTL is refreshed once per 30d-window bucket: the window, plus two buckets */
export const WINDOW_TTL_MS = (LONGEST.seconds + 2 * LONGEST.bucketSeconds) * 1000;

/**
 * The keys and arguments of one score-script call (see the script's header), in order. Also
 * used by the design floor of `npm run bench` (bench/floor-server.ts), so that it sends the
 * engine's own call.
 */
export function scoreScriptCall(
  k: Keys,
  opts: FeatureStoreOptions,
  e: TransferEvent,
  tMs: number,
  eventHash: string,
  zone: string,
  claimMs: number,
): (string | number)[] {
  const payer = e.payer.accountId;
  const payee = e.payee.accountId;
  const device = e.payer.deviceId ?? '';
  return [
    k.tx(e.transferId),
    k.txDecision(e.transferId),
    k.accountOut(payer),
    k.accountPayees(payer),
    k.pair(payer, payee),
    k.accountDevices(payer),
    // without a device the script does not touch this key; a payer-slot placeholder keeps
    // every key of the call inside known slots
    device === '' ? k.accountDevices(payer) : k.devicePayers(device),
    k.accountIn(payee),
    k.accountOut(payee),
    k.accountPayers(payee),
    k.accountNewPayers(payee),
    k.accountReports(payee),
    k.accountGuardian(payer),
    // the pair again in the payee's slot (dual write, issue 15 release A)
    k.pairIn(payee, payer),
    k.accountReportTimes(payee),
    tMs,
    toStoredAmount(e.amount),
    eventHash,
    k.storedId('a', payer),
    k.storedId('a', payee),
    device === '' ? '' : k.storedId('d', device),
    opts.idempotencyTtlSeconds * 1000,
    opts.pairTtlDays * 86_400_000,
    opts.distinctCap,
    WINDOW_TTL_MS,
    tMs - DAY_MS,
    ...windowArgs(tMs),
    zone,
    zone === '' ? '' : localDate(tMs, zone),
    e.currency,
    claimMs,
    e.transferId,
    reportHalfLifeArg(opts),
  ];
}

/**
 * The velocity store in Redis: one script call per score reads and updates every window, and
 * the decision is written back afterwards, batched with the other decisions of the same
 * event-loop turn; the caller awaits the batch before answering (docs/score-durability.md).
 */
export class FeatureStore {
  private readonly redis: RedisClient;
  private readonly keys: Keys;
  private readonly opts: FeatureStoreOptions;
  private readonly onWriteError: (err: Error) => void;
  /** payer -> time zone of its guardian limits, for the accounts that have limits (bounded) */
  private readonly guardianZones = new BoundedCache<string, string>(GUARDIAN_ZONE_CACHE);
  /** the split score, when this store scores by steps (ScoreMode), else null */
  private readonly steps: ScoreSteps | null;
  private readonly completions = new BoundedCache<string, string>(COMPLETIONS_CACHE);
  /** registrations on a cluster, by their cluster form (LifecycleStore.register); null on one Redis */
  private readonly lifecycle: LifecycleStore | null;
  private pending: PendingRecord[] = [];
  private flushing: Promise<void> | null = null;

  constructor(redis: RedisClient, keys: Keys, opts: FeatureStoreOptions, onWriteError: (err: Error) => void, mode: ScoreMode = {}) {
    this.redis = redis;
    this.keys = keys;
    this.opts = opts;
    this.onWriteError = onWriteError;
    this.lifecycle = redis instanceof Cluster ? new LifecycleStore(redis, keys, opts.idempotencyTtlSeconds * 1000) : null;
    this.steps = (mode.steps ?? redis instanceof Cluster) ? new ScoreSteps(redis, keys, opts, opts.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS) : null;
    if (typeof (redis as Partial<Redis>).cpScoreFeatures !== 'function') {
      redis.defineCommand('cpScoreFeatures', SCRIPTS.scoreFeatures);
    }
    if (typeof (redis as Partial<Redis>).cpRegisterTransfer !== 'function') {
      redis.defineCommand('cpRegisterTransfer', SCRIPTS.registerTransfer);
    }
    if (typeof (redis as Partial<Redis>).cpGuardianRefund !== 'function') {
      redis.defineCommand('cpGuardianRefund', SCRIPTS.guardianRefund);
    }
  }

  /**
   * Claims the transferId and, for a new one, returns the state before it and records it.
   *
   * Guardian limits have a day boundary in their own time zone, which the script cannot
   * compute. The caller passes the zone it believes the payer's limits use (remembered from
   * earlier replies; none for almost every payer) with the local date in it; the script
   * checks the zone and, when it differs, answers with the right one and changes nothing, so
   * the second call is still one atomic step.
   *
   * `claimMs` (the caller's clock) is stored with the claim and the state it answered, so
   * that a retry can tell an abandoned claim from one still being decided, and complete it.
   */
  async claimAndUpdate(e: TransferEvent, tMs: number, eventHash: string, claimMs: number = Date.now()): Promise<ClaimResult> {
    if (this.steps !== null) return this.claimBySteps(this.steps, e, tMs, eventHash, claimMs);
    const payer = e.payer.accountId;
    let zone = this.guardianZones.get(payer) ?? '';
    for (let attempt = 0; ; attempt++) {
      const reply = decodeScoreReply(await this.callScoreScript(e, tMs, eventHash, zone, claimMs));
      if (reply.kind === 'new') return reply;
      if (reply.kind === 'duplicate') return { kind: 'duplicate', ...claimAsRead(reply.claim), decision: reply.decision };
      const actual = reply.zone;
      if (attempt > 0 || !isTimeZone(actual)) {
        throw new Error(`guardian limits of ${payer} name the time zone "${actual}", which changed during the call or is invalid`);
      }
      this.guardianZones.set(payer, actual);
      zone = actual;
    }
  }

  /**
   * The split score (claim first, then the entity steps; docs/cluster-keys.md) answered as the
   * single script's path answers: `new` with the state; a duplicate with the claim's event hash,
   * decision, time and state — a completed claim's state, or for a pending claim of this event
   * older than the lease the state its steps' markers give (the completion of a crashed score),
   * else null (a young pending claim: in progress). An entity step holding another event under
   * this id while this event holds the claim is answered as a duplicate of that event (409
   * conflict). For `new` and a completion, the record writes the claim's completed form.
   */
  private async claimBySteps(steps: ScoreSteps, e: TransferEvent, tMs: number, eventHash: string, claimMs: number): Promise<ClaimResult> {
    let r;
    try {
      r = await steps.score({ e, tMs, eventHash, claimMs });
    } catch (err) {
      if (err instanceof StepConflictError) return { kind: 'duplicate', eventHash: err.otherEventHash, decision: null, claimedAtMs: null, state: null };
      throw err;
    }
    if (r.kind === 'new') {
      this.completions.set(e.transferId, completedClaim(eventHash, claimMs, r.state));
      return r;
    }
    if (r.pending && r.state !== null && r.claimedAtMs !== null) this.completions.set(e.transferId, completedClaim(r.eventHash, r.claimedAtMs, r.state));
    return { kind: 'duplicate', eventHash: r.eventHash, decision: r.decision, claimedAtMs: r.claimedAtMs, state: r.state };
  }

  private callScoreScript(e: TransferEvent, tMs: number, eventHash: string, zone: string, claimMs: number): Promise<unknown> {
    return this.redis.cpScoreFeatures(...scoreScriptCall(this.keys, this.opts, e, tMs, eventHash, zone, claimMs));
  }

  /** The stored decision JSON of a transfer, or null. */
  async storedDecision(transferId: string): Promise<string | null> {
    return this.redis.get(this.keys.txDecision(transferId));
  }

  /**
   * Appends the decision to the bounded decision stream (fields: transferId, decision, event,
   * features, catalogue) and stores it for idempotent replays. The writes of every decision
   * recorded in one event-loop turn go out as one pipeline (one socket write, one round trip);
   * the promise settles when that pipeline has answered: `recorded`, `existing` with the
   * decision another request recorded first (SET NX: a retry that took over an abandoned claim
   * and the claimant agree on one decision), or rejected when a write failed (also reported).
   *
   * A `warn`/`cool_off` decision also starts its lifecycle (src/cooling/registration.ts): one
   * more script call in the same pipeline, writing one hash, an audit entry, a zset member and
   * an outbox entry — no extra round trip, and nothing for `allow`/`block` decisions.
   *
   * The decision key is written last: once it exists, the stream entry and the lifecycle were
   * written before it (one connection executes a pipeline in order), so a claim without a
   * decision is exactly one whose record may be incomplete and must be completed. Completing
   * one appends the stream entry and registers again; both are idempotent downstream (the sink
   * inserts ON CONFLICT DO NOTHING, register-transfer.lua changes nothing for a known transfer).
   *
   * `guardianRefundOf`: the payer of a `block` decision whose transfer added to a minor's daily
   * allowance at score time (guardian-refund.lua gives it back, once), else null.
   */
  recordDecision(
    transferId: string,
    decisionJson: string,
    entry: DecisionStreamExtras,
    registration: TransferRegistration | null = null,
    guardianRefundOf: string | null = null,
  ): Promise<RecordOutcome> {
    return new Promise((resolve, reject) => {
      const completion = this.completions.get(transferId) ?? null;
      if (completion !== null) this.completions.delete(transferId);
      this.pending.push({ transferId, decisionJson, entry, registration, guardianRefundOf, resolve, reject, completion });
      if (this.flushing === null) this.scheduleFlush();
    });
  }

  /** Writes what is pending at the end of this event-loop turn. */
  private scheduleFlush(): void {
    this.flushing = new Promise((resolve) => setImmediate(() => resolve(this.flush())));
  }

  /** Resolves once every decision recorded so far has been written (or reported failed). */
  async drain(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      if (this.redis instanceof Cluster) await this.writeBySlot(this.redis, batch);
      else await this.writeOnePipeline(this.redis, batch);
    } finally {
      this.flushing = null;
      if (this.pending.length > 0) this.scheduleFlush();
    }
  }

  /** The stream entry's XADD arguments (after the key). */
  private streamEntry(r: PendingRecord): (string | number)[] {
    const { transferId, decisionJson, entry } = r;
    return ['MAXLEN', '~', this.opts.decisionStreamMaxLen, '*', 'transferId', transferId, 'decision', decisionJson, 'event', entry.event, 'features', entry.features, 'catalogue', entry.catalogue];
  }

  /**
   * One Redis: the whole batch as one pipeline, each record's writes in order (registration,
   * guardian refund, stream entry, the claim's completion on the split score's path, then the
   * decision key): one connection executes them in that order.
   */
  private async writeOnePipeline(redis: Redis, batch: readonly PendingRecord[]): Promise<void> {
    const k = this.keys;
    const ttlMs = this.opts.idempotencyTtlSeconds * 1000;
    const p = redis.pipeline();
    /** per record: the index of its first command in the pipeline */
    const starts: number[] = [];
    for (const r of batch) {
      const { transferId, registration, guardianRefundOf, completion } = r;
      starts.push(p.length);
      if (registration !== null) {
        p.cpRegisterTransfer(k.txState(transferId), k.txAudit(transferId), k.lifecycleAwaiting(), k.lifecycleEvents(), ...registration.args);
      }
      if (guardianRefundOf !== null) this.refundGuardianSpend(p, guardianRefundOf, transferId);
      p.xadd(k.decisionStream(), ...(this.streamEntry(r) as [string]));
      // the claim holds its state from now on (XX: never a claim without its TTL)
      if (completion !== null) p.set(k.tx(transferId), completion, 'KEEPTTL', 'XX');
      // last (see above); NX GET answers the decision recorded first, if any
      p.set(k.txDecision(transferId), r.decisionJson, 'PX', ttlMs, 'NX', 'GET');
    }
    starts.push(p.length);
    try {
      const results = await p.exec();
      if (results === null || results.length !== p.length) throw new Error('the decision pipeline was aborted');
      for (const [i, r] of batch.entries()) {
        const end = starts[i + 1]! - 1;
        const failed = results.slice(starts[i]!, end + 1).find(([err]) => err !== null);
        const [setErr, previous] = results[end]!;
        if (failed === undefined) {
          r.resolve(typeof previous === 'string' ? { kind: 'existing', decision: previous } : { kind: 'recorded' });
          continue;
        }
        this.onWriteError(failed[0]!);
        // a command before the decision's SET failed (the pipeline went on): take the decision
        // back, so that the claim reads as unrecorded and a retry completes the whole record
        if (setErr === null && previous === null) {
          await redis.del(k.txDecision(r.transferId)).catch((err: Error) => this.onWriteError(err));
        }
        r.reject(failed[0]!);
      }
    } catch (err) {
      this.onWriteError(err as Error);
      for (const r of batch) r.reject(err as Error);
    }
  }

  /**
   * A Redis Cluster (issue 15): an ioredis Cluster refuses a pipeline whose keys live on several
   * nodes, so each write is one command, all sent at once (the score connection auto-pipelines
   * them per node). Two rounds: first every record's registration (its cluster form,
   * LifecycleStore.register: the transition in the transfer's slot, then its effects in
   * `{lifecycle}`), guardian refund (payer slot), stream entry (`{decisions}`) and the claim's
   * completion (transfer slot); then, for the records whose first-round writes all answered, the decision key
   * (transfer slot). The decision key stays last, as on one Redis: once it exists, the stream
   * entry and the lifecycle were written (docs/score-durability.md). A record whose first round
   * failed gets no decision key, so its claim reads as unrecorded and a retry completes it.
   */
  private async writeBySlot(cluster: Cluster, batch: readonly PendingRecord[]): Promise<void> {
    const k = this.keys;
    const ttlMs = this.opts.idempotencyTtlSeconds * 1000;
    const firstRound = batch.map(async (r): Promise<Error | null> => {
      const { transferId, registration, guardianRefundOf, completion } = r;
      const writes: Promise<unknown>[] = [];
      if (registration !== null) writes.push(this.lifecycle!.register(transferId, registration.args));
      if (guardianRefundOf !== null) writes.push(cluster.cpGuardianRefund(k.accountGuardian(guardianRefundOf), transferId));
      writes.push(cluster.xadd(k.decisionStream(), ...(this.streamEntry(r) as [string])));
      if (completion !== null) writes.push(cluster.set(k.tx(transferId), completion, 'KEEPTTL', 'XX'));
      const settled = await Promise.allSettled(writes);
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      return failed === undefined ? null : (failed.reason as Error);
    });
    const firstErrors = await Promise.all(firstRound);
    await Promise.all(
      batch.map(async (r, i) => {
        const err = firstErrors[i]!;
        if (err !== null) {
          this.onWriteError(err);
          r.reject(err);
          return;
        }
        try {
          const previous = await cluster.set(k.txDecision(r.transferId), r.decisionJson, 'PX', ttlMs, 'NX', 'GET');
          r.resolve(typeof previous === 'string' ? { kind: 'existing', decision: previous } : { kind: 'recorded' });
        } catch (e) {
          this.onWriteError(e as Error);
          r.reject(e as Error);
        }
      }),
    );
  }

  /**
   * Gives back, once, what a blocked transfer added to its payer's daily guardian allowance at
   * score time (guardian-refund.lua; a repeat changes nothing), as one command of `p`. Also used
   * by the degraded reconciler for a `block` answered while Redis was down.
   */
  refundGuardianSpend(p: ChainableCommander, payerId: string, transferId: string): void {
    p.cpGuardianRefund(this.keys.accountGuardian(payerId), transferId);
  }
}

/**
 * A claim as FeatureStore's callers read it (decodeStoredClaim of score-step-replies.ts reads
 * every form): completed by score-features.lua or a record (`<event hash>|<claim ms>|<reply
 * integers>|<currency>`: the state it answered, with the guardian limits' currency); `pending`,
 * written by the split score's claim step (`<event hash>|<claim ms>|pending`, issue 15: its
 * state lives in the entity steps' markers, which this path does not read, so it has a time
 * and no state: in progress, and never completed here); or the bare event hash an earlier
 * version wrote (no time, no state: such a claim cannot be completed).
 */
function claimAsRead(claim: string): { eventHash: string; claimedAtMs: number | null; state: VelocityState | null } {
  const c = decodeStoredClaim(claim);
  switch (c.form) {
    case 'legacy':
      return { eventHash: c.eventHash, claimedAtMs: null, state: null };
    case 'pending':
      return { eventHash: c.eventHash, claimedAtMs: c.claimedAtMs, state: null };
    case 'complete':
      return { eventHash: c.eventHash, claimedAtMs: c.claimedAtMs, state: c.state };
  }
}

/** What the decision stream carries besides the decision: JSON strings, built by the caller. */
export interface DecisionStreamExtras {
  /** {occurredAt, amount, currency, payerId, payeeId} */
  readonly event: string;
  /** the feature vector in catalogue order */
  readonly features: string;
  /** CATALOGUE_VERSION the vector was built with */
  readonly catalogue: string;
}
