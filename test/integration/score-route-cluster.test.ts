/**
 * The score route's store on a Redis Cluster (issue 15): ScoreService over FeatureStore scoring
 * by score-features.lua on one Redis (today's default), by the split steps on one Redis, and by
 * the split steps on a 3-primary cluster of this file's own, fed the same seeded stream — late
 * events, scam reports, minors over and within their guardian limits (a blocked transfer gives
 * its spend back in the record, in the payer's slot), repeats of a transfer, other events under
 * a used id, a future `occurredAt`, and engines that died after the claim and some of the
 * entity steps, retried within the lease (409 in progress) and after it (completed). Every
 * answer, every decision key, every claim and every window key must be the same in the three.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reporterDigest, type ReportToApply } from '../../src/cases/report-flags.ts';
import { REPORT_TIMES_CAP } from '../../src/features/report-age.ts';
import { loadConfig } from '../../src/config.ts';
import { featureStoreOptions, scoreSettings } from '../../src/config-wiring.ts';
import { CalmpayError } from '../../src/errors.ts';
import { FeatureStore } from '../../src/features/feature-store.ts';
import type { EntityStep } from '../../src/features/score-step-replies.ts';
import { defineScoreSteps, sendStepCalls, stepCall } from '../../src/features/score-steps.ts';
import { eventHash, type TransferEvent } from '../../src/features/transfer-event.ts';
import { toStoredAmount } from '../../src/features/velocity-state.ts';
import { compileRuleSetFromText, type RuleSet } from '../../src/rules/language/rule-set.ts';
import { ScoreService } from '../../src/scoring/score-service.ts';
import { mulberry32 } from '../../src/sim/random.ts';
import { clusterBlockingScripts } from '../../src/store/key-slots.ts';
import { makeKeys, SCRIPTS, type Keys } from '../../src/store/keys.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { redisUrl } from '../helpers/redis.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { keysWithContent, type KeyContent } from '../helpers/redis-keys.ts';
import { transferEvent, velocityStream } from '../helpers/velocity-streams.ts';

const LEASE_MS = 5_000;
const DAY = 86_400_000;
const REPORT_TTL_MS = 36_500 * DAY;
const MINORS = [
  { id: 'm0', tz: 'Asia/Shanghai', currency: 'CNY', perTx: 1_200, daily: 1_500 },
  { id: 'm1', tz: 'America/New_York', currency: 'CNY', perTx: null, daily: 1_000 },
] as const;

/**
 * Rules over the velocity state (pair, windows, fan-in, reports, device). The lifecycle's
 * registration of a warn is still one cross-slot script on a cluster while register-transfer.lua
 * is (src/store/key-slots.ts): then the rule blocks instead, and the test warns once it is not;
 * the scores without an action stay below RISK_WARN_AT (30) together, so that no decision warns
 * by its score meanwhile.
 */
function rules(): RuleSet {
  const warnAction = clusterBlockingScripts(makeKeys('x:', undefined, { cluster: true })).includes('registerTransfer') ? 'block' : 'warn';
  const text = `
- id: large-to-new-payee
  description: Large transfer to a payee never paid before
  when: payee.first_seen and amount >= 3000
  score: 40
  action: ${warnAction}
  scam_type: impersonation
- id: rapid-repeat
  description: Third transfer within the hour
  when: payer.out_count_1h >= 2
  score: 2
- id: fan-in
  description: Many payers into one payee in a day
  when: payee.distinct_payers_24h >= 3
  score: 4
- id: reported-payee
  description: A payee with scam reports
  when: payee.report_count >= 1
  score: 90
  action: block
  scam_type: other
- id: shared-device
  description: A device used by several payers
  when: device.distinct_payers_24h >= 2
  score: 3
`;
  const r = compileRuleSetFromText([{ name: 'cluster-route.yaml', text }]);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.ruleSet;
}

type Item =
  | { readonly kind: 'score'; readonly e: TransferEvent }
  | { readonly kind: 'report'; readonly r: ReportToApply }
  /** an engine died after the claim and these entity steps (the single script: after its call) */
  | { readonly kind: 'crash'; readonly e: TransferEvent; readonly steps: readonly EntityStep[] }
  /** the clock moves on (past the lease) */
  | { readonly kind: 'wait'; readonly ms: number };

function stream(seed: number, length: number, nowMs: number): Item[] {
  const rand = mulberry32(seed);
  const items: Item[] = [];
  const scored: TransferEvent[] = [];
  let n = 0;
  for (const it of velocityStream({ seed, length, startMs: nowMs - 120 * DAY, accounts: 7, devices: 4, lateShare: 0.15 })) {
    if (it.kind === 'report') {
      items.push(it);
      continue;
    }
    let x = it.x;
    if (x.tMs > nowMs) continue;
    if (rand() < 0.25) {
      const m = MINORS[Math.floor(rand() * MINORS.length)]!;
      x = { ...x, payerId: m.id, amount: Math.round(50 + rand() * 1_400) };
    }
    const e = transferEvent(x, `tx-${seed}-${n++}`);
    const r = rand();
    if (r < 0.08) {
      // died after the claim and some entity steps; a retry within the lease, then after it
      const steps = (['payer', 'payee', 'device'] as const).filter(() => rand() < 0.5);
      items.push({ kind: 'crash', e, steps }, { kind: 'score', e }, { kind: 'wait', ms: LEASE_MS }, { kind: 'score', e });
    } else {
      items.push({ kind: 'score', e });
    }
    scored.push(e);
    if (rand() < 0.1) items.push({ kind: 'score', e: scored[Math.floor(rand() * scored.length)]! });
    if (rand() < 0.05) {
      const of = scored[Math.floor(rand() * scored.length)]!;
      // another event under a used id: another amount, and sometimes other entities
      const other = rand() < 0.5 ? { ...of, amount: of.amount + 1 } : { ...of, amount: of.amount + 2, payer: { ...of.payer, accountId: 'a-other' }, payee: { accountId: 'a-other-payee' } };
      items.push({ kind: 'score', e: other });
    }
  }
  // bad input: a transfer in the future
  items.push({ kind: 'score', e: transferEvent({ tMs: nowMs + DAY, amount: 10, payerId: 'a1', payeeId: 'a2', deviceId: null }, 'tx-future') });
  return items;
}

interface Path {
  readonly name: string;
  readonly redis: RedisClient;
  readonly keys: Keys;
  readonly store: FeatureStore;
  readonly service: ScoreService;
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

describe('the score route on one Redis and on a Redis Cluster (differential)', () => {
  it('answers, records and counts the same by score-features.lua, by the steps on one Redis and by the steps on the cluster', async () => {
    const run = randomUUID().slice(0, 8);
    // deadlines far above a score's time: the test compares answers, and the machine may be busy
    const config = loadConfig({ REDIS_KEY_PREFIX: 'unused:', CLAIM_LEASE_MS: String(LEASE_MS), FEATURES_DEADLINE_MS: '1500', RECORD_DEADLINE_MS: '1500', LOG_LEVEL: 'silent' });
    const opts = featureStoreOptions(config);
    const ruleSet = rules();
    let now = Date.now();
    const degraded: string[] = [];
    const writeErrors: Error[] = [];
    const path = (name: string, redis: RedisClient, steps: boolean): Path => {
      const keys = makeKeys(`rc-${name}-${run}:`);
      const store = new FeatureStore(redis, keys, opts, (err) => writeErrors.push(err), { steps });
      const service = new ScoreService({
        ...scoreSettings(config),
        store,
        ruleSet: () => ruleSet,
        clock: () => now,
        sleep: async () => undefined,
        onDegraded: (id, reason) => degraded.push(`${name} ${id}: ${reason}`),
      });
      return { name, redis, keys, store, service };
    };
    const paths = [path('script', single, false), path('steps', single, true), path('cluster', clustered, true)];
    for (const p of paths) {
      defineScoreSteps(p.redis);
      for (const m of MINORS) {
        const fields: (string | number)[] = ['tz', m.tz, 'currency', m.currency];
        if (m.perTx !== null) fields.push('perTx', toStoredAmount(m.perTx));
        if (m.daily !== null) fields.push('daily', toStoredAmount(m.daily));
        await p.redis.hset(p.keys.accountGuardian(m.id), ...fields);
      }
    }

    const answer = async (p: Path, e: TransferEvent): Promise<unknown> => {
      try {
        const t = performance.now();
        const r = await p.service.score(e, undefined, t, t);
        const { timingsUs: _, ...decision } = r.decision;
        return { replayed: r.replayed, decision };
      } catch (err) {
        if (err instanceof CalmpayError) return { code: err.code, details: err.details };
        throw err;
      }
    };
    const crash = async (p: Path, e: TransferEvent, steps: readonly EntityStep[]): Promise<void> => {
      const x = { e, tMs: Date.parse(e.occurredAt), eventHash: eventHash(e), claimMs: now };
      if (p.name === 'script') {
        // the single script is one atomic step: it claimed and counted, then the engine died
        expect((await p.store.claimAndUpdate(e, x.tMs, x.eventHash, now)).kind).toBe('new');
        return;
      }
      const calls = (['claim', ...steps] as const).filter((s) => s !== 'device' || e.payer.deviceId !== undefined).map((s) => stepCall(p.keys, opts, x, s, ''));
      for (const [err] of await sendStepCalls(p.redis, calls)) expect(err).toBeNull();
    };

    const items = stream(21, 260, now);
    const seen = new Map<string, number>();
    const count = (what: string): void => void seen.set(what, (seen.get(what) ?? 0) + 1);
    for (const [i, it] of items.entries()) {
      if (it.kind === 'wait') {
        now += it.ms;
        continue;
      }
      if (it.kind === 'report') {
        for (const p of paths) {
          const k = p.keys;
          const id = it.r.payeeId;
          await p.redis.eval(SCRIPTS.reportFlags.lua, 4, k.accountReports(id), k.accountReportCases(id), k.accountReporters(id), k.accountReportTimes(id), it.r.caseId, reporterDigest(it.r.reporterKey), it.r.reportedAtMs, REPORT_TTL_MS, REPORT_TIMES_CAP);
        }
        continue;
      }
      if (it.kind === 'crash') {
        for (const p of paths) await crash(p, it.e, it.steps);
        count('crash');
        continue;
      }
      const [a, ...others] = await Promise.all(paths.map((p) => answer(p, it.e)));
      for (const [n, b] of others.entries()) expect(b, `#${i} ${it.e.transferId} on ${paths[n + 1]!.name}`).toEqual(a);
      const got = a as { code?: string; replayed?: boolean; decision?: { action: string; guardian: unknown } };
      const minor = MINORS.some((m) => m.id === it.e.payer.accountId);
      // a minor's transfer blocked by a rule within the limits: the record gives its spend back
      count(got.code ?? (got.replayed === true ? 'replayed' : `${got.decision!.action}${got.decision!.guardian !== null ? '+guardian' : minor ? '+minor' : ''}`));
    }
    await Promise.all(paths.map((p) => p.store.drain()));
    expect(degraded).toEqual([]);
    expect(writeErrors).toEqual([]);
    // the stream has what it claims to have
    expect(seen.get('crash')).toBeGreaterThan(5);
    expect(seen.get('CALMPAY_ERR_TRANSFER_IN_PROGRESS')).toBe(seen.get('crash'));
    expect(seen.get('CALMPAY_ERR_TRANSFER_ID_CONFLICT')).toBeGreaterThan(3);
    expect(seen.get('CALMPAY_ERR_VALIDATION')).toBe(1);
    expect(seen.get('replayed')).toBeGreaterThan(10);
    expect(seen.get('block')).toBeGreaterThan(5);
    expect(seen.get('block+guardian')).toBeGreaterThan(3);
    expect(seen.get('allow')).toBeGreaterThan(50);
    expect(seen.get('block+minor')).toBeGreaterThan(2);
    expect(seen.get('warn')).toBeGreaterThan(5);

    // every window, set, pair (both slots), device, guardian and report key; every claim
    // (completed: the steps' record wrote score-features.lua's form) and decision key
    // and every lifecycle a warn registered (its hash and audit; the audit's event ids are named
    // from the key prefix, and the cluster form's own keys — the effects, `{lifecycle}` — are its tests')
    const keep = (name: string): boolean => !/:s:[^:]+$/.test(name) && name !== '{decisions}' && !name.startsWith('{lifecycle}') && !name.endsWith(':effects');
    const state = async (p: Path): Promise<Map<string, KeyContent>> => {
      const w = await keysWithContent(p.redis, p.keys.prefix, keep);
      for (const [name, v] of w) {
        if (name.endsWith(':audit')) w.set(name, { ...v, value: (v.value as string[]).map((x) => x.replace(/"eventId":"evt_[0-9a-f]+"/, '"eventId":"…"')) });
      }
      return w;
    };
    const [wa, wb, wc] = (await Promise.all(paths.map(state))) as [Map<string, KeyContent>, Map<string, KeyContent>, Map<string, KeyContent>];
    expect([...wa.keys()].filter((n) => n.endsWith(':audit')).length).toBeGreaterThan(5);
    const decisionsOf = (w: Map<string, { value: unknown }>) =>
      new Map([...w].filter(([n]) => n.endsWith(':d')).map(([n, v]) => [n, (({ timingsUs: _, ...d }) => d)(JSON.parse(v.value as string) as { timingsUs: unknown })]));
    const withoutDecisions = (w: Map<string, unknown>) => new Map([...w].filter(([n]) => !n.endsWith(':d')));
    for (const [w, name] of [[wb, 'steps'], [wc, 'cluster']] as const) {
      expect([...w.keys()].sort(), name).toEqual([...wa.keys()].sort());
      expect(withoutDecisions(w), name).toEqual(withoutDecisions(wa));
      expect(decisionsOf(w), name).toEqual(decisionsOf(wa));
    }
    expect([...wa.keys()].filter((n) => /^\{t:[^}]+\}$/.test(n)).length).toBeGreaterThan(100);
    expect([...wa.keys()].some((n) => n.includes(':pair:'))).toBe(true);
    expect([...wa.keys()].some((n) => n.endsWith(':guardian'))).toBe(true);
    // the decision stream: the same entries (a stream entry per decision recorded)
    const entries = async (p: Path) => (await p.redis.xrange(p.keys.decisionStream(), '-', '+')).map(([, f]) => f[1]).sort();
    const [sa, sb, sc] = await Promise.all(paths.map(entries));
    expect(sb!.length).toBe(sa!.length);
    expect(sc!.length).toBe(sa!.length);
  }, 240_000);
});
