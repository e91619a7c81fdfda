import { Cluster } from 'ioredis';
import { LifecycleStore } from '../cooling/lifecycle-store.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { claimEvent, type DegradedRecord } from './degraded-record.ts';
import type { DegradedSpool } from './degraded-spool.ts';
import type { FeatureStore } from '../features/feature-store.ts';
import type { Keys } from '../store/keys.ts';
import type { StoredDecision } from '../scoring/decision.ts';

/**
 * Writes the decisions answered in degraded mode into Redis once it is back (issue 19), as the
 * scoring path would have written them, so that a replay gets the same decision on any node,
 * a warn/cool_off can be confirmed, and the windows count the transfer:
 *
 * 1. the event goes through the score script's claim (FeatureStore.claimAndUpdate) with the
 *    hash of the event that was answered: the transferId is claimed and the payer's, payee's
 *    and device's windows (and a guardian's daily spend, when within the limits) count the
 *    transfer, exactly once whatever happens next, since a second claim changes nothing;
 * 2. the decision key is written only if absent (SET NX GET);
 * 3. the lifecycle registration (warn/cool_off; register-transfer.lua does nothing when the
 *    transfer already has one), for a `block` the guardian spend the claim added given back
 *    (guardian-refund.lua, once), and the decision stream entry (the sink's insert skips a
 *    transfer the history already has).
 *
 * When the transferId was claimed meanwhile — a replay that reached another node after Redis
 * came back and before this ran — that decision stands for later replays: with another event
 * nothing is written (`conflict`); with the same event but another decision (`superseded`) the
 * stream entry is still written, so the history keeps the degraded decision, the one answered
 * first, unless the other reached it before, and no lifecycle is registered for it. Both are
 * logged with the transferId. A transfer claimed with the same event and no decision yet (an
 * earlier pass that stopped half-way, or the late call of a score Redis was only slow for) is
 * completed. So a pass can be repeated after a failure at any point.
 *
 * On one Redis the writes of step 3 go out as one pipeline. On a Redis Cluster (issue 15) they
 * live in three slots and go out per slot, concurrently: the registration through its cluster
 * form (LifecycleStore.register: the transition in the transfer's slot, then its effects), the
 * guardian refund in the payer's slot, the stream entry in `{decisions}`; each is idempotent as
 * above, so a pass that failed half-way is repeated whole.
 *
 * Runs when the scoring connection becomes ready (ioredis 'ready': at start and after every
 * reconnect) and every `everyMs` (records of other nodes, passes that failed).
 */

type LogFn = (obj: object, msg: string) => void;

export interface DegradedReconcilerDeps {
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly store: FeatureStore;
  readonly spool: DegradedSpool;
  readonly idempotencyTtlSeconds: number;
  readonly decisionStreamMaxLen: number;
  readonly log: { readonly info: LogFn; readonly warn: LogFn; readonly error: LogFn };
  /** how often a pass runs besides on reconnect; default 5 s */
  readonly everyMs?: number;
}

export type ReconcileOutcome = 'recorded' | 'completed' | 'superseded' | 'conflict';

export interface ReconcileReport {
  readonly recorded: number;
  readonly completed: number;
  readonly superseded: number;
  readonly conflict: number;
  /** records left for a later pass (Redis failed during this one, or one record failed) */
  readonly left: number;
}

/** records read from the stores per round */
const BATCH = 500;
/** records written into Redis concurrently */
const CONCURRENCY = 32;

export class DegradedReconciler {
  private readonly deps: DegradedReconcilerDeps;
  /** registrations on a cluster (their cluster form); null on one Redis (a command of the pipeline) */
  private readonly lifecycle: LifecycleStore | null;
  private pass: Promise<ReconcileReport> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly onReady = (): void => this.trigger();

  constructor(deps: DegradedReconcilerDeps) {
    this.deps = deps;
    this.lifecycle = deps.redis instanceof Cluster ? new LifecycleStore(deps.redis, deps.keys, deps.idempotencyTtlSeconds * 1000) : null;
  }

  start(): void {
    if (this.timer !== null) return;
    this.deps.redis.on('ready', this.onReady);
    this.timer = setInterval(() => this.trigger(), this.deps.everyMs ?? 5_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.deps.redis.off('ready', this.onReady);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pass?.catch(() => undefined);
  }

  /** Starts a pass (or another one after the pass in progress); failures are logged. */
  trigger(): void {
    this.run().catch((err: unknown) => this.deps.log.error({ err }, 'reconciling degraded decisions failed; retrying later'));
  }

  /** A pass over everything spooled; a call during a pass is answered after one more pass. */
  run(): Promise<ReconcileReport> {
    if (this.pass === null) {
      this.pass = this.passes().finally(() => {
        this.pass = null;
      });
    } else {
      this.again = true;
    }
    return this.pass;
  }

  private async passes(): Promise<ReconcileReport> {
    let report: ReconcileReport;
    do {
      this.again = false;
      report = await this.runPass();
    } while (this.again);
    return report;
  }

  private async runPass(): Promise<ReconcileReport> {
    const { spool, log } = this.deps;
    const counts: Record<ReconcileOutcome, number> = { recorded: 0, completed: 0, superseded: 0, conflict: 0 };
    let left = 0;
    for (let round = 0; this.deps.redis.status === 'ready'; round++) {
      const { records, sqlFull, fromFile } = await spool.pending(BATCH);
      if (records.length === 0) break;
      spool.remember(records, fromFile);
      const done: string[] = [];
      let failed = 0;
      for (let i = 0; i < records.length && failed === 0; i += CONCURRENCY) {
        const chunk = records.slice(i, i + CONCURRENCY);
        const results = await Promise.allSettled(chunk.map((r) => this.reconcile(r)));
        results.forEach((res, j) => {
          if (res.status === 'fulfilled') {
            counts[res.value]++;
            done.push(chunk[j]!.transferId);
          } else {
            failed++;
            log.error({ err: res.reason, transferId: chunk[j]!.transferId }, 'writing a degraded decision into Redis failed; kept for a later pass');
          }
        });
      }
      await spool.forget(done);
      left = records.length - done.length;
      if (failed > 0 || !sqlFull || round > 10_000) break;
    }
    const report = { ...counts, left };
    if (counts.recorded + counts.completed + counts.superseded + counts.conflict > 0) {
      log.info(report, 'degraded decisions written into Redis');
    }
    return report;
  }

  /** Writes one degraded decision into Redis (see the class comment). */
  async reconcile(r: DegradedRecord): Promise<ReconcileOutcome> {
    const { redis, keys: k, store, log } = this.deps;
    const e = claimEvent(r);
    const claim = await store.claimAndUpdate(e, Date.parse(e.occurredAt), r.eventHash);
    if (claim.kind === 'duplicate' && claim.eventHash !== r.eventHash) {
      log.warn(
        { transferId: r.transferId },
        'a degraded decision was not written into Redis: its transferId was scored with a different event after Redis came back; that decision stands',
      );
      return 'conflict';
    }
    const ttlMs = this.deps.idempotencyTtlSeconds * 1000;
    const previous = (await redis.call('SET', k.txDecision(r.transferId), r.decision, 'PX', ttlMs, 'NX', 'GET')) as string | null;
    const ours = previous === null || previous === r.decision;
    const register = ours && r.registration !== null;
    // a block is never paid: what the claim just added to a minor's daily allowance goes back
    // (once: a repeat of this pass changes nothing), as the scoring path's record does
    const refund = ours && claim.state?.guardian?.outcome === 'within' && isBlock(r.decision);
    const streamArgs = [
      k.decisionStream(), 'MAXLEN', '~', this.deps.decisionStreamMaxLen, '*',
      'transferId', r.transferId, 'decision', r.decision, 'event', r.event, 'features', r.features, 'catalogue', r.catalogue,
    ] as const; // prettier-ignore
    if (this.lifecycle === null) {
      const p = redis.pipeline();
      if (register) p.cpRegisterTransfer(k.txState(r.transferId), k.txAudit(r.transferId), k.lifecycleAwaiting(), k.lifecycleEvents(), ...r.registration!);
      if (refund) store.refundGuardianSpend(p, e.payer.accountId, r.transferId);
      p.xadd(...streamArgs);
      const results = (await p.exec()) ?? [];
      for (const [err] of results) if (err) throw err;
    } else {
      // a cluster: one request per slot (transfer + its effects, payer, {decisions}), concurrently
      const refundOnce = async (): Promise<void> => {
        const p = redis.pipeline();
        store.refundGuardianSpend(p, e.payer.accountId, r.transferId);
        for (const [err] of (await p.exec()) ?? []) if (err) throw err;
      };
      await Promise.all([
        register ? this.lifecycle.register(r.transferId, r.registration!) : null,
        refund ? refundOnce() : null,
        redis.xadd(...streamArgs),
      ]);
    }
    if (!ours) {
      log.warn(
        { transferId: r.transferId },
        'a degraded decision was superseded: the same transfer was scored again after Redis came back, before this decision was written there; that decision stands for replays',
      );
      return 'superseded';
    }
    return previous === null && claim.kind === 'new' ? 'recorded' : 'completed';
  }
}

function isBlock(decisionJson: string): boolean {
  return (JSON.parse(decisionJson) as Pick<StoredDecision, 'action'>).action === 'block';
}
