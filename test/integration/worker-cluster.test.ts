import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { lifecycleSettings, registrationTimes } from '../../src/config-wiring.ts';
import { Lifecycle } from '../../src/cooling/lifecycle.ts';
import { registrationFor, type RegisteredDecision } from '../../src/cooling/registration.ts';
import { FEATURE_COUNT, type FeatureValue } from '../../src/features/catalogue.ts';
import type { TransferEvent } from '../../src/features/transfer-event.ts';
import { segmentPolicy } from '../../src/scoring/scoring-config.ts';
import { makeKeys } from '../../src/store/keys.ts';
import { plainIds } from '../../src/store/pseudonyms.ts';
import { closeRedis, RedisConnections, type RedisClient } from '../../src/store/redis-connections.ts';
import { parseClusterNodes } from '../../src/store/redis-target.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { compileRules } from '../helpers/rules.ts';
import { until } from '../helpers/until.ts';

/**
 * Issue 15: `npm run worker` on a Redis Cluster (REDIS_CLUSTER_NODES). A hold confirmed by the
 * API side (the lifecycle service on the cluster, its timer a BullMQ job on `{<prefix>bull}`) is
 * ended by the worker process's timer or sweep, and a transition whose caller stopped before its
 * effects is completed by the worker's intent sweep; SIGTERM stops it with exit code 0.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('npm run worker on a 3-primary Redis Cluster', () => {
  let cluster: LocalCluster;
  let redis: RedisClient;
  let worker: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    cluster = await startTestCluster();
    redis = await new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000).openClient('tool');
  }, 120_000);
  afterAll(async () => {
    if (worker !== undefined && worker.exitCode === null) worker.kill('SIGKILL');
    await closeRedis(redis);
    await cluster?.stop();
  }, 60_000);

  it('ends a hold and completes a crashed transition, then stops with exit code 0', async () => {
    const prefix = `workc-${randomUUID().slice(0, 8)}:`;
    const env = { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_KEY_PREFIX: prefix, COOLING_OFF_SECONDS: '1', LOG_LEVEL: 'info' };
    const config = loadConfig(env);
    const keys = makeKeys(prefix, plainIds, { cluster: true });
    const connections = new RedisConnections(parseClusterNodes(cluster.nodeList)!, 5_000);
    const api = new Lifecycle({ ...lifecycleSettings(config), redis, connections, keys, ruleSet: () => compileRules('[]'), clock: Date.now, log: quiet });
    const register = async (id: string): Promise<void> => {
      const now = Date.now();
      const decision: RegisteredDecision = { action: 'cool_off', riskScore: 70, modelScore: null, scamType: null, segment: 'elderly', rulesVersion: 't', decidedAt: new Date(now).toISOString() };
      const event = { transferId: id, occurredAt: decision.decidedAt, amount: 100, currency: 'CNY', payer: { accountId: `p-${id}` }, payee: { accountId: `q-${id}` } } as TransferEvent;
      const v = new Array<FeatureValue>(FEATURE_COUNT).fill(null);
      const reg = registrationFor(decision, event, v, JSON.stringify(v), { language: 'en', policy: segmentPolicy(config.scoring, 'elderly') }, registrationTimes(config));
      expect(await api.store.register(id, reg!.args)).toBe(true);
    };
    try {
      worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/worker.ts')], {
        cwd: ROOT,
        env: { ...process.env, ...env, DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await until(() => /"msg":"worker ready"/.test(output) || worker!.exitCode !== null, 'the worker to be ready', 90_000, 50);
      expect(worker.exitCode, output).toBeNull();

      await register('w-1');
      expect((await api.service.confirm('w-1', '')).view.state).toBe('COOLING_OFF');
      // a caller that stopped after the transition, before its effects
      await register('w-2');
      const split = api.store.split!;
      const at = Date.now();
      await split.begin('w-2', at);
      await split.transition('cancel-transfer', () =>
        redis.cpCancelTransferSplit(keys.txState('w-2'), keys.txAudit('w-2'), keys.txEffects('w-2'), 'w-2', at, new Date(at).toISOString(), 'payer', '', 60_000),
      );
      expect(await redis.zscore(keys.lifecycleAwaiting(), 'w-2')).not.toBeNull();

      await until(async () => (await redis.hget(keys.txState('w-1'), 'state')) === 'RELEASED', 'w-1 released by the worker', 30_000, 50).catch(() => undefined);
      expect(await redis.hget(keys.txState('w-1'), 'state'), output).toBe('RELEASED');
      await until(async () => (await redis.zcard(keys.lifecyclePending())) === 0, 'the intent sweep', 30_000, 50).catch(() => undefined);
      expect(await redis.zcard(keys.lifecyclePending()), output).toBe(0);
      expect(await redis.zscore(keys.lifecycleAwaiting(), 'w-2')).toBeNull();
      expect(await redis.hget(keys.txState('w-2'), 'state')).toBe('ABANDONED');
      expect(output).toMatch(/intent sweep applied the effects/);

      const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
      worker.kill('SIGTERM');
      expect(await exited, output).toBe(0);
    } finally {
      await api.close();
    }
  }, 240_000);
});
