/**
 * The split score (issue 15, src/features/score-steps.ts, src/store/lua/score-step-*.lua)
 * against today's single score script (score-features.lua): the same seeded event stream
 * through both, on one Redis and on a 3-primary cluster of this file's own; each step
 * repeated; a crash between steps then a retry; a conflicting event under a claimed id.
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reporterDigest, type ReportToApply } from '../../src/cases/report-flags.ts';
import { FeatureStore, type ClaimResult, type FeatureStoreOptions } from '../../src/features/feature-store.ts';
import { REPORT_TIMES_CAP } from '../../src/features/report-age.ts';
import { StepConflictError, type StepName } from '../../src/features/score-step-replies.ts';
import { defineScoreSteps, ScoreSteps, scoreStepCalls, sendStepCalls, stepCall, stepKeyCount, type StepsInput, type StepsResult } from '../../src/features/score-steps.ts';
import { eventHash, type TransferEvent } from '../../src/features/transfer-event.ts';
import { toStoredAmount, type VelocityState } from '../../src/features/velocity-state.ts';
import { mulberry32 } from '../../src/sim/random.ts';
import { makeKeys, SCRIPTS, type Keys } from '../../src/store/keys.ts';
import { scriptTags } from '../../src/store/key-slots.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { redisUrl } from '../helpers/redis.ts';
import { keysUnder, keysWithContent, type KeyContent } from '../helpers/redis-keys.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { transferEvent, velocityStream } from '../helpers/velocity-streams.ts';

const OPTS: FeatureStoreOptions = { idempotencyTtlSeconds: 3600, pairTtlDays: 400, distinctCap: 6, decisionStreamMaxLen: 1000 };
const REPORT_TTL_MS = 36_500 * 86_400_000;
const DAY = 86_400_000;

/** Minors with guardian limits: they only pay (see the note on batches below). */
const MINORS = [
  { id: 'm0', tz: 'Asia/Shanghai', currency: 'CNY', perTx: 1_200, daily: 1_500 },
  { id: 'm1', tz: 'America/New_York', currency: 'CNY', perTx: null, daily: 1_000 },
  { id: 'm2', tz: 'Europe/Berlin', currency: 'USD', perTx: 100, daily: null },
] as const;

type Item = { readonly kind: 'transfer'; readonly x: StepsInput; readonly dupOf: number | null } | { readonly kind: 'report'; readonly r: ReportToApply };

/**
 * The velocity stream of test/helpers (late events, bursts, gaps, reports on payees, no
 * device for some) plus: transfers of minors (guardian limits, small amounts so the daily limit
 * is hit), and repeats of an earlier transfer (same id, same event).
 */
function eventStream(seed: number, length: number): Item[] {
  const rand = mulberry32(seed * 7 + 1);
  const items: Item[] = [];
  const transfers: number[] = [];
  let n = 0;
  for (const it of velocityStream({ seed, length, startMs: Date.now() - 50 * DAY, accounts: 8, devices: 5, lateShare: 0.15 })) {
    if (it.kind === 'report') {
      items.push(it);
      continue;
    }
    if (transfers.length > 0 && rand() < 0.08) {
      const of = transfers[Math.floor(rand() * transfers.length)]!;
      const orig = items[of] as Extract<Item, { kind: 'transfer' }>;
      items.push({ kind: 'transfer', x: { ...orig.x, claimMs: orig.x.claimMs + 1 }, dupOf: of });
    }
    let x = it.x;
    if (rand() < 0.3) {
      const m = MINORS[Math.floor(rand() * MINORS.length)]!;
      x = { ...x, payerId: m.id, amount: Math.round(50 + rand() * 1_400) };
    }
    const e: TransferEvent = transferEvent(x, `tx-${seed}-${n++}`);
    transfers.push(items.length);
    items.push({ kind: 'transfer', x: { e, tMs: x.tMs, eventHash: eventHash(e), claimMs: 1_800_000_000_000 + n }, dupOf: null });
  }
  return items;
}

async function setGuardians(redis: RedisClient, k: Keys): Promise<void> {
  for (const m of MINORS) {
    const fields: (string | number)[] = ['tz', m.tz, 'currency', m.currency];
    if (m.perTx !== null) fields.push('perTx', toStoredAmount(m.perTx));
    if (m.daily !== null) fields.push('daily', toStoredAmount(m.daily));
    await redis.hset(k.accountGuardian(m.id), ...fields);
  }
}

async function applyReport(redis: RedisClient, k: Keys, r: ReportToApply): Promise<void> {
  await redis.eval(
    SCRIPTS.reportFlags.lua,
    4,
    k.accountReports(r.payeeId),
    k.accountReportCases(r.payeeId),
    k.accountReporters(r.payeeId),
    k.accountReportTimes(r.payeeId),
    r.caseId,
    reporterDigest(r.reporterKey),
    r.reportedAtMs,
    REPORT_TTL_MS,
    REPORT_TIMES_CAP,
  );
}

/**
 * The window, set, pair, device, guardian and report keys of a run, named without the prefix;
 * the pair in both slots (`{a:<payee>}:pairin:<payer>`, read by the split score's payee step,
 * and `{a:<payer>}:pair:<payee>`, written by its payer step for a rollback; score-features.lua
 * writes both since release A); claims (`{t:..}`: complete vs pending) and step markers
 * (`:s:<id>`) left out.
 */
async function windowKeys(redis: RedisClient, prefix: string): Promise<Map<string, KeyContent>> {
  return keysWithContent(redis, prefix, (name) => !name.startsWith('{t:') && !/:s:[^:]+$/.test(name));
}

/**
 * score-features.lua's dual write (issue 15, release A): every `{a:<payer>}:pair:<payee>` has its
 * `{a:<payee>}:pairin:<payer>` with the same value and the same remaining TTL, and no pairin is
 * without its pair. Answers how many pairs there are.
 */
async function pairsInBothSlots(redis: RedisClient, prefix: string): Promise<number> {
  const names = (await keysUnder(redis, prefix)).map((key) => key.slice(prefix.length));
  const pairs = names.filter((n) => /^\{a:[^}]+\}:pair:/.test(n));
  const pairIns = names.filter((n) => /^\{a:[^}]+\}:pairin:/.test(n));
  expect(pairIns.length).toBe(pairs.length);
  for (const name of pairs) {
    const [, payer, payee] = /^\{a:([^}]+)\}:pair:(.+)$/.exec(name)!;
    const inName = `{a:${payee}}:pairin:${payer}`;
    expect(await redis.get(prefix + inName), inName).toBe(await redis.get(prefix + name));
    const [ttl, ttlIn] = [await redis.pttl(prefix + name), await redis.pttl(prefix + inName)];
    expect(ttl).toBeGreaterThan(0);
    expect(Math.abs(ttl - ttlIn), inName).toBeLessThan(5_000);
  }
  return pairs.length;
}

let cluster: LocalCluster;
let single: Redis;
let clustered: RedisClient;

beforeAll(async () => {
  single = new Redis(redisUrl());
  cluster = await startTestCluster();
  clustered = await new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000).openClient('score');
}, 60_000);

afterAll(async () => {
  await single?.quit();
  if (clustered !== undefined) await closeRedis(clustered);
  await cluster?.stop();
});

describe('the split score against score-features.lua (differential)', () => {
  /** Plays the stream through the single script; answers per transfer item. */
  async function playSingle(items: readonly Item[], k: Keys): Promise<Map<number, ClaimResult>> {
    const store = new FeatureStore(single, k, OPTS, (err) => {
      throw err;
    });
    await setGuardians(single, k);
    const replies = new Map<number, ClaimResult>();
    for (const [i, it] of items.entries()) {
      if (it.kind === 'report') await applyReport(single, k, it.r);
      else replies.set(i, await store.claimAndUpdate(it.x.e, it.x.tMs, it.x.eventHash, it.x.claimMs));
    }
    return replies;
  }

  /**
   * Plays the stream through the steps, transfers in batches of 1 to 6 sent in one event-loop
   * turn (a report ends a batch). Batches keep the stream's order per slot, as one pipeline
   * does on one Redis and one connection per node does on a cluster; the one reordering is a
   * minor's payer step sent again in its guardian limits' zone, which no other step reads
   * (minors only pay), so the replies must equal the single script's exactly.
   */
  async function playSteps(redis: RedisClient, items: readonly Item[], k: Keys, seed: number): Promise<Map<number, StepsResult>> {
    const steps = new ScoreSteps(redis, k, OPTS, 0); // a repeat completes (lease 0): its markers answer
    await setGuardians(redis, k);
    const rand = mulberry32(seed);
    const replies = new Map<number, StepsResult>();
    let i = 0;
    while (i < items.length) {
      const it = items[i]!;
      if (it.kind === 'report') {
        await applyReport(redis, k, it.r);
        i++;
        continue;
      }
      const size = 1 + Math.floor(rand() * 6);
      const batch: number[] = [];
      while (batch.length < size && i < items.length && items[i]!.kind === 'transfer') batch.push(i++);
      const answers = await Promise.all(batch.map((j) => steps.score((items[j] as Extract<Item, { kind: 'transfer' }>).x)));
      batch.forEach((j, n) => replies.set(j, answers[n]!));
    }
    return replies;
  }

  function compare(items: readonly Item[], a: Map<number, ClaimResult>, b: Map<number, StepsResult>, mode: string): { dups: number; minorsOver: number } {
    let dups = 0;
    let minorsOver = 0;
    for (const [i, it] of items.entries()) {
      if (it.kind !== 'transfer') continue;
      const ra = a.get(i)!;
      const rb = b.get(i)!;
      if (it.dupOf === null) {
        expect(ra.kind, `${mode} #${i}`).toBe('new');
        expect(rb, `${mode} #${i} ${it.x.e.transferId}`).toEqual(ra);
        if (ra.kind === 'new' && (ra.state.guardian?.outcome === 'daily' || ra.state.guardian?.outcome === 'per_transfer')) minorsOver++;
      } else {
        dups++;
        const first = a.get(it.dupOf)! as Extract<ClaimResult, { kind: 'new' }>;
        expect(ra.kind).toBe('duplicate');
        expect(rb.kind, `${mode} #${i}`).toBe('duplicate');
        if (rb.kind !== 'duplicate') continue;
        // a repeat: the claim is pending (nothing recorded a decision), every entity step answered its marker
        expect(rb).toMatchObject({ eventHash: it.x.eventHash, pending: true, countedNow: [], decision: null, claimedAtMs: (items[it.dupOf] as Extract<Item, { kind: 'transfer' }>).x.claimMs });
        expect(rb.state, `${mode} #${i} repeat of #${it.dupOf}`).toEqual(first.state);
      }
    }
    return { dups, minorsOver };
  }

  it.each([
    ['one Redis', 11],
    ['the 3-primary cluster', 12],
  ] as const)('on %s: every reply and every window key equals the single script on one Redis (seed %i)', async (where, seed) => {
    const target = where === 'one Redis' ? single : clustered;
    const items = eventStream(seed, 500);
    const run = randomUUID().slice(0, 8);
    const ka = makeKeys(`sd-a-${run}:`);
    const kb = makeKeys(`sd-b-${run}:`);
    const a = await playSingle(items, ka);
    const b = await playSteps(target, items, kb, seed);
    const { dups, minorsOver } = compare(items, a, b, where);
    // the aged report features are part of what is compared (issue 16): some transfers see reports of the last days
    const aged = [...a.values()].filter((r) => r.kind === 'new' && (r.state.payeeReportsAged?.last7d ?? 0) > 0 && (r.state.payeeReportsAged?.decayed ?? 0) % 1 !== 0);
    expect(aged.length, 'transfers seeing recent, partly decayed reports').toBeGreaterThan(5);
    // the stream has what it claims to have
    expect(dups).toBeGreaterThan(10);
    expect(minorsOver).toBeGreaterThan(3);
    const late = items.filter((it, i) => it.kind === 'transfer' && items.slice(0, i).some((p) => p.kind === 'transfer' && p.x.tMs > it.x.tMs)).length;
    expect(late).toBeGreaterThan(30);
    const statesWith = (pred: (s: VelocityState) => boolean) => [...a.values()].filter((r) => r.kind === 'new' && pred(r.state)).length;
    expect(statesWith((s) => s.payeeReportCount > 0)).toBeGreaterThan(10);
    expect(statesWith((s) => s.guardian?.outcome === 'daily')).toBeGreaterThan(0);
    expect(statesWith((s) => s.guardian?.outcome === 'currency')).toBeGreaterThan(0);

    if (target instanceof Cluster) {
      // the entities of the stream are spread over every primary: the steps ran on each
      for (const node of target.nodes('master')) expect((await node.scan('0', 'MATCH', `${kb.prefix}*`, 'COUNT', 10_000))[1].length).toBeGreaterThan(0);
    }
    expect(await pairsInBothSlots(single, ka.prefix)).toBeGreaterThan(10);
    const wa = await windowKeys(single, ka.prefix);
    const wb = await windowKeys(target, kb.prefix);
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    for (const [name, v] of wa) expect(wb.get(name), name).toEqual(v);
    expect([...wa.keys()].some((n) => n.includes(':pairin:'))).toBe(true);
    // the steps' payer step writes today's pair too (rollback to release A): in both slots, as the single script
    expect(await pairsInBothSlots(target, kb.prefix)).toBeGreaterThan(10);
    expect([...wa.keys()].some((n) => n.endsWith(':guardian'))).toBe(true);
  }, 120_000);
});

/** Content of every key a step may write (DUMP, and whether it has a TTL). */
async function snapshot(redis: RedisClient, keys: readonly string[]): Promise<string[]> {
  return Promise.all(keys.map(async (key) => `${(await redis.dumpBuffer(key))?.toString('base64') ?? 'absent'} ttl:${(await redis.pttl(key)) > 0}`));
}

function transfer(id: string, over: Partial<{ payer: string; payee: string; device: string | null; amount: number; tMs: number }> = {}): StepsInput {
  const x = { tMs: over.tMs ?? Date.now() - 3_600_000, amount: over.amount ?? 120, payerId: over.payer ?? 'p1', payeeId: over.payee ?? 'q1', deviceId: over.device === undefined ? 'd1' : over.device };
  const e = transferEvent(x, id);
  return { e, tMs: x.tMs, eventHash: eventHash(e), claimMs: 1_800_000_000_000 };
}

describe.each(['one Redis', 'the 3-primary cluster'] as const)('each step on %s', (where) => {
  const redis = (): RedisClient => (where === 'one Redis' ? single : clustered);

  it('runs in its own slot (one hash tag per call), and a repeat answers the same reply and changes nothing', async () => {
    const k = makeKeys(`sr-${randomUUID().slice(0, 8)}:`);
    const r = redis();
    defineScoreSteps(r);
    await r.hset(k.accountGuardian('p1'), 'tz', 'Asia/Shanghai', 'currency', 'CNY', 'daily', toStoredAmount(1000));
    // history, so the steps have windows and sets to read and evict
    const steps = new ScoreSteps(r, k, OPTS, 5_000);
    for (let n = 0; n < 5; n++) await steps.score(transfer(`h${n}`, { tMs: Date.now() - (5 - n) * 7_200_000 }));
    const x = transfer('tx-repeat');
    for (const call of scoreStepCalls(k, OPTS, x, 'Asia/Shanghai')) {
      const keys = call.args.slice(0, stepKeyCount(call.step)).map(String);
      expect(new Set(keys.map((key) => /\{([^}]+)\}/.exec(key)![1])).size, call.step).toBe(1);
      const [err1, first] = (await sendStepCalls(r, [call]))[0]!;
      expect(err1).toBeNull();
      const before = await snapshot(r, keys);
      for (let rep = 0; rep < 2; rep++) {
        const [err, again] = (await sendStepCalls(r, [call]))[0]!;
        expect(err).toBeNull();
        // the same reply; entity steps say it is a repeat (1) where the first run said 0
        if (call.step === 'claim') expect(again).toEqual([1, `${x.eventHash}|${x.claimMs}|pending`, '']);
        else expect(again, call.step).toEqual([1, (first as [number, string])[1]]);
        expect(await snapshot(r, keys), call.step).toEqual(before);
      }
    }
    expect(scriptTags('scoreStepPayee', k, { transferId: 'tx', payer: 'p1', payee: 'q1', device: 'd1', jobKey: '' })).toEqual(['a:q1']);
  });

  it('a crash after any subset of steps, then a retry of all four, gives the replies and keys of a run without the crash', async () => {
    const r = redis();
    defineScoreSteps(r);
    const run = randomUUID().slice(0, 8);
    const clean = makeKeys(`sc-clean-${run}:`);
    const crashed = makeKeys(`sc-crash-${run}:`);
    await setGuardians(r, clean);
    await setGuardians(r, crashed);
    const all: StepName[] = ['claim', 'payer', 'payee', 'device'];
    const subsets = Array.from({ length: 15 }, (_, mask) => all.filter((_, b) => mask & (1 << b)));
    const rand = mulberry32(5);
    const sClean = new ScoreSteps(r, clean, OPTS, 0);
    // the retry comes after the lease (0 here): it completes the crashed score
    const sCrash = new ScoreSteps(r, crashed, OPTS, 0);
    let t = Date.now() - 2 * DAY;
    for (const [n, subset] of subsets.entries()) {
      for (let rep = 0; rep < 2; rep++) {
        t += Math.floor(rand() * 3_600_000);
        const x = transfer(`tx-${n}-${rep}`, { payer: rep === 0 ? 'm0' : `p${n % 3}`, payee: `q${n % 2}`, amount: 100 + Math.floor(rand() * 900), tMs: t });
        const want = await sClean.score(x);
        // the crash: only these steps reached Redis (the payer's in its guardian zone, as a caller that knew it)
        const zone = x.e.payer.accountId === 'm0' ? 'Asia/Shanghai' : '';
        const replies = await sendStepCalls(r, subset.map((s) => stepCall(crashed, OPTS, x, s, zone)));
        for (const [err] of replies) expect(err).toBeNull();
        const got = await sCrash.score(x);
        expect(want.kind).toBe('new');
        if (subset.includes('claim')) {
          // the retry finds its own pending claim: the state is the steps' (markers and those run now)
          expect(got, subset.join('+')).toMatchObject({ kind: 'duplicate', pending: true, eventHash: x.eventHash, state: (want as Extract<StepsResult, { kind: 'new' }>).state });
          expect((got as Extract<StepsResult, { kind: 'duplicate' }>).countedNow).toEqual(all.slice(1).filter((s) => !subset.includes(s)));
        } else {
          expect(got, subset.join('+')).toEqual(want);
        }
      }
    }
    const wa = await windowKeys(r, clean.prefix);
    const wb = await windowKeys(r, crashed.prefix);
    expect(wb).toEqual(wa);
    expect(wa.size).toBeGreaterThan(10);
  }, 60_000);

  it('a different event under a claimed id (claim first): no entity step is sent, nothing changes', async () => {
    const r = redis();
    const k = makeKeys(`sx-${randomUUID().slice(0, 8)}:`);
    const steps = new ScoreSteps(r, k, OPTS, 0);
    const first = transfer('tx-c', { amount: 100 });
    expect((await steps.score(first)).kind).toBe('new');
    const windowsBefore = await windowKeys(r, k.prefix);
    // same payer, payee and device, another amount; then other entities: the claim answers first
    const sameEntities = transfer('tx-c', { amount: 999 });
    const conflict = await steps.score(sameEntities);
    expect(conflict).toMatchObject({ kind: 'duplicate', eventHash: first.eventHash, pending: true, state: null, countedNow: [] });
    const otherEntities = await steps.score(transfer('tx-c', { payer: 'p7', payee: 'q9', device: 'd9', amount: 5 }));
    expect(otherEntities).toMatchObject({ kind: 'duplicate', eventHash: first.eventHash, countedNow: [] });
    expect(await windowKeys(r, k.prefix)).toEqual(windowsBefore);
    // a pending claim of the same event younger than the lease: in progress, no entity step sent
    const young = new ScoreSteps(r, k, OPTS, 60_000);
    const x = transfer('tx-young');
    await sendStepCalls(r, [stepCall(k, OPTS, x, 'claim', '')]);
    expect(await young.score({ ...x, claimMs: x.claimMs + 1_000 })).toMatchObject({ kind: 'duplicate', pending: true, state: null, countedNow: [] });
    for (const marker of [k.accountStep('p1', 'tx-young'), k.accountStep('q1', 'tx-young'), k.deviceStep('d1', 'tx-young')]) expect(await r.exists(marker)).toBe(0);
    // and older than the lease: the entity steps run now (the completion of a crashed score)
    const done = await young.score({ ...x, claimMs: x.claimMs + 60_000 });
    expect(done).toMatchObject({ kind: 'duplicate', pending: true, countedNow: ['payer', 'payee', 'device'] });
    expect((done as Extract<StepsResult, { kind: 'duplicate' }>).state).not.toBeNull();
    // the two events sent in one turn under a fresh id: the claim goes to the first; the second's
    // entity steps find the first's markers (one pipeline, in order) and change nothing
    const [x1, x2] = [transfer('tx-d', { amount: 7 }), transfer('tx-d', { amount: 8 })];
    const [r1, r2] = await Promise.all([steps.score(x1), steps.score(x2)]);
    expect(r1.kind).toBe('new');
    expect(r2).toMatchObject({ kind: 'duplicate', eventHash: x1.eventHash, countedNow: [] });
    // the claim won by one event while another's marker holds an entity: the state cannot be added up
    await sendStepCalls(r, [stepCall(k, OPTS, transfer('tx-e', { amount: 3 }), 'payee', '')]);
    await expect(steps.score(transfer('tx-e', { amount: 4 }))).rejects.toBeInstanceOf(StepConflictError);
  });
});
