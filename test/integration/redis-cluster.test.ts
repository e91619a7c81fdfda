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
import { makeKeys } from '../../src/store/keys.ts';
import { CLUSTER_SLOTS } from '../../src/store/local-cluster.ts';
import { closeRedis, REDIS_ROLES, RedisConnections, type RedisClient, type RedisRole } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
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

  it('npm start refuses a cluster before opening anything, naming the scripts that need one slot per entity', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodeList, DATA_DIR: '/nonexistent/calmpay-cluster-test' });
    const refused = buildApp(config);
    await expect(refused).rejects.toBeInstanceOf(StartupError);
    await expect(refused).rejects.toThrow(/does not run on a Redis Cluster yet/);
    await expect(refused).rejects.toThrow(/score-features\.lua \(transfer, payer, device, payee\)/);
    await expect(refused).rejects.toThrow(/CROSSSLOT/);
  });
});
