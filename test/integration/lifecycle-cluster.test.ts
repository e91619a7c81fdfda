/**
 * The transfer lifecycle on one Redis and on a 3-primary Redis Cluster (issue 15,
 * docs/cluster-keys.md "The lifecycle scripts"): the same operations give the same states,
 * audit trails, indexes, outbox entries and guardian refunds whether a transition is one
 * atomic script (one Redis) or a transition in the transfer's slot followed by its effects
 * per slot (a cluster, and its form on one Redis); a caller that dies between a transition and
 * its effects leaves an intent that the worker's sweep completes, nothing applied twice; and
 * the assembled lifecycle (routes' service, BullMQ timers on `{cp:bull}`, outbox relay,
 * webhooks, report escalation) runs on the cluster.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.ts';
import { lifecycleSettings, registrationTimes } from '../../src/config-wiring.ts';
import { Lifecycle } from '../../src/cooling/lifecycle.ts';
import { LifecycleStore, type TransitionOutcome } from '../../src/cooling/lifecycle-store.ts';
import { registrationFor, type RegisteredDecision } from '../../src/cooling/registration.ts';
import { INTENT_GRACE_MS } from '../../src/cooling/split-transitions.ts';
import { holdJobId } from '../../src/cooling/transfer-states.ts';
import { ReportFlags } from '../../src/cases/report-flags.ts';
import { FEATURE_COUNT, idx, type FeatureValue } from '../../src/features/catalogue.ts';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import { segmentPolicy } from '../../src/scoring/scoring-config.ts';
import { makeKeys, type Keys } from '../../src/store/keys.ts';
import { plainIds } from '../../src/store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { redisUrl } from '../helpers/redis.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { compileRules } from '../helpers/rules.ts';
import { startReceiver, waitFor, type Receiver } from './cooling-helpers.ts';

const SECRET = 'test-secret-0123456789';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

type Mode = 'one Redis' | 'one Redis, cluster form' | 'cluster';
const MODES: readonly Mode[] = ['one Redis', 'one Redis, cluster form', 'cluster'];

interface Side {
  readonly mode: Mode;
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly connections: RedisConnections;
  readonly store: LifecycleStore;
  close(): Promise<void>;
}

async function side(mode: Mode, config: Config): Promise<Side> {
  const prefix = `life-${randomUUID().slice(0, 8)}:`;
  const onCluster = mode === 'cluster';
  const connections = onCluster ? new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000) : new RedisConnections(redisUrl(), 5_000);
  const redis = await connections.openClient('tool');
  const keys = makeKeys(prefix, plainIds, { cluster: onCluster });
  const store = new LifecycleStore(redis, keys, config.scoring.idempotencyTtlSeconds * 1000, { split: mode !== 'one Redis' });
  return { mode, redis, keys, connections, store, close: () => closeRedis(redis) };
}

function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ REDIS_URL: redisUrl(), LOG_LEVEL: 'silent', HOLD_RISK_AT: '45', ...env });
}

/** The registration a decision writes (registrationFor, as the score does), with an all-missing feature vector. */
function registration(config: Config, id: string, o: { action?: 'warn' | 'cool_off'; risk?: number; payer?: string; payee?: string; decidedMs: number; reports?: number }): readonly string[] {
  const decision: RegisteredDecision = {
    action: o.action ?? 'cool_off',
    riskScore: o.risk ?? 70,
    modelScore: null,
    scamType: 'impersonation',
    segment: 'elderly',
    rulesVersion: 'test',
    decidedAt: new Date(o.decidedMs).toISOString(),
  };
  const event = { transferId: id, occurredAt: decision.decidedAt, amount: 48_000, currency: 'CNY', payer: { accountId: o.payer ?? `p-${id}` }, payee: { accountId: o.payee ?? `q-${id}` } } as TransferEvent;
  const v: FeatureValue[] = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
  v[FEATURE_INDEX_REPORTS] = o.reports ?? 0;
  const reg = registrationFor(decision, event, v, JSON.stringify(v), { language: 'en', policy: segmentPolicy(config.scoring, 'elderly') }, registrationTimes(config));
  if (reg === null) throw new Error('a warned decision registers');
  return reg.args;
}
const FEATURE_INDEX_REPORTS = idx('payee.report_count');

const outcome = (o: TransitionOutcome): string => (o.kind === 'moved' || o.kind === 'repeat' || o.kind === 'refused' ? `${o.kind} ${o.state}` : o.kind === 'early' ? `early ${o.untilMs}` : o.kind);

/**
 * Everything the lifecycle wrote for `ids`, with the prefix and event ids (a hash of the key)
 * named by position, so that two sides with different prefixes compare equal.
 */
async function snapshot(s: Side, ids: readonly string[], payers: readonly string[], payees: readonly string[]): Promise<unknown> {
  const k = s.keys;
  const eventIds = new Map<string, string>();
  const norm = (text: string): string =>
    text.replaceAll(k.prefix, '<prefix>').replace(/evt_[0-9a-f]{40}/g, (e) => {
      if (!eventIds.has(e)) eventIds.set(e, `evt#${eventIds.size}`);
      return eventIds.get(e)!;
    });
  const transfers: Record<string, unknown> = {};
  for (const id of ids) {
    const [hash, audit, fx] = await Promise.all([s.redis.hgetall(k.txState(id)), s.redis.lrange(k.txAudit(id), 0, -1), s.redis.hlen(k.txEffects(id))]);
    transfers[id] = { hash, audit: audit.map(norm), unappliedEffects: fx };
  }
  const events = (await s.redis.xrange(k.lifecycleEvents(), '-', '+')).map(([, f]) => norm(JSON.stringify(f)));
  return {
    transfers,
    awaiting: await s.redis.zrange(k.lifecycleAwaiting(), 0, -1, 'WITHSCORES'),
    due: await s.redis.zrange(k.lifecycleDue(), 0, -1, 'WITHSCORES'),
    pending: await s.redis.zcard(k.lifecyclePending()),
    holds: Object.fromEntries(await Promise.all(payees.map(async (q) => [q, (await s.redis.smembers(k.accountHolds(q))).sort()]))),
    guardian: Object.fromEntries(await Promise.all(payers.map(async (p) => [p, await s.redis.hgetall(k.accountGuardian(p))]))),
    // the order of entries of different transfers may differ between sides: compare as a sorted list
    events: events.sort(),
  };
}

describe('the same lifecycle operations on one Redis, its cluster form, and a cluster', () => {
  const config = testConfig();
  const sides: Side[] = [];
  beforeAll(async () => {
    for (const m of MODES) sides.push(await side(m, config));
  });
  afterAll(async () => {
    await Promise.all(sides.map((s) => s.close()));
  });

  /** Every transition and refusal of the state machine, with fixed times; the outcomes of each step. */
  async function play(s: Side, t0: number): Promise<string[]> {
    const { store, redis, keys } = s;
    const flags = new ReportFlags(redis as Redis, keys, 30);
    const out: string[] = [];
    const reg = async (id: string, o: Parameters<typeof registration>[2]): Promise<void> => {
      out.push(`register ${id} ${String(await store.register(id, registration(config, id, o)))}`);
    };
    const step = async (name: string, p: Promise<TransitionOutcome>): Promise<void> => {
      out.push(`${name}: ${outcome(await p)}`);
    };
    // a minor's guardian spend the score recorded for B, D and E (guardian-refund.lua's record)
    await redis.hset(keys.accountGuardian('p-minor'), 'd:2026-12-06', '90000', 's:B', '2026-12-06,20000', 's:D', '2026-12-06,30000', 's:E', '2026-12-06,40000');
    await reg('A', { decidedMs: t0 });
    await reg('A', { decidedMs: t0 }); // a repeat registers nothing
    await reg('B', { decidedMs: t0, payer: 'p-minor', payee: 'q-b' });
    await reg('C', { decidedMs: t0, action: 'warn', risk: 20 });
    await reg('D', { decidedMs: t0, payer: 'p-minor' });
    await reg('E', { decidedMs: t0, payer: 'p-minor', payee: 'q-e' });
    await reg('F', { decidedMs: t0 - 86_400_000 });
    await step('confirm A', store.confirm('A', t0 + 1_000, 'payer', 'it is my son', 45));
    await step('confirm A again', store.confirm('A', t0 + 1_500, 'payer', '', 45));
    await step('confirm C (low risk warn)', store.confirm('C', t0 + 1_000, 'payer', '', 45));
    await flags.apply({ caseId: 'case-b', payeeId: 'q-b', reporterKey: 'user:r1', reportedAtMs: t0 + 1_100 });
    await step('confirm B (payee reported since)', store.confirm('B', t0 + 1_200, 'payer', '', 45));
    await step('review B reject', store.review('B', 'REJECTED', t0 + 1_300, 'analyst:1', 'mule'));
    await step('review B reject again', store.review('B', 'REJECTED', t0 + 1_350, 'analyst:1', 'mule'));
    await step('cancel D (warned)', store.cancel('D', t0 + 1_400, 'payer', ''));
    await step('cancel D again', store.cancel('D', t0 + 1_450, 'payer', ''));
    await step('confirm E', store.confirm('E', t0 + 1_500, 'payer', '', 45));
    await step('escalate E', store.escalate('E', 'q-e', t0 + 1_600, 'case-library', 'new scam report'));
    await step('escalate E again', store.escalate('E', 'q-e', t0 + 1_650, 'case-library', 'new scam report'));
    await step('cancel E (held)', store.cancel('E', t0 + 1_700, 'payer', 'changed my mind'));
    await step('expire A early', store.expire('A', 'q-A', t0 + 2_000, 'system:timer', ''));
    const holdMs = segmentPolicy(config.scoring, 'elderly').coolingOffSeconds * 1000;
    await step('expire A', store.expire('A', 'q-A', t0 + 1_000 + holdMs, 'system:timer', ''));
    await step('expire A again', store.expire('A', 'q-A', t0 + 1_000 + holdMs + 5, 'system:sweep', ''));
    await step('cancel A (released)', store.cancel('A', t0 + 1_000 + holdMs + 10, 'payer', ''));
    await step('abandon F', store.abandon('F', t0));
    await step('abandon C (not warned)', store.abandon('C', t0));
    await step('confirm X (unknown)', store.confirm('X', t0, 'payer', '', 45));
    await step('escalate Y (no lifecycle)', store.escalate('Y', 'q-y', t0, 'case-library', 'r'));
    return out;
  }

  it('every outcome and every key is the same on all three', async () => {
    const t0 = Date.parse('2026-12-06T04:00:00.000Z');
    const ids = ['A', 'B', 'C', 'D', 'E', 'F', 'X', 'Y'];
    const results = [];
    for (const s of sides) {
      const outcomes = await play(s, t0);
      results.push({ mode: s.mode, outcomes, keys: await snapshot(s, ids, ['p-minor', 'p-A'], ['q-A', 'q-b', 'q-e', 'q-C']) });
    }
    const [inline, ...others] = results;
    expect(inline!.outcomes).toEqual([
      'register A true', 'register A false', 'register B true', 'register C true', 'register D true', 'register E true', 'register F true',
      'confirm A: moved COOLING_OFF', 'confirm A again: repeat COOLING_OFF', 'confirm C (low risk warn): moved RELEASED',
      'confirm B (payee reported since): moved HELD_FOR_REVIEW', 'review B reject: moved REJECTED', 'review B reject again: repeat REJECTED',
      'cancel D (warned): moved ABANDONED', 'cancel D again: repeat ABANDONED', 'confirm E: moved COOLING_OFF',
      'escalate E: moved HELD_FOR_REVIEW', 'escalate E again: repeat HELD_FOR_REVIEW', 'cancel E (held): moved CANCELLED',
      `expire A early: early ${t0 + 1_000 + segmentPolicy(config.scoring, 'elderly').coolingOffSeconds * 1000}`, 'expire A: moved RELEASED', 'expire A again: repeat RELEASED',
      'cancel A (released): refused RELEASED', 'abandon F: moved ABANDONED', 'abandon C (not warned): repeat RELEASED', 'confirm X (unknown): missing',
      'escalate Y (no lifecycle): missing',
    ]); // prettier-ignore
    const k = inline!.keys as { guardian: Record<string, Record<string, string>>; events: string[]; pending: number; awaiting: string[]; due: string[] };
    // B rejected, D abandoned, E cancelled: each spend given back once (90000 - 20000 - 30000 - 40000)
    expect(k.guardian['p-minor']!['d:2026-12-06']).toBe('0');
    // 6 registrations + 10 moves
    expect(k.events).toHaveLength(16);
    expect(k.pending).toBe(0);
    expect(k.awaiting).toEqual([]);
    expect(k.due).toEqual([]);
    for (const o of others) {
      expect(o.outcomes, o.mode).toEqual(inline!.outcomes);
      expect(o.keys, o.mode).toEqual(inline!.keys);
    }
  });
});

describe('a transition whose caller dies before its effects is completed by the worker sweep', () => {
  const config = testConfig();
  it.each(['one Redis, cluster form', 'cluster'] as const)('%s', async (mode) => {
    const s = await side(mode, config);
    const split = s.store.split!;
    const k = s.keys;
    try {
      const t0 = Date.now();
      await s.redis.hset(k.accountGuardian('p-minor'), 'd:2026-12-06', '50000', 's:K', '2026-12-06,20000');
      expect(await s.store.register('H', registration(config, 'H', { decidedMs: t0 }))).toBe(true);
      expect(await s.store.register('K', registration(config, 'K', { decidedMs: t0, payer: 'p-minor' }))).toBe(true);

      // "crash" after the transition: the intent and the transition ran, the effects did not
      const holdUntil = t0 + 100 + segmentPolicy(config.scoring, 'elderly').coolingOffSeconds * 1000;
      const intentH = await split.begin('H', t0 + 100);
      const replyH = await split.transition('confirm-transfer', () =>
        s.redis.cpConfirmTransferSplit(k.txState('H'), k.txAudit('H'), k.txEffects('H'), 'H', t0 + 100, new Date(t0 + 100).toISOString(), 'payer', '', 45, holdUntil, new Date(holdUntil).toISOString(), 86_400_000, 0),
      ); // prettier-ignore
      expect(replyH.head).toEqual([1, 'COOLING_OFF', expect.stringMatching(/^evt_/)]);
      expect(await s.redis.hget(k.txState('H'), 'state')).toBe('COOLING_OFF');
      expect(await s.redis.zscore(k.lifecycleDue(), 'H')).toBeNull();
      expect(await s.redis.sismember(k.accountHolds('q-H'), 'H')).toBe(0);
      expect(await s.redis.zscore(k.lifecycleAwaiting(), 'H')).not.toBeNull();
      expect(await s.redis.xlen(k.lifecycleEvents())).toBe(2); // the two registrations only
      expect(await s.redis.zscore(k.lifecyclePending(), 'H')).toBe(String(intentH));

      // "crash" after the effects were applied, before their record and the intent went: the
      // sweep applies them again, and nothing counts twice (the refund, the outbox entry)
      const intentK = await split.begin('K', t0 + 200);
      const replyK = await split.transition('cancel-transfer', () =>
        s.redis.cpCancelTransferSplit(k.txState('K'), k.txAudit('K'), k.txEffects('K'), 'K', t0 + 200, new Date(t0 + 200).toISOString(), 'payer', '', 86_400_000),
      ); // prettier-ignore
      expect(replyK.effects).toHaveLength(1);
      for (const fx of replyK.effects) await split.applyEntry(fx);
      expect(await s.redis.hget(k.accountGuardian('p-minor'), 'd:2026-12-06')).toBe('30000');
      expect(await s.redis.xlen(k.lifecycleEvents())).toBe(3);
      expect(await s.redis.zscore(k.lifecyclePending(), 'K')).toBe(String(intentK));

      // the worker, with its sweep, on this store's Redis
      const warned: { obj: object; msg: string }[] = [];
      const lifecycle = new Lifecycle({
        ...lifecycleSettings(config),
        redis: s.redis,
        connections: s.connections,
        keys: k,
        ruleSet: () => compileRules('[]'),
        clock: Date.now,
        log: { ...quiet, warn: (obj: object, msg: string) => warned.push({ obj, msg }) },
        ...(mode === 'cluster' ? {} : { splitTransitions: true }),
      });
      await lifecycle.startWorker();
      try {
        await waitFor('the sweep to complete both', async () => (await s.redis.zcard(k.lifecyclePending())) === 0, 10_000 + INTENT_GRACE_MS);
      } finally {
        await lifecycle.close();
      }
      const completed = warned.filter((w) => w.msg.startsWith('intent sweep applied'));
      expect(completed.reduce((n, w) => n + (w.obj as { completed: number }).completed, 0)).toBe(2);
      expect(await s.redis.zscore(k.lifecycleDue(), 'H')).toBe(String(holdUntil));
      expect(await s.redis.sismember(k.accountHolds('q-H'), 'H')).toBe(1);
      expect(await s.redis.zscore(k.lifecycleAwaiting(), 'H')).toBeNull();
      expect(await s.redis.zscore(k.lifecycleAwaiting(), 'K')).toBeNull();
      expect(await s.redis.hlen(k.txEffects('H'))).toBe(0);
      expect(await s.redis.hlen(k.txEffects('K'))).toBe(0);
      // once each: the refund and the outbox entries (2 registrations, H's confirm, K's cancel)
      expect(await s.redis.hget(k.accountGuardian('p-minor'), 'd:2026-12-06')).toBe('30000');
      const events = await s.redis.xrange(k.lifecycleEvents(), '-', '+');
      // the relay may have taken some already: what is left plus what was relayed is one per event
      const types = events.map(([, f]) => f[f.indexOf('type') + 1]);
      expect(new Set(types).size).toBe(types.length);
      // a later transition of H applies its own effects on top (the hold ends as usual)
      expect(outcome(await s.store.cancel('H', t0 + 300, 'payer', ''))).toBe('moved CANCELLED');
      expect(await s.redis.zscore(k.lifecycleDue(), 'H')).toBeNull();
      expect(await s.redis.sismember(k.accountHolds('q-H'), 'H')).toBe(0);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('the assembled lifecycle on a cluster: timers on {cp:bull}, relay, webhooks, escalation', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(SECRET);
  });
  afterAll(async () => {
    await receiver.close();
  });

  it.each(['one Redis', 'cluster'] as const)('%s: a hold ends by its timer, a report escalates another, each event delivered once', async (mode) => {
    const config = testConfig({ COOLING_OFF_SECONDS: '1', WEBHOOK_URL: `${receiver.url}/hooks-${mode.replace(' ', '-')}`, WEBHOOK_SECRET: SECRET });
    const s = await side(mode, config);
    const lifecycle = new Lifecycle({
      ...lifecycleSettings(config),
      redis: s.redis,
      connections: s.connections,
      keys: s.keys,
      ruleSet: () => compileRules('[]'),
      clock: Date.now,
      log: quiet,
    });
    try {
      expect(lifecycle.store.split === null).toBe(mode === 'one Redis');
      await lifecycle.startWorker();
      const now = Date.now();
      await s.store.register('T1', registration(config, 'T1', { decidedMs: now }));
      await s.store.register('T2', registration(config, 'T2', { decidedMs: now, payee: 'q-mule' }));
      const held = await lifecycle.service.confirm('T1', 'ok');
      expect(held.view.state).toBe('COOLING_OFF');
      expect(await (await lifecycle.timers.queue.getJob(holdJobId('T1')))?.isDelayed()).toBe(true);
      expect((await lifecycle.service.confirm('T2', '')).view.state).toBe('COOLING_OFF');
      // a scam report on T2's payee: the case library's flags, then escalatePayee
      await new ReportFlags(s.redis as Redis, s.keys, 30).apply({ caseId: 'c-1', payeeId: 'q-mule', reporterKey: 'user:1', reportedAtMs: Date.now() });
      expect(await lifecycle.service.escalatePayee('q-mule', 'new scam report c-1 names the payee')).toEqual(['T2']);
      await waitFor('T1 released', async () => (await s.redis.hget(s.keys.txState('T1'), 'state')) === 'RELEASED', 15_000);
      // its timer is a BullMQ job on the queue's prefix ({cp:bull} on a cluster), run by the worker
      expect(lifecycle.timers.queue.opts.prefix).toBe(mode === 'cluster' ? `{${s.keys.prefix}bull}` : `${s.keys.prefix}bull`);
      // run and removed on completion (removeOnComplete), none failed
      await waitFor('the hold timer job done', async () => (await lifecycle.timers.queue.getJob(holdJobId('T1'))) === undefined, 15_000);
      expect(await lifecycle.timers.queue.getFailedCount()).toBe(0);
      const path = `/hooks-${mode.replace(' ', '-')}`;
      await waitFor('six webhooks', () => receiver.unique().filter((r) => r.path === path).length >= 6, 15_000);
      const mine = receiver.unique().filter((r) => r.path === path);
      expect(mine.map((r) => `${String(r.body.transferId)} ${String(r.body.type)}`).sort()).toEqual(
        ['T1 transfer.warned', 'T1 transfer.cooling_off', 'T1 transfer.released', 'T2 transfer.warned', 'T2 transfer.cooling_off', 'T2 transfer.held_for_review'].sort(),
      );
      // the refusal and the 404 the routes map are the same values
      await expect(lifecycle.service.cancel('T1', '')).rejects.toMatchObject({ code: 'CALMPAY_ERR_ILLEGAL_TRANSITION' });
      await expect(lifecycle.service.confirm('nope', '')).rejects.toMatchObject({ code: 'CALMPAY_ERR_TRANSFER_NOT_FOUND' });
      expect(await s.redis.zcard(s.keys.lifecyclePending())).toBe(0);
    } finally {
      await lifecycle.close();
      await s.close();
    }
  }, 60_000);
});
