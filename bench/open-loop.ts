/**
 * `npm run bench:latency`: the scoring route's latency at a stated load (issue 15), open loop.
 *
 * Starts the engine as `npm start` runs it (its own append-only redis-server unless REDIS_URL
 * is set, a fresh PGlite, the in-process worker and decision sink) and bare fastify (the
 * baseline of `npm run bench`, bench/bare-server.ts), then in one run:
 *  1. warm-up: with the default `sim` mix, BENCH_WARM_DAYS days of simulated history scored
 *     through the engine's own route, closed loop (bench/latency-traffic.ts); with `retail` or
 *     `hot`, 3 s of traffic;
 *  2. bare fastify, closed loop, BENCH_MAX_SECONDS (after 3 s to warm it up);
 *  3. the engine, closed loop, BENCH_MAX_SECONDS: its maximum rate on this machine now;
 *  4. the engine, open loop, BENCH_STAGE_SECONDS at each share of that maximum (BENCH_LOADS,
 *     25 %, 50 %, 75 %): a fixed arrival rate, latency from each request's due time.
 * Prints p50, p99, p99.9, the achieved rate and errors of each stage, the closed-loop ratio to
 * bare fastify, and the engine's actions (allow / warn / cool_off / block) on legitimate and
 * scam events. Writes the result to bench/results/local/latency.json (git-ignored;
 * BENCH_RESULTS_DIR=bench/results to write a reference copy).
 *
 * Traffic goes only to 127.0.0.1. Env: BENCH_MIX (sim | retail | hot), BENCH_MAX_SECONDS (10),
 * BENCH_STAGE_SECONDS (12), BENCH_LOADS (0.25,0.5,0.75), BENCH_CONNECTIONS (64, closed loop),
 * BENCH_OPEN_CONNECTIONS (256, the most the open-loop sender opens), BENCH_SIM_PAYERS (10000),
 * BENCH_WARM_DAYS (7), BENCH_RUN_DAYS (14), BENCH_WARM_CONNECTIONS (16), BENCH_WARM_MAX_SECONDS
 * (300), BENCH_SEED (1), BENCH_FRAUD_RATE (the simulator's 0.005), BENCH_PAYERS / BENCH_PAYEES
 * (retail and hot), BENCH_AUTH=true, REDIS_URL, BENCH_RESULTS_DIR.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SIM_OPTIONS } from '../src/sim/index.ts';
import { startLocalRedis } from '../src/store/local-redis.ts';
import { closedLoop, openLoop, type StageResult, type Target } from './http-load.ts';
import { ActionTally, formatShares, parseLoadShares, stageRates, type TrafficLabel } from './latency-core.ts';
import { arraySource, collect, generatedTraffic, latencyMixFromEnv, simPlan, simTraffic, type TrafficSource } from './latency-traffic.ts';
import { benchAuth, freePort, startScript, stopChild, waitReady } from './processes.ts';
import { benchResultFile } from './result-file.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function num(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

const mix = latencyMixFromEnv();
const maxSeconds = num('BENCH_MAX_SECONDS', process.env.BENCH_MAX_SECONDS, 10, 1);
const stageSeconds = num('BENCH_STAGE_SECONDS', process.env.BENCH_STAGE_SECONDS, 12, 1);
const shares = parseLoadShares(process.env.BENCH_LOADS);
const connections = Math.round(num('BENCH_CONNECTIONS', process.env.BENCH_CONNECTIONS, 64, 1));
const openConnections = Math.round(num('BENCH_OPEN_CONNECTIONS', process.env.BENCH_OPEN_CONNECTIONS, 256, 1));
const simPayers = Math.round(num('BENCH_SIM_PAYERS', process.env.BENCH_SIM_PAYERS, 10_000, 1));
const warmDays = Math.round(num('BENCH_WARM_DAYS', process.env.BENCH_WARM_DAYS, 7, 1));
const runDays = Math.round(num('BENCH_RUN_DAYS', process.env.BENCH_RUN_DAYS, 14, 1));
const warmConnections = Math.round(num('BENCH_WARM_CONNECTIONS', process.env.BENCH_WARM_CONNECTIONS, 16, 1));
const warmMaxSeconds = num('BENCH_WARM_MAX_SECONDS', process.env.BENCH_WARM_MAX_SECONDS, 300, 1);
const seed = Math.round(num('BENCH_SEED', process.env.BENCH_SEED, 1, 0));
const fraudRate = num('BENCH_FRAUD_RATE', process.env.BENCH_FRAUD_RATE, DEFAULT_SIM_OPTIONS.fraudRate, 0);
const payers = Math.round(num('BENCH_PAYERS', process.env.BENCH_PAYERS, 100_000, 2));
const payees = Math.round(num('BENCH_PAYEES', process.env.BENCH_PAYEES, 20_000, 2));
const auth = benchAuth();
/** the most events the timed run's traffic holds (sim) */
const RUN_LIMIT = 2_000_000;
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** utime + stime of a process, in µs. */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the engine process uses less than a fifth of a core over a second (its decision sink and lifecycle work caught up), at most 30 s. */
async function settle(pid: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    const c0 = processCpuUs(pid);
    await sleep(1000);
    if (processCpuUs(pid) - c0 < 200_000) break;
  }
  return (Date.now() - started) / 1000;
}

const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

interface Traffic {
  /** the warm-up history (sim) or a few seconds of traffic (retail, hot) */
  readonly warm: TrafficSource;
  /** the timed run's traffic, called once the warm-up is over (sim: made up front, so that the simulator's day-at-a-time work never pauses the sender) */
  readonly run: () => TrafficSource;
  /** bodies for bare fastify: the same kind of events, from a stream of their own */
  readonly bare: TrafficSource;
  readonly describe: string;
}

function traffic(runId: string): Traffic {
  if (mix === 'sim') {
    const plan = simPlan(Date.now(), warmDays, runDays);
    const main = simTraffic(plan, { payers: simPayers, seed, fraudRate });
    const other = simTraffic(plan, { payers: simPayers, seed: seed + 1, fraudRate });
    return {
      warm: main.warm,
      run: () => arraySource(collect(main.run, RUN_LIMIT)),
      bare: arraySource(collect(other.run, 50_000), true),
      describe: `sim: ${simPayers} payers, fraud rate ${fraudRate}, seed ${seed}, ${warmDays} days of history from ${plan.start}, then up to ${runDays} days for the timed run`,
    };
  }
  const gen = generatedTraffic(mix, { seed, payers, payees, runId });
  return { warm: gen, run: () => gen, bare: generatedTraffic(mix, { seed: seed + 1, payers, payees, runId: `${runId}x` }), describe: `${mix}: ${payers} payers, ${payees} payees` };
}

function row(s: StageResult): string {
  const l = s.latencyMs;
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(8);
  return (
    `${s.name.padEnd(22)} ${(s.targetRate === null ? 'closed' : String(s.targetRate)).padStart(7)} ${s.achievedRate.toFixed(0).padStart(8)}` +
    ` ${f(l.p50)} ${f(l.p99)} ${f(l.p999)} ${f(l.max)} ${String(s.requests).padStart(8)} ${String(s.non2xx).padStart(7)} ${String(s.errors).padStart(6)}` +
    `${s.sendLagMs === null || s.serviceMs === null ? '' : `   sender lag p99 ${s.sendLagMs.p99.toFixed(1)} ms, from send p50/p99 ${s.serviceMs.p50.toFixed(1)}/${s.serviceMs.p99.toFixed(1)} ms`}${s.non2xx > 0 ? `   non-2xx ${Object.entries(s.non2xxByStatus).map(([code, n]) => `${code} x${n}`).join(', ')}` : ''}${s.exhausted ? '   TRAFFIC RAN OUT' : ''}`
  );
}

function json(s: StageResult): Record<string, unknown> {
  return { ...s, actions: s.actions.toJSON() };
}

async function main(): Promise<void> {
  const runId = `l${Date.now().toString(36)}`;
  const load0 = loadavg();
  let redisUrl = process.env.REDIS_URL;
  const local = redisUrl ? null : await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'calmpay-latency-redis-')), appendOnly: true });
  redisUrl ??= local!.url;
  const barePort = await freePort();
  const enginePort = await freePort();
  const bare = startScript('bench/bare-server.ts', { PORT: String(barePort) });
  const engine = startScript('src/main.ts', {
    ...auth.engineEnv,
    PORT: String(enginePort),
    REDIS_URL: redisUrl,
    // a fresh SQL store (PGlite) for the run, never the user's ./data
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'calmpay-latency-data-')),
    REDIS_KEY_PREFIX: `${runId}:`,
    LOG_LEVEL: 'warn',
    WATCH_RULES: 'false',
  });
  const bareTarget: Target = { port: barePort, headers: {} };
  const engineTarget: Target = { port: enginePort, headers: auth.headers };
  const t = traffic(runId);
  console.log(`mix ${t.describe}; ${os.cpus().length} cores, load average ${load0.join(' ')} at the start`);
  let warm: StageResult;
  let bareMax: StageResult;
  let engineMax: StageResult;
  const stages: StageResult[] = [];
  let settleSeconds = 0;
  try {
    await waitReady(`http://127.0.0.1:${barePort}/healthz`, bare);
    await waitReady(`http://127.0.0.1:${enginePort}/readyz`, engine);
    const warmStarted = Date.now();
    warm = await closedLoop({
      name: 'warm-up',
      target: engineTarget,
      source: t.warm,
      connections: mix === 'sim' ? warmConnections : connections,
      seconds: mix === 'sim' ? warmMaxSeconds : 3,
      tally: true,
      explain: true,
      onProgress: (n) => process.stderr.write(`  warm-up: ${n} events scored, ${((Date.now() - warmStarted) / 1000).toFixed(0)} s\n`),
    });
    console.log(`warm-up: ${warm.requests} events in ${warm.seconds.toFixed(1)} s (${warm.achievedRate.toFixed(0)}/s), ${warm.non2xx} non-2xx, ${warm.errors} errors`);
    if (mix === 'sim' && !warm.exhausted) console.warn(`warning: the warm-up stopped at BENCH_WARM_MAX_SECONDS (${warmMaxSeconds} s) before the end of its ${warmDays} days of history`);
    const run = t.run();
    settleSeconds = await settle(engine.pid!);
    await closedLoop({ name: 'warm-up bare', target: bareTarget, source: t.bare, connections, seconds: 3, tally: false });
    bareMax = await closedLoop({ name: 'bare fastify (closed)', target: bareTarget, source: t.bare, connections, seconds: maxSeconds, tally: false });
    engineMax = await closedLoop({ name: 'calmpay (closed)', target: engineTarget, source: run, connections, seconds: maxSeconds, tally: true });
    const rates = stageRates(engineMax.achievedRate, shares);
    for (let i = 0; i < rates.length; i++) {
      settleSeconds += await settle(engine.pid!);
      const stage = await openLoop({
        name: `calmpay ${Math.round(100 * shares[i]!)} % (open)`,
        target: engineTarget,
        source: run,
        rate: rates[i]!,
        seconds: stageSeconds,
        maxConnections: openConnections,
        tally: true,
      });
      stages.push(stage);
      if (stage.exhausted) break;
    }
  } finally {
    await stopChild(bare);
    await stopChild(engine);
    await local?.stop();
  }
  const load1 = loadavg();
  const ratio = engineMax.achievedRate / bareMax.achievedRate;
  console.log(`\nPOST /v1/transfers/score, auth ${auth.headers.authorization ? 'on' : 'off'}; closed loop ${connections} connections ${maxSeconds} s; open loop ${stageSeconds} s per stage, at most ${openConnections} connections`);
  console.log(`${'stage'.padEnd(22)} ${'rate'.padStart(7)} ${'achieved'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'p99.9 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'requests'.padStart(8)} ${'non-2xx'.padStart(7)} ${'errors'.padStart(6)}`);
  for (const s of [bareMax, engineMax, ...stages]) console.log(row(s));
  console.log(`closed-loop throughput ratio calmpay/bare fastify: ${ratio.toFixed(2)}`);
  const half = stages.find((s, i) => shares[i] === 0.5);
  if (half) console.log(`p99 at 50 % of the maximum: ${half.latencyMs.p99.toFixed(1)} ms (issue 15 target <= 10 ms on this machine)`);
  console.log(`load generator CPU per request (this process): bare ${bareMax.clientCpuUsPerRequest.toFixed(0)} µs, calmpay closed ${engineMax.clientCpuUsPerRequest.toFixed(0)} µs, open ${stages.map((s) => s.clientCpuUsPerRequest.toFixed(0)).join(' / ')} µs`);
  const timed = new ActionTally();
  for (const s of [engineMax, ...stages]) timed.merge(s.actions);
  console.log('\nactions of the engine');
  for (const [what, tally] of [
    [mix === 'sim' ? 'warm-up history' : 'warm-up (3 s)', warm.actions],
    ['timed run', timed],
  ] as const) {
    for (const label of tally.labels()) console.log(`  ${what.padEnd(16)} ${label.padEnd(10)} ${String(tally.total(label)).padStart(7)} events: ${formatShares(tally.shares(label))}`);
  }
  for (const [label, rules] of Object.entries(warm.nonAllowRules ?? {})) {
    const top = Object.entries(rules)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6);
    const n = warm.actions.total(label as TrafficLabel);
    console.log(`  warm-up, ${label} events not allowed, rules that fired (share of all ${label} events): ${top.map(([id, c]) => `${id} ${((100 * c) / n).toFixed(1)} %`).join(', ')}`);
  }
  console.log(`\nload average ${load0.join(' ')} at the start, ${load1.join(' ')} at the end (1, 5, 15 min; ${os.cpus().length} cores); waited ${settleSeconds.toFixed(0)} s in all for the engine to go idle between stages`);
  const file = benchResultFile(root, 'latency.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        cores: os.cpus().length,
        loadAverage: { start: load0, end: load1 },
        mix: t.describe,
        auth: auth.headers.authorization !== undefined,
        settings: { maxSeconds, stageSeconds, shares, connections, openConnections, warmConnections },
        warmUp: json(warm),
        bare: json(bareMax),
        engineClosed: json(engineMax),
        stages: stages.map(json),
        ratio,
        timedActions: timed.toJSON(),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`written to ${path.relative(process.cwd(), file)}`);
  const bad = [engineMax, ...stages].filter((s) => s.non2xx > 0 || s.errors > 0 || s.exhausted);
  if (bad.length > 0) {
    console.error(`${bad.map((s) => s.name).join(', ')}: non-2xx answers, errors or traffic that ran out; those figures are not valid`);
    process.exitCode = 1;
  }
}

await main();
