/**
 * The split score (issue 15, docs/cluster-keys.md "The split of the score"): the four
 * per-entity steps of one transfer — claim (`{t:<id>}`), payer and payee (`{a:<x>}`), device
 * (`{d:<x>}`) — sent at once, each answering for its own slot, added up to the velocity state
 * the single score script (score-features.lua) answers today.
 *
 * The score route uses them through FeatureStore on a Redis Cluster (and on one Redis when asked:
 * tests); on one Redis it calls score-features.lua by default. The claim step goes first; the
 * entity steps follow only for a claim made now or a crashed score of this event (ScoreSteps).
 * The steps of every transfer of one round go out together: one pipeline on one Redis; on a
 * Cluster one command each (batched per node by ioredis: enableAutoPipelining on the score role).
 */
import { Cluster, type Redis, type Result } from 'ioredis';
import { BoundedCache } from '../bounded-cache.ts';
import { SCRIPTS, type Keys } from '../store/keys.ts';
import type { RedisClient } from '../store/redis-connections.ts';
import { DAY_MS, reportHalfLifeArg, WINDOW_TTL_MS, windowArgs, type FeatureStoreOptions } from './feature-store.ts';
import {
  assembleSteps,
  claimOnly,
  entityStepsWanted,
  decodeClaimStep,
  decodeDeviceStep,
  decodePayeeStep,
  decodePayerStep,
  type ClaimStepReply,
  type DeviceStepReply,
  type EntityStepReply,
  type PayeeStepReply,
  type PayerPart,
  type StepName,
  type StepsResult,
} from './score-step-replies.ts';

import { isTimeZone, localDate } from './time-zones.ts';
import type { TransferEvent } from './transfer-event.ts';
import { toStoredAmount } from './velocity-state.ts';

export type { StepsResult } from './score-step-replies.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    cpScoreStepClaim(...args: (string | number)[]): Result<unknown, Context>;
    cpScoreStepPayer(...args: (string | number)[]): Result<unknown, Context>;
    cpScoreStepPayee(...args: (string | number)[]): Result<unknown, Context>;
    cpScoreStepDevice(...args: (string | number)[]): Result<unknown, Context>;
  }
}

/** One transfer to score by steps. */
export interface StepsInput {
  readonly e: TransferEvent;
  readonly tMs: number;
  readonly eventHash: string;
  /** the claim time (the caller's clock), stored with the claim */
  readonly claimMs: number;
}

const COMMANDS = {
  claim: 'cpScoreStepClaim',
  payer: 'cpScoreStepPayer',
  payee: 'cpScoreStepPayee',
  device: 'cpScoreStepDevice',
} as const satisfies Record<StepName, string>;
const SCRIPT_OF = { claim: SCRIPTS.scoreStepClaim, payer: SCRIPTS.scoreStepPayer, payee: SCRIPTS.scoreStepPayee, device: SCRIPTS.scoreStepDevice };

/** How many of a step call's args are KEYS. */
export function stepKeyCount(step: StepName): number {
  return SCRIPT_OF[step].numberOfKeys;
}

/** One step's call: its command (a script defined on the connection) and KEYS then ARGV. */
export interface StepCall {
  readonly step: StepName;
  readonly args: readonly (string | number)[];
}

/**
 * Markers outlive the claim by this much: a marker is written within milliseconds of its
 * claim (before or after it), and a duplicate the claim still answers must still find it.
 */
export const MARKER_MARGIN_MS = 60_000;

/** Defines the four step scripts on a connection (once). */
export function defineScoreSteps(redis: RedisClient): void {
  for (const step of Object.keys(COMMANDS) as StepName[]) {
    if (typeof (redis as Partial<Redis>)[COMMANDS[step]] !== 'function') redis.defineCommand(COMMANDS[step], SCRIPT_OF[step]);
  }
}

/**
 * The calls of one transfer's steps (the scripts' headers list KEYS and ARGV): claim, payer,
 * payee, and device when the transfer has one. `zone`: the time zone assumed for the payer's
 * guardian limits ('' when none is known).
 */
export function scoreStepCalls(k: Keys, opts: FeatureStoreOptions, x: StepsInput, zone: string): StepCall[] {
  const steps: StepName[] = x.e.payer.deviceId === undefined ? ['claim', 'payer', 'payee'] : ['claim', 'payer', 'payee', 'device'];
  return steps.map((s) => stepCall(k, opts, x, s, zone));
}

export function stepCall(k: Keys, opts: FeatureStoreOptions, x: StepsInput, step: StepName, zone: string): StepCall {
  const { e, tMs, eventHash } = x;
  const id = e.transferId;
  const payer = e.payer.accountId;
  const payee = e.payee.accountId;
  const ttlMs = opts.idempotencyTtlSeconds * 1000;
  if (step === 'claim') return { step, args: [k.tx(id), k.txDecision(id), eventHash, x.claimMs, ttlMs] };
  const common = [tMs, toStoredAmount(e.amount), eventHash, id, ttlMs + MARKER_MARGIN_MS, opts.distinctCap, tMs - DAY_MS];
  const pairTtlMs = opts.pairTtlDays * DAY_MS;
  switch (step) {
    case 'payer': {
      const device = e.payer.deviceId;
      return {
        step,
        args: [
          k.accountOut(payer),
          k.accountPayees(payer),
          k.accountDevices(payer),
          k.accountGuardian(payer),
          k.accountStep(payer, id),
          k.pair(payer, payee),
          ...common,
          WINDOW_TTL_MS,
          ...windowArgs(tMs),
          pairTtlMs,
          k.storedId('a', payee),
          device === undefined ? '' : k.storedId('d', device),
          zone,
          zone === '' ? '' : localDate(tMs, zone),
          e.currency,
        ],
      };
    }
    case 'payee':
      return {
        step,
        args: [
          k.accountIn(payee),
          k.accountOut(payee),
          k.accountPayers(payee),
          k.accountNewPayers(payee),
          k.accountReports(payee),
          k.pairIn(payee, payer),
          k.accountStep(payee, id),
          k.accountReportTimes(payee),
          ...common,
          WINDOW_TTL_MS,
          ...windowArgs(tMs),
          pairTtlMs,
          k.storedId('a', payer),
          reportHalfLifeArg(opts),
        ],
      };
    case 'device': {
      const device = e.payer.deviceId;
      if (device === undefined) throw new Error(`transfer ${id} has no device: no device step`);
      return { step, args: [k.devicePayers(device), k.deviceStep(device, id), ...common, k.storedId('a', payer)] };
    }
  }
}

/**
 * Sends step calls at once and answers each one's reply or error, in order: one pipeline on
 * one Redis; one command each on a Cluster (ioredis refuses a pipeline spanning nodes). The
 * connection must have the steps defined (defineScoreSteps).
 */
export async function sendStepCalls(redis: RedisClient, calls: readonly StepCall[]): Promise<[Error | null, unknown][]> {
  if (calls.length === 0) return [];
  if (redis instanceof Cluster) {
    return Promise.all(
      calls.map((c) =>
        redis[COMMANDS[c.step]](...c.args).then(
          (r): [Error | null, unknown] => [null, r],
          (err: Error): [Error | null, unknown] => [err, null],
        ),
      ),
    );
  }
  const p = redis.pipeline();
  for (const c of calls) p[COMMANDS[c.step]](...c.args);
  const results = await p.exec();
  if (results === null || results.length !== calls.length) throw new Error('the score-step pipeline was aborted');
  return results;
}

interface Pending {
  readonly x: StepsInput;
  zone: string;
  zoneAsked: boolean;
  claim: ClaimStepReply | null;
  payer: EntityStepReply<PayerPart> | null;
  payee: PayeeStepReply | null;
  device: DeviceStepReply | null;
  readonly resolve: (r: StepsResult) => void;
  readonly reject: (err: Error) => void;
}

/** payers with guardian limits whose time zone is remembered; a miss costs one more payer step */
const GUARDIAN_ZONE_CACHE = 100_000;

/** The steps a transfer still needs: the claim first; then the entity steps not answered yet. */
function stepsDue(p: Pending): StepName[] {
  if (p.claim === null) return ['claim'];
  const due: StepName[] = [];
  if (p.payer === null) due.push('payer');
  if (p.payee === null) due.push('payee');
  if (p.device === null && p.x.e.payer.deviceId !== undefined) due.push('device');
  return due;
}

/**
 * Scores transfers by steps on one connection (one Redis or a Cluster): **claim first**, then
 * the entity steps (docs/cluster-keys.md, "Claim first"). The claim steps of every score() of an
 * event-loop turn go out together; the payer, payee and device steps of the transfers whose
 * claim answers `claimed` (or a pending claim of this event older than `claimLeaseMs`: the
 * completion of a crashed score) go out together in the next turn, with the claims of that turn.
 * Any other claim is answered from the claim alone, so a conflicting event and a duplicate of a
 * transfer claimed by score-features.lua count nothing. A payer step answering that the guardian
 * limits use another time zone is sent again alone, with that zone's local date.
 */
export class ScoreSteps {
  private readonly redis: RedisClient;
  private readonly keys: Keys;
  private readonly opts: FeatureStoreOptions;
  private readonly claimLeaseMs: number;
  private readonly guardianZones = new BoundedCache<string, string>(GUARDIAN_ZONE_CACHE);
  private pending: Pending[] = [];
  private scheduled = false;

  /** @param claimLeaseMs CLAIM_LEASE_MS: a pending claim of the same event older than this is completed */
  constructor(redis: RedisClient, keys: Keys, opts: FeatureStoreOptions, claimLeaseMs: number) {
    this.redis = redis;
    this.keys = keys;
    this.opts = opts;
    this.claimLeaseMs = claimLeaseMs;
    defineScoreSteps(redis);
  }

  score(x: StepsInput): Promise<StepsResult> {
    return new Promise((resolve, reject) => {
      const zone = this.guardianZones.get(x.e.payer.accountId) ?? '';
      this.queue({ x, zone, zoneAsked: false, claim: null, payer: null, payee: null, device: null, resolve, reject });
    });
  }

  private queue(p: Pending): void {
    this.pending.push(p);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const calls: StepCall[] = [];
    const owners: Pending[] = [];
    for (const p of batch) {
      for (const s of stepsDue(p)) {
        calls.push(stepCall(this.keys, this.opts, p.x, s, p.zone));
        owners.push(p);
      }
    }
    let results: [Error | null, unknown][];
    try {
      results = await sendStepCalls(this.redis, calls);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return;
    }
    const failed = new Map<Pending, Error>();
    for (const [i, [err, reply]] of results.entries()) {
      const p = owners[i]!;
      if (err !== null) {
        if (!failed.has(p)) failed.set(p, err);
        continue;
      }
      try {
        this.take(p, calls[i]!.step, reply);
      } catch (e) {
        if (!failed.has(p)) failed.set(p, e as Error);
      }
    }
    for (const p of batch) {
      const err = failed.get(p);
      if (err !== undefined) {
        p.reject(err);
        continue;
      }
      const claim = p.claim!;
      if (p.payee === null && p.payer === null && !entityStepsWanted(claim, p.x.eventHash, p.x.claimMs, this.claimLeaseMs)) {
        p.resolve(claimOnly(claim as Extract<ClaimStepReply, { kind: 'claimed-before' }>));
      } else if (stepsDue(p).length > 0) {
        this.queue(p); // the entity steps after the claim; or the payer step again in the guardian limits' zone
      } else {
        try {
          p.resolve(assembleSteps(p.x.e.transferId, p.x.eventHash, { claim, payer: p.payer!, payee: p.payee!, device: p.device }));
        } catch (e) {
          p.reject(e as Error);
        }
      }
    }
  }

  private take(p: Pending, step: StepName, reply: unknown): void {
    switch (step) {
      case 'claim':
        p.claim = decodeClaimStep(reply);
        return;
      case 'payee':
        p.payee = decodePayeeStep(reply);
        return;
      case 'device':
        p.device = decodeDeviceStep(reply);
        return;
      case 'payer': {
        const r = decodePayerStep(reply);
        if (r.kind !== 'zone') {
          p.payer = r;
          return;
        }
        const payer = p.x.e.payer.accountId;
        if (p.zoneAsked || !isTimeZone(r.zone)) {
          throw new Error(`guardian limits of ${payer} name the time zone "${r.zone}", which changed during the call or is invalid`);
        }
        this.guardianZones.set(payer, r.zone);
        p.zone = r.zone;
        p.zoneAsked = true;
      }
    }
  }
}
