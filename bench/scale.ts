/**
 * `npm run bench:scale`: the deployed shape's cost per score (issue 15). For each store, (a) one
 * Redis and (b) a local 3-primary Redis Cluster (src/store/local-cluster.ts), it starts a
 * decision sink (`npm run sink`) and then 1 and 2 API nodes (`npm run api`, role api) on one
 * Postgres, drives every node with the closed-loop load generator of bench/http-load.ts
 * (BENCH_CONNECTIONS per node, the generated `retail` mix of bench/transfer-gen.ts), and
 * prints, for each configuration, the throughput, scores per CPU-second of the API processes
 * (summed over them) and of Redis (summed over the shards), and the sink's CPU per score.
 *
 * Then the memory a score leaves in Redis (one Redis, one API node): BENCH_MEMORY_TRANSFERS
 * transfers each between a new payer and a new payee (new device), then as many again between
 * the same pairs, reading INFO memory (used_memory) before and after each, less the decision
 * stream's own growth (MEMORY USAGE of the stream: it is bounded by DECISION_STREAM_MAXLEN, not
 * by accounts). docs/scaling.md turns these figures into node, shard and memory counts.
 *
 * When the engine refuses to start on the cluster (today: src/store/key-slots.ts
 * clusterRefusal), the cluster configurations are printed as skipped with the refusal's reason.
 *
 * Everything runs on 127.0.0.1: its own redis-server and cluster, Postgres at
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test, a schema of its own,
 * dropped at the end). Bounded: each stage's time is fixed; the whole run takes about 2
 * minutes per store on the 2-core machine (most of it starting processes). The load generator runs in this process, on the same
 * cores, so throughput is this machine's; CPU per score is the figure to carry elsewhere.
 *
 * Env: BENCH_SCALE_APIS (1,2), BENCH_SCALE_SECONDS (10, per measured stage), BENCH_WARM_SECONDS
 * (3), BENCH_CONNECTIONS (16 per node), BENCH_PAYERS (100000), BENCH_PAYEES (20000),
 * BENCH_MEMORY_TRANSFERS (5000, 0: skip), BENCH_SCALE_STORES (single,cluster), BENCH_DATABASE_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startLocalCluster, type LocalCluster } from '../src/store/local-cluster.ts';
import { startLocalRedis, type LocalRedis } from '../src/store/local-redis.ts';
import { closedLoop, type StageResult } from './http-load.ts';
import { arraySource, generatedTraffic, type BenchEvent } from './latency-traffic.ts';
import { freePort, processCpuUs, redisCpuUs, startScript, stopChild } from './processes.ts';
import { transferGenerator } from './transfer-gen.ts';

function list(name: string, raw: string | undefined, fallback: readonly string[]): string[] {
  return raw === undefined || raw === '' ? [...fallback] : raw.split(',').map((s) => s.trim());
}
function num(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

const apiCounts = list('BENCH_SCALE_APIS', process.env.BENCH_SCALE_APIS, ['1', '2']).map((s) => num('BENCH_SCALE_APIS', s, 1, 1));
const stores = list('BENCH_SCALE_STORES', process.env.BENCH_SCALE_STORES, ['single', 'cluster']);
for (const s of stores) if (s !== 'single' && s !== 'cluster') throw new Error(`BENCH_SCALE_STORES must list single, cluster; got ${JSON.stringify(s)}`);
const seconds = num('BENCH_SCALE_SECONDS', process.env.BENCH_SCALE_SECONDS, 10, 1);
const warmSeconds = num('BENCH_WARM_SECONDS', process.env.BENCH_WARM_SECONDS, 3, 0);
const connections = Math.round(num('BENCH_CONNECTIONS', process.env.BENCH_CONNECTIONS, 16, 1));
const payers = Math.round(num('BENCH_PAYERS', process.env.BENCH_PAYERS, 100_000, 2));
const payees = Math.round(num('BENCH_PAYEES', process.env.BENCH_PAYEES, 20_000, 2));
const memoryTransfers = Math.round(num('BENCH_MEMORY_TRANSFERS', process.env.BENCH_MEMORY_TRANSFERS, 5_000, 0));
const databaseUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(databaseUrl).hostname)) {
  throw new Error(`BENCH_DATABASE_URL must be on 127.0.0.1 (the bench sends traffic nowhere else), got host ${new URL(databaseUrl).hostname}`);
}
const READY_MS = 120_000;

/** A store under test: the env that points the processes at it, and a connection to each primary. */
interface Store {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly primaries: readonly Redis[];
  stop(): Promise<void>;
}

async function singleStore(): Promise<Store> {
  // no append-only file: the cluster's nodes run without one, so the two compare
  const local: LocalRedis = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-scale-redis-')), appendOnly: false });
  const redis = new Redis(local.url);
  return {
    name: 'one Redis',
    env: { REDIS_URL: local.url },
    primaries: [redis],
    stop: async () => {
      redis.disconnect();
      await local.stop();
    },
  };
}

async function clusterStore(): Promise<Store> {
  const cluster: LocalCluster = await startLocalCluster({ primaries: 3 });
  const primaries = cluster.nodes.filter((n) => n.role === 'primary').map((n) => new Redis({ host: n.host, port: n.port }));
  return {
    name: '3-primary Redis Cluster',
    env: { REDIS_CLUSTER_NODES: cluster.nodeList },
    primaries,
    stop: async () => {
      for (const r of primaries) r.disconnect();
      await cluster.stop();
    },
  };
}

async function sumOver(primaries: readonly Redis[], read: (r: Redis) => Promise<number>): Promise<number> {
  return (await Promise.all(primaries.map(read))).reduce((a, b) => a + b, 0);
}

async function commandStats(r: Redis): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  for (const m of (await r.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) out.set(m[1]!, [Number(m[2]), Number(m[3])]);
  return out;
}

async function summedCommandStats(primaries: readonly Redis[]): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  for (const stats of await Promise.all(primaries.map(commandStats))) {
    for (const [name, [calls, usec]] of stats) {
      const [c, u] = out.get(name) ?? [0, 0];
      out.set(name, [c + calls, u + usec]);
    }
  }
  return out;
}

async function usedMemory(r: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? Number.NaN);
}

/** A started process with its stderr kept (and shown), for a refusal's reason. */
interface Started {
  readonly child: ChildProcess;
  stderr: string;
}

function start(script: string, env: Record<string, string>): Started {
  const child = startScript(script, env, { stdout: 'pipe', stderr: 'pipe' });
  const s: Started = { child, stderr: '' };
  child.stdout!.on('data', () => undefined);
  child.stderr!.on('data', (d: Buffer) => {
    s.stderr += d.toString();
    process.stderr.write(d);
  });
  return s;
}

/** Resolves once `ready()` holds; rejects with the process's last stderr line when it exits first. */
async function whenReady(p: Started, what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) {
      const lines = p.stderr.trim().split('\n');
      throw new Refused(`${what} exited with ${p.child.exitCode}: ${lines[lines.length - 1] ?? ''}`);
    }
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${READY_MS / 1000} s`);
}

class Refused extends Error {}

const httpReady = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;

interface Row {
  readonly store: string;
  readonly apis: number;
  readonly skipped: string | null;
  readonly scores?: number;
  readonly seconds?: number;
  readonly apiCpuS?: number;
  readonly redisCpuS?: number;
  readonly sinkCpuS?: number;
  readonly p99Ms?: number;
  readonly non2xx?: number;
  /** Redis commands of the measured stage (summed over the primaries): name → [calls, µs] */
  readonly commands?: Map<string, [number, number]>;
}

async function startApis(store: Store, n: number, base: Record<string, string>, dirs: string[]): Promise<{ ports: number[]; procs: Started[] }> {
  const ports: number[] = [];
  const procs: Started[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calmpay-scale-api-'));
    dirs.push(dataDir);
    ports.push(port);
    procs.push(start('src/cli/api.ts', { ...base, ...store.env, PORT: String(port), DATA_DIR: dataDir }));
  }
  try {
    for (let i = 0; i < n; i++) await whenReady(procs[i]!, `API node ${i + 1} (npm run api)`, httpReady(ports[i]!));
  } catch (err) {
    await Promise.all(procs.map((p) => stopChild(p.child)));
    throw err;
  }
  return { ports, procs };
}

/** Every node driven at once, closed loop, each with its own traffic; the results per node. */
async function drive(ports: readonly number[], runId: string, secs: number, tally: boolean): Promise<StageResult[]> {
  return Promise.all(
    ports.map((port, i) =>
      closedLoop({
        name: `node ${i + 1}`,
        target: { port, headers: {} },
        source: generatedTraffic('retail', { seed: i + 1, payers, payees, runId: `${runId}-n${i}` }),
        connections,
        seconds: secs,
        tally,
      }),
    ),
  );
}

async function measure(store: Store, n: number, base: Record<string, string>, sink: Started, dirs: string[]): Promise<Row> {
  const { ports, procs } = await startApis(store, n, base, dirs);
  try {
    const runId = `s${Date.now().toString(36)}${n}`;
    if (warmSeconds > 0) await drive(ports, `${runId}w`, warmSeconds, false); // JIT, script cache, connections
    await new Promise((r) => setTimeout(r, 1000)); // the warm-up's decision writes and sink copies
    const api0 = procs.map((p) => processCpuUs(p.child.pid!));
    const sink0 = processCpuUs(sink.child.pid!);
    await Promise.all(store.primaries.map((r) => r.config('RESETSTAT')));
    const redis0 = await sumOver(store.primaries, redisCpuUs);
    const results = await drive(ports, runId, seconds, true);
    const redis1 = await sumOver(store.primaries, redisCpuUs);
    const commands = await summedCommandStats(store.primaries);
    const apiUs = procs.reduce((sum, p, i) => sum + processCpuUs(p.child.pid!) - api0[i]!, 0);
    // the sink catches up on what the run left in the stream before its CPU is read
    await new Promise((r) => setTimeout(r, 1500));
    const sinkUs = processCpuUs(sink.child.pid!) - sink0;
    const ok = results.reduce((s, r) => s + r.requests - r.non2xx - r.errors, 0);
    return {
      store: store.name,
      apis: n,
      skipped: null,
      scores: ok,
      seconds: Math.max(...results.map((r) => r.seconds)),
      apiCpuS: apiUs / 1e6,
      redisCpuS: (redis1 - redis0) / 1e6,
      sinkCpuS: sinkUs / 1e6,
      p99Ms: Math.max(...results.map((r) => r.latencyMs.p99)),
      non2xx: results.reduce((s, r) => s + r.non2xx + r.errors, 0),
      commands,
    };
  } finally {
    await Promise.all(procs.map((p) => stopChild(p.child)));
  }
}

interface MemoryFigures {
  readonly transfers: number;
  /** bytes after M transfers, each between a new payer and a new payee (new device), less the stream's growth */
  readonly newPairsBytes: number;
  /** bytes after M more transfers between the same pairs, less the stream's growth */
  readonly repeatBytes: number;
  /** the decision stream's growth over both phases, per entry */
  readonly streamBytesPerEntry: number;
  /** MEMORY USAGE of every key of the prefix after both phases, by kind of key: count, bytes, whether it expires within a day */
  readonly byKind: readonly { kind: string; keys: number; bytes: number; expires: string }[];
}

/** `{a:p-1}:pair:q-7` → `{a:…}:pair:…`: the kind of a key, its ids left out. */
function keyKind(key: string, prefix: string): string {
  return key
    .slice(prefix.length)
    .replace(/\{([a-z]+):[^}]*\}/, '{$1:…}')
    .replace(/:(pair|pairin|s):.*$/, ':$1:…');
}

async function keysByKind(r: Redis, prefix: string): Promise<MemoryFigures['byKind']> {
  const kinds = new Map<string, { keys: number; bytes: number; ttls: Set<string> }>();
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    const p = r.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0').pttl(k);
    const replies = (await p.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(replies[2 * i]?.[1] ?? 0);
      const ttl = Number(replies[2 * i + 1]?.[1] ?? -1);
      const kind = keyKind(k, prefix);
      const row = kinds.get(kind) ?? { keys: 0, bytes: 0, ttls: new Set<string>() };
      row.keys++;
      row.bytes += bytes;
      row.ttls.add(ttl < 0 ? 'never' : ttl <= 86_400_000 ? '≤ 1 day' : ttl <= 7 * 86_400_000 ? '≤ 7 days' : ttl <= 31 * 86_400_000 ? '≤ 31 days' : '> 31 days');
      kinds.set(kind, row);
    });
  } while (cursor !== '0');
  return [...kinds.entries()]
    .map(([kind, v]) => ({ kind, keys: v.keys, bytes: v.bytes, expires: [...v.ttls].sort().join('/') }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** One API node on `store`: INFO memory around M transfers between new accounts, then M between the same accounts. */
async function memory(store: Store, base: Record<string, string>, dirs: string[], prefix: string): Promise<MemoryFigures> {
  const { ports, procs } = await startApis(store, 1, base, dirs);
  try {
    const gen = transferGenerator({ seed: 7, payers, payees, runId: 'unused', mix: 'retail' });
    const phase = (tag: string): BenchEvent[] =>
      Array.from({ length: memoryTransfers }, (_, i) => {
        const e = gen();
        const payer = { ...(e.payer as Record<string, unknown>), accountId: `mem-p-${i}`, deviceId: `mem-d-${i}` };
        const payee = { ...(e.payee as Record<string, unknown>), accountId: `mem-q-${i}` };
        const transferId = `mem-${tag}-${i}`;
        return { transferId, label: 'unlabelled', body: JSON.stringify({ ...e, transferId, payer, payee }) };
      });
    const stream = `${prefix}{decisions}`;
    const streamBytes = async () => Number((await store.primaries[0]!.call('MEMORY', 'USAGE', stream, 'SAMPLES', '0')) ?? 0);
    const settle = () => new Promise((r) => setTimeout(r, 2000));
    const run = async (events: BenchEvent[]) => {
      const r = await closedLoop({ name: 'memory', target: { port: ports[0]!, headers: {} }, source: arraySource(events), connections, seconds: 300, tally: false });
      if (r.non2xx + r.errors > 0) throw new Error(`memory phase: ${r.non2xx} non-2xx, ${r.errors} errors`);
    };
    await settle();
    const m0 = await sumOver(store.primaries, usedMemory);
    const s0 = await streamBytes();
    await run(phase('a'));
    await settle();
    const m1 = await sumOver(store.primaries, usedMemory);
    const s1 = await streamBytes();
    await run(phase('b'));
    await settle();
    const m2 = await sumOver(store.primaries, usedMemory);
    const s2 = await streamBytes();
    return {
      transfers: memoryTransfers,
      newPairsBytes: m1 - m0 - (s1 - s0),
      repeatBytes: m2 - m1 - (s2 - s1),
      streamBytesPerEntry: (s2 - s0) / (2 * memoryTransfers),
      byKind: await keysByKind(store.primaries[0]!, prefix),
    };
  } finally {
    await Promise.all(procs.map((p) => stopChild(p.child)));
  }
}

const f0 = (x: number) => x.toFixed(0);

function printRow(r: Row): void {
  if (r.skipped !== null) {
    console.log(`${r.store.padEnd(24)} ${String(r.apis).padStart(4)}   skipped: refused to start (reason below)`);
    return;
  }
  const perApi = r.scores! / r.apiCpuS!;
  const perRedis = r.scores! / r.redisCpuS!;
  console.log(
    `${r.store.padEnd(24)} ${String(r.apis).padStart(4)} ${f0(r.scores! / r.seconds!).padStart(9)} ${f0(perApi).padStart(14)} ${f0(perRedis).padStart(16)}` +
      ` ${((1e6 * r.apiCpuS!) / r.scores!).toFixed(0).padStart(10)} ${((1e6 * r.redisCpuS!) / r.scores!).toFixed(0).padStart(12)} ${((1e6 * r.sinkCpuS!) / r.scores!).toFixed(0).padStart(11)}` +
      ` ${r.p99Ms!.toFixed(1).padStart(8)} ${String(r.scores).padStart(8)} ${String(r.non2xx).padStart(6)}`,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const runId = `scale${Date.now().toString(36)}`;
  const schema = `bench_${runId}`;
  const dirs: string[] = [];
  const rows: Row[] = [];
  let mem: MemoryFigures | null = null;
  console.log(
    `bench:scale: ${connections} connections per API node, ${seconds} s per stage after ${warmSeconds} s of warm-up, retail mix (${payers} payers, ${payees} payees), ` +
      `Postgres ${new URL(databaseUrl).host} schema ${schema}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  try {
    for (const kind of stores) {
      const store = kind === 'single' ? await singleStore() : await clusterStore();
      const prefix = `${runId}-${kind}:`;
      const base = {
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: schema,
        REDIS_KEY_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        WATCH_RULES: 'false',
        WATCH_MODELS: 'false',
      };
      try {
        const sink = start('src/cli/sink.ts', { ...base, ...store.env, LOG_LEVEL: 'info' });
        try {
          let sinkReady = false;
          sink.child.stdout!.on('data', (d: Buffer) => {
            if (/"msg":"sink ready"/.test(d.toString())) sinkReady = true;
          });
          await whenReady(sink, 'the decision sink (npm run sink)', async () => sinkReady);
          for (const n of apiCounts) {
            console.log(`\n${store.name}, ${n} API node(s) + sink: measuring...`);
            rows.push(await measure(store, n, base, sink, dirs));
          }
          if (kind === 'single' && memoryTransfers > 0) {
            console.log(`\n${store.name}: Redis memory of ${memoryTransfers} transfers between new accounts, then ${memoryTransfers} between the same...`);
            mem = await memory(store, base, dirs, prefix);
          }
        } finally {
          await stopChild(sink.child);
        }
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        for (const n of apiCounts) rows.push({ store: store.name, apis: n, skipped: err.message });
      } finally {
        await store.stop();
      }
    }
  } finally {
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }

  console.log(`\n${'store'.padEnd(24)} ${'APIs'.padStart(4)} ${'scores/s'.padStart(9)} ${'scores/API-s'.padStart(14)} ${'scores/Redis-s'.padStart(16)} ${'API µs/sc'.padStart(10)} ${'Redis µs/sc'.padStart(12)} ${'sink µs/sc'.padStart(11)} ${'p99 ms'.padStart(8)} ${'scores'.padStart(8)} ${'errors'.padStart(6)}`);
  for (const r of rows) printRow(r);
  for (const reason of new Set(rows.flatMap((r) => (r.skipped === null ? [] : [`${r.store}: skipped, no figures: ${r.skipped}`])))) console.log(reason);
  console.log('scores/API-s: 2xx scores per CPU-second of the API processes (summed); scores/Redis-s: per CPU-second of Redis (summed over the primaries); sink µs/sc: the sink process\'s CPU per score');
  for (const r of rows) {
    if (r.commands === undefined) continue;
    const top = [...r.commands.entries()].sort((a, b) => b[1][1] - a[1][1]).slice(0, 8);
    console.log(
      `Redis commands per score, ${r.store}, ${r.apis} node(s): ` +
        top.map(([name, [calls, usec]]) => `${name} ${(calls / r.scores!).toFixed(2)} calls ${(usec / r.scores!).toFixed(0)} µs`).join('; '),
    );
  }
  if (mem !== null) {
    const perTransferRepeat = mem.repeatBytes / mem.transfers;
    const perAccount = (mem.newPairsBytes - mem.repeatBytes) / (2 * mem.transfers);
    console.log(
      `\nRedis memory (one Redis, INFO used_memory, the decision stream apart): ${mem.transfers} transfers between new payers and payees ${f0(mem.newPairsBytes / mem.transfers)} B each; ` +
        `${mem.transfers} more between the same pairs ${f0(perTransferRepeat)} B each; so about ${f0(perAccount)} B per new account (payer or payee, its first transfer) ` +
        `and ${f0(perTransferRepeat)} B per further transfer; the decision stream ${f0(mem.streamBytesPerEntry)} B per entry (bounded by DECISION_STREAM_MAXLEN)`,
    );
    console.log('keys of the run by kind (MEMORY USAGE; the earlier stages\' keys included):');
    for (const k of mem.byKind.slice(0, 16)) {
      console.log(`  ${k.kind.padEnd(28)} ${String(k.keys).padStart(8)} keys ${f0(k.bytes / k.keys).padStart(6)} B each, ${(k.bytes / 1e6).toFixed(1).padStart(7)} MB, expires ${k.expires}`);
    }
  }
  console.log(`\nbench:scale took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
