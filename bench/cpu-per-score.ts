/**
 * `npm run bench:cpu`: where a score's CPU goes. Sends a fixed number of generated transfers
 * to the engine (its own redis-server, started for the run) and reports CPU time per score of
 * the engine process and of Redis, Redis's per-command figures, and the mix of actions.
 *
 * CPU time, unlike throughput, barely moves when other processes share the machine, so this
 * is the figure to compare before and after a change to the score path; `npm run bench` gives
 * the throughput ratio against bare fastify.
 *
 * CPU_TARGET=floor measures the design floor instead of the engine (bench/floor-server.ts: the
 * engine's validation and one Redis call of the score script's shape), CPU_TARGET=bare the bare
 * fastify route of `npm run bench`; with the load generator's own CPU per request (printed for
 * every target) these give the CPU budget a score has at a given share of bare fastify's
 * throughput on this machine.
 *
 * Env: CPU_TARGET (engine | floor | bare), CPU_REQUESTS (20000), CPU_CONNECTIONS (16), BENCH_PAYERS, BENCH_PAYEES, BENCH_MIX
 * (see bench/transfer-gen.ts), BENCH_AUTH=true (API keys on), CPU_AOF=false (Redis without its append-only file), CPU_PROFILE_DIR (write a V8 CPU profile of the engine there), and
 * any engine env (MODELS_DIR, DECISION_SINK, ...).
 */
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { benchAuth, freePort, redisCpuUs, scoreRequests, startScript, stopChild, waitReady } from './processes.ts';
import { transferGenerator, mixFromEnv } from './transfer-gen.ts';

const requests = Number(process.env.CPU_REQUESTS ?? 20_000);
const connections = Number(process.env.CPU_CONNECTIONS ?? 16);
const payers = Number(process.env.BENCH_PAYERS ?? 100_000);
const payees = Number(process.env.BENCH_PAYEES ?? 20_000);
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux
const TARGETS = {
  engine: { script: 'src/main.ts', ready: '/readyz' },
  floor: { script: 'bench/floor-server.ts', ready: '/healthz' },
  bare: { script: 'bench/bare-server.ts', ready: '/healthz' },
} as const;
const targetName = process.env.CPU_TARGET ?? 'engine';
if (!Object.hasOwn(TARGETS, targetName)) throw new Error(`CPU_TARGET must be ${Object.keys(TARGETS).join(', ')}; got ${JSON.stringify(targetName)}`);
const target = TARGETS[targetName as keyof typeof TARGETS];

/** utime + stime of a process, in µs. */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

async function commandStats(redis: Redis): Promise<Map<string, CommandStat>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, CommandStat>();
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

async function main(): Promise<void> {
  const runId = `c${Date.now().toString(36)}`;
  const local = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-cpu-redis-')), appendOnly: process.env.CPU_AOF !== 'false' });
  const redis = new Redis(local.url);
  const port = await freePort();
  const auth = benchAuth();
  const engine = startScript(
    target.script,
    { ...auth.engineEnv, PORT: String(port), REDIS_URL: local.url, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'calmpay-cpu-data-')), REDIS_KEY_PREFIX: `${runId}:`, LOG_LEVEL: 'warn', WATCH_RULES: 'false' },
    { cpuProfileDir: process.env.CPU_PROFILE_DIR },
  );
  try {
    await waitReady(`http://127.0.0.1:${port}${target.ready}`, engine);
    const mix = mixFromEnv();
    const gen = transferGenerator({ seed: 1, payers, payees, runId, mix });
    const fire = (amount: number) =>
      autocannon({
        url: `http://127.0.0.1:${port}`,
        connections,
        amount,
        requests: scoreRequests(gen, auth.headers),
      });
    await fire(Math.min(5000, requests)); // warm-up: JIT, script cache, connections
    // let the warm-up's decision writes and sink copies finish before the counters are read
    await new Promise((r) => setTimeout(r, 1500));
    await redis.config('RESETSTAT');
    const engine0 = processCpuUs(engine.pid!);
    const redis0 = await redisCpuUs(redis);
    const started = Date.now();
    const client0 = process.cpuUsage();
    const result = await fire(requests);
    const client = process.cpuUsage(client0);
    const wallMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1500));
    const engineUs = processCpuUs(engine.pid!) - engine0;
    const redisUs = (await redisCpuUs(redis)) - redis0 - 0; // includes INFO calls: negligible
    const stats = await commandStats(redis);
    const n = result.requests.total;
    console.log(`${n} requests to ${targetName} (${result.non2xx} non-2xx), ${connections} connections, mix ${mix}, auth ${auth.headers.authorization ? 'on' : 'off'}, ${(n / (wallMs / 1000)).toFixed(0)} req/s wall`);
    console.log(`${targetName} CPU per score: ${(engineUs / n).toFixed(1)} µs   Redis CPU per score: ${(redisUs / n).toFixed(1)} µs   load generator CPU per request: ${((client.user + client.system) / n).toFixed(1)} µs`);
    console.log('\nRedis commands (per score):');
    const rows = [...stats.entries()].sort((a, b) => b[1].usec - a[1].usec).slice(0, 16);
    for (const [name, s] of rows) {
      console.log(`  ${name.padEnd(24)} calls ${(s.calls / n).toFixed(2).padStart(6)}  µs/call ${(s.usec / s.calls).toFixed(1).padStart(7)}  µs/score ${(s.usec / n).toFixed(1).padStart(7)}`);
    }
    if (targetName !== 'engine') return;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const actions = [...metrics.matchAll(/calmpay_decisions_total\{action="(\w+)"[^}]*\} (\d+)/g)];
    const byAction = new Map<string, number>();
    for (const [, action, count] of actions) byAction.set(action!, (byAction.get(action!) ?? 0) + Number(count));
    const total = [...byAction.values()].reduce((a, b) => a + b, 0);
    console.log(`\nactions since start (warm-up included): ${[...byAction.entries()].map(([a, c]) => `${a} ${((100 * c) / total).toFixed(1)}%`).join(', ')}`);
    const hits = [...metrics.matchAll(/calmpay_rule_hits_total\{rule="([^"]+)",mode="(\w+)"\} (\d+)/g)]
      .map(([, rule, mode, count]) => ({ rule: `${rule}${mode === 'shadow' ? ' (shadow)' : ''}`, share: Number(count) / total }))
      .sort((a, b) => b.share - a.share)
      .slice(0, 8);
    console.log(`rules firing most: ${hits.map((h) => `${h.rule} ${(100 * h.share).toFixed(1)}%`).join(', ')}`);
  } finally {
    await stopChild(engine);
    redis.disconnect();
    await local.stop();
  }
}

await main();
