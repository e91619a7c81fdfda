import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/local-redis.ts';
import { redisUrl } from '../helpers/redis.ts';
import { testSql } from '../helpers/sql.ts';
import { until } from '../helpers/until.ts';
import { allowTransfer, coolOffTransfer, warnTransfer } from './cooling-helpers.ts';

/**
 * Issue 15, deployment roles: two API nodes (`npm run api`), a lifecycle worker (`npm run
 * worker`) and a decision sink (`npm run sink`), each the real CLI in its own process, on one
 * Redis (a key prefix of their own) and one Postgres (a schema of its own in db `test`).
 * Scores through both nodes reach SQL exactly once; a hold confirmed through one node is
 * released by the worker process; SIGTERM to a node with requests in flight and to the sink
 * mid-stream loses no answered decision; every role exits 0 on SIGTERM.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOLD_SECONDS = '3';

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
}

function startRole(name: string, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { name, child, output: '' };
  child.stdout!.on('data', (d: Buffer) => (proc.output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (proc.output += d.toString()));
  return proc;
}

async function waitFor(proc: Proc, ready: () => boolean | Promise<boolean>): Promise<void> {
  await until(async () => proc.child.exitCode !== null || (await ready()), `${proc.name} to be ready`, 120_000, 100);
  expect(proc.child.exitCode, `${proc.name} exited:\n${proc.output}`).toBeNull();
}

/** SIGTERM, then the exit code (at most 30 s). */
async function terminate(proc: Proc): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  proc.child.kill('SIGTERM');
  return Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
}

async function readyz(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

describe('deployment roles: 2 × npm run api + npm run worker + npm run sink on one Redis and Postgres', () => {
  const sqlDb = testSql('postgres');
  const prefix = `roles-${randomUUID().slice(0, 8)}:`;
  const dataDirs: string[] = [];
  const procs: Proc[] = [];
  let db: pg.Client;
  let redis: Redis;
  const ports: number[] = [];
  let shared: Record<string, string>;

  const apiEnv = (port: number): Record<string, string> => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-roles-'));
    dataDirs.push(dataDir);
    return { ...shared, PORT: String(port), DATA_DIR: dataDir, MODELS_DIR: path.join(ROOT, 'test/fixtures/no-models'), WATCH_MODELS: 'false', LOG_LEVEL: 'warn',
      // a busy test machine must not send a score down the degraded path (spooled, written to the stream by that node later)
      FEATURES_DEADLINE_MS: '5000', RECORD_DEADLINE_MS: '5000' };
  };
  const score = async (port: number, body: Record<string, unknown>): Promise<{ status: number; action?: string }> => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/transfers/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, action: ((await r.json()) as { action?: string }).action };
  };
  const rows = async (): Promise<string[]> =>
    (await db.query<{ transfer_id: string }>(`SELECT transfer_id FROM "${sqlDb.env.DATABASE_SCHEMA}".decisions ORDER BY transfer_id`)).rows.map((r) => r.transfer_id);

  beforeAll(async () => {
    shared = {
      ...sqlDb.env,
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: prefix,
      RULES_DIR: path.join(ROOT, 'test/fixtures/rules'),
      WATCH_RULES: 'false',
      COOLING_OFF_SECONDS: HOLD_SECONDS,
      COOLING_OFF_SECONDS_ELDERLY: HOLD_SECONDS,
    };
    for (const k of ['RUN_WORKER', 'DECISION_SINK', 'REDIS_CLUSTER_NODES']) delete process.env[k];
    ports.push(await freePort(), await freePort());
    redis = new Redis(redisUrl());
    // the sink first: it applies the migrations, so the API nodes find them applied
    procs.push(startRole('sink', 'src/cli/sink.ts', shared));
    await waitFor(procs[0]!, () => /"msg":"sink ready"/.test(procs[0]!.output));
    procs.push(startRole('api-1', 'src/cli/api.ts', apiEnv(ports[0]!)), startRole('api-2', 'src/cli/api.ts', apiEnv(ports[1]!)));
    procs.push(startRole('worker', 'src/cli/worker.ts', shared));
    await waitFor(procs[1]!, () => readyz(ports[0]!));
    await waitFor(procs[2]!, () => readyz(ports[1]!));
    await waitFor(procs[3]!, () => /"msg":"worker ready"/.test(procs[3]!.output));
    db = new pg.Client({ connectionString: sqlDb.env.DATABASE_URL });
    await db.connect();
  }, 300_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
    await db?.end();
    if (redis !== undefined) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await sqlDb.cleanup();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('says in /readyz that the worker and the sink run apart', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${ports[0]}/readyz`)).json()) as { checks: Record<string, { detail: string }> };
    expect(JSON.stringify(body)).toMatch(/decision sink off/);
    expect(JSON.stringify(body)).toMatch(/worker runs apart/);
  });

  it('scores through both nodes, releases a hold in the worker process, and stops every role without losing a decision', async () => {
    const run = randomUUID().slice(0, 8);
    const answered = new Set<string>();
    // 1. both nodes score; a retry of a transfer through the other node is answered, not counted again
    const first: Record<string, unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `roles-${run}-a${i}`;
      const body = i % 3 === 0 ? warnTransfer(id) : allowTransfer(id);
      const r = await score(ports[i % 2]!, body);
      expect(r.status).toBe(200);
      answered.add(id);
      first.push(body);
    }
    expect(await score(ports[1]!, first[0]!)).toMatchObject({ status: 200, action: 'warn' });

    // 2. a hold: scored by node 1, confirmed through node 2, ended by the worker process
    const held = `roles-${run}-hold`;
    expect(await score(ports[0]!, coolOffTransfer(held))).toMatchObject({ status: 200, action: 'cool_off' });
    answered.add(held);
    await until(async () => (await redis.exists(`${prefix}{t:${held}}:s`)) === 1, 'the hold registered', 10_000, 50);
    const confirm = await fetch(`http://127.0.0.1:${ports[1]}/v1/transfers/${held}/confirm`, { method: 'POST' });
    expect(((await confirm.json()) as { state: string }).state).toBe('COOLING_OFF');
    let state = '';
    await until(
      async () => {
        state = ((await (await fetch(`http://127.0.0.1:${ports[0]}/v1/transfers/${held}`)).json()) as { state: string }).state;
        return state !== 'COOLING_OFF';
      },
      'the worker process to end the hold',
      30_000,
      100,
    );
    expect(state, procs[3]!.output).toBe('RELEASED');

    // 3. the sink stops mid-stream (SIGTERM: the batch in hand committed), scores go on, a new sink copies the rest
    await until(async () => (await rows()).length === answered.size, 'the sink to copy the first decisions', 30_000, 100);
    expect(await terminate(procs[0]!), procs[0]!.output).toBe(0);
    for (let i = 0; i < 20; i++) {
      const id = `roles-${run}-b${i}`;
      expect((await score(ports[i % 2]!, allowTransfer(id))).status).toBe(200);
      answered.add(id);
    }
    const sink2 = startRole('sink-2', 'src/cli/sink.ts', shared);
    procs.push(sink2);
    await waitFor(sink2, () => /"msg":"sink ready"/.test(sink2.output));

    // 4. SIGTERM to node 1 with 30 requests in flight: every answered decision reaches SQL
    const inFlight = Array.from({ length: 30 }, (_, i) => {
      const id = `roles-${run}-c${i}`;
      return score(ports[0]!, allowTransfer(id)).then(
        (r) => (r.status === 200 ? id : null),
        () => null,
      );
    });
    await new Promise((r) => setTimeout(r, 20));
    const api1Exit = terminate(procs[1]!);
    const late = (await Promise.all(inFlight)).filter((id): id is string => id !== null);
    expect(await api1Exit, procs[1]!.output).toBe(0);
    for (const id of late) answered.add(id);
    // node 2 still scores
    expect((await score(ports[1]!, allowTransfer(`roles-${run}-d0`))).status).toBe(200);
    answered.add(`roles-${run}-d0`);

    // every answered decision in SQL once; each stream entry copied and acknowledged; no duplicates in the stream
    await until(async () => (await rows()).length >= answered.size, 'the sink to copy every answered decision', 60_000, 200);
    const stored = await rows();
    expect(stored.filter((id) => !answered.has(id) && !id.startsWith(`roles-${run}-c`))).toEqual([]);
    for (const id of answered) expect(stored).toContain(id);
    expect(new Set(stored).size).toBe(stored.length);
    const streamLength = await redis.xlen(`${prefix}{decisions}`);
    expect(streamLength).toBe(stored.length);
    const pending = (await redis.xpending(`${prefix}{decisions}`, 'sql-sink')) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);

    // 5. the remaining roles stop with exit code 0
    for (const p of [procs[2]!, procs[3]!, sink2]) expect(await terminate(p), `${p.name}:\n${p.output}`).toBe(0);
  }, 300_000);
});
