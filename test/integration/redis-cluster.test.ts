/**
 * Redis Cluster groundwork (issue 15): a real 3-primary cluster of this file's own
 * (test/helpers/redis-cluster.ts), the connection factory in cluster mode against it, and the
 * slot audit of the Lua scripts (src/store/key-slots.ts, docs/cluster-keys.md).
 */
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_SLOTS } from '../../src/store/local-cluster.ts';
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
