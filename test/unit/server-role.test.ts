import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { configForRole, sinkTargets } from '../../src/server-role.ts';

const SHARED = { REDIS_URL: 'redis://10.0.0.5:6379', DATABASE_URL: 'postgres://calmpay@10.0.0.6/calmpay' };

describe('deployment roles (src/server-role.ts)', () => {
  it('all-in-one (npm start) runs with its config unchanged, worker and sink on, without any shared store', () => {
    const config = loadConfig({});
    expect(configForRole(config, 'all', {})).toBe(config);
    expect(config.lifecycle.runWorker).toBe(true);
    expect(config.decisions.decisionSink).toBe(true);
  });

  it('an API node runs with the worker and the sink off', () => {
    const c = configForRole(loadConfig(SHARED), 'api', SHARED);
    expect(c.lifecycle.runWorker).toBe(false);
    expect(c.decisions.decisionSink).toBe(false);
    expect(c.store.redisUrl).toBe(SHARED.REDIS_URL);
    const cluster = { REDIS_CLUSTER_NODES: '10.0.0.5:7000,10.0.0.6:7000', DATABASE_URL: SHARED.DATABASE_URL };
    expect(configForRole(loadConfig(cluster), 'api', cluster).lifecycle.runWorker).toBe(false);
  });

  it('an API node refuses to start without a shared Redis and Postgres, naming both', () => {
    expect(() => configForRole(loadConfig({}), 'api', {})).toThrow(ConfigError);
    expect(() => configForRole(loadConfig({}), 'api', {})).toThrow(/needs REDIS_URL \(or REDIS_CLUSTER_NODES\).*; and DATABASE_URL/);
    const noSql = { REDIS_URL: SHARED.REDIS_URL };
    expect(() => configForRole(loadConfig(noSql), 'api', noSql)).toThrow(/needs DATABASE_URL: .*PGlite belongs to one process/);
    const noRedis = { DATABASE_URL: SHARED.DATABASE_URL };
    expect(() => configForRole(loadConfig(noRedis), 'api', noRedis)).toThrow(/needs REDIS_URL .*never starts a redis-server of its own/);
  });

  it('an API node refuses RUN_WORKER or DECISION_SINK set to true (they belong to other processes), accepts them false', () => {
    for (const [variable, process] of [['RUN_WORKER', 'npm run worker'], ['DECISION_SINK', 'npm run sink']] as const) {
      const env = { ...SHARED, [variable]: 'true' };
      expect(() => configForRole(loadConfig(env), 'api', env)).toThrow(`${variable}=true contradicts npm run api: an API node leaves that to ${process}`);
      const off = { ...SHARED, [variable]: 'false' };
      expect(configForRole(loadConfig(off), 'api', off).lifecycle.runWorker).toBe(false);
    }
  });

  it('the sink needs REDIS_URL (or REDIS_CLUSTER_NODES) and a Postgres DATABASE_URL', () => {
    expect(sinkTargets(loadConfig(SHARED))).toEqual({ redis: SHARED.REDIS_URL, databaseUrl: SHARED.DATABASE_URL });
    const cluster = sinkTargets(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.5:7000,10.0.0.6:7000', DATABASE_URL: SHARED.DATABASE_URL })).redis;
    expect(typeof cluster === 'string' ? cluster : cluster.nodes.map((n) => `${n.host}:${n.port}`)).toEqual(['10.0.0.5:7000', '10.0.0.6:7000']);
    expect(() => sinkTargets(loadConfig({}))).toThrow(/npm run sink needs REDIS_URL \(or REDIS_CLUSTER_NODES\): .*; and DATABASE_URL: .*PGlite belongs to one process/);
    expect(() => sinkTargets(loadConfig({ REDIS_URL: SHARED.REDIS_URL }))).toThrow(/^npm run sink needs DATABASE_URL/);
  });
});
