import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { clusterOptions, RedisConnections } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';

describe('REDIS_CLUSTER_NODES', () => {
  it('is unset by default: one Redis', () => {
    expect(loadConfig({}).store.redisCluster).toBeNull();
    expect(parseClusterNodes('  ')).toBeNull();
  });

  it('reads host:port seeds and URLs with credentials and TLS from the first entry', () => {
    expect(parseClusterNodes('127.0.0.1:7000, 10.0.0.2:7001')).toEqual({
      nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
    const t = parseClusterNodes('rediss://calm:p%40ss@redis-a:6380,redis-b:6380')!;
    expect(t).toMatchObject({ username: 'calm', password: 'p@ss', tls: true, nodes: [{ host: 'redis-a', port: 6380 }, { host: 'redis-b', port: 6380 }] });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).store.redisCluster?.nodes).toEqual([{ host: '127.0.0.1', port: 7000 }]);
  });

  it.each([
    ['127.0.0.1', /"127.0.0.1" has no port/],
    ['127.0.0.1:0', /has no port between 1 and 65535/],
    ['127.0.0.1:7000,', /"" is empty/],
    ['http://a:1', /scheme other than redis/],
    ['redis://a:1/2', /database or options/],
  ])('refuses %j with a message naming the variable and the entry', (raw, why) => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: raw })).toThrow(/^REDIS_CLUSTER_NODES must be host:port/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: raw })).toThrow(why);
  });

  it('excludes REDIS_URL', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /REDIS_URL and REDIS_CLUSTER_NODES are both set/,
    );
  });

  it("gives each role's policy to every node of the cluster, never a password in the location", () => {
    const target = parseClusterNodes('redis://u:secret@127.0.0.1:7000')!;
    const score = clusterOptions('score', 250, target);
    expect(score).toMatchObject({ enableReadyCheck: true, scaleReads: 'master', enableOfflineQueue: false, lazyConnect: true });
    expect(score.redisOptions).toMatchObject({ connectionName: 'calmpay:score', maxRetriesPerRequest: 1, commandTimeout: 250, username: 'u', password: 'secret' });
    expect(score).not.toHaveProperty('keyPrefix');
    expect(clusterOptions('bullmq', 250, target).redisOptions).toMatchObject({ maxRetriesPerRequest: null });
    expect(clusterOptions('bullmq', 250, target).redisOptions).not.toHaveProperty('commandTimeout');
    const connections = new RedisConnections(target, 250);
    expect(connections.location).toBe('cluster 127.0.0.1:7000');
    expect(() => connections.create('score')).toThrow(/cluster mode/);
  });
});
