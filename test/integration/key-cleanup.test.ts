/**
 * unlinkPrefix (src/store/key-cleanup.ts), the training replay's key cleanup (FeatureReplay
 * .close): on one Redis and on a 3-primary cluster, where SCAN sees one node and a multi-key
 * UNLINK across slots is CROSSSLOT. Every key under the prefix goes, on every primary, and no
 * other key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { unlinkPrefix } from '../../src/store/key-cleanup.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { primaries } from '../../src/store/pair-migration.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { redisUrl } from '../helpers/redis.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe.each(['one Redis', 'cluster'] as const)('unlinkPrefix on %s', (mode) => {
  let redis: RedisClient;
  beforeAll(async () => {
    const target = mode === 'cluster' ? parseClusterNodes(cluster.nodeList)! : redisUrl();
    redis = await new RedisConnections(target, 5_000).openClient('tool');
  });
  afterAll(async () => {
    await closeRedis(redis);
  });

  it('removes every key of the prefix on every primary, and nothing else', async () => {
    const prefix = `replay:${randomUUID()}:`;
    const other = `replay:${randomUUID()}:`;
    const k = makeKeys(prefix);
    const written: string[] = [];
    for (let i = 0; i < 300; i++) {
      written.push(k.accountOut(`p-${i}`), k.accountPayees(`p-${i}`), k.tx(`t-${i}`), k.devicePayers(`d-${i}`));
    }
    await Promise.all(written.map((key) => redis.set(key, '1')));
    await redis.set(makeKeys(other).accountOut('p-1'), 'kept');
    if (redis instanceof Cluster) {
      // the keys really are spread: every primary holds some
      const perNode = await Promise.all(primaries(redis).map(async (n) => (await n.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000))[1].length));
      expect(perNode.every((c) => c > 0), `per primary ${perNode.join(',')}`).toBe(true);
    }
    expect(await unlinkPrefix(redis, prefix, 97)).toBe(written.length);
    for (const node of primaries(redis)) expect((await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000))[1]).toEqual([]);
    expect(await redis.get(makeKeys(other).accountOut('p-1'))).toBe('kept');
    expect(await unlinkPrefix(redis, prefix)).toBe(0);
    await redis.del(makeKeys(other).accountOut('p-1'));
  });
});
