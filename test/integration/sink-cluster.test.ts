import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';
import { startTestCluster, type LocalCluster } from '../helpers/redis-cluster.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';
import { allowTransfer } from './cooling-helpers.ts';

/**
 * Issue 15: `npm run sink` on a Redis Cluster (REDIS_CLUSTER_NODES). The decision stream is one
 * key, so one slot; the sink's cluster client finds its primary. The entries are real ones: a
 * decision scored by an app on one Redis, its stream entry copied into the cluster's stream.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('npm run sink on a 3-primary Redis Cluster', () => {
  const sqlDb = testSql('postgres');
  let cluster: LocalCluster;
  let client: Cluster;
  let sink: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
  }, 120_000);
  afterAll(async () => {
    if (sink !== undefined && sink.exitCode === null) sink.kill('SIGKILL');
    client?.disconnect();
    await cluster?.stop();
    await sqlDb.cleanup();
  }, 60_000);

  it('copies the cluster stream into Postgres once and stops with exit code 0', async () => {
    const prefix = `sinkc-${randomUUID().slice(0, 8)}:`;
    // real stream entries: scored on one Redis, copied into the cluster's stream
    const app = await testApp({ DECISION_SINK: 'false' });
    const ids = [0, 1, 2].map((i) => `sinkc-${randomUUID().slice(0, 8)}-${i}`);
    try {
      for (const id of ids) expect((await app.server.inject({ method: 'POST', url: '/v1/transfers/score', payload: allowTransfer(id) })).statusCode).toBe(200);
      await until(async () => (await app.redis.xlen(`${app.prefix}{decisions}`)) === ids.length, 'the decisions in the stream', 10_000, 20);
      for (const [, fields] of await app.redis.xrange(`${app.prefix}{decisions}`, '-', '+')) await client.xadd(`${prefix}{decisions}`, '*', ...fields);
    } finally {
      await app.close();
    }

    sink = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/sink.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...sqlDb.env, REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_KEY_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    sink.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    sink.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await until(() => /"msg":"sink ready"/.test(output) || sink!.exitCode !== null, 'the sink to be ready', 90_000, 50);
    expect(sink.exitCode, output).toBeNull();

    const db = new pg.Client({ connectionString: sqlDb.env.DATABASE_URL });
    await db.connect();
    try {
      const stored = async () =>
        (await db.query<{ transfer_id: string }>(`SELECT transfer_id FROM "${sqlDb.env.DATABASE_SCHEMA}".decisions ORDER BY transfer_id`)).rows.map((r) => r.transfer_id);
      await until(async () => (await stored()).length >= ids.length, 'the sink to copy the decisions', 30_000, 100).catch(() => undefined);
      expect(await stored(), output).toEqual([...ids].sort());
      const pending = (await client.xpending(`${prefix}{decisions}`, 'sql-sink')) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    } finally {
      await db.end();
    }
    const exited = new Promise<number | null>((resolve) => sink!.once('exit', (code) => resolve(code)));
    sink.kill('SIGTERM');
    expect(await exited, output).toBe(0);
  }, 240_000);
});
