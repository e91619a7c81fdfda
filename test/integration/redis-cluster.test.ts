/**
 * Redis Cluster groundwork (issue 15): a real 3-primary cluster of this file's own
 * (test/helpers/redis-cluster.ts), the connection factory in cluster mode against it, and the
 * slot audit of the Lua scripts (src/store/key-slots.ts, docs/cluster-keys.md).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, StartupError } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { HOLD_QUEUE, HoldTimers, type HoldJob } from '../../src/cooling/hold-timers.ts';
import { scoreScriptCall } from '../../src/features/feature-store.ts';
import { TransferEventSchema } from '../../src/features/transfer-event.ts';
import { makeKeys, SCRIPTS } from '../../src/store/keys.ts';
import { REPORT_TIMES_CAP } from '../../src/features/report-age.ts';
import { CLUSTER_FORMS, clusterBlockingScripts, crossSlotScripts, hashTag, luaFile, SCRIPT_KEYS, scriptTags, type CallIds, type Entity, type ScriptName } from '../../src/store/key-slots.ts';
import { CLUSTER_SLOTS } from '../../src/store/local-cluster.ts';
import { closeRedis, REDIS_ROLES, RedisConnections, type RedisClient, type RedisRole } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { exampleTransfer } from '../helpers/example-event.ts';
import { clusterInfo, startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('the local cluster', () => {
  it('has 3 primaries, every node says cluster_state:ok, and the primaries serve all 16384 slots', async () => {
    expect(cluster.nodes.filter((n) => n.role === 'primary')).toHaveLength(3);
    for (const n of cluster.nodes) {
      const info = await clusterInfo(n.host, n.port);
      expect(info.get('cluster_state')).toBe('ok');
      expect(info.get('cluster_slots_ok')).toBe(String(CLUSTER_SLOTS));
    }
    const node = new Redis({ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port, lazyConnect: true });
    try {
      const slots = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
      const covered = new Set<number>();
      const owners = new Set<number>();
      for (const [from, to, [, port]] of slots) {
        owners.add(port);
        for (let s = from; s <= to; s++) covered.add(s);
      }
      expect(covered.size).toBe(CLUSTER_SLOTS);
      expect(owners.size).toBe(3);
    } finally {
      node.disconnect();
    }
  });

  it('stop() ends every node and removes the directory; a second cluster starts on other ports meanwhile', async () => {
    const other = await startTestCluster();
    const ports = new Set(cluster.nodes.map((n) => n.port));
    expect(other.nodes.filter((n) => ports.has(n.port))).toEqual([]);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    for (const n of other.nodes) expect(() => process.kill(n.pid, 0)).toThrow();
    await other.stop(); // twice is fine
  }, 60_000);
});

describe('the connection factory in cluster mode (REDIS_CLUSTER_NODES)', () => {
  const opened: RedisClient[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((c) => closeRedis(c)));
  });
  const connections = (): RedisConnections => new RedisConnections(parseClusterNodes(cluster.nodeList)!, 2_000);

  it.each((Object.keys(REDIS_ROLES) as RedisRole[]).filter((r) => r !== 'subscriber'))(
    'role %s: a Cluster connection, named for its role, that writes and reads keys of every primary',
    async (role) => {
      const c = await connections().openClient(role);
      opened.push(c);
      expect(c).toBeInstanceOf(Cluster);
      // keys of three entities: on a 3-primary cluster they need not share a node
      const keys = ['t', 'a', 'd'].map((e) => `cp-test:{${e}:${randomUUID()}}:probe`);
      for (const key of keys) {
        expect(await c.set(key, role, 'PX', 60_000)).toBe('OK');
        expect(await c.get(key)).toBe(role);
      }
      for (const node of (c as Cluster).nodes('master')) {
        expect(await node.client('GETNAME')).toBe(`calmpay:${role}`);
      }
    },
  );

  it('role subscriber: a message published on the cluster reaches a subscribed Cluster connection', async () => {
    const conns = connections();
    const subscriber = await conns.openClient('subscriber');
    const publisher = await conns.openClient('score');
    opened.push(subscriber, publisher);
    const channel = `cp-test:{rules}:changed:${randomUUID()}`;
    const received = new Promise<string>((resolve) => subscriber.on('message', (_ch: string, message: string) => resolve(message)));
    await subscriber.subscribe(channel);
    await publisher.publish(channel, 'v2');
    expect(await received).toBe('v2');
  });

  it('role bullmq: a hold timer scheduled on the hash-tagged prefix is processed by a worker; the single-Redis prefix is CROSSSLOT', async () => {
    const conns = connections();
    const keys = makeKeys(`cp-test-${randomUUID().slice(0, 8)}:`, undefined, { cluster: true });
    expect(keys.bullPrefix()).toMatch(/^\{cp-test-[0-9a-f]{8}:bull\}$/);
    const connection = conns.bullmq();
    expect(connection).toBeInstanceOf(Cluster);
    opened.push(connection as Cluster);
    const timers = new HoldTimers(connection, keys.bullPrefix(), Date.now);
    const transferId = randomUUID();
    let worker: Worker<HoldJob> | undefined;
    try {
      const processed = new Promise<string>((resolve) => {
        worker = new Worker<HoldJob>(HOLD_QUEUE, async (job) => resolve(job.data.transferId), { connection, prefix: keys.bullPrefix() });
      });
      await timers.schedule(transferId, Date.now());
      expect(await processed).toBe(transferId);
    } finally {
      await worker?.close();
      await timers.close();
    }
    const untagged = new HoldTimers(connection, makeKeys('cp-test:').bullPrefix(), Date.now);
    try {
      await expect(untagged.schedule(randomUUID(), Date.now())).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await untagged.close();
    }
  });

  it('npm start refuses a cluster before opening anything, naming what is left (the single-Redis connections), no script', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodeList, DATA_DIR: '/nonexistent/calmpay-cluster-test' });
    const refused = buildApp(config);
    await expect(refused).rejects.toBeInstanceOf(StartupError);
    await expect(refused).rejects.toThrow(/does not run on a Redis Cluster yet/);
    await expect(refused).rejects.toThrow(/still opens single-Redis connections/);
    await expect(refused).rejects.not.toThrow(/\.lua|CROSSSLOT/);
  });
});

describe('the slot audit (src/store/key-slots.ts) against the scripts and a real cluster', () => {
  const scripts = Object.keys(SCRIPTS) as ScriptName[];
  const run = randomUUID().slice(0, 8);
  const keys = makeKeys(`cp-audit-${run}:`);
  // fixed ids, so their slots (and the primaries serving them) are the same every run; the prefix keeps runs apart
  const ids: CallIds = { transferId: 'tx-audit', payer: 'payer-audit', payee: 'payee-audit', device: 'device-audit', jobKey: 'job-audit' };
  const tagOf: Record<Exclude<Entity, 'global'>, string> = {
    transfer: `t:${ids.transferId}`,
    payer: `a:${ids.payer}`,
    payee: `a:${ids.payee}`,
    device: `d:${ids.device}`,
  };
  let redis: RedisClient;
  beforeAll(async () => {
    redis = await new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000).openClient('tool');
  });
  afterAll(async () => {
    await closeRedis(redis);
  });

  it('lists as many keys as each script declares and uses, each in its entity\'s hash tag', () => {
    for (const script of scripts) {
      const audit = SCRIPT_KEYS[script];
      expect(audit.length, script).toBe(SCRIPTS[script].numberOfKeys);
      const code = SCRIPTS[script].lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
      // a lifecycle transition names its keys by role (lifecycle_keys): as many as the audit on one Redis, 3 on a cluster
      const roles = /lifecycle_keys\(\{([^}]*)\}\)/.exec(code.slice(code.lastIndexOf('local function lifecycle_keys') + 1));
      const used =
        roles !== null
          ? script.endsWith('Split') ? 3 : roles[1]!.split(',').length
          : Math.max(...[...code.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
      expect(used, `${script}: keys its Lua uses`).toBe(audit.length);
      for (const k of audit) {
        const tag = hashTag(k.key(keys, ids));
        if (k.entity === 'global') expect(['lifecycle', 'rules', 'decisions'], `${script} ${k.role}`).toContain(tag);
        else expect(tag, `${script} ${k.role}`).toBe(tagOf[k.entity]);
      }
    }
  });

  it("lists the score script's keys exactly as the score path builds them (scoreScriptCall)", () => {
    const e = TransferEventSchema.parse(exampleTransfer({ transferId: ids.transferId, payer: { ...(exampleTransfer().payer as object), accountId: ids.payer, deviceId: ids.device }, payee: { ...(exampleTransfer().payee as object), accountId: ids.payee } }));
    const call = scoreScriptCall(keys, { idempotencyTtlSeconds: 60, pairTtlDays: 1, distinctCap: 100, decisionStreamMaxLen: 1_000 }, e, Date.parse(e.occurredAt), 'h', '', Date.now());
    expect(call.slice(0, SCRIPTS.scoreFeatures.numberOfKeys)).toEqual(SCRIPT_KEYS.scoreFeatures.map((k) => k.key(keys, ids)));
  });

  it('names as cross-slot the single score script and the one-Redis form of the lifecycle transitions, and no other; none blocks a cluster (the score runs by steps there)', () => {
    const lifecycle = ['registerTransfer', 'confirmTransfer', 'cancelTransfer', 'expireHold', 'escalateHold', 'reviewTransfer', 'abandonTransfer'] as const;
    expect(crossSlotScripts(keys).sort()).toEqual(['scoreFeatures', ...lifecycle].sort());
    // each one-Redis transition has its cluster form, one slot
    for (const s of lifecycle) expect(scriptTags(CLUSTER_FORMS[s]!, keys, ids), s).toEqual([tagOf.transfer]);
    expect(clusterBlockingScripts(keys)).toEqual([]);
  });

  it('the cluster forms of the transitions, lifecycle-effects.lua and lifecycle-intent.lua run on the cluster', async () => {
    const t = SCRIPT_KEYS.registerTransferSplit.map((x) => x.key(keys, ids));
    const args = [ids.transferId, 1_000, '1970-01-01T00:00:01.000Z', 5_000, 60_000, 'warned', 'payer', ids.payer, 'payee', ids.payee, 'action', 'cool_off', 'risk', '70', 'reports', '0', 'holdMs', '1000'];
    const reply = (await redis.eval(SCRIPTS.registerTransferSplit.lua, 3, ...t, ...args)) as [number, string, string, string[]];
    expect(reply.slice(0, 2)).toEqual([1, 'WARNED']);
    expect(reply[3]).toHaveLength(1);
    const fx = JSON.parse(reply[3][0]!) as { aw: string; awAt: string; event: string[] };
    expect([fx.aw, fx.awAt]).toEqual(['add', '5000']);
    const g = SCRIPT_KEYS.lifecycleEffects.map((x) => x.key(keys, ids));
    expect(await redis.eval(SCRIPTS.lifecycleEffects.lua, 4, ...g, ids.transferId, 'add', 5_000, '', '', 60_000, ...fx.event)).toBe(1);
    expect(await redis.eval(SCRIPTS.lifecycleEffects.lua, 4, ...g, ids.transferId, 'add', 5_000, '', '', 60_000, ...fx.event)).toBe(0);
    expect(await redis.xlen(g[2]!)).toBe(1);
    const [pending] = SCRIPT_KEYS.lifecycleIntent.map((x) => x.key(keys, ids));
    const at = (await redis.eval(SCRIPTS.lifecycleIntent.lua, 1, pending!, 'begin', ids.transferId, 7)) as number;
    expect(await redis.eval(SCRIPTS.lifecycleIntent.lua, 1, pending!, 'begin', ids.transferId, 7)).toBe(at + 1);
    expect(await redis.eval(SCRIPTS.lifecycleIntent.lua, 1, pending!, 'end', ids.transferId, at)).toBe(0);
    expect(await redis.eval(SCRIPTS.lifecycleIntent.lua, 1, pending!, 'end', ids.transferId, at + 1)).toBe(1);
    await Promise.all([...t, ...g, pending!].map((key) => redis.del(key)));
  });

  it('the sample entities hash to different slots of the cluster (so CROSSSLOT below is real)', async () => {
    const slots = await Promise.all(Object.values(tagOf).map(async (t) => (await redis.call('CLUSTER', 'KEYSLOT', `{${t}}`)) as number));
    expect(new Set(slots).size).toBe(slots.length);
  });

  it.each(crossSlotScripts(makeKeys('cp:')))('%s is refused by the cluster (CROSSSLOT) with the keys its callers pass', async (script) => {
    const k = SCRIPT_KEYS[script].map((x) => x.key(keys, ids));
    await expect(redis.eval(SCRIPTS[script].lua, k.length, ...k, 'x')).rejects.toThrow(/CROSSSLOT/);
  });

  it("the decision write's pipeline shape (decision key, stream entry, guardian refund) is refused by a Cluster client", async () => {
    const slots = await Promise.all(
      [keys.txDecision(ids.transferId), keys.decisionStream(), keys.accountGuardian(ids.payer)].map(async (k) => (await redis.call('CLUSTER', 'KEYSLOT', k)) as number),
    );
    // the default 3-primary layout: 0-5460, 5461-10922, 10923-16383
    expect(new Set(slots.map((s) => Math.floor(s / 5461.34))).size, `slots ${slots.join(',')}`).toBeGreaterThan(1);
    const p = redis
      .pipeline()
      .set(keys.txDecision(ids.transferId), '{}', 'PX', 60_000)
      .xadd(keys.decisionStream(), 'MAXLEN', '~', 1_000, '*', 'transferId', ids.transferId)
      .hget(keys.accountGuardian(ids.payer), 'day');
    await expect(p.exec()).rejects.toThrow(/same slots allocation group/);
  });

  it('report-flags.lua runs on the cluster: a case counts once for the payee', async () => {
    const k = SCRIPT_KEYS.reportFlags.map((x) => x.key(keys, ids));
    expect(new Set(scriptTags('reportFlags', keys, ids))).toEqual(new Set([tagOf.payee]));
    const at = Date.now();
    expect(await redis.eval(SCRIPTS.reportFlags.lua, 4, ...k, 'case-1', 'user:r1', at, 60_000, REPORT_TIMES_CAP)).toEqual([1, 1, 1, at]);
    expect(await redis.eval(SCRIPTS.reportFlags.lua, 4, ...k, 'case-1', 'user:r1', at, 60_000, REPORT_TIMES_CAP)).toEqual([0, 1, 1, at]);
    expect(await redis.eval(SCRIPTS.reportFlags.lua, 4, ...k, 'case-2', 'user:r2', at + 1, 60_000, REPORT_TIMES_CAP)).toEqual([1, 2, 2, at + 1]);
  });

  it('guardian-refund.lua runs on the cluster: a spend is given back once', async () => {
    const [guardian] = SCRIPT_KEYS.guardianRefund.map((x) => x.key(keys, ids));
    await redis.hset(guardian!, 'd:2026-12-06', '9000', `s:${ids.transferId}`, '2026-12-06,5000');
    expect(await redis.eval(SCRIPTS.guardianRefund.lua, 1, guardian!, ids.transferId)).toBe(1);
    expect(await redis.eval(SCRIPTS.guardianRefund.lua, 1, guardian!, ids.transferId)).toBe(0);
    expect(await redis.hget(guardian!, 'd:2026-12-06')).toBe('4000');
    await redis.del(guardian!);
  });

  it('dead-letter.lua and dead-letter-remove.lua run on the cluster: recorded once, removed once', async () => {
    const k = SCRIPT_KEYS.deadLetter.map((x) => x.key(keys, ids));
    const entry = JSON.stringify({ job: ids.jobKey });
    expect(await redis.eval(SCRIPTS.deadLetter.lua, 2, ...k, entry, 60_000)).toBe(1);
    expect(await redis.eval(SCRIPTS.deadLetter.lua, 2, ...k, entry, 60_000)).toBe(0);
    const r = SCRIPT_KEYS.deadLetterRemove.map((x) => x.key(keys, ids));
    expect(await redis.eval(SCRIPTS.deadLetterRemove.lua, 2, ...r, 10, 'clear', 'ops', '2026-12-06T00:00:00Z', entry)).toBe(1);
    expect(await redis.eval(SCRIPTS.deadLetterRemove.lua, 2, ...r, 10, 'clear', 'ops', '2026-12-06T00:00:00Z', entry)).toBe(0);
    expect(await redis.llen(r[1]!)).toBe(1);
    await Promise.all([...k, ...r].map((key) => redis.del(key)));
  });

  it('rules-pointer.lua runs on the cluster: the pointer moves forward only', async () => {
    const k = SCRIPT_KEYS.rulesPointer.map((x) => x.key(keys, ids));
    const files = (g: number): string => JSON.stringify({ generation: g, versionId: `v${g}`, files: [] });
    expect(await redis.eval(SCRIPTS.rulesPointer.lua, 2, ...k, 2, 'v2', keys.rulesChannel(), '0', files(2))).toBe(1);
    expect(await redis.eval(SCRIPTS.rulesPointer.lua, 2, ...k, 1, 'v1', keys.rulesChannel(), '0', files(1))).toBe(0);
    expect(await redis.get(k[0]!)).toBe('2:v2');
    await Promise.all(k.map((key) => redis.del(key)));
  });

  it('names every Lua file of src/store/lua that is a script of its own', () => {
    expect([...new Set(scripts.map(luaFile))].sort()).toEqual(
      ['abandon-transfer', 'cancel-transfer', 'confirm-transfer', 'dead-letter', 'dead-letter-remove', 'escalate-hold', 'expire-hold', 'guardian-refund',
        'register-transfer', 'report-flags', 'review-transfer', 'rules-pointer', 'score-features',
        'score-step-claim', 'score-step-payer', 'score-step-payee', 'score-step-device', 'merge-pair-in', 'lifecycle-effects', 'lifecycle-intent'].map((f) => `${f}.lua`).sort(),
    );
  });
});

describe('the local cluster with a replica per primary (for failover tests)', () => {
  let withReplicas: LocalCluster;
  beforeAll(async () => {
    withReplicas = await startTestCluster({ replicasPerPrimary: 1 });
  }, 60_000);
  afterAll(async () => {
    await withReplicas?.stop();
  });

  it('a stopped primary is replaced by its replica, and what was written and replicated is still read', async () => {
    expect(withReplicas.nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    const client = await new RedisConnections(parseClusterNodes(withReplicas.nodeList)!, 2_000).openClient('lifecycle');
    try {
      const key = `cp-test:{a:${randomUUID()}}:out`;
      await client.set(key, 'kept');
      const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
      const ownerOf = async (host: string, port: number): Promise<number | undefined> => {
        const node = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
        try {
          const slots = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
          return slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
        } finally {
          node.disconnect();
        }
      };
      const first = withReplicas.nodes[0]!;
      const ownerPort = (await ownerOf(first.host, first.port))!;
      const owner = (client as Cluster).nodes('master').find((n) => n.options.port === ownerPort)!;
      // the replica has the write before its primary goes
      expect(await owner.call('WAIT', 1, 2_000)).toBe(1);
      const stoppedAt = Date.now();
      await withReplicas.nodes.find((n) => n.port === ownerPort)!.stop();
      const survivor = withReplicas.nodes.find((n) => n.port !== ownerPort)!;
      for (;;) {
        const now = await ownerOf(survivor.host, survivor.port);
        const state = (await clusterInfo(survivor.host, survivor.port)).get('cluster_state');
        if (now !== undefined && now !== ownerPort && state === 'ok') break;
        if (Date.now() - stoppedAt > 30_000) throw new Error(`no failover within 30 s (slot ${slot} on ${now}, ${state})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // cluster-node-timeout 2 s, then the replica's election
      expect(Date.now() - stoppedAt).toBeLessThan(15_000);
      expect(await client.get(key)).toBe('kept');
    } finally {
      await closeRedis(client);
    }
  }, 60_000);
});
